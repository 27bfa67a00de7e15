/* bench_tpe_propose: the sampler's own time in a finished sweep, block by block. It
 * reads a sweep's trials from results.db and asks the sampler again for each trial k
 * with the history that trial had (the trials before it, ended, as a one-slot sweep
 * with window 0 sees them), timing each proposal in CPU time; it checks that each proposal is the
 * recorded one, so the time is that of the very work the sweep did. bench_orchestrator.sh
 * --tpe subtracts it to leave the orchestrator's own overhead.
 *
 *   bench_tpe_propose SPACE.json RESULTS.db BLOCK     prints one line a block: "first last ms"
 * (the mean CPU milliseconds of a proposal in trials first..last) */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/vs_error.h"
#include "orchestrator/sampler.h"
#include "results/results_db.h"
#include "space/space.h"

/* CPU time of this process: what the sampler costs, whatever else the machine runs. */
static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: bench_tpe_propose SPACE.json RESULTS.db BLOCK\n");
        return 2;
    }
    int block = atoi(argv[3]);
    vs_error err = {0};
    vs_space s;
    vs_db *db = NULL;
    int study_id, n = 0;
    vs_db_trial *t = NULL;
    if (block < 1 || vs_space_load(argv[1], &s, &err) || vs_db_open_existing(argv[2], &db, &err) ||
        vs_db_find_sweep(db, s.name, &study_id, &err) || vs_db_load_trials(db, study_id, &s, &t, &n, &err)) {
        fprintf(stderr, "bench_tpe_propose: %s\n", err.msg[0] ? err.msg : "BLOCK must be >= 1");
        return 2;
    }
    vs_trial_obs *hist = calloc((size_t)n + 1, sizeof *hist);
    double *values = calloc((size_t)s.n_params + 1, sizeof *values), spent = 0;
    int first = 0, h = 0;
    for (int k = 0; k < n; k++) {
        double t0 = now_seconds();
        if (vs_sampler_propose(&s, k, hist, h, values, &err)) {
            fprintf(stderr, "bench_tpe_propose: trial %d: %s\n", k, err.msg);
            return 1;
        }
        spent += now_seconds() - t0;
        for (int p = 0; p < s.n_params; p++)
            if (s.params[p].kind != VS_PARAM_CONSTANT && values[p] != t[k].values[p] &&
                !(isnan(values[p]) && isnan(t[k].values[p]))) {   /* absent in both */
                fprintf(stderr, "bench_tpe_propose: trial %d: %s proposed %.17g, the sweep had %.17g\n", k,
                        s.params[p].name, values[p], t[k].values[p]);
                return 1;
            }
        /* the history as the scheduler gives it: a FAIL or a valueless trial is left out */
        int complete = !strcmp(t[k].state, "COMPLETE");
        if (t[k].has_value && (complete || !strcmp(t[k].state, "PRUNED")))
            hist[h++] = (vs_trial_obs){t[k].number, t[k].values, complete ? VS_OBS_COMPLETE : VS_OBS_PRUNED, t[k].value};
        if ((k + 1) % block == 0 || k + 1 == n) {
            printf("%d %d %.4f\n", first + 1, k + 1, spent / (k + 1 - first) * 1e3);
            first = k + 1;
            spent = 0;
        }
    }
    free(values);
    free(hist);
    vs_db_free_trials(t, n);
    vs_db_close(db);
    vs_space_free(&s);
    return 0;
}
