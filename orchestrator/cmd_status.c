/* cmd_status: `vaesearch status`: where a sweep stands: trials per state against the
 * budget, the best so far, the running trials (epoch, GPUs, time), whether the run that
 * owns the sweep is alive, and a rough time left. Reads results.db only. */
#define _GNU_SOURCE /* getopt_long */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli_util.h"
#include "commands.h"
#include "json_exact.h"
#include "results_db.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch status [--db PATH] [--sweep NAME] [--format text|json]\n"
            "\n"
            "A sweep's progress: trials per state and the budget, the best trial so far,\n"
            "the running trials with their latest epoch, GPUs and time, whether the\n"
            "`vaesearch run` that owns the sweep is alive, and the time left, estimated as\n"
            "the mean duration of the finished trials x the trials left / the trials\n"
            "running at once (1 when none runs).\n"
            "\n"
            "  --db PATH      the results database (default results.db)\n"
            "  --sweep NAME   the sweep (default: the only one in the database)\n"
            "  --format F     text (default) or json (one object)\n"
            "\n"
            "Exit status: 0 done, 1 the database could not be read, 2 bad usage, or a\n"
            "missing database or sweep.\n");
}

#define complain(status, ...) cli_error("status", status, __VA_ARGS__)

static const char *const states[] = {"COMPLETE", "PRUNED", "RUNNING", "WAITING", "FAIL"};
#define N_STATES (int)(sizeof states / sizeof states[0])

static double number_of(const cJSON *v) {
    if (cJSON_IsNumber(v)) return v->valuedouble;
    if (cJSON_IsString(v) && !strcmp(v->valuestring, "inf")) return INFINITY;
    if (cJSON_IsString(v) && !strcmp(v->valuestring, "-inf")) return -INFINITY;
    return NAN;
}

static const char *string_of(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int is_state(const cJSON *trial, const char *state) {
    const char *s = string_of(trial, "state");
    return s && !strcmp(s, state);
}

/* "42 s", "3 min 05 s", "2 h 07 min". */
static void format_duration(double s, char out[32]) {
    if (!isfinite(s) || s < 0) snprintf(out, 32, "?");
    else if (s < 10) snprintf(out, 32, "%.1f s", s);
    else if (s < 60) snprintf(out, 32, "%.0f s", s);
    else if (s < 3600) snprintf(out, 32, "%d min %02d s", (int)(s / 60), (int)fmod(s, 60));
    else snprintf(out, 32, "%d h %02d min", (int)(s / 3600), (int)fmod(s / 60, 60));
}

/* ---- the report, built as JSON; text is printed from it ---- */

static cJSON *running_json(const cJSON *t, const char *metric) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "number", cJSON_GetObjectItem(t, "number")->valuedouble);
    const cJSON *latest = cJSON_GetObjectItem(t, "latest_epoch");
    double epoch = number_of(cJSON_GetObjectItem(latest, "epoch"));
    if (isnan(epoch)) cJSON_AddNullToObject(r, "epoch");
    else cJSON_AddNumberToObject(r, "epoch", epoch);
    char key[64];
    snprintf(key, sizeof key, "val_%s", metric);
    double v = number_of(cJSON_GetObjectItem(latest, key));
    if (isfinite(v)) cJSON_AddNumberToObject(r, "value", v);
    else cJSON_AddNullToObject(r, "value");
    const char *gpus = string_of(cJSON_GetObjectItem(t, "user_attrs"), "gpus");
    cJSON_AddStringToObject(r, "gpus", gpus ? gpus : "");
    double seconds = number_of(cJSON_GetObjectItem(t, "seconds"));
    if (isfinite(seconds)) cJSON_AddNumberToObject(r, "seconds", seconds);
    else cJSON_AddNullToObject(r, "seconds");
    return r;
}

/* The best COMPLETE trial in the sweep's direction, or NULL. */
static const cJSON *best_trial(const cJSON *trials, int maximize) {
    const cJSON *best = NULL, *t;
    double best_value = NAN;
    cJSON_ArrayForEach(t, trials) {
        double v = number_of(cJSON_GetObjectItem(t, "value"));
        if (!is_state(t, "COMPLETE") || isnan(v)) continue;
        if (!best || (maximize ? v > best_value : v < best_value)) best = t, best_value = v;
    }
    return best;
}

static void add_number_or_null(cJSON *o, const char *key, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

static cJSON *build_report(const cJSON *sweep, const cJSON *trials) {
    cJSON *r = cJSON_CreateObject();
    const char *metric = string_of(sweep, "metric");
    const char *direction = string_of(sweep, "direction");
    cJSON_AddStringToObject(r, "sweep", string_of(sweep, "name") ? string_of(sweep, "name") : "");
    cJSON_AddStringToObject(r, "metric", metric ? metric : "");
    cJSON_AddStringToObject(r, "direction", direction ? direction : "maximize");
    const cJSON *counts = cJSON_GetObjectItem(sweep, "counts");
    cJSON_AddItemToObject(r, "counts", cJSON_Duplicate(counts, 1));
    int done = (int)(number_of(cJSON_GetObjectItem(counts, "COMPLETE")) + number_of(cJSON_GetObjectItem(counts, "PRUNED")));
    int budget = (int)number_of(cJSON_GetObjectItem(sweep, "n_trials"));
    cJSON_AddNumberToObject(r, "done", done);
    cJSON_AddNumberToObject(r, "budget", budget);

    const cJSON *best = best_trial(trials, !direction || strcmp(direction, "minimize"));
    if (best) {
        cJSON *b = cJSON_AddObjectToObject(r, "best");
        cJSON_AddNumberToObject(b, "number", cJSON_GetObjectItem(best, "number")->valuedouble);
        cJSON_AddItemToObject(b, "value", cJSON_Duplicate(cJSON_GetObjectItem(best, "value"), 1));
    } else cJSON_AddNullToObject(r, "best");

    cJSON *running = cJSON_AddArrayToObject(r, "running");
    double finished_seconds = 0;
    int finished = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, trials) {
        if (is_state(t, "RUNNING")) cJSON_AddItemToArray(running, running_json(t, metric ? metric : "ndcg@100"));
        double s = number_of(cJSON_GetObjectItem(t, "seconds"));
        if ((is_state(t, "COMPLETE") || is_state(t, "PRUNED")) && isfinite(s)) finished_seconds += s, finished++;
    }
    const cJSON *owner = cJSON_GetObjectItem(sweep, "owner");
    cJSON_AddItemToObject(r, "owner", cJSON_Duplicate(owner, 1));

    /* Time left: finished trials' mean duration x trials left / trials at once. */
    int remaining = budget > done ? budget - done : 0;
    int slots = cJSON_GetArraySize(running) > 0 ? cJSON_GetArraySize(running) : 1;
    double mean = finished ? finished_seconds / finished : NAN;
    cJSON_AddNumberToObject(r, "remaining", remaining);
    cJSON_AddNumberToObject(r, "slots", slots);
    add_number_or_null(r, "mean_trial_seconds", mean);
    add_number_or_null(r, "eta_seconds", remaining == 0 ? 0 : mean * remaining / slots);
    return r;
}

static void print_owner(const cJSON *owner) {
    if (!cJSON_IsObject(owner)) {
        printf("owner     none: no `vaesearch run` owns the sweep\n");
        return;
    }
    const cJSON *alive = cJSON_GetObjectItem(owner, "alive");
    char age[32];
    format_duration(number_of(cJSON_GetObjectItem(owner, "heartbeat_age_s")), age);
    printf("owner     pid %.0f on %s, %s (heartbeat %s ago)\n", number_of(cJSON_GetObjectItem(owner, "pid")),
           string_of(owner, "host") ? string_of(owner, "host") : "?",
           cJSON_IsTrue(alive) ? "alive" : cJSON_IsFalse(alive) ? "gone (the process has exited)" : "on another host",
           age);
}

static void print_text(const cJSON *r) {
    const char *metric = string_of(r, "metric");
    /* Trials RUNNING under a run that has exited are orphans: the next run resumes them. */
    int orphaned = cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "owner"), "alive")) ||
                   cJSON_IsNull(cJSON_GetObjectItem(r, "owner"));
    printf("sweep     %s (%s %s)\n", string_of(r, "sweep"), string_of(r, "direction"), metric);
    const cJSON *counts = cJSON_GetObjectItem(r, "counts");
    printf("trials    %.0f of %.0f done;", number_of(cJSON_GetObjectItem(r, "done")),
           number_of(cJSON_GetObjectItem(r, "budget")));
    for (int i = 0; i < N_STATES; i++)
        printf("%s %.0f %s", i ? "," : "", number_of(cJSON_GetObjectItem(counts, states[i])), states[i]);
    printf("\n");
    const cJSON *best = cJSON_GetObjectItem(r, "best");
    if (cJSON_IsObject(best))
        printf("best      trial %.0f: %s %.4f\n", number_of(cJSON_GetObjectItem(best, "number")), metric,
               number_of(cJSON_GetObjectItem(best, "value")));
    const cJSON *run;
    cJSON_ArrayForEach(run, cJSON_GetObjectItem(r, "running")) {
        char took[32], value[48] = "";
        format_duration(number_of(cJSON_GetObjectItem(run, "seconds")), took);
        double v = number_of(cJSON_GetObjectItem(run, "value"));
        if (isfinite(v)) snprintf(value, sizeof value, ", %s %.4f", metric, v);
        double epoch = number_of(cJSON_GetObjectItem(run, "epoch"));
        const char *gpus = string_of(run, "gpus");
        printf("running   trial %.0f: ", number_of(cJSON_GetObjectItem(run, "number")));
        if (isnan(epoch)) printf("no epoch yet");
        else printf("epoch %.0f%s", epoch, value);
        printf(", %s%s, %s%s\n", gpus && *gpus ? "GPUs " : "CPU", gpus ? gpus : "", took,
               orphaned ? " (orphaned: the next `vaesearch run` resumes it)" : "");
    }
    print_owner(cJSON_GetObjectItem(r, "owner"));
    double eta = number_of(cJSON_GetObjectItem(r, "eta_seconds"));
    double remaining = number_of(cJSON_GetObjectItem(r, "remaining"));
    char left[32], mean[32];
    format_duration(eta, left);
    format_duration(number_of(cJSON_GetObjectItem(r, "mean_trial_seconds")), mean);
    if (remaining == 0) printf("left      nothing: the budget is spent\n");
    else if (isnan(eta)) printf("left      unknown until a trial finishes\n");
    else
        printf("left      about %s (%s a trial x %.0f left / %.0f at once)\n", left, mean, remaining,
               number_of(cJSON_GetObjectItem(r, "slots")));
}

/* ---- the command ---- */

typedef struct status_opts {
    const char *db_path, *sweep;
    int json;
} status_opts;

static int parse_args(int argc, char **argv, status_opts *o) {
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"sweep", required_argument, NULL, 's'},
                                         {"format", required_argument, NULL, 'f'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 0; /* GNU getopt: start over on this sub-argv */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (c == 'd') o->db_path = optarg;
        else if (c == 's') o->sweep = optarg;
        else if (c == 'f') {
            if (strcmp(optarg, "text") && strcmp(optarg, "json"))
                return complain(2, "--format: '%s' is not text or json", optarg);
            o->json = !strcmp(optarg, "json");
        } else return cli_option_error("status", c, argv);
    }
    if (optind < argc) return complain(2, "unexpected argument '%s'; see 'vaesearch status --help'", argv[optind]);
    return 0;
}

int cmd_status(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    status_opts o = {"results.db", NULL, 0};
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc;
    vs_error err = {{0}};
    vs_db *db = NULL;
    int study_id;
    if (vs_db_open_existing(o.db_path, &db, &err) || vs_db_find_sweep(db, o.sweep, &study_id, &err)) {
        vs_db_close(db);
        return complain(2, "%s", err.msg);
    }
    cJSON *sweep = vs_db_sweep_json(db, study_id, &err);
    cJSON *trials = sweep ? vs_db_trials_json(db, study_id, -1, 0, &err) : NULL;
    vs_db_close(db);
    if (!trials) {
        cJSON_Delete(sweep);
        return complain(1, "%s", err.msg);
    }
    cJSON *report = build_report(sweep, trials);
    if (o.json) {
        char *text = vs_json_print_exact(report);
        printf("%s\n", text);
        free(text);
    } else {
        print_text(report);
    }
    cJSON_Delete(report);
    cJSON_Delete(trials);
    cJSON_Delete(sweep);
    return 0;
}
