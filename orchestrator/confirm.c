/* confirm: `vaesearch confirm`'s run (confirm.h): the sweep to confirm and its dataset,
 * checked before anything is recorded; its K best configurations; the confirmation's
 * space, made from the sweep's stored one; and the trials it lacks, recorded (with what
 * they confirm) once the scheduler owns the confirmation, which then runs them as it
 * runs any sweep's waiting trials. */
#define _GNU_SOURCE
#include "confirm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run_folders.h"
#include "common/json_exact.h"
#include "common/strbuf.h"
#include "dataset/dataset.h"
#include "results/results_confirm.h"
#include "results/results_db.h"
#include "space/space.h"
#include "trainer/config.h"

/* The trainer takes seeds in [0, 2^53] (docs/trainer.md). */
#define SEED_LIMIT 9007199254740992ULL

uint64_t vs_confirm_seed(uint64_t original, int index) {
    const uint64_t m = SEED_LIMIT + 1;
    return (original % m + (uint64_t)index) % m;
}

/* A configuration to confirm: a COMPLETE trial of the sweep. */
typedef struct config {
    int number;
    const cJSON *params;   /* its parameters, JSON values by name */
    uint64_t seed;         /* the seed it trained with */
} config;

typedef struct plan {
    const vs_confirm_opts *o;
    int source_id;
    config *configs;       /* the top K, best first */
    int n_configs, seeds;
    int64_t budget;        /* the confirmation's trials once the missing ones are recorded */
    int recorded;          /* how many before_trials recorded */
} plan;

/* ---- the sweep to confirm ---- */

/* The sweep named by --sweep, else by the space file, else the only one to confirm. */
static int find_source(const vs_confirm_opts *o, vs_db *db, const vs_space *file_space, int *id, vs_error *err) {
    const char *name = o->sweep ? o->sweep : file_space->name;
    return vs_db_find_sweep_to_confirm(db, name, id, err);
}

/* A confirmation is no sweep to confirm; a space file given must be the sweep's. */
static int check_source(const cJSON *sweep, const vs_space *file_space, vs_error *err) {
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sweep, "name"));
    if (cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(sweep, "system_attrs"), VS_CONFIRM_ATTR))
        return vs_errorf(err, "sweep '%s' is itself a confirmation: confirm the sweep it confirms", name);
    if (!file_space->canonical) return 0;
    char *stored = vs_json_print_exact(cJSON_GetObjectItemCaseSensitive(sweep, "space"));
    char *diff = vs_space_budget_only_change(stored, file_space->canonical) ? NULL : vs_space_diff(stored, file_space->canonical);
    free(stored);
    if (diff) vs_errorf(err, "%s: sweep '%s' was started with another search space (%s)", file_space->source_path, name, diff);
    free(diff);
    return diff ? -1 : 0;
}

/* A dataset file's fingerprint: 0 and *fp, or -1 when it cannot be opened. */
static int dataset_fingerprint(const char *path, uint32_t *fp, vs_error *err) {
    vs_dataset ds;
    if (vs_dataset_open(&ds, path, err)) return -1;
    *fp = ds.fingerprint;
    vs_dataset_close(&ds);
    return 0;
}

/* The dataset the sweep trained on, as a file to open from here (path, "" for a generated
 * one, which the scheduler finds beside the database): --data, else the space file's,
 * else the path the sweep recorded, from here or from the database's folder. It must be
 * the one the sweep recorded (its fingerprint, vaesearch:dataset), where it recorded one. */
static int source_dataset(const vs_confirm_opts *o, const cJSON *sweep, const vs_space *space, const vs_space *file_space,
                          char *path, size_t n, vs_error *err) {
    path[0] = 0;
    if (space->dataset_synth) return 0;
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sweep, "name"));
    const char *recorded = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(sweep, "user_attrs"), "dataset"));
    const char *fp_text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(sweep, "system_attrs"), "vaesearch:dataset"),
        "fingerprint"));
    char folder[4096], candidates[2][8192] = {"", ""};
    if (o->data) snprintf(candidates[0], sizeof candidates[0], "%s", o->data);
    else if (file_space->dataset) snprintf(candidates[0], sizeof candidates[0], "%s", file_space->dataset);
    else if (recorded) {
        snprintf(candidates[0], sizeof candidates[0], "%s", recorded);
        if (vs_runs_db_folder(o->run.db_path, folder, sizeof folder, err) == 0)
            vs_runs_resolve(folder, recorded, candidates[1], sizeof candidates[1]);
    }
    vs_error open_err = {{0}};
    uint32_t fp = 0;
    int i = 0;
    while (i < 2 && candidates[i][0] && dataset_fingerprint(candidates[i], &fp, &open_err)) i++;
    if (i == 2 || !candidates[i][0]) {
        if (o->data || file_space->dataset) return vs_errorf(err, "%s", open_err.msg);
        return vs_errorf(err, "sweep '%s' trained on %s, which is not found from here nor beside the database: name it "
                              "with --data PATH (or give the sweep's space file)",
                         name, recorded ? recorded : "a dataset it did not record");
    }
    if (fp_text && (uint32_t)strtoul(fp_text, NULL, 16) != fp)
        return vs_errorf(err, "%s: not the dataset sweep '%s' trained on (fingerprint %08x, the sweep's %s): its "
                              "configurations must be trained again on the same data",
                         candidates[i], name, (unsigned)fp, fp_text);
    snprintf(path, n, "%s", candidates[i]);
    return 0;
}

/* ---- the confirmation ---- */

/* The confirmation's name: the existing one's (an error when --name says another), else
 * --name, else `<sweep>-confirm`, which no other sweep may have. */
static int confirmation_name(const vs_confirm_opts *o, vs_db *db, int source_id, const char *source_name, int *confirm_id,
                             char *name, size_t n, vs_error *err) {
    int found = vs_db_find_confirmation(db, source_id, confirm_id, err);
    if (found < 0) return -1;
    if (found) {
        cJSON *c = vs_db_sweep_json(db, *confirm_id, err);
        if (!c) return -1;
        snprintf(name, n, "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name")));
        cJSON_Delete(c);
        if (o->name && strcmp(o->name, name))
            return vs_errorf(err, "sweep '%s' is confirmed by sweep '%s' already: leave out --name to go on with it",
                             source_name, name);
        return 0;
    }
    *confirm_id = -1;
    if (o->name) snprintf(name, n, "%s", o->name);
    else snprintf(name, n, "%s-confirm", source_name);
    if (!vs_space_name_ok(name))
        return vs_errorf(err, "'%s' cannot name the confirmation (%s): choose one with --name", name, VS_SPACE_NAME_RULE);
    int other;
    vs_error ignore;
    if (vs_db_find_sweep(db, name, &other, &ignore) == 0)
        return vs_errorf(err, "a sweep named '%s' is in the database and does not confirm '%s': choose another name with "
                              "--name",
                         name, source_name);
    return 0;
}

/* The confirmation's space: the sweep's stored one, its pruner off, the trainer's seed a
 * parameter, a sampler that is never asked (every trial is recorded up front), no warm
 * start; the budget is set once the trials are counted. */
static cJSON *confirmation_space(const cJSON *stored, const char *name) {
    cJSON *s = cJSON_Duplicate(stored, 1);
    cJSON_ReplaceItemInObjectCaseSensitive(s, "name", cJSON_CreateString(name));
    cJSON_DeleteItemFromObjectCaseSensitive(s, "warm_start");
    cJSON *sampler = cJSON_CreateObject();
    cJSON_AddStringToObject(sampler, "kind", "random");
    cJSON_AddNumberToObject(sampler, "seed", 0);
    cJSON_ReplaceItemInObjectCaseSensitive(s, "sampler", sampler);
    cJSON *pruner = cJSON_CreateObject();
    cJSON_AddStringToObject(pruner, "kind", "none");
    cJSON_ReplaceItemInObjectCaseSensitive(s, "pruner", pruner);
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "fixed"), "seed");
    cJSON *params = cJSON_GetObjectItemCaseSensitive(s, "parameters");
    cJSON_DeleteItemFromObjectCaseSensitive(params, "seed");
    cJSON *seed = cJSON_AddObjectToObject(params, "seed");
    cJSON_AddStringToObject(seed, "type", "int");
    cJSON_AddNumberToObject(seed, "low", 0);
    cJSON_AddNumberToObject(seed, "high", (double)SEED_LIMIT);
    cJSON_AddNumberToObject(seed, "step", 1);
    cJSON_AddBoolToObject(seed, "log", 0);
    return s;
}

/* The space as text with its budget, and its description for people. */
static char *space_text(cJSON *space, int64_t budget, const char *source_name) {
    cJSON *b = cJSON_CreateObject();
    cJSON_AddNumberToObject(b, "trials", (double)budget);
    cJSON_AddNumberToObject(b, "max_seconds", 0);
    cJSON_ReplaceItemInObjectCaseSensitive(space, "budget", b);
    char description[400];
    snprintf(description, sizeof description,
             "vaesearch confirm: the best configurations of sweep '%s' trained again with fresh seeds", source_name);
    cJSON_DeleteItemFromObjectCaseSensitive(space, "description");
    cJSON_AddStringToObject(space, "description", description);
    return vs_json_print_exact(space);
}

/* The seed a trial of the sweep trained with: its config (the sweep's fixed settings and
 * its parameters) over the trainer's defaults. */
static uint64_t trained_seed(const cJSON *stored_space, const cJSON *params) {
    vs_config c;
    vs_config_default(&c);
    cJSON *cfg = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(stored_space, "fixed"), 1);
    if (!cfg) cfg = cJSON_CreateObject();
    const cJSON *p;
    cJSON_ArrayForEach(p, params) {
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, p->string);
        cJSON_AddItemToObject(cfg, p->string, cJSON_Duplicate(p, 1));
    }
    vs_error ignore;
    vs_config_apply_json(&c, cfg, "trial", &ignore);   /* a seed it cannot read leaves the default: still not reused */
    cJSON_Delete(cfg);
    return c.seed;
}

/* Whether a trial's parameters fit the confirmation's space (every one but seed). */
static int params_fit(const vs_space *cs, const cJSON *params, char *why, size_t n) {
    for (int i = 0; i < cs->n_params; i++) {
        const vs_param *p = &cs->params[i];
        if (!strcmp(p->name, "seed")) continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, p->name);
        double x;
        if (!v || vs_param_internal_value(p, v, &x)) {
            char *text = v ? vs_json_print_exact(v) : NULL;
            snprintf(why, n, "%s=%s", p->name, text ? text : "(none)");
            free(text);
            return 0;
        }
    }
    return 1;
}

/* Two configurations are the same when their parameters but the seed are. */
static int same_config(const cJSON *a, const cJSON *b) {
    cJSON *x = cJSON_Duplicate(a, 1), *y = cJSON_Duplicate(b, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(x, "seed");
    cJSON_DeleteItemFromObjectCaseSensitive(y, "seed");
    int same = cJSON_Compare(x, y, 1);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return same;
}

static const cJSON *trial_numbered(const cJSON *trials, int number) {
    const cJSON *t;
    cJSON_ArrayForEach(t, trials) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "number");
        if (cJSON_IsNumber(n) && n->valueint == number) return t;
    }
    return NULL;
}

/* The K best distinct configurations of the sweep, best first, as the summary ranks the
 * sweep's trials; a configuration the confirmation has under another trial number (a
 * duplicate) keeps that number. */
static int choose_configs(plan *pl, const cJSON **ranked, int n_ranked, const cJSON *source_trials,
                          const cJSON *stored_space, const vs_space *cs, const vs_confirm_summary *have, FILE *out) {
    pl->configs = vs_xcalloc((size_t)pl->o->top, sizeof *pl->configs);
    for (int r = 0; r < n_ranked && pl->n_configs < pl->o->top; r++) {
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(ranked[r], "params");
        int number = cJSON_GetObjectItemCaseSensitive(ranked[r], "number")->valueint, dup = 0;
        for (int i = 0; i < pl->n_configs && !dup; i++) dup = same_config(pl->configs[i].params, params);
        char why[1200];
        if (dup) continue;
        if (!params_fit(cs, params, why, sizeof why)) {
            fprintf(out, "confirm: trial %d left out: its parameters do not fit the sweep's space (%s)\n", number, why);
            continue;
        }
        for (int i = 0; i < have->n; i++) {   /* confirmed already under another number: that one */
            const cJSON *other = trial_numbered(source_trials, have->configs[i].number);
            if (other && have->configs[i].number != number &&
                same_config(cJSON_GetObjectItemCaseSensitive(other, "params"), params)) {
                number = have->configs[i].number;
                params = cJSON_GetObjectItemCaseSensitive(other, "params");
                break;
            }
        }
        pl->configs[pl->n_configs++] = (config){number, params, trained_seed(stored_space, params)};
    }
    return pl->n_configs;
}

/* Whether the confirmation's trials include fresh seed index of trial number. */
static int has_pair(const cJSON *trials, int number, int index) {
    const cJSON *t;
    cJSON_ArrayForEach(t, trials) {
        int n, i;
        if (!cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "user_attrs"), "retry_of") &&
            vs_confirm_trial_link(trials, t, &n, &i) == 0 && n == number && i == index)
            return 1;
    }
    return 0;
}

/* Trials the confirmation has that are its own (not retries): what its budget counts. */
static int64_t own_trials(const cJSON *trials) {
    int64_t k = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, trials) {
        int n, i;
        k += !cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "user_attrs"), "retry_of") &&
             vs_confirm_trial_link(trials, t, &n, &i) == 0;
    }
    return k;
}

/* before_trials (scheduler.h): once the run owns the confirmation, it is linked to the
 * sweep and the trials it lacks are recorded, seed by seed (the first seed of every
 * configuration before the second of any, so that an interrupted confirmation has
 * compared them all), the best configuration first. */
static int record_trials(vs_db *db, int study_id, const vs_space *s, void *ctx, vs_error *err) {
    plan *pl = ctx;
    if (vs_db_link_confirmation(db, study_id, pl->source_id, err)) return -1;
    cJSON *trials = vs_db_trials_json(db, study_id, -1, 0, err);
    if (!trials) return -1;
    double *values = vs_xcalloc((size_t)s->n_params + 1, sizeof *values);
    int rc = 0;
    for (int j = 1; rc == 0 && j <= pl->seeds; j++) {
        for (int c = 0; rc == 0 && c < pl->n_configs; c++) {
            const config *k = &pl->configs[c];
            if (has_pair(trials, k->number, j)) continue;
            for (int i = 0; rc == 0 && i < s->n_params; i++) {
                const vs_param *p = &s->params[i];
                if (!strcmp(p->name, "seed")) values[i] = (double)vs_confirm_seed(k->seed, j);
                else if (vs_param_internal_value(p, cJSON_GetObjectItemCaseSensitive(k->params, p->name), &values[i]))
                    rc = vs_errorf(err, "trial %d: its parameter %s does not fit the confirmation's space", k->number,
                                   p->name);
            }
            int trial_id, number;
            if (rc == 0) rc = vs_db_create_confirm_trial(db, study_id, s, values, k->number, j, &trial_id, &number, err);
            if (rc == 0) pl->recorded++;
        }
    }
    free(values);
    cJSON_Delete(trials);
    return rc;
}

/* What the confirmation will run, said before it runs. */
static void say_plan(const plan *pl, const char *source, const char *name, int64_t have, FILE *out) {
    vs_strbuf b = {0};
    for (int i = 0; i < pl->n_configs; i++) vs_sb_printf(&b, "%s%d", i ? ", " : "", pl->configs[i].number);
    fprintf(out, "confirm: sweep %s: %s%d best configuration%s (trial%s %s) on %d fresh seed%s each, as sweep %s: %lld "
                 "trial%s, %lld of them recorded before\n",
            source, pl->n_configs < pl->o->top ? "only " : "", pl->n_configs, pl->n_configs == 1 ? "" : "s",
            pl->n_configs == 1 ? "" : "s", b.s, pl->seeds, pl->seeds == 1 ? "" : "s", name, (long long)pl->budget,
            pl->budget == 1 ? "" : "s", (long long)have);
    fflush(out);
    vs_sb_free(&b);
}

typedef struct loaded {
    vs_db *db;
    vs_space file_space, source_space, cs;
    cJSON *sweep, *trials, *confirm_trials, *space;
    const cJSON **ranked;   /* the sweep's COMPLETE trials, best first */
    int n_ranked;
    vs_confirm_summary have;
} loaded;

static void loaded_free(loaded *l) {
    vs_db_close(l->db);
    vs_space_free(&l->file_space);
    vs_space_free(&l->source_space);
    vs_space_free(&l->cs);
    free(l->ranked);
    vs_confirm_summary_free(&l->have);
    cJSON_Delete(l->sweep);
    cJSON_Delete(l->trials);
    cJSON_Delete(l->confirm_trials);
    cJSON_Delete(l->space);
}

/* Everything read and checked before the scheduler records anything: the sweep, its
 * dataset, the confirmation's name and trials, the configurations. The confirmation's
 * space as text goes to *text. */
static int prepare(const vs_confirm_opts *o, loaded *l, plan *pl, char *name, size_t name_size, char *dataset,
                   size_t dataset_size, char **text, vs_error *err) {
    int source_id, confirm_id;
    if (o->space_path && vs_space_load(o->space_path, &l->file_space, err)) return -1;
    if (access(o->run.db_path, F_OK) != 0)
        return vs_errorf(err, "%s: no results database here: run the sweep first", o->run.db_path);
    if (vs_db_open_existing(o->run.db_path, &l->db, err) || find_source(o, l->db, &l->file_space, &source_id, err) ||
        !(l->sweep = vs_db_sweep_json(l->db, source_id, err)) ||
        !(l->trials = vs_db_trials_json(l->db, source_id, -1, 0, err)) ||
        check_source(l->sweep, &l->file_space, err))
        return -1;
    pl->source_id = source_id;
    const char *source_name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l->sweep, "name"));
    const cJSON *stored = cJSON_GetObjectItemCaseSensitive(l->sweep, "space");
    char *stored_text = vs_json_print_exact(stored), source_label[300];
    snprintf(source_label, sizeof source_label, "sweep %s's stored space", source_name);
    int rc = vs_space_parse(stored_text, source_label, &l->source_space, err);
    free(stored_text);
    if (rc || source_dataset(o, l->sweep, &l->source_space, &l->file_space, dataset, dataset_size, err) ||
        confirmation_name(o, l->db, source_id, source_name, &confirm_id, name, name_size, err))
        return -1;
    l->confirm_trials = confirm_id >= 0 ? vs_db_trials_json(l->db, confirm_id, -1, 0, err) : cJSON_CreateArray();
    if (!l->confirm_trials) return -1;
    /* The sweep's trials, best first, and the configurations the confirmation has. */
    l->ranked = vs_xcalloc((size_t)cJSON_GetArraySize(l->trials) + 1, sizeof *l->ranked);
    l->n_ranked = vs_confirm_rank_sweep(l->sweep, l->trials, l->ranked);
    if (vs_confirm_summarize(l->sweep, l->trials, l->confirm_trials, NULL, &l->have, err)) return -1;
    l->space = confirmation_space(stored, name);
    char *probe = space_text(l->space, 1, source_name), label[300];
    snprintf(label, sizeof label, "confirmation %s", name);
    rc = vs_space_parse(probe, label, &l->cs, err);
    free(probe);
    if (rc) return -1;
    if (choose_configs(pl, l->ranked, l->n_ranked, l->trials, stored, &l->cs, &l->have, o->run.out) == 0)
        return vs_errorf(err, "sweep '%s' has no COMPLETE trial to confirm yet", source_name);
    int64_t have = own_trials(l->confirm_trials), missing = 0;
    for (int j = 1; j <= pl->seeds; j++)
        for (int c = 0; c < pl->n_configs; c++) missing += !has_pair(l->confirm_trials, pl->configs[c].number, j);
    pl->budget = have + missing;
    say_plan(pl, source_name, name, have, o->run.out);
    *text = space_text(l->space, pl->budget, source_name);
    return 0;
}

int vs_confirm_run(const vs_confirm_opts *o, char *name, size_t name_size, vs_error *err) {
    if (o->top < 1 || o->seeds < 1) {
        vs_errorf(err, "--top and --seeds must be at least 1");
        return VS_RUN_BAD_INPUT;
    }
    loaded l;
    memset(&l, 0, sizeof l);
    plan pl = {.o = o, .seeds = o->seeds};
    char dataset[8192], *text = NULL;
    name[0] = 0;
    if (prepare(o, &l, &pl, name, name_size, dataset, sizeof dataset, &text, err)) {
        free(pl.configs);
        loaded_free(&l);
        return VS_RUN_BAD_INPUT;
    }
    vs_db_close(l.db);   /* the scheduler opens its own connection */
    l.db = NULL;
    vs_run_opts run = o->run;
    char label[400];
    snprintf(label, sizeof label, "confirmation %s", name);
    run.space_path = label;
    run.space_json = text;
    run.dataset = dataset[0] ? dataset : NULL;
    run.before_trials = record_trials;
    run.before_trials_ctx = &pl;
    int rc = vs_scheduler_run(&run, err);
    free(text);
    free(pl.configs);
    loaded_free(&l);
    return rc;
}
