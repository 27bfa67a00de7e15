/* cmd_recommend: `vaesearch recommend MODEL ITEM...`: the items a new user will most
 * likely interact with next, from the items they have, with a trained model file, or
 * the model of a sweep's trial (--db, --trial N|best); --items names them. */
#define _GNU_SOURCE   /* getopt_long */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli_util.h"
#include "commands.h"
#include "item_names.h"
#include "results_cli.h"
#include "orchestrator/run_folders.h"
#include "common/json_exact.h"
#include "common/strbuf.h"
#include "dataset/ingest.h"
#include "trainer/model_io.h"
#include "trainer/recommend.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch recommend MODEL [options] ITEM... | -\n"
            "       vaesearch recommend --trial N|best [--db PATH] [--sweep NAME] [options] ITEM... | -\n"
            "       vaesearch recommend MODEL | --trial N|best [options] --serve\n"
            "\n"
            "Ranks the items a new user will most likely interact with, given the items\n"
            "they already have (original item ids, as in the input data), with a model\n"
            "trained by vaecf-train (its best.safetensors), or with the model of trial N\n"
            "of a sweep (or its best COMPLETE trial). '-' reads the ids from standard\n"
            "input, separated by spaces, commas or newlines. The user's own items are\n"
            "never recommended; ids the model does not know are reported and ignored, and\n"
            "when it knows none of them there is nothing to go on: an error.\n"
            "\n"
            "  -k N            how many items (default 10)\n"
            "  --items FILE    names for the items: a file of an id and a name a line, such\n"
            "                  as MovieLens movies.csv (movieId,title,genres), u.item\n"
            "                  ('|', no header, Latin-1) or movies.dat ('::'); with a header,\n"
            "                  the id column is movieId, itemId, item_id, item or id, else the\n"
            "                  first, the name column title or name, else the second; without\n"
            "                  one (no such name in the first line) the id is first, the name\n"
            "                  second\n"
            "  --trial N|best  the model of the sweep's trial N, or of its best COMPLETE trial\n"
            "  --db PATH       with --trial: the results database (default results.db)\n"
            "  --sweep NAME    with --trial: the sweep (default: the only one in the database)\n"
            "  --format F      text (default, a table) or json (one JSON object); --json is\n"
            "                  --format json\n"
            "  --serve         keep the model loaded and answer one request a line on standard\n"
            "                  input, {\"items\": [ID, ...], \"k\": N, \"id\": ANY} (k and id\n"
            "                  optional), with one JSON line on standard output: id, known_items,\n"
            "                  unknown_items, recommendations and ms (the model's time), or id\n"
            "                  and error; until end of input (docs/trainer.md)\n"
            "\n"
            "Exit status: 0 done, 1 the database could not be read, 2 bad usage, a missing\n"
            "model, trial or items file, or none of the given items known to the model.\n");
}

#define complain(status, ...) cli_error("recommend", status, __VA_ARGS__)

/* Adds the ids in text (separated by whitespace or commas) to the list. */
static void add_ids(char *text, char ***ids, int *n, int *cap) {
    for (char *tok = strtok(text, " \t\r\n,"); tok; tok = strtok(NULL, " \t\r\n,")) {
        if (*n == *cap) *ids = vs_xrealloc(*ids, sizeof(char *) * (size_t)(*cap = *cap ? 2 * *cap : 16));
        (*ids)[(*n)++] = vs_xstrdup(tok);
    }
}

static char *read_stdin(void) {
    vs_strbuf b = {0};
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, stdin)) > 0) vs_sb_putn(&b, chunk, got);
    return vs_sb_take(&b);
}

/* The best COMPLETE trial in the sweep's direction (with a model file only, with_model),
 * or NULL. */
static const cJSON *best_trial(const cJSON *trials, int maximize, int with_model) {
    const cJSON *t, *pick = NULL;
    cJSON_ArrayForEach(t, trials) {
        double v = results_number(cJSON_GetObjectItem(t, "value"));
        const char *state = results_string(t, "state");
        if (!state || strcmp(state, "COMPLETE") || isnan(v)) continue;
        if (with_model && !results_string(cJSON_GetObjectItem(t, "user_attrs"), "model")) continue;
        double best = pick ? results_number(cJSON_GetObjectItem(pick, "value")) : NAN;
        if (!pick || (maximize ? v > best : v < best)) pick = t;
    }
    return pick;
}

/* Why a trial has no model file, for the message: a seed, a trial added without
 * training, or one that did not complete. */
static void no_model_reason(const cJSON *t, char *why, size_t n) {
    const cJSON *attrs = cJSON_GetObjectItem(t, "user_attrs");
    const char *state = results_string(t, "state"), *seed = results_string(attrs, "warm_start");
    int number = (int)results_number(cJSON_GetObjectItem(t, "number"));
    if (seed)
        snprintf(why, n, "trial %d is a warm-start seed (from %s): it was trained by that sweep, not this one, "
                 "and has no model file here", number, seed);
    else if (results_number(cJSON_GetObjectItem(t, "attempts")) == 0 && state && strcmp(state, "WAITING") &&
             strcmp(state, "RUNNING"))
        snprintf(why, n, "trial %d was added to the study without being trained (Optuna's add_trial, for one): it has "
                 "no model file", number);
    else
        snprintf(why, n, "trial %d is %s and has no model file (only a COMPLETE trial records one)", number,
                 state ? state : "?");
}

/* The model file of a sweep's trial (number, or the best COMPLETE one when which is
 * "best"), from its "model" user attribute: relative to the database's folder (or
 * absolute). Returns 0, or the exit status after the message, which names the best trial
 * that has a model when the one asked for has none. */
static int trial_model(const char *db_path, const char *sweep_name, const char *which, char **model) {
    int number = -1;
    vs_error err = {{0}};
    if (strcmp(which, "best") && cli_parse_int("--trial", which, 0, 2147483647, &number, &err))
        return complain(2, "%s (or 'best')", err.msg);
    results_cli o = {.verb = "recommend", .db_path = db_path, .sweep = sweep_name};
    cJSON *sweep, *trials;
    int rc = results_cli_load(&o, number, 0, &sweep, &trials);
    if (rc) return rc;
    int maximize = !results_string(sweep, "direction") || strcmp(results_string(sweep, "direction"), "minimize");
    const cJSON *pick = number >= 0 ? cJSON_GetArrayItem(trials, 0) : best_trial(trials, maximize, 0);
    const char *name = results_string(sweep, "name");
    if (!pick && number >= 0) rc = complain(2, "%s: sweep '%s' has no trial %d", db_path, name ? name : "?", number);
    else if (!pick) rc = complain(2, "%s: sweep '%s' has no COMPLETE trial yet", db_path, name ? name : "?");
    else {
        const char *path = results_string(cJSON_GetObjectItem(pick, "user_attrs"), "model");
        if (!path) {
            char why[1400], offer[200] = "";
            no_model_reason(pick, why, sizeof why);
            if (number >= 0) {   /* every trial, to find the best one with a model */
                cJSON *again = NULL;
                cJSON_Delete(trials);
                if (results_cli_load(&o, -1, 0, &again, &trials)) trials = NULL;
                cJSON_Delete(again);
            }
            const cJSON *alt = trials ? best_trial(trials, maximize, 1) : NULL;
            if (alt)
                snprintf(offer, sizeof offer, "; the best trial with a model is trial %.0f (%s %.4f): --trial %.0f",
                         results_number(cJSON_GetObjectItem(alt, "number")), results_string(sweep, "metric"),
                         results_number(cJSON_GetObjectItem(alt, "value")), results_number(cJSON_GetObjectItem(alt, "number")));
            else snprintf(offer, sizeof offer, "; no trial of the sweep has a model yet");
            rc = complain(2, "%s: %s%s", db_path, why, offer);
        } else {
            char folder[4096], resolved[8192];
            vs_error err2 = {{0}};
            if (vs_runs_db_folder(db_path, folder, sizeof folder, &err2)) rc = complain(1, "%s", err2.msg);
            else {
                vs_runs_resolve(folder, path, resolved, sizeof resolved);
                *model = vs_xstrdup(resolved);
            }
        }
    }
    cJSON_Delete(sweep);
    cJSON_Delete(trials);
    return rc;
}

/* The recommendations as a JSON array: item (the original id), name (with an items
 * file), probability. */
static cJSON *recommendations_json(const vs_strtab *t, const int32_t *top, const float *prob, int k,
                                   const item_names *names, int with_names) {
    cJSON *recs = cJSON_CreateArray();
    for (int j = 0; j < k && top[j] >= 0; j++) {
        cJSON *r = cJSON_CreateObject();
        size_t len = t->offsets[top[j] + 1] - t->offsets[top[j]];
        char *id = vs_xmalloc(len + 1);
        memcpy(id, t->bytes + t->offsets[top[j]], len);
        id[len] = 0;
        cJSON_AddStringToObject(r, "item", id);
        if (with_names) {
            const char *name = item_names_get(names, id, len);
            cJSON_AddItemToObject(r, "name", name ? cJSON_CreateString(name) : cJSON_CreateNull());
        }
        cJSON_AddNumberToObject(r, "probability", prob[j]);
        cJSON_AddItemToArray(recs, r);
        free(id);
    }
    return recs;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

/* One request of --serve: the answer object (never NULL). */
static cJSON *serve_one(vs_recommender *r, const vs_model_file *m, const vs_idmap *catalogue, const item_names *names,
                        int with_names, int default_k, const char *line, long line_no) {
    cJSON *answer = cJSON_CreateObject();
    const char *end = NULL;
    cJSON *req = cJSON_ParseWithOpts(line, &end, 1);
    char why[1100] = "";
    const cJSON *items = req ? cJSON_GetObjectItemCaseSensitive(req, "items") : NULL;
    const cJSON *kj = req ? cJSON_GetObjectItemCaseSensitive(req, "k") : NULL;
    const cJSON *id = req ? cJSON_GetObjectItemCaseSensitive(req, "id") : NULL;
    if (id) cJSON_AddItemToObject(answer, "id", cJSON_Duplicate(id, 1));
    int k = default_k;
    if (!req || !cJSON_IsObject(req)) snprintf(why, sizeof why, "not a JSON object");
    else if (!cJSON_IsArray(items)) snprintf(why, sizeof why, "items: expected an array of item ids");
    else if (kj && (!cJSON_IsNumber(kj) || kj->valuedouble != (int)kj->valuedouble || kj->valuedouble < 1 ||
                    kj->valuedouble > 1000000))
        snprintf(why, sizeof why, "k: expected a whole number from 1 to 1000000");
    if (!why[0]) {
        if (kj) k = (int)kj->valuedouble;
        if (k > m->item_ids.n) k = (int)m->item_ids.n;
        int n = cJSON_GetArraySize(items), known = 0;
        int32_t *idx = vs_xcalloc((size_t)(n ? n : 1), sizeof(int32_t));
        cJSON *unknown = cJSON_CreateArray();
        const cJSON *it;
        cJSON_ArrayForEach(it, items) {
            char text[64];
            const char *s = NULL;
            if (cJSON_IsString(it)) s = it->valuestring;
            else if (cJSON_IsNumber(it)) vs_json_number(it->valuedouble, text), s = text;   /* 260 as "260" */
            int32_t i = s ? vs_idmap_find(catalogue, s, strlen(s)) : -1;
            if (i >= 0) idx[known++] = i;
            else cJSON_AddItemToArray(unknown, cJSON_Duplicate(it, 1));
        }
        int32_t *top = vs_xcalloc((size_t)k, sizeof(int32_t));
        float *prob = vs_xcalloc((size_t)k, sizeof(float));
        vs_error err = {{0}};
        double t0 = now_ms();
        if (known == 0)
            snprintf(why, sizeof why, "none of the %d given item%s is in the model's catalogue", n, n == 1 ? "" : "s");
        else if (vs_recommender_query(r, idx, known, k, top, prob, &err))
            snprintf(why, sizeof why, "%s", err.msg);
        double ms = now_ms() - t0;
        if (!why[0]) {
            cJSON_AddNumberToObject(answer, "known_items", known);
            cJSON_AddItemToObject(answer, "unknown_items", unknown);
            unknown = NULL;
            cJSON_AddItemToObject(answer, "recommendations", recommendations_json(&m->item_ids, top, prob, k, names,
                                                                                  with_names));
            cJSON_AddNumberToObject(answer, "ms", ms);
        }
        cJSON_Delete(unknown);
        free(idx), free(top), free(prob);
    }
    if (why[0]) {
        char msg[1200];
        snprintf(msg, sizeof msg, "line %ld: %s", line_no, why);
        cJSON_AddStringToObject(answer, "error", msg);
    }
    cJSON_Delete(req);
    return answer;
}

/* --serve: requests from standard input, answers on standard output, a line each, the
 * model loaded once and its workspace kept (vs_recommender). */
static int serve(const vs_model_file *m, const vs_idmap *catalogue, const item_names *names, int with_names, int k) {
    vs_recommender *r = vs_recommender_new(m);
    char *line = NULL;
    size_t cap = 0;
    long line_no = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, stdin)) >= 0) {
        line_no++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = 0;
        if (got == 0) continue;
        cJSON *answer = serve_one(r, m, catalogue, names, with_names, k, line, line_no);
        char *text = vs_json_print_exact(answer);
        printf("%s\n", text);
        fflush(stdout);
        free(text);
        cJSON_Delete(answer);
    }
    free(line);
    vs_recommender_free(r);
    return 0;
}

int cmd_recommend(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},        {"items", required_argument, NULL, 'i'},
                                         {"trial", required_argument, NULL, 't'}, {"db", required_argument, NULL, 'd'},
                                         {"sweep", required_argument, NULL, 's'}, {"serve", no_argument, NULL, 'S'},
                                         {"format", required_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
    int k = 10, json = 0, serving = 0, c;
    const char *items_path = NULL, *trial = NULL, *db_path = NULL, *sweep = NULL;
    vs_error err = {{0}};
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":k:", opts, NULL)) != -1) {
        if (c == 'j') json = 1;
        else if (c == 'f') {
            if (cli_parse_text_or_json(optarg, &json, &err)) return complain(2, "%s", err.msg);
        }
        else if (c == 'i') items_path = optarg;
        else if (c == 't') trial = optarg;
        else if (c == 'd') db_path = optarg;
        else if (c == 's') sweep = optarg;
        else if (c == 'S') serving = 1;
        else if (c == 'k') {
            if (cli_parse_int("-k", optarg, 1, 1000000, &k, &err)) return complain(2, "%s", err.msg);
        } else return cli_option_error("recommend", c, argv);
    }
    if (!trial && (db_path || sweep)) return complain(2, "--db and --sweep choose a trial's model: give --trial N|best");
    int model_args = trial ? 0 : 1;
    if (serving && argc - optind != model_args)
        return complain(2, "--serve takes its items from standard input, a request a line: give no ITEM");
    if (!serving && argc - optind < model_args + 1) {
        usage(stderr);
        return 2;
    }
    char *path = NULL;
    if (trial) {
        int rc = trial_model(db_path ? db_path : "results.db", sweep, trial, &path);
        if (rc) return rc;
    } else {
        path = vs_xstrdup(argv[optind++]);
    }
    item_names names = {0};
    if (items_path && item_names_load(items_path, &names, &err)) {
        free(path);
        return complain(2, "--items: %s", err.msg);
    }
    vs_model_file m;
    if (vs_model_load(path, &m, &err)) {
        free(path);
        item_names_free(&names);
        return complain(2, "%s", err.msg);
    }
    free(path);
    char **ids = NULL;
    int n_ids = 0, cap = 0;
    for (int i = optind; i < argc; i++) {
        if (!strcmp(argv[i], "-")) {
            char *text = read_stdin();
            add_ids(text, &ids, &n_ids, &cap);
            free(text);
        } else {
            char *copy = vs_xstrdup(argv[i]);
            add_ids(copy, &ids, &n_ids, &cap);
            free(copy);
        }
    }

    vs_idmap catalogue = {0};
    for (int64_t i = 0; i < m.item_ids.n; i++)
        vs_idmap_intern(&catalogue, m.item_ids.bytes + m.item_ids.offsets[i],
                        (size_t)(m.item_ids.offsets[i + 1] - m.item_ids.offsets[i]));
    if (serving) {
        int rc = serve(&m, &catalogue, &names, items_path != NULL, k);
        vs_idmap_free(&catalogue);
        item_names_free(&names);
        vs_model_file_free(&m);
        return rc;
    }
    int32_t *items = vs_xcalloc((size_t)(n_ids ? n_ids : 1), sizeof(int32_t));
    int known = 0;
    cJSON *unknown = cJSON_CreateArray();
    for (int i = 0; i < n_ids; i++) {
        int32_t idx = vs_idmap_find(&catalogue, ids[i], strlen(ids[i]));
        if (idx < 0) {
            cJSON_AddItemToArray(unknown, cJSON_CreateString(ids[i]));
            if (!json) fprintf(stderr, "vaesearch recommend: ignoring item '%s': not in the model's catalogue\n", ids[i]);
        } else {
            items[known++] = idx;
        }
    }
    if (k > m.item_ids.n) k = (int)m.item_ids.n;
    int32_t *top = vs_xcalloc((size_t)k, sizeof(int32_t));
    float *prob = vs_xcalloc((size_t)k, sizeof(float));
    int rc = 0;
    const vs_strtab *t = &m.item_ids;
    if (known == 0) {   /* no item to go on: the most popular ones would be no answer for this user */
        rc = complain(2, "none of the %d given item%s is in the model's catalogue (%lld items; ids as in the input data)",
                      n_ids, n_ids == 1 ? "" : "s", (long long)m.item_ids.n);
    } else if (vs_recommend(&m, items, known, k, top, prob, &err)) {
        rc = complain(1, "%s", err.msg);
    } else if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "known_items", known);
        cJSON_AddItemToObject(o, "unknown_items", unknown);
        unknown = NULL;
        cJSON *recs = recommendations_json(t, top, prob, k, &names, items_path != NULL);
        cJSON_AddItemToObject(o, "recommendations", recs);
        cli_json_print(o);
    } else {
        if (items_path) printf("%4s  %-10s  %-11s  %s\n", "rank", "item", "probability", names.name_column);
        else printf("%4s  %-20s  %s\n", "rank", "item", "probability");
        for (int j = 0; j < k && top[j] >= 0; j++) {
            const char *id = t->bytes + t->offsets[top[j]];
            int len = (int)(t->offsets[top[j] + 1] - t->offsets[top[j]]);
            if (items_path) {
                const char *name = item_names_get(&names, id, (size_t)len);
                printf("%4d  %-10.*s  %-11.6f  %s\n", j + 1, len, id, prob[j], name ? name : "(not in the items file)");
            } else {
                printf("%4d  %-20.*s  %.6f\n", j + 1, len, id, prob[j]);
            }
        }
    }
    cJSON_Delete(unknown);
    for (int i = 0; i < n_ids; i++) free(ids[i]);
    free(ids), free(items), free(top), free(prob);
    vs_idmap_free(&catalogue);
    item_names_free(&names);
    vs_model_file_free(&m);
    return rc;
}
