/* cmd_show: `vaesearch show TRIAL`: one trial of a sweep in full: state, parameters,
 * its curve epoch by epoch, final metrics, and every attempt (which process, GPUs, how
 * it ended, and the trainer's last output lines when it failed). Reads results.db only. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli_util.h"
#include "commands.h"
#include "confirm_table.h"
#include "results_cli.h"
#include "common/json_exact.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch show TRIAL [--db PATH] [--sweep NAME] [--format text|json]\n"
            "\n"
            "One trial, by number: its state, parameters, the curve (loss, KL, beta and the\n"
            "validation metrics of every epoch), final validation and test metrics, and\n"
            "every attempt at it: the trainer's pid, GPUs, exit status, why it ended and,\n"
            "for a failure, the trainer's last output lines.\n"
            "\n"
            RESULTS_CLI_HELP
            "missing database, sweep or trial.\n");
}

#define complain(status, ...) cli_error("show", status, __VA_ARGS__)

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
    double best = results_number(cJSON_GetObjectItem(attrs, "best_epoch"));
    double speed = results_number(cJSON_GetObjectItem(attrs, "train_users_per_s"));
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
            format_cell(results_number(cJSON_GetObjectItem(e, keys[k])), fmts[k], cell);
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
        const char *gpus = results_string(run, "gpus"), *outcome = results_string(run, "outcome");
        const char *reason = results_string(run, "reason"), *tail = results_string(run, "output_tail");
        const char *host = results_string(run, "host");
        double pid = results_number(cJSON_GetObjectItem(run, "pid"));
        double status = results_number(cJSON_GetObjectItem(run, "exit_status"));
        printf("  %.0f: ", results_number(cJSON_GetObjectItem(run, "attempt")));
        if (!isnan(pid)) printf("pid %.0f on %s, ", pid, host ? host : "?");
        printf("%s%s, from %s to %s", gpus && *gpus ? "GPUs " : "CPU", gpus ? gpus : "",
               results_string(run, "started") ? results_string(run, "started") : "?",
               results_string(run, "ended") ? results_string(run, "ended") : "now (running)");
        if (outcome) printf(": %s", outcome);
        if (!isnan(status)) printf(", exit status %.0f", status);
        printf("\n");
        if (reason) printf("    reason: %s\n", reason);
        if (results_string(run, "out_dir")) printf("    run folder: %s\n", results_string(run, "out_dir"));
        if (tail && *tail && outcome && !strcmp(outcome, "FAIL")) print_tail(tail);
    }
}

static void print_text(const cJSON *sweep, const cJSON *trial, const confirm_view *confirmed, int in_confirmation) {
    const char *metric = results_string(sweep, "metric");
    const char *state = results_string(trial, "state");
    printf("trial %.0f of sweep %s: %s\n", results_number(cJSON_GetObjectItem(trial, "number")),
           results_string(sweep, "name"), state ? state : "?");
    const cJSON *value = cJSON_GetObjectItem(trial, "value");
    if (!cJSON_IsNull(value) && value)
        printf("value     %s %.4f\n", metric ? metric : "objective", results_number(value));
    const char *reason = results_string(cJSON_GetObjectItem(trial, "user_attrs"), "fail_reason");
    if (reason) printf("failed    %s\n", reason);
    char took[32];
    results_duration(results_number(cJSON_GetObjectItem(trial, "seconds")), took);
    const char *start = results_string(trial, "datetime_start"), *end = results_string(trial, "datetime_complete");
    printf("time      %s (UTC %s to %s), %.0f attempt(s)\n", took, start ? start : "-", end ? end : "-",
           results_number(cJSON_GetObjectItem(trial, "attempts")));
    double retry_of = results_number(cJSON_GetObjectItem(cJSON_GetObjectItem(trial, "user_attrs"), "retry_of"));
    if (!isnan(retry_of)) printf("retry of  trial %.0f\n", retry_of);
    const cJSON *attrs = cJSON_GetObjectItem(trial, "user_attrs");
    const char *seed = results_string(attrs, "warm_start");
    if (seed) printf("seed      warm start from %s (trained by that sweep, not run here)\n", seed);
    else if (results_number(cJSON_GetObjectItem(trial, "attempts")) == 0 && state && strcmp(state, "WAITING") &&
             strcmp(state, "RUNNING"))
        printf("added     to the study without being run here (Optuna's add_trial, for one)\n");
    const char *job = results_string(attrs, "slurm_job_id"), *step = results_string(attrs, "slurm_step_id");
    if (job)   /* the last attempt ran as a Slurm job step (docs/slurm.md) */
        printf("slurm     job %s, step %s on %s (last attempt)\n", job, step ? step : "not started",
               results_string(attrs, "slurm_node") ? results_string(attrs, "slurm_node") : "?");
    print_metrics(trial);
    if (confirmed) confirm_print_trial(confirmed, (int)results_number(cJSON_GetObjectItem(trial, "number")), in_confirmation);
    print_params(trial);
    print_curve(trial);
    print_runs(trial);
}

/* ---- the command ---- */

/* Why there is no such trial: the range there is, or that there is none yet. */
static int no_trial(const cJSON *sweep, int number) {
    const cJSON *c;
    double total = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(sweep, "counts")) total += results_number(c);
    if (total > 0)
        return complain(2, "sweep '%s' has no trial %d (its trials are 0 to %.0f)", results_string(sweep, "name"),
                        number, total - 1);
    return complain(2, "sweep '%s' has no trials yet", results_string(sweep, "name"));
}

int cmd_show(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    results_cli o = {.verb = "show", .takes_operands = 1};
    vs_error err = {{0}};
    int number, rc = results_cli_parse(&o, argc, argv);
    if (rc) return rc;
    if (argc - optind != 1) {
        usage(stderr);
        return 2;
    }
    if (cli_parse_int("TRIAL", argv[optind], 0, 1 << 30, &number, &err))
        return complain(2, "%s (a trial number)", err.msg);
    cJSON *sweep, *list;
    if ((rc = results_cli_load(&o, number, 1, &sweep, &list))) return rc;
    cJSON *trial = cJSON_GetArrayItem(list, 0);
    confirm_view confirmed;   /* the trial's part in a confirmation (vaesearch confirm), if it has one */
    int has_confirmation = trial && confirm_view_load("show", o.db_path, results_string(sweep, "name"), NULL, &confirmed) == 0;
    int in_confirmation = has_confirmation && !strcmp(results_string(confirmed.sweep, "name"), results_string(sweep, "name"));
    if (!trial) {
        rc = no_trial(sweep, number);
    } else if (o.format == RESULTS_JSON) {
        const char *name = results_string(sweep, "name"), *metric = results_string(sweep, "metric");
        cJSON_AddStringToObject(trial, "sweep", name ? name : "");
        cJSON_AddStringToObject(trial, "metric", metric ? metric : "");
        cJSON *c = has_confirmation ? confirm_trial_json(&confirmed, number, in_confirmation) : NULL;
        cJSON_AddItemToObject(trial, "confirmation", c ? c : cJSON_CreateNull());
        cli_json_print(cJSON_DetachItemFromArray(list, 0)); /* and deletes it */
    } else {
        print_text(sweep, trial, has_confirmation ? &confirmed : NULL, in_confirmation);
    }
    if (has_confirmation) confirm_view_free(&confirmed);
    cJSON_Delete(list);
    cJSON_Delete(sweep);
    return rc;
}
