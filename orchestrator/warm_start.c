/* warm_start: a space's "warm_start" names an earlier sweep (docs/search-space.md);
 * its finished trials that fit this sweep are recorded as this sweep's first trials,
 * ended and naming their source, so that they seed the sampler without being run or
 * counted in the budget. A trial fits when this space can take its parameters and (unless
 * warm_start.match is "parameters") it was trained on the same dataset with the same
 * settings: its values would be this sweep's. Those that do not fit are counted by why.
 * Read before anything is recorded, and only when the sweep is new: a resumed sweep has
 * its seeds already. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "run_folders.h"
#include "scheduler_internal.h"
#include "common/json_exact.h"
#include "common/strbuf.h"
#include "dataset/dataset.h"
#include "results/results_db.h"
#include "trainer/config.h"

/* Config keys that cannot change a trial's value: how often the state is saved, how
 * many users are scored at once. */
static int changes_nothing(const char *key) { return !strcmp(key, "checkpoint_every") || !strcmp(key, "eval_batch_size"); }

/* Why the earlier sweep's trials do not fit, counted. */
typedef struct unfit {
    int params;            /* a parameter this space cannot take */
    int dataset;           /* another dataset (or one that could not be compared) */
    int settings;          /* another value of a setting this space does not search */
    char keys[8][64];      /* those settings, the first few */
    int key_counts[8], n_keys;
} unfit;

static void count_key(unfit *u, const char *key) {
    for (int i = 0; i < u->n_keys; i++)
        if (!strcmp(u->keys[i], key)) {
            u->key_counts[i]++;
            return;
        }
    if (u->n_keys < 8) {
        snprintf(u->keys[u->n_keys], sizeof u->keys[0], "%s", key);
        u->key_counts[u->n_keys++] = 1;
    }
}

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

/* Whether this sweep searches trainer key `key`: a parameter of that name, or elements
 * of it when it is a list ("hidden_dims[0]"). */
static int is_searched(const vs_space *s, const char *key) {
    for (int p = 0; p < s->n_params; p++)
        if (!strcmp(s->params[p].name, key) || (s->params[p].list_key && !strcmp(s->params[p].list_key, key))) return 1;
    return 0;
}

/* The earlier sweep: its JSON (vs_db_sweep_json), its stored space parsed as its runs
 * parsed it (has_space 0 when today's vaesearch cannot read it), and whether it used
 * this sweep's dataset. */
typedef struct source {
    const cJSON *sweep;
    vs_space space;
    int has_space;
    int same_dataset;
} source;

/* The trainer config the earlier trial ran with, over the trainer's defaults: its
 * space's fixed settings and its parameters as that space gives them to the trainer
 * (lists assembled from their elements, "else" values of absent parameters, switches
 * left out); without a readable space, its fixed settings and parameters as they are.
 * 0, or -1 when they are not this trainer's. */
static int source_config(const source *src, const cJSON *trial, vs_config *out) {
    vs_error ignore;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(trial, "params");
    vs_config_default(out);
    if (!src->has_space) {
        const cJSON *fixed = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(src->sweep, "space"), "fixed");
        return (cJSON_IsObject(fixed) && vs_config_apply_json(out, fixed, "fixed", &ignore)) ||
                       vs_config_apply_json(out, params, "params", &ignore)
                   ? -1
                   : 0;
    }
    const vs_space *s = &src->space;
    double *values = vs_xcalloc((size_t)(s->n_params ? s->n_params : 1), sizeof(double));
    for (int p = 0; p < s->n_params; p++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, s->params[p].name);
        if (!v || vs_param_internal_value(&s->params[p], v, &values[p])) values[p] = NAN;
    }
    cJSON *config = vs_space_trial_config(s, values);
    int rc = !config || vs_config_apply_json(out, config, "config", &ignore) ? -1 : 0;
    cJSON_Delete(config);
    free(values);
    return rc;
}

/* The first setting this sweep does not search whose value the trial was trained with
 * differs from this sweep's (both with the trainer's defaults for what they leave out),
 * into key; "" when none does. */
static void setting_differs(const sweep *w, const cJSON *trial, const source *src, char *key, size_t n) {
    key[0] = 0;
    vs_config ours, theirs;
    vs_config_default(&ours);
    vs_error ignore;
    if ((w->space.fixed && vs_config_apply_json(&ours, w->space.fixed, "fixed", &ignore)) ||
        source_config(src, trial, &theirs)) {
        snprintf(key, n, "its settings (not this trainer's)");
        return;
    }
    cJSON *a = vs_config_to_json(&ours), *b = vs_config_to_json(&theirs);
    for (const cJSON *k = a->child; k && !key[0]; k = k->next)
        if (!is_searched(&w->space, k->string) && !changes_nothing(k->string) &&
            !cJSON_Compare(k, cJSON_GetObjectItemCaseSensitive(b, k->string), 1))
            snprintf(key, n, "%s", k->string);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* Whether the trial's parameters fit this space, its values into values: each parameter
 * present here (by this space's conditions) has a value it can take, and each absent
 * here (NaN) was not one of the trial's parameters. */
static int params_fit(const vs_space *s, const cJSON *trial, const cJSON *source_sweep, double *values) {
    size_t n = (size_t)(s->n_params ? s->n_params : 1);
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
    return ok;
}

/* One trial of the earlier sweep as a seed: 1 when it ended with a value and fits
 * (above: its parameters, and unless warm_start.match is "parameters" its dataset and
 * settings), else 0 with the reason counted in u. */
static int seed_from(const sweep *w, const cJSON *trial, const source *src, unfit *u, vs_db_seed *seed) {
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(trial, "state"));
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(trial, "value");
    if (!state || (strcmp(state, "COMPLETE") && strcmp(state, "PRUNED"))) return 0;
    if (!cJSON_IsNumber(value) || !isfinite(value->valuedouble)) return 0;
    double *values = vs_xcalloc((size_t)(w->space.n_params ? w->space.n_params : 1), sizeof(double));
    if (!params_fit(&w->space, trial, src->sweep, values)) {
        free(values);
        u->params++;
        return 0;
    }
    char key[64];
    if (!w->space.warm_start_any_setup) {
        if (!src->same_dataset) {
            free(values);
            u->dataset++;
            return 0;
        }
        setting_differs(w, trial, src, key, sizeof key);
        if (key[0]) {
            free(values);
            u->settings++;
            count_key(u, key);
            return 0;
        }
    }
    seed->values = values;
    seed->complete = !strcmp(state, "COMPLETE");
    seed->value = value->valuedouble;
    const cJSON *number = cJSON_GetObjectItemCaseSensitive(trial, "number");
    snprintf(seed->source, sizeof seed->source, "%s:%s#%d", w->space.warm_start_db,
             cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(src->sweep, "name")),
             cJSON_IsNumber(number) ? number->valueint : -1);
    return 1;
}

/* The earlier sweep's dataset fingerprint (dataset.h): as its runs recorded it, else
 * read from its dataset file where that can be found (a sweep of an older vaesearch):
 * beside its database for a generated one, else the path as recorded, from here or
 * from its database's folder. 0 when unknown. */
static uint32_t source_fingerprint(const sweep *w, const cJSON *source_sweep) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(source_sweep, "system_attrs"),
                                                      "vaesearch:dataset");
    const char *fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "fingerprint"));
    if (fp) return (uint32_t)strtoul(fp, NULL, 16);
    const char *path = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(source_sweep, "user_attrs"), "dataset"));
    char folder[4096], candidates[2][8192];
    vs_error err;
    if (!path || vs_runs_db_folder(w->space.warm_start_db, folder, sizeof folder, &err)) return 0;
    if (!strncmp(path, "synth:", 6)) {
        snprintf(candidates[0], sizeof candidates[0], "%s/synth-%s.vsds", folder, path + 6);
        candidates[1][0] = 0;
    } else {
        snprintf(candidates[0], sizeof candidates[0], "%s", path);
        vs_runs_resolve(folder, path, candidates[1], sizeof candidates[1]);
    }
    for (int i = 0; i < 2; i++) {
        vs_dataset ds;
        if (!candidates[i][0] || vs_dataset_open(&ds, candidates[i], &err)) continue;
        uint32_t f = ds.fingerprint;
        vs_dataset_close(&ds);
        return f;
    }
    return 0;
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
    uint32_t theirs = source_fingerprint(w, sw);
    source from = {.sweep = sw, .same_dataset = theirs != 0 && theirs == w->dataset_fingerprint};
    char *stored = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(sw, "space"));
    vs_error ignore;
    from.has_space = stored && vs_space_parse(stored, w->space.warm_start_db, &from.space, &ignore) == 0;
    free(stored);
    int n = cJSON_GetArraySize(trials);
    w->seeds = vs_xcalloc((size_t)(n ? n : 1), sizeof *w->seeds);
    unfit u = {0};
    const cJSON *t;
    cJSON_ArrayForEach(t, trials)
        if (seed_from(w, t, &from, &u, &w->seeds[w->n_seeds])) w->n_seeds++;
    if (from.has_space) vs_space_free(&from.space);
    w->n_unfit = u.params + u.dataset + u.settings;
    vs_strbuf why = {0};
    if (u.dataset)
        vs_sb_printf(&why, "%d trained on %s", u.dataset,
                     theirs ? "another dataset" : "a dataset that could not be compared with this one (not found)");
    if (u.settings) {
        vs_sb_printf(&why, "%s%d with other settings (", why.len ? ", " : "", u.settings);
        for (int i = 0; i < u.n_keys; i++) vs_sb_printf(&why, "%s%s: %d", i ? ", " : "", u.keys[i], u.key_counts[i]);
        vs_sb_puts(&why, ")");
    }
    if (u.params) vs_sb_printf(&why, "%s%d with a parameter this space cannot take", why.len ? ", " : "", u.params);
    if (u.dataset || u.settings) vs_sb_puts(&why, "; warm_start.match \"parameters\" takes those of another dataset or settings too");
    snprintf(w->unfit_why, sizeof w->unfit_why, "%s", why.s ? why.s : "");
    vs_sb_free(&why);
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
        sched_say(w, "warm start: %d finished trial%s of %s seed the sampler; %d did not fit%s%s", w->n_seeds,
                  w->n_seeds == 1 ? "" : "s", w->space.warm_start_db, w->n_unfit, w->n_unfit ? ": " : "", w->unfit_why);
        if (w->n_seeds && sched_reload(w, err)) return -1;
    }
    return 0;
}

int sched_record_dataset(sweep *w, vs_error *err) {
    char fp[16];
    snprintf(fp, sizeof fp, "%08x", (unsigned)w->dataset_fingerprint);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "fingerprint", fp);
    cJSON_AddNumberToObject(d, "items", (double)w->dataset_items);
    cJSON_AddNumberToObject(d, "train_users", (double)w->dataset_train_users);
    int rc = vs_db_set_sweep_system_attr(w->db, w->study_id, "vaesearch:dataset", d, err);
    cJSON_Delete(d);
    return rc;
}
