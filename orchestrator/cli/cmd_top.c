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
#include "results_cli.h"
#include "common/json_exact.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch top [--db PATH] [--sweep NAME] [-n N] [--metric METRIC]\n"
            "                     [--format table|csv|json]\n"
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
            "  --format F       table (default), csv (with a header) or json (an array)\n"
            "\n"
            "Exit status: 0 done, 1 the database could not be read, 2 bad usage, or a\n"
            "missing database, sweep or metric.\n");
}

#define complain(status, ...) cli_error("top", status, __VA_ARGS__)

/* --format's choices, in the order of enum format. */
enum format { FORMAT_TABLE, FORMAT_CSV, FORMAT_JSON };
static const char *const formats[] = {"table", "csv", "json", NULL};

/* The metrics a trial may be ranked by: the user attribute each is stored as. */
static const char *const metric_attrs[] = {"val_ndcg@100",  "val_recall@20",  "val_recall@50",
                                           "test_ndcg@100", "test_recall@20", "test_recall@50"};
#define N_METRICS (int)(sizeof metric_attrs / sizeof metric_attrs[0])

/* The attribute for a --metric: "recall@20" and "val_recall@20" are the same. */
static const char *metric_attr(const char *metric) {
    for (int i = 0; i < N_METRICS; i++)
        if (!strcmp(metric, metric_attrs[i]) || (!strncmp(metric_attrs[i], "val_", 4) && !strcmp(metric, metric_attrs[i] + 4)))
            return metric_attrs[i];
    return NULL;
}

typedef struct ranked {
    const cJSON *trial;
    double key;
} ranked;

static int sort_descending;

/* Best first; equal values in trial order, so the ranking is stable. */
static int by_key(const void *pa, const void *pb) {
    const ranked *a = pa, *b = pb;
    if (a->key != b->key) return (a->key > b->key) == sort_descending ? -1 : 1;
    return cJSON_GetObjectItem(a->trial, "number")->valueint - cJSON_GetObjectItem(b->trial, "number")->valueint;
}

static double attr_of(const cJSON *trial, const char *key) {
    return results_number(cJSON_GetObjectItem(cJSON_GetObjectItem(trial, "user_attrs"), key));
}

/* ---- the columns ---- */

typedef struct column {
    char header[64];
    const char *param;   /* a parameter's name, or NULL */
    const char *attr;    /* a user attribute, or NULL */
    int is_value, is_number;
} column;

static int add_column(column *cols, int n, const char *header, const char *param, const char *attr, int is_value) {
    column *c = &cols[n];
    snprintf(c->header, sizeof c->header, "%s", header);
    c->param = param;
    c->attr = attr;
    c->is_value = is_value;
    c->is_number = param == NULL;
    return n + 1;
}

static int compare_names(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* number, value, the parameters (those of any trial shown, in name order, the space's:
 * a conditional parameter absent from a trial leaves its cell empty), the metrics that
 * are not the objective, best epoch, users/s. */
static int make_columns(column *cols, int max, const ranked *r, int n_ranked, const char *objective_attr,
                        const char *objective) {
    int n = 0;
    n = add_column(cols, n, "number", NULL, NULL, 0);
    n = add_column(cols, n, objective, NULL, NULL, 1);
    const char *names[64];
    int n_names = 0;
    for (int i = 0; i < n_ranked; i++) {
        const cJSON *p;
        cJSON_ArrayForEach(p, cJSON_GetObjectItem(r[i].trial, "params")) {
            int k = 0;
            while (k < n_names && strcmp(names[k], p->string)) k++;
            if (k == n_names && n_names < max - N_METRICS - 5) names[n_names++] = p->string;
        }
    }
    qsort(names, (size_t)n_names, sizeof *names, compare_names);
    for (int k = 0; k < n_names; k++) {
        const cJSON *first = NULL;   /* the first trial that has it says its kind */
        for (int i = 0; i < n_ranked && !first; i++) first = cJSON_GetObjectItem(cJSON_GetObjectItem(r[i].trial, "params"), names[k]);
        n = add_column(cols, n, names[k], names[k], NULL, 0);
        cols[n - 1].is_number = cJSON_IsNumber(first); /* numbers right-aligned, lists left */
    }
    for (int i = 0; i < N_METRICS; i++) {
        const char *a = metric_attrs[i];
        if (strcmp(a, objective_attr)) n = add_column(cols, n, strncmp(a, "val_", 4) ? a : a + 4, NULL, a, 0);
    }
    n = add_column(cols, n, "best_epoch", NULL, "best_epoch", 0);
    n = add_column(cols, n, "users_per_s", NULL, "train_users_per_s", 0);
    return n;
}

/* A cell as text: metrics with 4 decimals in a table, exact in CSV. */
static char *cell_text(const column *c, const cJSON *trial, int exact) {
    char buf[64];
    if (c->param) {
        const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(trial, "params"), c->param);
        if (cJSON_IsString(v)) return vs_xstrdup(v->valuestring);
        if (cJSON_IsNumber(v) && !exact) {
            snprintf(buf, sizeof buf, "%.6g", v->valuedouble);
            return vs_xstrdup(buf);
        }
        return v ? vs_json_print_exact(v) : vs_xstrdup("");
    }
    double x = c->is_value ? results_number(cJSON_GetObjectItem(trial, "value"))
               : c->attr   ? attr_of(trial, c->attr)
                           : cJSON_GetObjectItem(trial, "number")->valuedouble;
    if (isnan(x)) return vs_xstrdup("");
    if (isinf(x)) return vs_xstrdup(x > 0 ? "inf" : "-inf");
    int is_metric = c->is_value || (c->attr && strchr(c->attr, '@'));
    if (exact) vs_json_number(x, buf);
    else if (is_metric) snprintf(buf, sizeof buf, "%.4f", x);
    else if (c->attr && !strcmp(c->attr, "train_users_per_s")) snprintf(buf, sizeof buf, "%.0f", x);
    else vs_json_number(x, buf); /* number, best_epoch */
    return vs_xstrdup(buf);
}

static void print_table(const column *cols, int n_cols, const ranked *r, int n) {
    int width[64];
    char ***cells = vs_xcalloc((size_t)n, sizeof *cells);
    for (int c = 0; c < n_cols; c++) width[c] = (int)strlen(cols[c].header);
    for (int i = 0; i < n; i++) {
        cells[i] = vs_xcalloc((size_t)n_cols, sizeof **cells);
        for (int c = 0; c < n_cols; c++) {
            cells[i][c] = cell_text(&cols[c], r[i].trial, 0);
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

static void print_csv_field(const char *s, int first) {
    if (!first) putchar(',');
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"') putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void print_csv(const column *cols, int n_cols, const ranked *r, int n) {
    for (int c = 0; c < n_cols; c++) print_csv_field(cols[c].header, c == 0);
    printf("\n");
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < n_cols; c++) {
            char *s = cell_text(&cols[c], r[i].trial, 1);
            print_csv_field(s, c == 0);
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

static void print_json(const ranked *r, int n, const char *rank_attr, int by_objective) {
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
        for (int m = 0; m < N_METRICS; m++) {
            int is_val = !strncmp(metric_attrs[m], "val_", 4);
            add_value(is_val ? val : test, metric_attrs[m] + (is_val ? 4 : 5), attr_of(t, metric_attrs[m]));
        }
        add_value(o, "best_epoch", attr_of(t, "best_epoch"));
        add_value(o, "users_per_s", attr_of(t, "train_users_per_s"));
        add_value(o, "seconds", results_number(cJSON_GetObjectItem(t, "seconds")));
        cJSON_AddItemToArray(list, o);
    }
    cli_json_print(list);
}

/* ---- the command ---- */

typedef struct top_opts {
    const char *metric;
    int n;
} top_opts;

/* -n and --metric; results_cli takes the rest. */
static int take_option(int opt, const char *value, void *ctx) {
    top_opts *o = ctx;
    vs_error err = {{0}};
    if (opt == 'm') o->metric = value;
    else if (opt == 'n' && cli_parse_int("-n", value, 1, 1000000, &o->n, &err)) return complain(2, "%s", err.msg);
    return 0;
}

/* Ranks the COMPLETE trials; returns how many have the metric. */
static int rank_trials(const cJSON *trials, const char *attr, int by_objective, ranked *r) {
    int n = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, trials) {
        const cJSON *state = cJSON_GetObjectItem(t, "state");
        if (!cJSON_IsString(state) || strcmp(state->valuestring, "COMPLETE")) continue;
        double key = by_objective ? results_number(cJSON_GetObjectItem(t, "value")) : attr_of(t, attr);
        if (isnan(key)) continue;
        r[n].trial = t;
        r[n++].key = key;
    }
    qsort(r, (size_t)n, sizeof *r, by_key);
    return n;
}

/* Ranks the sweep's COMPLETE trials by o->metric and prints the best o->n. */
static int show_top(const cJSON *sweep, const cJSON *trials, const top_opts *o, enum format format) {
    const cJSON *m = cJSON_GetObjectItem(sweep, "metric");
    const char *objective = cJSON_IsString(m) ? m->valuestring : "ndcg@100";
    const char *objective_attr = metric_attr(objective);
    const char *attr = o->metric ? metric_attr(o->metric) : objective_attr;
    if (!attr || !objective_attr)
        return complain(2, "--metric: '%s' is not ndcg@100, recall@20, recall@50, test_ndcg@100, test_recall@20 or "
                           "test_recall@50", o->metric ? o->metric : objective);
    int by_objective = !strcmp(attr, objective_attr);
    const cJSON *dir = cJSON_GetObjectItem(sweep, "direction");
    sort_descending = !by_objective || !cJSON_IsString(dir) || strcmp(dir->valuestring, "minimize");
    ranked *r = vs_xcalloc((size_t)cJSON_GetArraySize(trials) + 1, sizeof *r);
    int n = rank_trials(trials, attr, by_objective, r);
    if (n > o->n) n = o->n;
    column cols[64];
    int n_cols = n ? make_columns(cols, 64, r, n, objective_attr, objective) : 0;
    if (format == FORMAT_JSON) print_json(r, n, attr, by_objective);
    else if (n == 0) fprintf(stderr, "vaesearch top: no COMPLETE trial with %s yet\n", strncmp(attr, "val_", 4) ? attr : attr + 4);
    else if (format == FORMAT_CSV) print_csv(cols, n_cols, r, n);
    else print_table(cols, n_cols, r, n);
    free(r);
    return 0;
}

int cmd_top(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    static const struct option top_long[] = {{"metric", required_argument, NULL, 'm'}, {NULL, 0, NULL, 0}};
    top_opts top = {NULL, 10};
    results_cli o = {.verb = "top", .formats = formats, .own_short = "n:", .own_long = top_long,
                     .take_own = take_option, .own_ctx = &top};
    cJSON *sweep, *trials;
    int rc = results_cli_parse(&o, argc, argv);
    if (rc || (rc = results_cli_load(&o, -1, 0, &sweep, &trials))) return rc;
    rc = show_top(sweep, trials, &top, (enum format)o.format);
    cJSON_Delete(trials);
    cJSON_Delete(sweep);
    return rc;
}
