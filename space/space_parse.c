/* space_parse: reading a search space (space.h, docs/search-space.md): the file, its
 * JSON, and each section but the parameters (space_params.c), checked with its JSON path
 * named in the message (space_check.c); then the canonical form (space_canonical.c).
 * A new key of a section is read here, and written in space_canonical.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "space.h"
#include "space_internal.h"
#include "common/strbuf.h"
#include "dataset/synth.h"
#include "trainer/config.h"

#define MAX_SPACE_FILE (16 << 20)
#define MAX_TRIALS 1000000

/* ------------------------------------------------------------ the sections */

static int parse_fixed(parse_ctx *c, const cJSON *root, vs_space *s) {
    const cJSON *fixed;
    if (space_get_object(c, root, "", "fixed", &fixed)) return -1;
    char sub[512];
    if (fixed) {
        for (const cJSON *m = fixed->child; m; m = m->next) {
            space_join_path(sub, sizeof sub, "fixed", m->string);
            if (!space_trainer_key(c, m->string)) {
                char *known = space_trainer_key_list(c);
                space_fail(c, sub, "not a trainer config key (known keys: %s)", known);
                free(known);
                return -1;
            }
            for (const cJSON *e = fixed->child; e != m; e = e->next)
                if (!strcmp(e->string, m->string)) return space_fail(c, sub, "appears twice");
            if (space_trainer_accepts(c, m->string, m, sub)) return -1;
        }
    }
    /* Kept in the trainer's key order, so the canonical form does not depend on the file's. */
    s->fixed = cJSON_CreateObject();
    for (const cJSON *k = c->trainer_keys->child; k && fixed; k = k->next) {
        const cJSON *m = space_member(fixed, k->string);
        if (m) cJSON_AddItemToObject(s->fixed, k->string, cJSON_Duplicate(m, 1));
    }
    return 0;
}

/* The sweep's name: also an Optuna study name and, for the scheduler, a folder name. */
int vs_space_name_ok(const char *name) {
    size_t n = strlen(name);
    return n > 0 && n <= 100 && name[0] != '.' && name[0] != '-' &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int parse_name(parse_ctx *c, const cJSON *root, vs_space *s) {
    const char *name;
    if (space_get_string(c, root, "", "name", NULL, &name)) return -1;
    if (!name) return space_fail(c, "name", "missing (the sweep's name)");
    if (!vs_space_name_ok(name))
        return space_fail(c, "name", VS_SPACE_NAME_RULE);
    s->name = vs_xstrdup(name);
    return 0;
}

static int parse_dataset(parse_ctx *c, const cJSON *root, vs_space *s) {
    const cJSON *d = space_member(root, "dataset");
    if (!d) return space_fail(c, "dataset", "missing (a .vsds path, or {\"synth\": \"small\"})");
    if (cJSON_IsString(d)) {
        if (!d->valuestring[0]) return space_fail(c, "dataset", "expected a non-empty path");
        s->dataset = vs_xstrdup(d->valuestring);
        return 0;
    }
    if (!cJSON_IsObject(d)) return space_fail(c, "dataset", "expected a path or {\"synth\": PRESET}");
    static const char *const keys[] = {"synth", NULL};
    if (space_check_members(c, d, "dataset", keys, "dataset")) return -1;
    const cJSON *preset = space_member(d, "synth");
    if (!preset) return space_fail(c, "dataset.synth", "missing (a vaesearch synth preset, e.g. \"small\")");
    if (!cJSON_IsString(preset)) return space_fail(c, "dataset.synth", "expected a preset name");
    vs_synth_opts opts;
    vs_error e;
    if (vs_synth_preset(preset->valuestring, &opts, &e)) return space_fail(c, "dataset.synth", "%s", e.msg);
    s->dataset_synth = vs_xstrdup(preset->valuestring);
    return 0;
}

static const char *const metric_names[] = {"ndcg@100", "recall@20", "recall@50", NULL};
static const char *const direction_names[] = {"maximize", "minimize", NULL};

static int parse_objective(parse_ctx *c, const cJSON *root, vs_space *s) {
    static const char *const keys[] = {"metric", "direction", NULL};
    const cJSON *o;
    const char *metric = "ndcg@100", *direction = "maximize";
    if (space_get_object(c, root, "", "objective", &o)) return -1;
    if (o) {
        if (space_check_members(c, o, "objective", keys, "objective")) return -1;
        if (space_get_string(c, o, "objective", "metric", metric, &metric)) return -1;
        if (space_get_string(c, o, "objective", "direction", direction, &direction)) return -1;
    }
    if (space_pick(metric, metric_names) < 0)
        return space_fail(c, "objective.metric", "expected ndcg@100, recall@20 or recall@50");
    if (space_pick(direction, direction_names) < 0)
        return space_fail(c, "objective.direction", "expected maximize or minimize");
    s->metric = vs_xstrdup(metric);
    s->maximize = !strcmp(direction, "maximize");
    return 0;
}

/* A section whose "kind" says which members it takes (sampler, pruner): the object at
 * key, NULL when absent, and the kind as an index into names; def when not given. */
static int get_kind_section(parse_ctx *c, const cJSON *root, const char *key, const char *const *names,
                            const char *def, const char *expected, const cJSON **o, int *kind) {
    const char *name = def;
    char path[64];
    if (space_get_object(c, root, "", key, o)) return -1;
    if (*o && space_get_string(c, *o, key, "kind", def, &name)) return -1;
    space_join_path(path, sizeof path, key, "kind");
    if ((*kind = space_pick(name, names)) < 0) return space_fail(c, path, "expected %s", expected);
    return 0;
}

static int parse_sampler(parse_ctx *c, const cJSON *root, vs_space *s) {
    static const char *const plain_keys[] = {"kind", "seed", NULL};
    static const char *const tpe_keys[] = {"kind", "seed", "startup_trials", "candidates", "multivariate", NULL};
    const cJSON *o;
    int k;
    if (get_kind_section(c, root, "sampler", space_sampler_names, "tpe", "grid, random or tpe", &o, &k)) return -1;
    s->sampler = (vs_sampler_kind)k;
    s->tpe_startup_trials = 10;
    s->tpe_candidates = 24;
    s->tpe_multivariate = k == VS_SAMPLER_TPE ? VS_TPE_MULTIVARIATE : VS_TPE_UNIVARIATE;
    if (!o) return 0;
    if (space_check_members(c, o, "sampler", k == VS_SAMPLER_TPE ? tpe_keys : plain_keys,
                            k == VS_SAMPLER_TPE ? "a tpe sampler" : k == VS_SAMPLER_GRID ? "a grid sampler" : "a random sampler"))
        return -1;
    int64_t seed;
    if (space_get_int(c, o, "sampler", "seed", 0, (int64_t)MAX_EXACT_INT, 0, &seed)) return -1;
    s->seed = (uint64_t)seed;
    if (space_get_int32(c, o, "sampler", "startup_trials", 0, MAX_TRIALS, 10, &s->tpe_startup_trials)) return -1;
    if (space_get_int32(c, o, "sampler", "candidates", 1, 100000, 24, &s->tpe_candidates)) return -1;
    const cJSON *mv = space_member(o, "multivariate");
    if (!mv) return 0;
    s->tpe_multivariate_given = 1;
    if (cJSON_IsBool(mv)) s->tpe_multivariate = cJSON_IsTrue(mv) ? VS_TPE_MULTIVARIATE : VS_TPE_UNIVARIATE;
    else if (cJSON_IsString(mv) && !strcmp(mv->valuestring, "optuna")) s->tpe_multivariate = VS_TPE_OPTUNA;
    else
        return space_fail(c, "sampler.multivariate",
                          "expected true (vaesearch's multivariate TPE), false (univariate) or \"optuna\" (Optuna's "
                          "multivariate TPE exactly)");
    return 0;
}

/* "warm_start": {"db": PATH, "sweep": NAME, "match": "setup"|"parameters"}: earlier
 * results that seed the sampler, and what they must share with this sweep. */
static int parse_warm_start(parse_ctx *c, const cJSON *root, vs_space *s) {
    static const char *const keys[] = {"db", "sweep", "match", NULL};
    const cJSON *o;
    const char *db = NULL, *sweep = NULL, *match = NULL;
    if (space_get_object(c, root, "", "warm_start", &o)) return -1;
    if (!o) return 0;
    if (space_check_members(c, o, "warm_start", keys, "warm_start") ||
        space_get_string(c, o, "warm_start", "db", NULL, &db) ||
        space_get_string(c, o, "warm_start", "sweep", NULL, &sweep) ||
        space_get_string(c, o, "warm_start", "match", NULL, &match))
        return -1;
    if (!db) return space_fail(c, "warm_start.db", "missing (the results database of the earlier sweep)");
    if (match && strcmp(match, "setup") && strcmp(match, "parameters"))
        return space_fail(c, "warm_start.match", "must be \"setup\" (the same dataset and settings, the default) or "
                                                 "\"parameters\" (only the parameters must fit)");
    s->warm_start_any_setup = match && !strcmp(match, "parameters");
    s->warm_start_db = vs_xstrdup(db);
    s->warm_start_sweep = sweep ? vs_xstrdup(sweep) : NULL;
    return 0;
}

static int parse_budget(parse_ctx *c, const cJSON *root, vs_space *s) {
    static const char *const keys[] = {"trials", "max_seconds", NULL};
    const cJSON *o;
    if (space_get_object(c, root, "", "budget", &o)) return -1;
    if (o && space_check_members(c, o, "budget", keys, "budget")) return -1;
    /* With no "budget" object, o is NULL and every member takes its default. */
    if (space_get_int32(c, o, "budget", "trials", 1, MAX_TRIALS, 0, &s->n_trials)) return -1;
    if (space_get_number(c, o, "budget", "max_seconds", 0, 0, 0, &s->max_seconds)) return -1;
    if (s->sampler == VS_SAMPLER_GRID) {
        vs_error e;
        int64_t points = vs_space_grid_size(s, &e);
        if (points == 0) return vs_errorf(c->err, "%s: %s", c->source, e.msg);
        if (s->n_trials == 0) {
            if (points > MAX_TRIALS)
                return space_fail(c, "budget.trials", "the grid has %lld points: say how many to run (at most %d)",
                                  (long long)points, MAX_TRIALS);
            s->n_trials = (int)points;
        } else if (s->n_trials > points) {
            return space_fail(c, "budget.trials", "%d is more than the grid's %lld points", s->n_trials,
                              (long long)points);
        }
    }
    if (s->n_trials == 0) return space_fail(c, "budget.trials", "missing (how many trials to finish)");
    return 0;
}

static int parse_resources(parse_ctx *c, const cJSON *root, vs_space *s) {
    static const char *const keys[] = {"gpus_per_trial", "trials_per_gpu", "max_retries", "trial_timeout", "window", NULL};
    const cJSON *o;
    if (space_get_object(c, root, "", "resources", &o)) return -1;
    s->gpus_per_trial = s->trials_per_gpu = 1;
    if (!o) return 0;
    if (space_check_members(c, o, "resources", keys, "resources")) return -1;
    if (space_get_int32(c, o, "resources", "gpus_per_trial", 1, 64, 1, &s->gpus_per_trial)) return -1;
    if (space_get_int32(c, o, "resources", "trials_per_gpu", 1, 64, 1, &s->trials_per_gpu)) return -1;
    if (space_get_int32(c, o, "resources", "max_retries", 0, 100, 0, &s->max_retries)) return -1;
    if (space_get_number(c, o, "resources", "trial_timeout", 0, 0, 0, &s->trial_timeout)) return -1;
    return space_get_int32(c, o, "resources", "window", 0, 100000, 0, &s->window);
}

static int parse_pruner(parse_ctx *c, const cJSON *root, vs_space *s) {
    static const char *const none_keys[] = {"kind", NULL};
    static const char *const median_keys[] = {"kind", "startup_trials", "warmup_epochs", NULL};
    static const char *const asha_keys[] = {"kind", "min_epochs", "reduction_factor", NULL};
    static const char *const *const keys_of[] = {none_keys, median_keys, asha_keys};
    static const char *const what_of[] = {"a none pruner", "a median pruner", "an asha pruner"};
    const cJSON *o;
    int k;
    if (get_kind_section(c, root, "pruner", space_pruner_names, "none", "none, median or asha", &o, &k)) return -1;
    s->pruner = (vs_pruner_kind)k;
    s->pruner_startup_trials = 5;
    s->pruner_warmup_epochs = 5;
    s->asha_min_epochs = 1;
    s->asha_reduction_factor = 3;
    if (!o) return 0;
    if (space_check_members(c, o, "pruner", keys_of[k], what_of[k])) return -1;
    if (space_get_int32(c, o, "pruner", "startup_trials", 0, MAX_TRIALS, 5, &s->pruner_startup_trials)) return -1;
    if (space_get_int32(c, o, "pruner", "warmup_epochs", 0, 1000000, 5, &s->pruner_warmup_epochs)) return -1;
    if (space_get_int32(c, o, "pruner", "min_epochs", 1, 1000000, 1, &s->asha_min_epochs)) return -1;
    return space_get_int32(c, o, "pruner", "reduction_factor", 2, 100, 3, &s->asha_reduction_factor);
}

/* A fixed eval_every the pruner cannot work with: no epoch before the last is validated
 * at or after the first one the pruner judges (the median's warm-up, ASHA's first rung),
 * so no trial could ever be stopped, though validating every epoch would allow it. The
 * pruner judges only validated epochs, and vaesearch never changes eval_every, so the
 * space is refused. Checked when epochs is known (fixed, or the trainer's default). */
static int check_pruner_validations(parse_ctx *c, const vs_space *s) {
    if (s->pruner == VS_PRUNER_NONE) return 0;
    const cJSON *every = space_member(s->fixed, "eval_every");
    const cJSON *epochs = space_member(s->fixed, "epochs");
    for (int i = 0; i < s->n_params; i++)
        if (!strcmp(s->params[i].name, "epochs")) return 0;   /* searched: varies by trial */
    if (!epochs) epochs = space_member(c->trainer_keys, "epochs");
    if (!cJSON_IsNumber(every) || !cJSON_IsNumber(epochs)) return 0;
    long long k = (long long)every->valuedouble, n = (long long)epochs->valuedouble;
    int median = s->pruner == VS_PRUNER_MEDIAN;
    long long first = median ? s->pruner_warmup_epochs : s->asha_min_epochs;
    if (first < 1) first = 1;
    long long last_before_end = k > 0 ? (n - 1) / k * k : 0;   /* the last validation before epoch n */
    if (last_before_end >= first || n - 1 < first) return 0;
    return space_fail(c, "fixed.eval_every",
                      "%lld validates no epoch from %lld (%s) to %lld (the last before epoch %lld ends the trial), so the %s "
                      "pruner could never stop a trial: validate more often, or set pruner.kind to \"none\"",
                      k, first, median ? "pruner.warmup_epochs" : "pruner.min_epochs, the first rung", n - 1, n,
                      median ? "median" : "asha");
}

/* ------------------------------------------------------------ reading */

/* The line of a position in text, for JSON syntax errors. */
static int line_of(const char *text, const char *at) {
    int line = 1;
    for (const char *p = text; at && p < at && *p; p++) line += *p == '\n';
    return line;
}

static int parse_root(parse_ctx *c, const cJSON *root, vs_space *s) {
    static const char *const keys[] = {"name",      "description", "dataset", "objective", "sampler", "budget",
                                       "resources", "pruner",      "fixed",   "parameters", "warm_start", NULL};
    if (!cJSON_IsObject(root)) return vs_errorf(c->err, "%s: expected a JSON object (a search space)", c->source);
    if (space_check_members(c, root, "", keys, "a search space")) return -1;
    const char *description;
    if (space_get_string(c, root, "", "description", NULL, &description)) return -1;
    if (description) s->description = vs_xstrdup(description);
    if (parse_name(c, root, s) || parse_dataset(c, root, s) || parse_objective(c, root, s) ||
        parse_sampler(c, root, s) || parse_resources(c, root, s) || parse_pruner(c, root, s) ||
        parse_fixed(c, root, s) || space_parse_parameters(c, root, s) || parse_budget(c, root, s) ||
        parse_warm_start(c, root, s) || check_pruner_validations(c, s))
        return -1;
    s->canonical = space_canonical_text(s, space_member(root, "dataset"));
    return 0;
}

int vs_space_parse(const char *json, const char *source, vs_space *out, vs_error *err) {
    memset(out, 0, sizeof *out);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
    if (!root) {
        int line = line_of(json, end);
        char near[24] = "";
        if (end && *end) snprintf(near, sizeof near, "%.20s", end);
        for (char *p = near; *p; p++)
            if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
        return near[0] ? vs_errorf(err, "%s:%d: invalid JSON near '%s'", source, line, near)
                       : vs_errorf(err, "%s:%d: invalid JSON (unexpected end)", source, line);
    }
    parse_ctx c = {source, err, NULL};
    vs_config defaults;
    vs_config_default(&defaults);
    c.trainer_keys = vs_config_to_json(&defaults);
    vs_space s;
    memset(&s, 0, sizeof s);
    int rc = parse_root(&c, root, &s);
    cJSON_Delete(c.trainer_keys);
    cJSON_Delete(root);
    if (rc) {
        vs_space_free(&s);
        return -1;
    }
    s.source_path = vs_xstrdup(source);
    *out = s;
    return 0;
}

/* A relative dataset path is relative to the space file's folder. */
static char *resolve_beside(const char *space_path, const char *dataset) {
    const char *slash = strrchr(space_path, '/');
    if (dataset[0] == '/' || !slash) return vs_xstrdup(dataset);
    vs_strbuf b = {0};
    vs_sb_putn(&b, space_path, (size_t)(slash - space_path) + 1);
    vs_sb_puts(&b, dataset);
    return vs_sb_take(&b);
}

/* The whole file as a string; -1 when unreadable or too large for a search space. */
static int read_text(const char *path, char **out, size_t *len, vs_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return vs_errorf(err, "%s: %s", path, strerror(errno));
    vs_strbuf b = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= MAX_SPACE_FILE) vs_sb_putn(&b, chunk, n);
    int read_error = ferror(f);
    fclose(f);
    if (read_error || b.len > MAX_SPACE_FILE) {
        vs_sb_free(&b);
        return vs_errorf(err, "%s: %s", path, read_error ? "cannot read the file" : "larger than 16 MiB: not a search space");
    }
    *len = b.len;
    *out = vs_sb_take(&b);
    return 0;
}

int vs_space_load(const char *path, vs_space *out, vs_error *err) {
    memset(out, 0, sizeof *out);
    char *text;
    size_t n;
    if (read_text(path, &text, &n, err)) return -1;
    if (strlen(text) != n) {
        int line = line_of(text, text + strlen(text));
        free(text);
        return vs_errorf(err, "%s:%d: invalid JSON (a NUL byte)", path, line);
    }
    int rc = vs_space_parse(text, path, out, err);
    free(text);
    if (rc) return -1;
    if (out->dataset) {
        char *resolved = resolve_beside(path, out->dataset);
        free(out->dataset);
        out->dataset = resolved;
    }
    if (out->warm_start_db) {
        char *resolved = resolve_beside(path, out->warm_start_db);
        free(out->warm_start_db);
        out->warm_start_db = resolved;
    }
    return 0;
}

void vs_space_free(vs_space *s) {
    if (!s) return;
    free(s->name);
    free(s->description);
    free(s->dataset);
    free(s->dataset_synth);
    free(s->metric);
    cJSON_Delete(s->fixed);
    for (int i = 0; i < s->n_params; i++) {
        vs_param *p = &s->params[i];
        free(p->name);
        for (int j = 0; j < p->n_choices; j++) cJSON_Delete(p->choices[j]);
        free(p->choices);
        cJSON_Delete(p->value);
        for (int j = 0; j < p->n_when; j++) free(p->when[j].values);
        free(p->when);
        cJSON_Delete(p->otherwise);
        free(p->list_key);
    }
    free(s->params);
    free(s->canonical);
    free(s->source_path);
    free(s->warm_start_db);
    free(s->warm_start_sweep);
    memset(s, 0, sizeof *s);
}

