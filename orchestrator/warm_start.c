/* warm_start: a space's "warm_start" names an earlier sweep (docs/search-space.md);
 * its finished trials whose parameters this space can take are recorded as this
 * sweep's first trials, ended and naming their source, so that they seed the sampler
 * without being run or counted in the budget. Read before anything is recorded, and
 * only when the sweep is new: a resumed sweep has its seeds already. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "scheduler_internal.h"
#include "results/results_db.h"

/* The value a trial of another sweep had for parameter p: its parameter of that name,
 * else its fixed setting; for an element "key[i]" of a list key not searched by element
 * there, element i of the list the trial had. *as_param tells whether it was one of the
 * trial's parameters. */
static const cJSON *seed_value(const cJSON *trial, const cJSON *source_sweep, const vs_param *p, int *as_param) {
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(trial, "params");
    const cJSON *fixed = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(source_sweep, "space"), "fixed");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, p->name);
    *as_param = v != NULL;
    if (v || !p->list_key) return v ? v : cJSON_GetObjectItemCaseSensitive(fixed, p->name);
    v = cJSON_GetObjectItemCaseSensitive(params, p->list_key);
    *as_param = v != NULL;
    if (!v) v = cJSON_GetObjectItemCaseSensitive(fixed, p->list_key);
    v = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, p->list_index) : NULL;
    *as_param = *as_param && v;
    return v;
}

/* One trial of the earlier sweep as a seed: 1 when it ended with a value and fits this
 * space: each parameter present here (by this space's conditions) has a value it can
 * take, and each absent here was not one of the trial's parameters; else 0. */
static int seed_from(const sweep *w, const cJSON *trial, const cJSON *source_sweep, vs_db_seed *seed) {
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(trial, "state"));
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(trial, "value");
    if (!state || (strcmp(state, "COMPLETE") && strcmp(state, "PRUNED"))) return 0;
    if (!cJSON_IsNumber(value) || !isfinite(value->valuedouble)) return 0;
    const vs_space *s = &w->space;
    size_t n = (size_t)(s->n_params ? s->n_params : 1);
    double *values = vs_xcalloc(n, sizeof(double));
    int *had = vs_xcalloc(n, sizeof *had), *fits = vs_xcalloc(n, sizeof *fits), *present = vs_xcalloc(n, sizeof *present);
    for (int p = 0; p < s->n_params; p++) {
        const cJSON *v = seed_value(trial, source_sweep, &s->params[p], &had[p]);
        fits[p] = v && vs_param_internal_value(&s->params[p], v, &values[p]) == 0;
        if (!fits[p]) values[p] = NAN;
    }
    vs_space_presence(s, values, present);
    int ok = 1;
    for (int p = 0; p < s->n_params && ok; p++) {
        ok = present[p] ? fits[p] : !had[p];
        if (!present[p]) values[p] = NAN;
    }
    free(had);
    free(fits);
    free(present);
    if (!ok) {
        free(values);
        return 0;
    }
    seed->values = values;
    seed->complete = !strcmp(state, "COMPLETE");
    seed->value = value->valuedouble;
    const cJSON *number = cJSON_GetObjectItemCaseSensitive(trial, "number");
    snprintf(seed->source, sizeof seed->source, "%s:%s#%d", w->space.warm_start_db,
             cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(source_sweep, "name")),
             cJSON_IsNumber(number) ? number->valueint : -1);
    return 1;
}

/* Reads the earlier sweep the space names (warm_start), before anything is recorded:
 * it must exist and optimise the same metric the same way. */
int sched_load_seeds(sweep *w, vs_error *err) {
    vs_db *src = NULL;
    int study_id, rc = -1;
    cJSON *sw = NULL, *trials = NULL;
    if (vs_db_open_existing(w->space.warm_start_db, &src, err) ||
        vs_db_find_sweep(src, w->space.warm_start_sweep, &study_id, err) || !(sw = vs_db_sweep_json(src, study_id, err)) ||
        !(trials = vs_db_trials_json(src, study_id, -1, 0, err))) {
        vs_error_prefix(err, "warm_start");
        goto out;
    }
    const char *metric = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sw, "metric"));
    const char *direction = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sw, "direction"));
    const char *ours = w->space.maximize ? "maximize" : "minimize";
    if (!metric || !direction || strcmp(metric, w->space.metric) || strcmp(direction, ours)) {
        vs_errorf(err, "warm_start: sweep '%s' in %s optimises %s (%s), this one %s (%s): their values do not compare",
                  cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sw, "name")), w->space.warm_start_db,
                  metric ? metric : "?", direction ? direction : "?", w->space.metric, ours);
        goto out;
    }
    int n = cJSON_GetArraySize(trials);
    w->seeds = vs_xcalloc((size_t)(n ? n : 1), sizeof *w->seeds);
    const cJSON *t;
    cJSON_ArrayForEach(t, trials) {
        const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "state"));
        int finished = state && (!strcmp(state, "COMPLETE") || !strcmp(state, "PRUNED"));
        if (seed_from(w, t, sw, &w->seeds[w->n_seeds])) w->n_seeds++;
        else w->n_unfit += finished;
    }
    rc = 0;
out:
    cJSON_Delete(trials);
    cJSON_Delete(sw);
    vs_db_close(src);
    return rc;
}

/* Whether the results database holds this sweep already (a resume: its warm start was
 * recorded when it began). */
int sched_sweep_recorded(const sweep *w) {
    vs_db *db = NULL;
    vs_error ignore;
    int study_id, found = access(w->o->db_path, F_OK) == 0 && vs_db_open_existing(w->o->db_path, &db, &ignore) == 0 &&
                          vs_db_find_sweep(db, w->space.name, &study_id, &ignore) == 0;
    vs_db_close(db);
    return found;
}

/* A new sweep records its seeds as its first trials, ended, each naming its source. */
int sched_record_seeds(sweep *w, vs_error *err) {
    if (w->space.warm_start_db && w->n_trials == 0) {
        for (int i = 0; i < w->n_seeds; i++)
            if (vs_db_add_seed_trial(w->db, w->study_id, &w->space, &w->seeds[i], err)) return -1;
        sched_say(w, "warm start: %d finished trial%s of %s seed the sampler (%d did not fit this space)", w->n_seeds,
                  w->n_seeds == 1 ? "" : "s", w->space.warm_start_db, w->n_unfit);
        if (w->n_seeds && sched_reload(w, err)) return -1;
    }
    return vs_db_count_seed_trials(w->db, w->study_id, &w->n_seeded, err);
}
