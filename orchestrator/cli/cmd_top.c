/* cmd_top: `vaesearch top`: a sweep's best COMPLETE trials by a metric, with their
 * parameters, metrics and speed, as an aligned table, CSV or JSON. It only reads
 * results.db, so it runs beside a live `vaesearch run`. */
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
#include "top_table.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch top [--db PATH] [--sweep NAME] [-n N] [--metric METRIC]\n"
            "                     [--format text|csv|json] [--confirmed]\n"
            "\n"
            "Ranks the sweep's COMPLETE trials by a metric, best first: number, objective\n"
            "value, parameters, the other validation metrics, test metrics, best epoch and\n"
            "training users per second.\n"
            "\n"
            "  --db PATH        the results database (default results.db)\n"
            "  --sweep NAME     the sweep (default: the only one in the database)\n"
            "  -n N             how many trials (default 10)\n"
            "  --metric METRIC  rank by ndcg@100, recall@20, recall@50 (validation) or\n"
            "                   test_ndcg@100, test_recall@20, test_recall@50; default the\n"
            "                   sweep's objective, in its direction (others: higher first)\n"
            "  --format F       text (default: a table; 'table' works too), csv (with a\n"
            "                   header) or json (an array); --json is --format json\n"
            "  --confirmed      the sweep's confirmation instead (vaesearch confirm): its\n"
            "                   configurations by their mean over fresh seeds, with the\n"
            "                   standard deviations and their rank in the sweep (json: one\n"
            "                   object); --sweep may name the sweep or its confirmation\n"
            "\n"
            "Exit status: 0 done, 1 the database could not be read, 2 bad usage, or a\n"
            "missing database, sweep or metric.\n");
}

#define complain(status, ...) cli_error("top", status, __VA_ARGS__)

/* --format's choices, in the order of enum format. */
enum format { FORMAT_TABLE, FORMAT_CSV, FORMAT_JSON };
static const char *const formats[] = {"text", "csv", "json", NULL};

static void print_table(const top_column *cols, int n_cols, const top_ranked *r, int n) {
    int width[64];
    char ***cells = vs_xcalloc((size_t)n, sizeof *cells);
    for (int c = 0; c < n_cols; c++) width[c] = (int)strlen(cols[c].header);
    for (int i = 0; i < n; i++) {
        cells[i] = vs_xcalloc((size_t)n_cols, sizeof **cells);
        for (int c = 0; c < n_cols; c++) {
            cells[i][c] = top_cell_text(&cols[c], r[i].trial, 0);
            int w = (int)strlen(cells[i][c]);
            if (w > width[c]) width[c] = w;
        }
    }
    /* Numbers right-aligned, so their digits line up; lists and text left. */
    for (int c = 0; c < n_cols; c++)
        printf("%s%*s", c ? "  " : "", cols[c].is_number ? width[c] : -width[c], cols[c].header);
    printf("\n");
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < n_cols; c++) {
            printf("%s%*s", c ? "  " : "", cols[c].is_number ? width[c] : -width[c], cells[i][c]);
            free(cells[i][c]);
        }
        printf("\n");
        free(cells[i]);
    }
    free(cells);
}

static void print_csv(const top_column *cols, int n_cols, const top_ranked *r, int n) {
    for (int c = 0; c < n_cols; c++) cli_csv_field(cols[c].header, c == 0);
    printf("\n");
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < n_cols; c++) {
            char *s = top_cell_text(&cols[c], r[i].trial, 1);
            cli_csv_field(s, c == 0);
            free(s);
        }
        printf("\n");
    }
}

/* A JSON number, or the string the reports use for an infinity, or null. */
static void add_value(cJSON *o, const char *key, double v) {
    if (isnan(v)) cJSON_AddNullToObject(o, key);
    else if (isinf(v)) cJSON_AddStringToObject(o, key, v > 0 ? "inf" : "-inf");
    else cJSON_AddNumberToObject(o, key, v);
}

static void print_json(const top_ranked *r, int n, const char *rank_attr, int by_objective) {
    cJSON *list = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        const cJSON *t = r[i].trial;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "rank", i + 1);
        cJSON_AddNumberToObject(o, "number", cJSON_GetObjectItem(t, "number")->valuedouble);
        add_value(o, "value", results_number(cJSON_GetObjectItem(t, "value")));
        if (!by_objective) {
            cJSON_AddStringToObject(o, "metric", rank_attr);
            add_value(o, "metric_value", r[i].key);
        }
        cJSON_AddItemToObject(o, "params", cJSON_Duplicate(cJSON_GetObjectItem(t, "params"), 1));
        cJSON *val = cJSON_AddObjectToObject(o, "val"), *test = cJSON_AddObjectToObject(o, "test");
        for (int m = 0; m < TOP_N_METRICS; m++) {
            int is_val = !strncmp(top_metric_attrs[m], "val_", 4);
            add_value(is_val ? val : test, top_metric_attrs[m] + (is_val ? 4 : 5), top_attr_of(t, top_metric_attrs[m]));
        }
        add_value(o, "best_epoch", top_attr_of(t, "best_epoch"));
        add_value(o, "users_per_s", top_attr_of(t, "train_users_per_s"));
        add_value(o, "seconds", results_number(cJSON_GetObjectItem(t, "seconds")));
        cJSON_AddItemToArray(list, o);
    }
    cli_json_print(list);
}

/* ---- the command ---- */

typedef struct top_opts {
    const char *metric;
    int n, confirmed;
} top_opts;

/* -n and --metric; results_cli takes the rest. */
static int take_option(int opt, const char *value, void *ctx) {
    top_opts *o = ctx;
    vs_error err = {{0}};
    if (opt == 'm') o->metric = value;
    else if (opt == 'C') o->confirmed = 1;
    else if (opt == 'n' && cli_parse_int("-n", value, 1, 1000000, &o->n, &err)) return complain(2, "%s", err.msg);
    return 0;
}

/* Ranks the sweep's COMPLETE trials by o->metric and prints the best o->n. */
static int show_top(const cJSON *sweep, const cJSON *trials, const top_opts *o, enum format format) {
    const cJSON *m = cJSON_GetObjectItem(sweep, "metric");
    const char *objective = cJSON_IsString(m) ? m->valuestring : "ndcg@100";
    const char *objective_attr = top_metric_attr(objective);
    const char *attr = o->metric ? top_metric_attr(o->metric) : objective_attr;
    if (!attr || !objective_attr)
        return complain(2, "--metric: '%s' is not ndcg@100, recall@20, recall@50, test_ndcg@100, test_recall@20 or "
                           "test_recall@50", o->metric ? o->metric : objective);
    int by_objective = !strcmp(attr, objective_attr);
    const cJSON *dir = cJSON_GetObjectItem(sweep, "direction");
    int descending = !by_objective || !cJSON_IsString(dir) || strcmp(dir->valuestring, "minimize");
    top_ranked *r = vs_xcalloc((size_t)cJSON_GetArraySize(trials) + 1, sizeof *r);
    int n = top_rank_trials(trials, attr, by_objective, descending, r);
    if (n > o->n) n = o->n;
    top_column cols[64];
    const cJSON *space_params = cJSON_GetObjectItem(cJSON_GetObjectItem(sweep, "space"), "parameters");
    int n_cols = n ? top_make_columns(cols, 64, space_params, r, n, objective_attr, objective) : 0;
    if (format == FORMAT_JSON) print_json(r, n, attr, by_objective);
    else if (n == 0) fprintf(stderr, "vaesearch top: no COMPLETE trial with %s yet\n", strncmp(attr, "val_", 4) ? attr : attr + 4);
    else if (format == FORMAT_CSV) print_csv(cols, n_cols, r, n);
    else print_table(cols, n_cols, r, n);
    free(r);
    return 0;
}

/* --confirmed: the sweep's confirmation, its configurations ranked by their mean. */
static int show_confirmed(const results_cli *o, const top_opts *top) {
    const char *attr = top->metric ? top_metric_attr(top->metric) : NULL;
    if (top->metric && !attr)
        return complain(2, "--metric: '%s' is not ndcg@100, recall@20, recall@50, test_ndcg@100, test_recall@20 or "
                           "test_recall@50", top->metric);
    confirm_view v;
    int rc = confirm_view_load("top", o->db_path, o->sweep, attr, &v);
    if (rc < 0 && o->sweep)
        return complain(2, "sweep '%s' has no confirmation yet: `vaesearch confirm --sweep %s` makes one", o->sweep,
                        o->sweep);
    if (rc < 0) return complain(2, "the sweep has no confirmation yet: `vaesearch confirm` makes one");
    if (rc) return rc;
    if (o->format == FORMAT_JSON) cli_json_print(confirm_json(&v, top->n));
    else if (o->format == FORMAT_CSV) confirm_print_csv(&v, top->n);
    else confirm_print_text(&v, top->n);
    confirm_view_free(&v);
    return 0;
}

int cmd_top(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    static const struct option top_long[] = {
        {"metric", required_argument, NULL, 'm'}, {"confirmed", no_argument, NULL, 'C'}, {NULL, 0, NULL, 0}};
    top_opts top = {NULL, 10, 0};
    results_cli o = {.verb = "top", .formats = formats, .own_short = "n:", .own_long = top_long,
                     .take_own = take_option, .own_ctx = &top};
    cJSON *sweep, *trials;
    int rc = results_cli_parse(&o, argc, argv);
    if (rc == 0 && top.confirmed) return show_confirmed(&o, &top);
    if (rc || (rc = results_cli_load(&o, -1, 0, &sweep, &trials))) return rc;
    rc = show_top(sweep, trials, &top, (enum format)o.format);
    cJSON_Delete(trials);
    cJSON_Delete(sweep);
    return rc;
}
