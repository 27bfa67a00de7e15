/* cmd_show: `vaesearch show TRIAL`: one trial of a sweep in full: state, parameters,
 * its curve epoch by epoch, final metrics, and every attempt (which process, GPUs, how
 * it ended, and the trainer's last output lines when it failed). Reads results.db only. */
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
            "usage: vaesearch show TRIAL [--db PATH] [--sweep NAME] [--format text|json]\n"
            "\n"
            "One trial, by number: its state, parameters, the curve (loss, KL, beta and the\n"
            "validation metrics of every epoch), final validation and test metrics, and\n"
            "every attempt at it: the trainer's pid, GPUs, exit status, why it ended and,\n"
            "for a failure, the trainer's last output lines.\n"
            "\n"
            "  --db PATH      the results database (default results.db)\n"
            "  --sweep NAME   the sweep (default: the only one in the database)\n"
            "  --format F     text (default) or json (one object)\n"
            "\n"
            "Exit status: 0 done, 1 the database could not be read, 2 bad usage, or a\n"
            "missing database, sweep or trial.\n");
}

#define complain(status, ...) cli_error("show", status, __VA_ARGS__)

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

/* "42 s", "3 min 05 s", "2 h 07 min". */
static void format_duration(double s, char out[32]) {
    if (!isfinite(s) || s < 0) snprintf(out, 32, "?");
    else if (s < 10) snprintf(out, 32, "%.1f s", s);
    else if (s < 60) snprintf(out, 32, "%.0f s", s);
    else if (s < 3600) snprintf(out, 32, "%d min %02d s", (int)(s / 60), (int)fmod(s, 60));
    else snprintf(out, 32, "%d h %02d min", (int)(s / 3600), (int)fmod(s / 60, 60));
}

/* A number for a column: "-" when missing. */
static void format_cell(double v, const char *fmt, char out[32]) {
    if (isnan(v)) snprintf(out, 32, "-");
    else snprintf(out, 32, fmt, v);
}

static void print_params(const cJSON *trial) {
    const cJSON *p;
    printf("parameters\n");
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(trial, "params")) {
        if (cJSON_IsNumber(p)) {   /* for people: 0.83, not 0.8300000000000001 (--format json is exact) */
            printf("  %-20s %.6g\n", p->string, p->valuedouble);
            continue;
        }
        char *text = vs_json_print_exact(p);
        printf("  %-20s %s\n", p->string, text);
        free(text);
    }
}

/* val_ and test_ user attributes, best epoch and speed. */
static void print_metrics(const cJSON *trial) {
    const cJSON *attrs = cJSON_GetObjectItem(trial, "user_attrs");
    static const char *const sets[] = {"val_", "test_"};
    for (int s = 0; s < 2; s++) {
        const cJSON *a;
        int any = 0;
        cJSON_ArrayForEach(a, attrs) {
            if (strncmp(a->string, sets[s], strlen(sets[s])) || !cJSON_IsNumber(a)) continue;
            printf("%s%s %.4f", any ? ", " : s ? "test      " : "val       ", a->string + strlen(sets[s]), a->valuedouble);
            any = 1;
        }
        if (any) printf("\n");
    }
    double best = number_of(cJSON_GetObjectItem(attrs, "best_epoch"));
    double speed = number_of(cJSON_GetObjectItem(attrs, "train_users_per_s"));
    if (!isnan(best)) printf("best      epoch %.0f\n", best);
    if (!isnan(speed)) printf("speed     %.0f training users/s\n", speed);
}

static void print_curve(const cJSON *trial) {
    const cJSON *curve = cJSON_GetObjectItem(trial, "curve");
    if (cJSON_GetArraySize(curve) == 0) {
        printf("\nno epochs recorded\n");
        return;
    }
    static const char *const keys[] = {"epoch", "loss", "neg_ll", "kl", "beta", "val_ndcg@100", "val_recall@20",
                                       "val_recall@50", "users_per_s", "seconds"};
    static const char *const heads[] = {"epoch", "loss", "neg_ll", "kl", "beta", "ndcg@100", "recall@20",
                                        "recall@50", "users/s", "seconds"};
    static const char *const fmts[] = {"%.0f", "%.4f", "%.4f", "%.4f", "%.4f", "%.4f", "%.4f", "%.4f", "%.0f", "%.2f"};
    static const int widths[] = {5, 10, 10, 9, 7, 9, 9, 9, 8, 8};
    printf("\n");
    for (int k = 0; k < 10; k++) printf("%s%*s", k ? "  " : "", widths[k], heads[k]);
    printf("\n");
    const cJSON *e;
    cJSON_ArrayForEach(e, curve) {
        for (int k = 0; k < 10; k++) {
            char cell[32];
            format_cell(number_of(cJSON_GetObjectItem(e, keys[k])), fmts[k], cell);
            printf("%s%*s", k ? "  " : "", widths[k], cell);
        }
        printf("\n");
    }
}

/* The output tail, indented, so it reads as quoted. */
static void print_tail(const char *tail) {
    printf("    output (last lines):\n");
    for (const char *line = tail; *line;) {
        const char *end = strchr(line, '\n');
        int n = end ? (int)(end - line) : (int)strlen(line);
        printf("      | %.*s\n", n, line);
        line += n + (end ? 1 : 0);
    }
}

static void print_runs(const cJSON *trial) {
    const cJSON *run;
    printf("\nattempts\n");
    cJSON_ArrayForEach(run, cJSON_GetObjectItem(trial, "runs")) {
        const char *gpus = string_of(run, "gpus"), *outcome = string_of(run, "outcome"), *reason = string_of(run, "reason");
        const char *tail = string_of(run, "output_tail");
        double pid = number_of(cJSON_GetObjectItem(run, "pid")), status = number_of(cJSON_GetObjectItem(run, "exit_status"));
        printf("  %.0f: ", number_of(cJSON_GetObjectItem(run, "attempt")));
        if (!isnan(pid)) printf("pid %.0f on %s, ", pid, string_of(run, "host") ? string_of(run, "host") : "?");
        printf("%s%s, from %s to %s", gpus && *gpus ? "GPUs " : "CPU", gpus ? gpus : "",
               string_of(run, "started") ? string_of(run, "started") : "?",
               string_of(run, "ended") ? string_of(run, "ended") : "now (running)");
        if (outcome) printf(": %s", outcome);
        if (!isnan(status)) printf(", exit status %.0f", status);
        printf("\n");
        if (reason) printf("    reason: %s\n", reason);
        if (string_of(run, "out_dir")) printf("    run folder: %s\n", string_of(run, "out_dir"));
        if (tail && *tail && outcome && !strcmp(outcome, "FAIL")) print_tail(tail);
    }
}

static void print_text(const cJSON *sweep, const cJSON *trial) {
    const char *metric = string_of(sweep, "metric");
    const char *state = string_of(trial, "state");
    printf("trial %.0f of sweep %s: %s\n", number_of(cJSON_GetObjectItem(trial, "number")), string_of(sweep, "name"),
           state ? state : "?");
    const cJSON *value = cJSON_GetObjectItem(trial, "value");
    if (!cJSON_IsNull(value) && value) printf("value     %s %.4f\n", metric ? metric : "objective", number_of(value));
    const char *reason = string_of(cJSON_GetObjectItem(trial, "user_attrs"), "fail_reason");
    if (reason) printf("failed    %s\n", reason);
    char took[32];
    format_duration(number_of(cJSON_GetObjectItem(trial, "seconds")), took);
    const char *start = string_of(trial, "datetime_start"), *end = string_of(trial, "datetime_complete");
    printf("time      %s (UTC %s to %s), %.0f attempt(s)\n", took, start ? start : "-", end ? end : "-",
           number_of(cJSON_GetObjectItem(trial, "attempts")));
    double retry_of = number_of(cJSON_GetObjectItem(cJSON_GetObjectItem(trial, "user_attrs"), "retry_of"));
    if (!isnan(retry_of)) printf("retry of  trial %.0f\n", retry_of);
    print_metrics(trial);
    print_params(trial);
    print_curve(trial);
    print_runs(trial);
}

/* ---- the command ---- */

typedef struct show_opts {
    const char *db_path, *sweep;
    int json, number;
} show_opts;

static int parse_args(int argc, char **argv, show_opts *o) {
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"sweep", required_argument, NULL, 's'},
                                         {"format", required_argument, NULL, 'f'},
                                         {NULL, 0, NULL, 0}};
    int c;
    vs_error err = {{0}};
    optind = 0; /* GNU getopt: start over on this sub-argv; it moves TRIAL to the end */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (c == 'd') o->db_path = optarg;
        else if (c == 's') o->sweep = optarg;
        else if (c == 'f') {
            if (strcmp(optarg, "text") && strcmp(optarg, "json"))
                return complain(2, "--format: '%s' is not text or json", optarg);
            o->json = !strcmp(optarg, "json");
        } else return cli_option_error("show", c, argv);
    }
    if (argc - optind != 1) {
        usage(stderr);
        return 2;
    }
    if (cli_parse_int("TRIAL", argv[optind], 0, 1 << 30, &o->number, &err)) return complain(2, "%s (a trial number)", err.msg);
    return 0;
}

int cmd_show(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    show_opts o = {"results.db", NULL, 0, 0};
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
    cJSON *list = sweep ? vs_db_trials_json(db, study_id, o.number, 1, &err) : NULL;
    vs_db_close(db);
    if (!list) {
        cJSON_Delete(sweep);
        return complain(1, "%s", err.msg);
    }
    rc = 0;
    cJSON *trial = cJSON_GetArrayItem(list, 0);
    if (!trial) {
        const cJSON *counts = cJSON_GetObjectItem(sweep, "counts"), *c;
        double total = 0;
        cJSON_ArrayForEach(c, counts) total += number_of(c);
        rc = total > 0 ? complain(2, "sweep '%s' has no trial %d (its trials are 0 to %.0f)", string_of(sweep, "name"),
                                  o.number, total - 1)
                       : complain(2, "sweep '%s' has no trials yet", string_of(sweep, "name"));
    } else if (o.json) {
        cJSON_AddStringToObject(trial, "sweep", string_of(sweep, "name") ? string_of(sweep, "name") : "");
        cJSON_AddStringToObject(trial, "metric", string_of(sweep, "metric") ? string_of(sweep, "metric") : "");
        char *text = vs_json_print_exact(trial);
        printf("%s\n", text);
        free(text);
    } else {
        print_text(sweep, trial);
    }
    cJSON_Delete(list);
    cJSON_Delete(sweep);
    return rc;
}
