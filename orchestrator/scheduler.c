/* scheduler: runs a sweep's trials as vaecf-train processes, one per slot, and keeps
 * results.db current. One thread: a poll() loop over the trainers' output pipes and a
 * self-pipe for signals. Proposals and pruning decisions use each trial's reference
 * set (trials numbered < n - window, all ended), so they are the same in every run. */
#define _GNU_SOURCE
#include "scheduler.h"
#include "common/json_exact.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "launcher.h"
#include "pruner.h"
#include "sampler.h"
#include "trainer_output.h"
#include "common/strbuf.h"
#include "dataset/dataset.h"
#include "dataset/protocol.h"
#include "dataset/synth.h"
#include "results/results_db.h"
#include "space/space.h"
#include "trainer/backend.h"

#define HEARTBEAT_SECONDS 5.0
#define STALE_SECONDS 30.0
#define KILL_GRACE_SECONDS 20.0

/* ---- signals: Ctrl-C once stops cleanly, twice stops now ---- */

static volatile sig_atomic_t interrupts;
static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig) {
    (void)sig;
    interrupts++;
    int saved = errno;
    if (write(signal_pipe[1], "!", 1) < 0) { /* the flag is enough */ }
    errno = saved;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- a running trainer ---- */

typedef struct child {
    int used;
    int trial_id, number, slot;
    vs_trial_process proc;
    vs_strbuf out, err;   /* the line being read from each pipe */
    vs_output_tail tail;
    double started, kill_at;
    int prune, timed_out, stopping;
    int last_epoch, epochs;   /* the last epoch seen, of how many (0 when unknown) */
    double last_value, best_value;   /* the metric after the last validated epoch, and the best */
    cJSON *done;
    char *error;
    char prune_reason[256];
} child;

typedef struct sweep {
    const vs_run_opts *o;
    vs_space space;
    vs_db *db;
    int study_id;
    char dataset[4096], trainer[4096], runs[4096];
    const char *device;
    int threads, window, n_slots, n_groups;
    char (*group_gpus)[256];   /* per group: "0,1" */
    child *children;           /* per slot */
    vs_db_trial *trials;       /* the history, by number: read once, then kept current */
    int n_trials, cap_trials;
    int64_t budget;
    int stopping, time_up;
    double t0, last_heartbeat, last_live;
    double ended_seconds;      /* trainer time of the attempts that ended in this run (COMPLETE, PRUNED, FAIL) */
    int ended_count;
} sweep;

static void say(sweep *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(sweep *w, const char *fmt, ...) {
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

static int is_ended(const char *state) {
    return !strcmp(state, "COMPLETE") || !strcmp(state, "PRUNED") || !strcmp(state, "FAIL");
}

static child *running_child(sweep *w, int trial_id) {
    for (int i = 0; i < w->n_slots; i++)
        if (w->children[i].used && w->children[i].trial_id == trial_id) return &w->children[i];
    return NULL;
}

/* Reads the whole history: once when the run starts, once for the summary. */
static int reload(sweep *w, vs_error *err) {
    vs_db_free_trials(w->trials, w->n_trials);
    w->trials = NULL;
    w->n_trials = w->cap_trials = 0;
    if (vs_db_load_trials(w->db, w->study_id, &w->space, &w->trials, &w->n_trials, err)) return -1;
    w->cap_trials = w->n_trials;
    return 0;
}

/* The trial numbered number, or NULL. Numbers run 0, 1, 2... so the index is the
 * number, unless trials were deleted from the database by hand. */
static vs_db_trial *trial_by_number(const sweep *w, int number) {
    if (number >= 0 && number < w->n_trials && w->trials[number].number == number) return &w->trials[number];
    for (int i = 0; i < w->n_trials; i++)
        if (w->trials[i].number == number) return &w->trials[i];
    return NULL;
}

/* After a change to one trial (or a new one), reads that trial back from the database
 * into the history: the history stays what the database holds, at the cost of one
 * trial's rows, never all of them. A new trial has the largest number: it goes last. */
static int refresh_trial(sweep *w, int trial_id, vs_error *err) {
    vs_db_trial t;
    if (vs_db_load_trial(w->db, trial_id, &w->space, &t, err)) return -1;
    vs_db_trial *old = trial_by_number(w, t.number);
    if (old) {
        vs_db_free_trials_content(old, 1);
        *old = t;
        return 0;
    }
    if (w->n_trials == w->cap_trials) {
        w->cap_trials = w->cap_trials ? 2 * w->cap_trials : 64;
        w->trials = vs_xrealloc(w->trials, sizeof *w->trials * (size_t)w->cap_trials);
    }
    w->trials[w->n_trials++] = t;
    return 0;
}

static double json_num(const cJSON *o, const char *key) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(j) ? j->valuedouble : NAN;
}

/* ---- set-up ---- */

static int resolve_trainer(sweep *w) {
    if (w->o->trainer) {
        snprintf(w->trainer, sizeof w->trainer, "%s", w->o->trainer);
        return 0;
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        snprintf(w->trainer, sizeof w->trainer, "%s/vaecf-train", dirname(self));
        if (access(w->trainer, X_OK) == 0) return 0;
    }
    snprintf(w->trainer, sizeof w->trainer, "vaecf-train");   /* execvp finds it on PATH */
    return 0;
}

static int mkdir_p(const char *path, vs_error *err) {
    char tmp[8192];
    if (strlen(path) >= sizeof tmp) return vs_errorf(err, "%s: path too long", path);
    memcpy(tmp, path, strlen(path) + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0777) && errno != EEXIST) return vs_errorf(err, "%s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0777) && errno != EEXIST) return vs_errorf(err, "%s: %s", tmp, strerror(errno));
    return 0;
}

static void folder_of(const char *path, char *out, size_t n) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(out, n, "%s", dirname(tmp));
}

/* The dataset: a file named by the space, or a generated one made once beside the database. */
static int ensure_dataset(sweep *w, vs_error *err) {
    if (!w->space.dataset_synth) {
        snprintf(w->dataset, sizeof w->dataset, "%s", w->space.dataset);
    } else {
        char folder[2048];
        folder_of(w->o->db_path, folder, sizeof folder);
        snprintf(w->dataset, sizeof w->dataset, "%s/synth-%s.vsds", folder, w->space.dataset_synth);
        struct stat st;
        if (stat(w->dataset, &st) != 0) {
            vs_synth_opts so;
            vs_interactions pairs = {0};
            vs_dataset ds = {0};
            vs_protocol_opts po;
            vs_protocol_opts_default(&po);
            if (vs_synth_preset(w->space.dataset_synth, &so, err) || vs_synth_generate(&so, &pairs, err)) return -1;
            po.heldout_users = so.heldout_users;
            po.seed = so.seed;
            char meta[128];
            snprintf(meta, sizeof meta, "{\"source\": \"synth\", \"preset\": \"%s\"}", w->space.dataset_synth);
            int rc = vs_protocol_split(&pairs, &po, meta, &ds, NULL, err);
            vs_interactions_free(&pairs);
            if (rc == 0) rc = vs_dataset_write(&ds, w->dataset, err);
            vs_dataset_close(&ds);
            if (rc) return -1;
            say(w, "generated the '%s' synthetic dataset: %s", w->space.dataset_synth, w->dataset);
        }
    }
    vs_dataset ds;
    if (vs_dataset_open(&ds, w->dataset, err)) return -1;   /* refuse a bad dataset before any trial */
    vs_dataset_close(&ds);
    return 0;
}

static int setup_slots(sweep *w, vs_error *err) {
    const vs_run_opts *o = w->o;
    int n_gpus = 0, gpus[VS_MAX_GPUS];
    if (o->gpus_given) {
        n_gpus = o->n_gpus;
        memcpy(gpus, o->gpus, sizeof(int) * (size_t)n_gpus);
    } else {
        n_gpus = vs_backend_gpu_count();
        if (n_gpus > VS_MAX_GPUS) n_gpus = VS_MAX_GPUS;
        for (int i = 0; i < n_gpus; i++) gpus[i] = i;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    if (n_gpus > 0) {
        int per = w->space.gpus_per_trial;
        w->n_groups = n_gpus / per;
        if (w->n_groups < 1)
            return vs_errorf(err, "resources.gpus_per_trial is %d but only %d GPU%s available", per, n_gpus,
                             n_gpus == 1 ? " is" : "s are");
        w->n_slots = w->n_groups * w->space.trials_per_gpu;
        w->group_gpus = vs_xcalloc((size_t)w->n_groups, sizeof *w->group_gpus);
        for (int g = 0; g < w->n_groups; g++) {
            size_t used = 0;
            for (int k = 0; k < per; k++)
                used += (size_t)snprintf(w->group_gpus[g] + used, sizeof w->group_gpus[g] - used, "%s%d", k ? "," : "",
                                         gpus[g * per + k]);
        }
        w->device = o->device ? o->device : "cuda";
    } else {
        w->n_groups = 0;
        w->n_slots = o->jobs > 0 ? o->jobs : 1;
        w->device = o->device ? o->device : "cpu";
    }
    w->threads = o->threads > 0 ? o->threads : (int)(cores / w->n_slots > 0 ? cores / w->n_slots : 1);
    w->children = vs_xcalloc((size_t)w->n_slots, sizeof *w->children);
    /* With one slot each trial sees every earlier one; with P slots, a trial waits only
     * for those more than 2 (P - 1) before it, so slots rarely idle. */
    w->window = w->space.window > 0 ? w->space.window : 2 * (w->n_slots - 1);
    return 0;
}

/* The GPUs of slot s: trials_per_gpu consecutive slots share a group. */
static const char *slot_gpus(const sweep *w, int s) {
    return w->n_groups ? w->group_gpus[s / w->space.trials_per_gpu] : NULL;
}

/* ---- proposing ---- */

static int64_t base_trials(const sweep *w) {
    int64_t n = 0;
    for (int i = 0; i < w->n_trials; i++) n += w->trials[i].retry_of < 0;
    return n;
}

static int next_number(const sweep *w) {
    int n = 0;
    for (int i = 0; i < w->n_trials; i++)
        if (w->trials[i].number + 1 > n) n = w->trials[i].number + 1;
    return n;
}

/* Proposes and records the next trial, if the budget allows and its reference set has
 * ended. Returns 1 when a trial was created, 0 when none can be now, -1 on error. */
static int propose(sweep *w, vs_error *err) {
    int64_t k = base_trials(w);
    if (k >= w->budget) return 0;
    int n = next_number(w);
    int cut = n - w->window;
    vs_trial_obs *hist = vs_xcalloc((size_t)(w->n_trials ? w->n_trials : 1), sizeof *hist);
    int h = 0;
    for (int i = 0; i < w->n_trials; i++) {
        const vs_db_trial *t = &w->trials[i];
        if (t->number < cut) {
            if (!is_ended(t->state)) {   /* the reference set has not ended yet: wait */
                free(hist);
                return 0;
            }
            if (!strcmp(t->state, "FAIL") || !t->has_value) continue;
            hist[h++] = (vs_trial_obs){t->number, t->values, !strcmp(t->state, "COMPLETE") ? VS_OBS_COMPLETE : VS_OBS_PRUNED,
                                       t->value};
        } else {
            hist[h++] = (vs_trial_obs){t->number, t->values, VS_OBS_PENDING, 0.0};
        }
    }
    double *values = vs_xcalloc((size_t)(w->space.n_params ? w->space.n_params : 1), sizeof(double));
    /* The k-th proposal of the sweep: equal to the trial number unless failures were retried. */
    int rc = vs_sampler_propose(&w->space, (int)k, hist, h, values, err);
    int trial_id, number;
    if (rc == 0) rc = vs_db_create_trial(w->db, w->study_id, &w->space, values, -1, &trial_id, &number, err);
    free(values);
    free(hist);
    if (rc) return -1;
    return refresh_trial(w, trial_id, err) ? -1 : 1;
}

/* Pruning, as Optuna's pruners judge: the trial's best value so far against the curves
 * of the COMPLETE trials of its reference set. */
static int prune_verdict(sweep *w, int number, int epoch, double best) {
    if (w->space.pruner == VS_PRUNER_NONE || w->stopping) return 0;
    vs_curve *refs = vs_xcalloc((size_t)(w->n_trials ? w->n_trials : 1), sizeof *refs);
    int n = 0;
    for (int i = 0; i < w->n_trials; i++) {
        const vs_db_trial *t = &w->trials[i];
        if (t->number < number - w->window && !strcmp(t->state, "COMPLETE") && t->n_epochs > 0)
            refs[n++] = (vs_curve){t->n_epochs, t->curve};
    }
    int prune = vs_pruner_should_prune(&w->space, epoch, best, refs, n);
    free(refs);
    return prune;
}

static double better_of(const sweep *w, double best, double v) {
    if (isnan(v)) return best;
    if (isnan(best)) return v;
    return w->space.maximize ? (v > best ? v : best) : (v < best ? v : best);
}

/* A trial that comes back (after a kill or a Ctrl-C) with epochs already recorded is
 * judged on them first: the decision a killed run made but could not record is made
 * again, the same way. Returns the epoch to prune at, or 0. */
static int replay_pruning(sweep *w, const vs_db_trial *t) {
    double best = NAN;
    for (int e = 1; e <= t->n_epochs; e++) {
        double v = t->curve[e - 1];
        if (isnan(v)) continue;
        best = better_of(w, best, v);
        if (prune_verdict(w, t->number, e, best)) return e;
    }
    return 0;
}

/* ---- launching ---- */

static int write_trial_config(sweep *w, const vs_db_trial *t, const char *path, vs_error *err) {
    cJSON *cfg = vs_space_trial_config(&w->space, t->values);
    if (w->space.pruner != VS_PRUNER_NONE) {   /* the pruner judges every epoch */
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, "eval_every");
        cJSON_AddNumberToObject(cfg, "eval_every", 1);
    }
    char *text = vs_json_print_exact(cfg);
    cJSON_Delete(cfg);
    FILE *f = fopen(path, "w");
    if (!f) {
        free(text);
        return vs_errorf(err, "%s: %s", path, strerror(errno));
    }
    fprintf(f, "%s\n", text);
    free(text);
    if (fclose(f)) return vs_errorf(err, "%s: %s", path, strerror(errno));
    return 0;
}

static char *params_text(const sweep *w, const double *values) {
    char *buf = vs_xcalloc(1, 1024);
    size_t used = 0;
    for (int p = 0; p < w->space.n_params && used < 1000; p++) {
        if (w->space.params[p].kind == VS_PARAM_CONSTANT) continue;
        cJSON *v = vs_param_json_value(&w->space.params[p], values[p]);
        char *s = vs_json_print_exact(v);
        used += (size_t)snprintf(buf + used, 1024 - used, "%s%s=%s", used ? " " : "", w->space.params[p].name, s);
        free(s);
        cJSON_Delete(v);
    }
    return buf;
}

static int launch(sweep *w, vs_db_trial *t, int slot, vs_error *err) {
    char dir[8192], config[8300], threads[16];
    snprintf(dir, sizeof dir, "%s/%s/trial-%d", w->runs, w->space.name, t->number);
    if (mkdir_p(dir, err)) return -1;
    snprintf(config, sizeof config, "%s/trial.json", dir);
    if (write_trial_config(w, t, config, err)) return -1;
    snprintf(threads, sizeof threads, "%d", w->threads);
    const char *gpus = slot_gpus(w, slot);
    char *argv[] = {w->trainer, "--data", w->dataset, "--config", config, "--out", dir, "--device", (char *)w->device,
                    "--threads", threads, "--resume", NULL};
    vs_launch l = {argv, gpus};
    vs_trial_process proc;
    if (vs_launch_local(&l, &proc, err)) return -1;
    child *c = &w->children[slot];
    memset(c, 0, sizeof *c);
    c->used = 1;
    c->trial_id = t->trial_id;
    c->number = t->number;
    c->slot = slot;
    c->proc = proc;
    c->started = now_seconds();
    c->last_value = c->best_value = NAN;
    cJSON *cfg = vs_space_trial_config(&w->space, t->values);
    double epochs = json_num(cfg, "epochs");   /* the trainer's start line says it too, when it runs */
    cJSON_Delete(cfg);
    c->epochs = epochs >= 1 && epochs < 1e9 ? (int)epochs : 0;
    for (int e = 0; e < t->n_epochs; e++) c->best_value = better_of(w, c->best_value, t->curve[e]);
    if (vs_db_trial_started(w->db, t->trial_id, (int)proc.pid, gpus ? gpus : "", dir, err)) return -1;
    char *p = params_text(w, t->values), where[300];
    if (gpus) snprintf(where, sizeof where, "GPU %s", gpus);
    else snprintf(where, sizeof where, "CPU slot %d", slot);
    say(w, "trial %d: started on %s (%s)%s", t->number, where, p, t->out_dir ? ", resuming" : "");
    free(p);
    return 0;
}

/* Starts trials while slots are free: first those waiting (resumed or retried), then
 * new proposals. */
static int fill_slots(sweep *w, vs_error *err) {
    for (int slot = 0; slot < w->n_slots; slot++) {
        if (w->children[slot].used) continue;
        vs_db_trial *pick = NULL;
        for (int i = 0; i < w->n_trials; i++) {
            vs_db_trial *t = &w->trials[i];
            if (!strcmp(t->state, "WAITING") && !running_child(w, t->trial_id) && (!pick || t->number < pick->number))
                pick = t;
        }
        if (!pick) {
            int rc = propose(w, err);
            if (rc < 0) return -1;
            if (rc == 0) return 0;
            for (int i = 0; i < w->n_trials; i++)
                if (!strcmp(w->trials[i].state, "WAITING") && !running_child(w, w->trials[i].trial_id)) pick = &w->trials[i];
        }
        if (!pick) return 0;
        int pruned_at = pick->n_epochs ? replay_pruning(w, pick) : 0;
        if (pruned_at) {
            char reason[128];
            snprintf(reason, sizeof reason, "pruned after epoch %d (recorded before the sweep stopped)", pruned_at);
            int number = pick->number;
            if (vs_db_trial_finished(w->db, pick->trial_id, "PRUNED", NULL, w->space.metric, -1, reason, NULL, err) ||
                refresh_trial(w, pick->trial_id, err))
                return -1;
            say(w, "trial %d: PRUNED: %s", number, reason);
            slot--;   /* this slot is still free */
            continue;
        }
        if (launch(w, pick, slot, err)) return -1;
        snprintf(pick->state, sizeof pick->state, "RUNNING");
    }
    return 0;
}

/* ---- following a trainer ---- */

static int handle_event(sweep *w, child *c, const char *line, vs_error *err) {
    cJSON *ev = cJSON_Parse(line);
    if (!ev) return 0;   /* not a JSON line: kept in the tail only */
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(ev, "event");
    int rc = 0;
    if (!cJSON_IsString(kind)) {
        /* not an event: nothing to record */
    } else if (!strcmp(kind->valuestring, "start")) {
        double epochs = json_num(cJSON_GetObjectItemCaseSensitive(ev, "config"), "epochs");
        if (epochs >= 1 && epochs < 1e9) c->epochs = (int)epochs;
        const cJSON *vis = cJSON_GetObjectItemCaseSensitive(ev, "cuda_visible_devices");
        if (vis) rc = vs_db_set_user_attr(w->db, c->trial_id, "trainer_visible_devices", vis, err);
    } else if (!strcmp(kind->valuestring, "epoch")) {
        rc = vs_db_trial_epoch(w->db, c->trial_id, w->space.metric, ev, err);
        int epoch = (int)json_num(ev, "epoch");
        c->last_epoch = epoch;
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(ev, "val");
        if (rc == 0 && val) {
            double v = json_num(val, w->space.metric);
            c->last_value = v;
            c->best_value = better_of(w, c->best_value, v);
            /* a resumed trainer first repeats the epochs it did before it was stopped */
            int replayed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "replayed"));
            if (!w->o->live)
                say(w, "trial %d: epoch %d, %s %.4f%s", c->number, epoch, w->space.metric, v,
                    replayed ? " (replayed: done before the trial was interrupted)" : "");
            if (!c->prune && prune_verdict(w, c->number, epoch, isnan(v) ? v : c->best_value)) {
                c->prune = 1;
                snprintf(c->prune_reason, sizeof c->prune_reason, "pruned after epoch %d (%s %.4f)", epoch,
                         w->space.metric, v);
                kill(c->proc.pid, SIGTERM);
            }
        }
    } else if (!strcmp(kind->valuestring, "done")) {
        cJSON_Delete(c->done);
        c->done = cJSON_Duplicate(ev, 1);
    } else if (!strcmp(kind->valuestring, "error")) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(ev, "message");
        free(c->error);
        c->error = vs_xstrdup(cJSON_IsString(m) ? m->valuestring : "error");
    }
    cJSON_Delete(ev);
    return rc;
}

/* A line of a trainer's output: into the tail and, from stdout, to handle_event. */
typedef struct line_ctx {
    sweep *w;
    child *c;
    int events;
    vs_error *err;
    int failed;
} line_ctx;

static void take_line(void *ctx, const char *line) {
    line_ctx *x = ctx;
    vs_tail_add(&x->c->tail, line);
    if (x->events && !x->failed && handle_event(x->w, x->c, line, x->err)) x->failed = 1;
}

/* Reads what the pipe has; nonzero when recording an event failed. */
static int drain(sweep *w, child *c, int *fd, vs_strbuf *b, int events, vs_error *err) {
    line_ctx x = {w, c, events, err, 0};
    vs_read_lines(fd, b, take_line, &x);
    return x.failed;
}

/* The first trial of number's retry chain: retry_of followed back to a trial that is
 * no retry (guarded against a cycle in a damaged database). */
static int retry_root(const sweep *w, int number) {
    for (int guard = 0; guard < w->n_trials; guard++) {
        const vs_db_trial *r = trial_by_number(w, number);
        if (!r || r->retry_of < 0) break;
        number = r->retry_of;
    }
    return number;
}

/* How many trials share t's retry chain. */
static int attempts_of(const sweep *w, const vs_db_trial *t) {
    int root = retry_root(w, t->number), count = 0;
    for (int i = 0; i < w->n_trials; i++) count += retry_root(w, w->trials[i].number) == root;
    return count;
}

static void child_free(child *c) {
    vs_sb_free(&c->out);
    vs_sb_free(&c->err);
    vs_tail_free(&c->tail);
    cJSON_Delete(c->done);
    free(c->error);
    memset(c, 0, sizeof *c);
}

/* Records how an attempt ended, and re-queues a failure's parameters when allowed. */
static int finish(sweep *w, child *c, int status, vs_error *err) {
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    const char *state;
    char reason[1200] = "";
    double elapsed = now_seconds() - c->started;
    if (c->prune && (code == 3 || code == 0 || sig)) {
        state = "PRUNED";
        snprintf(reason, sizeof reason, "%s", c->prune_reason);
    } else if (code == 0 && c->done) {
        state = "COMPLETE";
    } else if (c->stopping && (code == 3 || sig)) {
        /* asked to stop: saved (exit 3), or ended by the signal before it could save
         * (still starting, or past the grace period): either way it resumes */
        state = "WAITING";
        snprintf(reason, sizeof reason, "stopped by the sweep; resumes from its saved state");
    } else {
        state = "FAIL";
        if (c->timed_out) snprintf(reason, sizeof reason, "timed out after %.0f s", elapsed);
        else if (c->error) snprintf(reason, sizeof reason, "%s", c->error);
        else if (sig) snprintf(reason, sizeof reason, "killed by signal %d (%s)", sig, strsignal(sig));
        else if (code == 0) snprintf(reason, sizeof reason, "exited without a result");
        else snprintf(reason, sizeof reason, "exit status %d", code);
    }
    char *tail = vs_tail_text(&c->tail);
    int rc = vs_db_trial_finished(w->db, c->trial_id, state, c->done, w->space.metric, sig ? 128 + sig : code,
                                  reason[0] ? reason : NULL, !strcmp(state, "FAIL") ? tail : NULL, err);
    free(tail);
    if (rc) return -1;
    if (!strcmp(state, "COMPLETE")) {
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(c->done, "val");
        say(w, "trial %d: COMPLETE, %s %.4f (best epoch %.0f, %.0f s)", c->number, w->space.metric,
            json_num(val, w->space.metric), json_num(c->done, "best_epoch"), elapsed);
    } else {
        say(w, "trial %d: %s%s%s", c->number, state, reason[0] ? ": " : "", reason);
    }
    if (strcmp(state, "WAITING")) {
        w->ended_seconds += elapsed;
        w->ended_count++;
    }
    int number = c->number, ended_id = c->trial_id;
    child_free(c);
    if (refresh_trial(w, ended_id, err)) return -1;
    if (!strcmp(state, "FAIL") && !w->stopping) {
        const vs_db_trial *t = trial_by_number(w, number);
        if (t && attempts_of(w, t) <= w->space.max_retries) {
            int trial_id, again;
            if (vs_db_create_trial(w->db, w->study_id, &w->space, t->values, number, &trial_id, &again, err)) return -1;
            say(w, "trial %d: retrying its parameters as trial %d", number, again);
            if (refresh_trial(w, trial_id, err)) return -1;
        }
    }
    return 0;
}

/* ---- the loop ---- */

static void stop_children(sweep *w, int sig) {
    for (int i = 0; i < w->n_slots; i++) {
        child *c = &w->children[i];
        if (!c->used) continue;
        if (sig == SIGTERM) {
            c->stopping = 1;
            if (!c->kill_at) c->kill_at = now_seconds() + KILL_GRACE_SECONDS * 6;
        }
        kill(c->proc.pid, sig);
    }
}

static int active_children(const sweep *w) {
    int n = 0;
    for (int i = 0; i < w->n_slots; i++) n += w->children[i].used;
    return n;
}

/* Trials per state, and the best COMPLETE trial (NULL when none). */
typedef struct tally {
    int complete, pruned, failed, waiting;
    const vs_db_trial *best;
} tally;

static tally count_trials(const sweep *w) {
    tally t = {0};
    for (int i = 0; i < w->n_trials; i++) {
        const vs_db_trial *x = &w->trials[i];
        t.complete += !strcmp(x->state, "COMPLETE");
        t.pruned += !strcmp(x->state, "PRUNED");
        t.failed += !strcmp(x->state, "FAIL");
        t.waiting += !strcmp(x->state, "WAITING");
        if (!strcmp(x->state, "COMPLETE") && x->has_value &&
            (!t.best || (w->space.maximize ? x->value > t.best->value : x->value < t.best->value)))
            t.best = x;
    }
    return t;
}

/* h:mm:ss */
static void clock_text(double seconds, char out[32]) {
    long t = seconds > 0 && seconds < 1e9 ? (long)(seconds + 0.5) : 0;
    snprintf(out, 32, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

/* On a terminal, one line kept current: trials done, each running trial and its epoch,
 * the best so far, the time taken and, once trials have ended, the time left (as
 * `vaesearch status` estimates it: mean trial time x trials left / slots). */
static void live_line(sweep *w) {
    if (!w->o->live) return;
    double now = now_seconds();
    if (now - w->last_live < 0.5) return;
    w->last_live = now;
    tally t = count_trials(w);
    vs_strbuf b = {0};
    vs_sb_printf(&b, "\r\033[K%s: %d/%lld done (%d pruned, %d failed)", w->space.name, t.complete + t.pruned,
                 (long long)w->budget, t.pruned, t.failed);
    int running = 0;
    for (int i = 0; i < w->n_slots; i++) {
        const child *c = &w->children[i];
        if (!c->used) continue;
        if (running++ == 4) {
            vs_sb_printf(&b, "; %d more running", active_children(w) - 4);
            break;
        }
        if (!c->last_epoch) vs_sb_printf(&b, "; trial %d, starting", c->number);
        else vs_sb_printf(&b, "; trial %d, epoch %d", c->number, c->last_epoch);
        if (c->last_epoch && c->epochs) vs_sb_printf(&b, "/%d", c->epochs);
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

static int loop(sweep *w, vs_error *err) {
    for (;;) {
        if (interrupts >= 2) {
            stop_children(w, SIGKILL);
            say(w, "stopped at once: running trials are left as they are; `vaesearch run` again resumes them");
            return VS_RUN_INTERRUPTED;
        }
        double now = now_seconds();
        if (!w->stopping && (interrupts == 1 || (w->space.max_seconds > 0 && now - w->t0 > w->space.max_seconds))) {
            w->stopping = 1;
            w->time_up = interrupts == 0;
            say(w, w->time_up ? "budget.max_seconds reached: stopping the running trials (they save their state)"
                              : "stopping: the running trials save their state (Ctrl-C again to stop at once)");
            stop_children(w, SIGTERM);
        }
        if (!w->stopping && fill_slots(w, err)) return VS_RUN_FAILED;
        if (active_children(w) == 0) {
            if (w->stopping) return w->time_up ? VS_RUN_DONE : VS_RUN_INTERRUPTED;
            int waiting = count_trials(w).waiting;
            if (!waiting && base_trials(w) >= w->budget) return VS_RUN_DONE;
            /* Nothing runs, yet trials remain: only a bug could get here; do not spin. */
            vs_errorf(err, "internal: no trial can start (%d waiting, %lld of %lld proposed)", waiting,
                      (long long)base_trials(w), (long long)w->budget);
            return VS_RUN_FAILED;
        }

        struct pollfd fds[2 * 64 + 1];
        child *owner[2 * 64 + 1];
        int nfds = 0;
        fds[nfds] = (struct pollfd){signal_pipe[0], POLLIN, 0};
        owner[nfds++] = NULL;
        for (int i = 0; i < w->n_slots && nfds < 2 * 64; i++) {
            child *c = &w->children[i];
            if (!c->used) continue;
            if (c->proc.fd_out >= 0) fds[nfds] = (struct pollfd){c->proc.fd_out, POLLIN, 0}, owner[nfds++] = c;
            if (c->proc.fd_err >= 0) fds[nfds] = (struct pollfd){c->proc.fd_err, POLLIN, 0}, owner[nfds++] = c;
        }
        int ready = poll(fds, (nfds_t)nfds, 1000);
        if (ready < 0 && errno != EINTR) return vs_errorf(err, "poll: %s", strerror(errno)), VS_RUN_FAILED;
        if (fds[0].revents) {
            char sink[64];
            while (read(signal_pipe[0], sink, sizeof sink) > 0) {}
        }
        for (int k = 1; k < nfds; k++) {
            child *c = owner[k];
            if (!fds[k].revents || !c->used) continue;
            int failed = 0;
            if (fds[k].fd == c->proc.fd_out) failed = drain(w, c, &c->proc.fd_out, &c->out, 1, err);
            else if (fds[k].fd == c->proc.fd_err) failed = drain(w, c, &c->proc.fd_err, &c->err, 0, err);
            if (failed) return VS_RUN_FAILED;
        }
        now = now_seconds();
        double timeout = w->o->trial_timeout > 0 ? w->o->trial_timeout : w->space.trial_timeout;
        for (int i = 0; i < w->n_slots; i++) {
            child *c = &w->children[i];
            if (!c->used) continue;
            if (timeout > 0 && !c->timed_out && now - c->started > timeout) {
                c->timed_out = 1;
                c->kill_at = now + KILL_GRACE_SECONDS;
                kill(c->proc.pid, SIGTERM);
            }
            if (c->kill_at && now > c->kill_at) kill(c->proc.pid, SIGKILL);
            if (c->proc.fd_out < 0 && c->proc.fd_err < 0) {
                int status;
                if (waitpid(c->proc.pid, &status, 0) == c->proc.pid && finish(w, c, status, err)) return VS_RUN_FAILED;
            }
        }
        if (now - w->last_heartbeat > HEARTBEAT_SECONDS) {
            if (vs_db_heartbeat(w->db, w->study_id, err)) return VS_RUN_FAILED;
            w->last_heartbeat = now;
        }
        live_line(w);
    }
}

static void summary(sweep *w) {
    tally t = count_trials(w);
    say(w, "sweep %s: %d complete, %d pruned, %d failed, %d waiting (%.0f s)", w->space.name, t.complete, t.pruned,
        t.failed, t.waiting, now_seconds() - w->t0);
    if (t.best) {
        char *p = params_text(w, t.best->values);
        say(w, "best: trial %d, validation %s %.4f (%s)", t.best->number, w->space.metric, t.best->value, p);
        free(p);
    }
}

int vs_scheduler_run(const vs_run_opts *o, vs_error *err) {
    sweep w;
    memset(&w, 0, sizeof w);
    w.o = o;
    w.t0 = now_seconds();
    if (vs_space_load(o->space_path, &w.space, err)) return VS_RUN_BAD_INPUT;
    int result = VS_RUN_FAILED, created = 0, claimed = 0;
    w.budget = w.space.n_trials;
    if (w.space.sampler == VS_SAMPLER_GRID) {
        int64_t size = vs_space_grid_size(&w.space, err);
        if (size <= 0) {
            result = VS_RUN_BAD_INPUT;
            goto out;
        }
        if (size < w.budget) w.budget = size;
    }
    resolve_trainer(&w);
    if (o->runs_dir) snprintf(w.runs, sizeof w.runs, "%s", o->runs_dir);
    else {
        char folder[2048];
        folder_of(o->db_path, folder, sizeof folder);
        snprintf(w.runs, sizeof w.runs, "%s/runs", folder);
    }
    if (setup_slots(&w, err)) {
        result = VS_RUN_BAD_INPUT;
        goto out;
    }
    if (vs_db_open(o->db_path, &w.db, err)) goto out;
    if (vs_db_open_sweep(w.db, &w.space, &w.study_id, &created, err) ||
        vs_db_claim_sweep(w.db, w.study_id, STALE_SECONDS, err)) {
        result = VS_RUN_BAD_INPUT;
        goto out;
    }
    claimed = 1;
    if (ensure_dataset(&w, err)) {
        result = VS_RUN_BAD_INPUT;
        goto out;
    }
    int orphans = 0;
    if (vs_db_requeue_orphans(w.db, w.study_id, &orphans, err) || reload(&w, err)) goto out;
    tally so_far = count_trials(&w);
    int done = so_far.complete + so_far.pruned + so_far.failed;
    say(&w, "sweep %s: %s; %d %s slot%s, %d thread%s a trial, window %d, trainer %s", w.space.name,
        created ? "new" : "resuming", w.n_slots, w.n_groups ? "GPU" : "CPU", w.n_slots == 1 ? "" : "s", w.threads,
        w.threads == 1 ? "" : "s", w.window, w.trainer);
    if (!created)
        say(&w, "resuming: %d trial%s ended, %d re-queued from a run that stopped", done, done == 1 ? "" : "s", orphans);

    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK)) {
        vs_errorf(err, "pipe: %s", strerror(errno));
        goto out;
    }
    interrupts = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    w.last_heartbeat = now_seconds();
    result = loop(&w, err);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (result != VS_RUN_FAILED || w.db) {
        vs_error ignore;
        if (reload(&w, &ignore) == 0) summary(&w);
    }
out:
    if (claimed) {   /* trials a double Ctrl-C left RUNNING have no owner now: the next run re-queues them */
        vs_error ignore;
        vs_db_release_sweep(w.db, w.study_id, &ignore);
    }
    if (signal_pipe[0] >= 0) close(signal_pipe[0]), close(signal_pipe[1]);
    signal_pipe[0] = signal_pipe[1] = -1;
    for (int i = 0; i < w.n_slots && w.children; i++) child_free(&w.children[i]);
    free(w.children);
    free(w.group_gpus);
    vs_db_free_trials(w.trials, w.n_trials);
    vs_db_close(w.db);
    vs_space_free(&w.space);
    return result;
}
