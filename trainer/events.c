/* events: the trainer's output lines (events.h). */
#include "events.h"

#include <stdlib.h>
#include <string.h>

#include "common/json_exact.h"

static double num(const cJSON *o, const char *key) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(j) ? j->valuedouble : 0;
}

static void print_metrics(FILE *f, const char *label, const cJSON *m) {
    fprintf(f, "%s NDCG@100 %.4f  Recall@20 %.4f  Recall@50 %.4f", label, num(m, "ndcg@100"), num(m, "recall@20"),
            num(m, "recall@50"));
}

/* The same events as one line of text each, for people at a terminal. */
static void print_text(FILE *f, const cJSON *ev) {
    const char *kind = cJSON_GetObjectItemCaseSensitive(ev, "event")->valuestring;
    if (!strcmp(kind, "start")) {
        fprintf(f, "training on %s: %.0f users, %.0f items, %.0f parameters, %.0f steps an epoch%s\n",
                cJSON_GetObjectItemCaseSensitive(ev, "device")->valuestring, num(ev, "train_users"), num(ev, "items"),
                num(ev, "parameters"), num(ev, "steps_per_epoch"),
                cJSON_GetObjectItemCaseSensitive(ev, "resumed_at_step") ? " (resumed)" : "");
        print_metrics(f, "popularity baseline: validation", cJSON_GetObjectItemCaseSensitive(ev, "popularity_val"));
        fputc('\n', f);
    } else if (!strcmp(kind, "epoch")) {
        if (cJSON_GetObjectItemCaseSensitive(ev, "replayed")) fputs("(before) ", f);
        fprintf(f, "epoch %4.0f  loss %9.3f  kl %8.3f  beta %.4f  %9.0f users/s", num(ev, "epoch"), num(ev, "loss"),
                num(ev, "kl"), num(ev, "beta"), num(ev, "users_per_s"));
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(ev, "val");
        if (val) {
            fputs("  ", f);
            print_metrics(f, "val", val);
            if (cJSON_GetObjectItemCaseSensitive(ev, "best")) fputs("  (best)", f);
        }
        fputc('\n', f);
    } else if (!strcmp(kind, "done")) {
        fprintf(f, "done: best epoch %.0f\n", num(ev, "best_epoch"));
        print_metrics(f, "  validation", cJSON_GetObjectItemCaseSensitive(ev, "val"));
        fputc('\n', f);
        print_metrics(f, "  test      ", cJSON_GetObjectItemCaseSensitive(ev, "test"));
        fprintf(f, "\n  model %s; %.0f users/s in training\n",
                cJSON_GetObjectItemCaseSensitive(ev, "model")->valuestring, num(ev, "train_users_per_s"));
    } else if (!strcmp(kind, "progress")) {
        double steps = num(ev, "steps_per_epoch");
        fprintf(f, "epoch %4.0f  %5.1f%%  step %.0f of %.0f  %9.0f users/s  %.1f s so far\n", num(ev, "epoch"),
                steps > 0 ? 100 * num(ev, "epoch_steps") / steps : 0, num(ev, "epoch_steps"), steps,
                num(ev, "users_per_s"), num(ev, "seconds"));
    } else if (!strcmp(kind, "stopped")) {
        fprintf(f, "stopped at step %.0f; state saved in %s (continue with --resume)\n", num(ev, "step"),
                cJSON_GetObjectItemCaseSensitive(ev, "state")->valuestring);
    }
}

void vs_event_emit(FILE *f, int text, cJSON *event) {
    if (text) {
        print_text(f, event);
    } else {
        char *s = vs_json_print_exact(event);
        fprintf(f, "%s\n", s);
        free(s);
    }
    fflush(f);
    cJSON_Delete(event);
}

cJSON *vs_metrics_json(const vs_metrics *m) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "ndcg@100", m->ndcg100);
    cJSON_AddNumberToObject(o, "recall@20", m->recall20);
    cJSON_AddNumberToObject(o, "recall@50", m->recall50);
    cJSON_AddNumberToObject(o, "users", (double)m->users);
    return o;
}
