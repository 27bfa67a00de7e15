/* progress: what a running sweep tells the user: a line per event (started, epoch,
 * ended), or on a terminal one live line kept current, and the summary at the end. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "scheduler_internal.h"
#include "common/json_exact.h"
#include "common/strbuf.h"

void sched_say(sweep *w, const char *fmt, ...) {
    FILE *f = w->o->out;
    if (w->o->live) fputs("\r\033[K", f);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fflush(f);
    w->last_live = 0;
}

char *sched_params_text(const sweep *w, const double *values) {
    char *buf = vs_xcalloc(1, 1024);
    size_t used = 0;
    for (int p = 0; p < w->space.n_params && used < 1000; p++) {
        if (w->space.params[p].kind == VS_PARAM_CONSTANT || isnan(values[p])) continue;   /* NaN: absent, or missing */
        cJSON *v = vs_param_json_value(&w->space.params[p], values[p]);
        char *s = vs_json_print_exact(v);
        used += (size_t)snprintf(buf + used, 1024 - used, "%s%s=%s", used ? " " : "", w->space.params[p].name, s);
        free(s);
        cJSON_Delete(v);
    }
    return buf;
}

/* h:mm:ss */
static void clock_text(double seconds, char out[32]) {
    long t = seconds > 0 && seconds < 1e9 ? (long)(seconds + 0.5) : 0;
    snprintf(out, 32, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

/* On a terminal, one line kept current: trials done, each running trial and its epoch,
 * the best so far, the time taken and, once trials have ended, the time left (as
 * `vaesearch status` estimates it: mean trial time x trials left / slots). */
void sched_live_line(sweep *w) {
    if (!w->o->live) return;
    double now = sched_now();
    if (now - w->last_live < 0.5) return;
    w->last_live = now;
    tally t = sched_count_trials(w);
    vs_strbuf b = {0};
    vs_sb_printf(&b, "\r\033[K%s: %d/%lld done (%d pruned, %d failed)", w->space.name, t.complete + t.pruned,
                 (long long)w->budget, t.pruned, t.failed);
    int running = 0;
    for (int i = 0; i < w->n_slots; i++) {
        const child *c = &w->children[i];
        if (!c->used) continue;
        if (running++ == 4) {
            vs_sb_printf(&b, "; %d more running", sched_active_children(w) - 4);
            break;
        }
        if (c->progress > 0) {   /* inside an epoch: the trainer's progress line */
            vs_sb_printf(&b, "; trial %d, epoch %d", c->number, c->last_epoch + 1);
            if (c->epochs) vs_sb_printf(&b, "/%d", c->epochs);
            vs_sb_printf(&b, " %.0f%%", 100 * c->progress);
        } else {
            if (!c->last_epoch) vs_sb_printf(&b, "; trial %d, starting", c->number);
            else vs_sb_printf(&b, "; trial %d, epoch %d", c->number, c->last_epoch);
            if (c->last_epoch && c->epochs) vs_sb_printf(&b, "/%d", c->epochs);
        }
    }
    if (!running) vs_sb_printf(&b, "; none running");
    if (t.best) vs_sb_printf(&b, "; best trial %d, %s %.4f", t.best->number, w->space.metric, t.best->value);
    char took[32], left[32];
    clock_text(now - w->t0, took);
    vs_sb_printf(&b, "; %s", took);
    int64_t remaining = w->budget - (t.complete + t.pruned);
    if (w->ended_count && remaining > 0) {
        clock_text(w->ended_seconds / w->ended_count * (double)remaining / w->n_slots, left);
        vs_sb_printf(&b, ", about %s left", left);
    }
    fputs(b.s ? b.s : "", w->o->out);
    fflush(w->o->out);
    vs_sb_free(&b);
}

void sched_summary(sweep *w) {
    tally t = sched_count_trials(w);
    char history[96] = "";
    if (t.history) snprintf(history, sizeof history, "; %d more not run here (seeds, or added with Optuna)", t.history);
    sched_say(w, "sweep %s: %d complete, %d pruned, %d failed, %d waiting%s (%.0f s)", w->space.name, t.complete,
              t.pruned, t.failed, t.waiting, history, sched_now() - w->t0);
    if (t.best) {
        char *p = sched_params_text(w, t.best->values);
        sched_say(w, "best: trial %d, validation %s %.4f (%s)", t.best->number, w->space.metric, t.best->value, p);
        free(p);
    }
}
