/* trial_history: the sweep's trials in memory (its history), kept as results.db holds
 * them: read whole when the run starts, then one trial read back after each change, so
 * that proposals and pruning decisions see what the database holds without reading it
 * all again; found by number, and counted by state. */
#include <stdlib.h>
#include <string.h>

#include "scheduler_internal.h"
#include "results/results_db.h"

int sched_is_ended(const char *state) {
    return !strcmp(state, "COMPLETE") || !strcmp(state, "PRUNED") || !strcmp(state, "FAIL");
}

/* Reads the whole history: once when the run starts, once for the summary. */
int sched_reload(sweep *w, vs_error *err) {
    vs_db_free_trials(w->trials, w->n_trials);
    w->trials = NULL;
    w->n_trials = w->cap_trials = 0;
    if (vs_db_load_trials(w->db, w->study_id, &w->space, &w->trials, &w->n_trials, err)) return -1;
    w->cap_trials = w->n_trials;
    return 0;
}

/* The trial numbered number, or NULL. Numbers run 0, 1, 2... so the index is the
 * number, unless trials were deleted from the database by hand. */
vs_db_trial *sched_trial_by_number(const sweep *w, int number) {
    if (number >= 0 && number < w->n_trials && w->trials[number].number == number) return &w->trials[number];
    for (int i = 0; i < w->n_trials; i++)
        if (w->trials[i].number == number) return &w->trials[i];
    return NULL;
}

/* After a change to one trial (or a new one), reads that trial back from the database
 * into the history: the history stays what the database holds, at the cost of one
 * trial's rows, never all of them. A new trial has the largest number: it goes last. */
int sched_refresh_trial(sweep *w, int trial_id, vs_error *err) {
    vs_db_trial t;
    if (vs_db_load_trial(w->db, trial_id, &w->space, &t, err)) return -1;
    vs_db_trial *old = sched_trial_by_number(w, t.number);
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

tally sched_count_trials(const sweep *w) {
    tally t = {0};
    for (int i = 0; i < w->n_trials; i++) {
        const vs_db_trial *x = &w->trials[i];
        int history = sched_is_history(x);
        t.history += history;
        t.complete += !history && !strcmp(x->state, "COMPLETE");
        t.pruned += !history && !strcmp(x->state, "PRUNED");
        t.failed += !history && !strcmp(x->state, "FAIL");
        t.waiting += !strcmp(x->state, "WAITING");
        if (!strcmp(x->state, "COMPLETE") && x->has_value &&
            (!t.best || (w->space.maximize ? x->value > t.best->value : x->value < t.best->value)))
            t.best = x;
    }
    return t;
}
