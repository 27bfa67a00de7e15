/* top_table: top's ranking, columns and cells (top_table.h), shared by `vaesearch top`
 * and `vaesearch report`. */
#include "top_table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results_cli.h"
#include "common/json_exact.h"
#include "common/vs_error.h"

const char *const top_metric_attrs[TOP_N_METRICS] = {"val_ndcg@100",  "val_recall@20",  "val_recall@50",
                                                     "test_ndcg@100", "test_recall@20", "test_recall@50"};

const char *top_metric_attr(const char *metric) {
    for (int i = 0; i < TOP_N_METRICS; i++)
        if (!strcmp(metric, top_metric_attrs[i]) ||
            (!strncmp(top_metric_attrs[i], "val_", 4) && !strcmp(metric, top_metric_attrs[i] + 4)))
            return top_metric_attrs[i];
    return NULL;
}

double top_attr_of(const cJSON *trial, const char *key) {
    return results_number(cJSON_GetObjectItem(cJSON_GetObjectItem(trial, "user_attrs"), key));
}

/* ---- ranking ---- */

static int sort_descending;

/* Best first; equal values in trial order, so the ranking is stable. */
static int by_key(const void *pa, const void *pb) {
    const top_ranked *a = pa, *b = pb;
    if (a->key != b->key) return (a->key > b->key) == sort_descending ? -1 : 1;
    return cJSON_GetObjectItem(a->trial, "number")->valueint - cJSON_GetObjectItem(b->trial, "number")->valueint;
}

int top_rank_trials(const cJSON *trials, const char *attr, int by_objective, int descending, top_ranked *r) {
    int n = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, trials) {
        const cJSON *state = cJSON_GetObjectItem(t, "state");
        if (!cJSON_IsString(state) || strcmp(state->valuestring, "COMPLETE")) continue;
        double key = by_objective ? results_number(cJSON_GetObjectItem(t, "value")) : top_attr_of(t, attr);
        if (isnan(key)) continue;
        r[n].trial = t;
        r[n++].key = key;
    }
    sort_descending = descending;
    qsort(r, (size_t)n, sizeof *r, by_key);
    return n;
}

/* ---- the columns ---- */

static int add_column(top_column *cols, int n, const char *header, const char *param, const char *attr, int is_value) {
    top_column *c = &cols[n];
    snprintf(c->header, sizeof c->header, "%s", header);
    c->param = param;
    c->attr = attr;
    c->is_value = is_value;
    c->is_number = param == NULL;
    return n + 1;
}

/* Whether name is one of names[0..n). */
static int has_name(const char *const *names, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return 1;
    return 0;
}

/* The first shown trial that has parameter name (it says the column's kind), or NULL. */
static const cJSON *first_value(const top_ranked *r, int n_ranked, const char *name) {
    const cJSON *v = NULL;
    for (int i = 0; i < n_ranked && !v; i++) v = cJSON_GetObjectItem(cJSON_GetObjectItem(r[i].trial, "params"), name);
    return v;
}

int top_make_columns(top_column *cols, int max, const cJSON *space_params, const top_ranked *r, int n_ranked,
                     const char *objective_attr, const char *objective) {
    int n = 0;
    n = add_column(cols, n, "number", NULL, NULL, 0);
    n = add_column(cols, n, objective, NULL, NULL, 1);
    /* The space's parameters that some shown trial has, in the space's order; then any
     * other a trial has (one Optuna added), as first met. */
    const char *names[64];
    int n_names = 0, room = max - TOP_N_METRICS - 4;
    const cJSON *p;
    cJSON_ArrayForEach(p, space_params)
        if (n_names < room && first_value(r, n_ranked, p->string)) names[n_names++] = p->string;
    for (int i = 0; i < n_ranked; i++)
        cJSON_ArrayForEach(p, cJSON_GetObjectItem(r[i].trial, "params"))
            if (n_names < room && !has_name(names, n_names, p->string)) names[n_names++] = p->string;
    for (int k = 0; k < n_names; k++) {
        n = add_column(cols, n, names[k], names[k], NULL, 0);
        cols[n - 1].is_number = cJSON_IsNumber(first_value(r, n_ranked, names[k])); /* numbers right-aligned, lists left */
    }
    for (int i = 0; i < TOP_N_METRICS; i++) {
        const char *a = top_metric_attrs[i];
        if (strcmp(a, objective_attr)) n = add_column(cols, n, strncmp(a, "val_", 4) ? a : a + 4, NULL, a, 0);
    }
    n = add_column(cols, n, "best_epoch", NULL, "best_epoch", 0);
    n = add_column(cols, n, "users_per_s", NULL, "train_users_per_s", 0);
    return n;
}

char *top_cell_text(const top_column *c, const cJSON *trial, int exact) {
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
               : c->attr   ? top_attr_of(trial, c->attr)
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
