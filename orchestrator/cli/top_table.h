/* top_table: how `vaesearch top` ranks a sweep's COMPLETE trials and what its columns
 * and cells are, shared with `vaesearch report`, whose table of the top trials is top's
 * own. Trials are the objects of vs_db_trials_json (results_db.h). */
#ifndef VS_TOP_TABLE_H
#define VS_TOP_TABLE_H

#include <cjson/cJSON.h>

/* The metrics a trial may be ranked by: the user attribute each is stored as. */
extern const char *const top_metric_attrs[];
#define TOP_N_METRICS 6

/* The attribute for a --metric ("recall@20" and "val_recall@20" are the same), or NULL. */
const char *top_metric_attr(const char *metric);
/* A trial's user attribute as a number (NaN when missing). */
double top_attr_of(const cJSON *trial, const char *key);

typedef struct top_ranked {
    const cJSON *trial;
    double key;
} top_ranked;

/* The COMPLETE trials that have the metric (the objective's value when by_objective,
 * else the user attribute attr) into r, best first (higher first when descending), equal
 * values in trial order; returns how many. */
int top_rank_trials(const cJSON *trials, const char *attr, int by_objective, int descending, top_ranked *r);

typedef struct top_column {
    char header[64];
    const char *param;   /* a parameter's name, or NULL */
    const char *attr;    /* a user attribute, or NULL */
    int is_value, is_number;
} top_column;

/* top's columns: number, value (headed objective), the parameters that any of the
 * n_ranked trials shown has, in the space's order (space_params: the stored space's
 * "parameters", or NULL), then any other they have; the metrics that are not the
 * objective, best epoch, users/s; at most max (64 fits every space). A conditional
 * parameter a trial does not have (absent) leaves its cell empty. Returns how many. */
int top_make_columns(top_column *cols, int max, const cJSON *space_params, const top_ranked *r, int n_ranked,
                     const char *objective_attr, const char *objective);

/* A cell as text (caller frees): metrics with 4 decimals in a table, exact (exact = 1)
 * in CSV; parameters with 6 significant digits, lists as JSON; "" for a parameter the
 * trial does not have. */
char *top_cell_text(const top_column *c, const cJSON *trial, int exact);

#endif
