/* confirm_table: a confirmation read, summarised and printed (confirm_table.h). */
#include "confirm_table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"
#include "results_cli.h"
#include "top_table.h"
#include "common/json_exact.h"
#include "common/strbuf.h"
#include "results/results_confirm.h"

/* ---- reading ---- */

int confirm_view_load(const char *verb, const char *db_path, const char *sweep, const char *metric, confirm_view *v) {
    memset(v, 0, sizeof *v);
    vs_error err = {{0}};
    vs_db *db = NULL;
    int id, source_id, confirm_id, rc;
    if (vs_db_open_existing(db_path, &db, &err)) return cli_error(verb, access(db_path, F_OK) == 0 ? 1 : 2, "%s", err.msg);
    if (vs_db_find_sweep_to_confirm(db, sweep, &id, &err)) {
        vs_db_close(db);
        return cli_error(verb, 2, "%s", err.msg);
    }
    if ((rc = vs_db_confirmation_source(db, id, &source_id, &err)) == 1) confirm_id = id;
    else if (rc == 0 && (rc = vs_db_find_confirmation(db, id, &confirm_id, &err)) == 1) source_id = id;
    if (rc != 1) {
        vs_db_close(db);
        return rc < 0 ? cli_error(verb, 1, "%s", err.msg) : -1;
    }
    rc = !(v->source_sweep = vs_db_sweep_json(db, source_id, &err)) ||
         !(v->source_trials = vs_db_trials_json(db, source_id, -1, 0, &err)) ||
         !(v->sweep = vs_db_sweep_json(db, confirm_id, &err)) || !(v->trials = vs_db_trials_json(db, confirm_id, -1, 0, &err));
    vs_db_close(db);
    if (rc) {
        confirm_view_free(v);
        return cli_error(verb, 1, "%s", err.msg);
    }
    if (vs_confirm_summarize(v->source_sweep, v->source_trials, v->trials, metric, &v->summary, &err)) {
        confirm_view_free(v);
        return cli_error(verb, 2, "%s", err.msg);
    }
    return 0;
}

void confirm_view_free(confirm_view *v) {
    vs_confirm_summary_free(&v->summary);
    cJSON_Delete(v->source_sweep);
    cJSON_Delete(v->source_trials);
    cJSON_Delete(v->sweep);
    cJSON_Delete(v->trials);
    memset(v, 0, sizeof *v);
}

/* ---- what the numbers say ---- */

static const char *name_of(const cJSON *sweep) {
    const char *s = results_string(sweep, "name");
    return s ? s : "?";
}

/* A metric's name for people: "validation ndcg@100", "test recall@20". */
static void metric_words(const char *attr, char *out, size_t n) {
    if (!strncmp(attr, "val_", 4)) snprintf(out, n, "validation %s", attr + 4);
    else snprintf(out, n, "test %s", attr + 5);
}

/* The spread across seeds (the mean standard deviation of the ranking metric over the
 * configurations with 2 seeds or more; NaN when none has) and the gap between the
 * confirmed sweep's two best trials (NaN with fewer than 2). */
static void spread_and_gap(const confirm_view *v, double *spread, double *gap) {
    double sum = 0;
    int n = 0;
    for (int i = 0; i < v->summary.n; i++) {
        const vs_confirm_stat *s = &v->summary.configs[i].stat[v->summary.metric];
        if (s->n >= 2) sum += s->sd, n++;
    }
    *spread = n ? sum / n : NAN;
    const cJSON **ranked = vs_xcalloc((size_t)cJSON_GetArraySize(v->source_trials) + 1, sizeof *ranked);
    int k = vs_confirm_rank_sweep(v->source_sweep, v->source_trials, ranked);
    *gap = k >= 2 ? fabs(results_number(cJSON_GetObjectItem(ranked[0], "value")) -
                         results_number(cJSON_GetObjectItem(ranked[1], "value")))
                  : NAN;
    free(ranked);
}

static int limit_of(const confirm_view *v, int limit) { return limit > 0 && limit < v->summary.n ? limit : v->summary.n; }

/* ---- text ---- */

static char *mean_sd_text(const vs_confirm_stat *s) {
    char buf[64];
    if (s->n == 0) snprintf(buf, sizeof buf, "-");
    else if (isnan(s->sd)) snprintf(buf, sizeof buf, "%.4f", s->mean);
    else snprintf(buf, sizeof buf, "%.4f (%.4f)", s->mean, s->sd);
    return vs_xstrdup(buf);
}

static char *int_text(int x) {
    char buf[32];
    if (x) snprintf(buf, sizeof buf, "%d", x);
    else snprintf(buf, sizeof buf, "-");
    return vs_xstrdup(buf);
}

static char *seeds_text(const vs_confirm_config *c) {
    char buf[32];
    int all = c->complete + c->pending + c->failed;
    if (all == c->complete) snprintf(buf, sizeof buf, "%d", c->complete);
    else snprintf(buf, sizeof buf, "%d/%d", c->complete, all);
    return vs_xstrdup(buf);
}

/* The parameters' names, from the first configuration whose trial is still there. */
static const cJSON *params_of_first(const confirm_view *v) {
    for (int i = 0; i < v->summary.n; i++)
        if (v->summary.configs[i].trial) return cJSON_GetObjectItem(v->summary.configs[i].trial, "params");
    return NULL;
}

#define MAX_COLUMNS 64

/* The table's header and cells, as text. */
static int table_cells(const confirm_view *v, int n, char *heads[MAX_COLUMNS], char ***cells, int *numeric) {
    int cols = 0;
    static const char *const fixed_heads[] = {"rank", "trial", "sweep_rank", "seeds"};
    for (int k = 0; k < 4; k++) numeric[cols] = 1, heads[cols++] = vs_xstrdup(fixed_heads[k]);
    for (int m = 0; m < VS_CONFIRM_N_METRICS; m++) {
        const char *a = vs_confirm_metrics[m];
        numeric[cols] = 1, heads[cols++] = vs_xstrdup(strncmp(a, "val_", 4) ? a : a + 4);
    }
    numeric[cols] = 1, heads[cols++] = vs_xstrdup("sweep_value");
    const cJSON *p, *params = params_of_first(v);
    int first_param = cols;
    cJSON_ArrayForEach(p, params) if (cols < MAX_COLUMNS) numeric[cols] = cJSON_IsNumber(p), heads[cols++] = vs_xstrdup(p->string);
    for (int i = 0; i < n; i++) {
        const vs_confirm_config *c = &v->summary.configs[i];
        cells[i] = vs_xcalloc(MAX_COLUMNS, sizeof **cells);
        int k = 0;
        cells[i][k++] = int_text(i + 1);
        char num[32];
        snprintf(num, sizeof num, "%d", c->number);
        cells[i][k++] = vs_xstrdup(num);
        cells[i][k++] = int_text(c->original_rank);
        cells[i][k++] = seeds_text(c);
        for (int m = 0; m < VS_CONFIRM_N_METRICS; m++) cells[i][k++] = mean_sd_text(&c->stat[m]);
        vs_confirm_stat original = {isnan(c->original_value) ? 0 : 1, c->original_value, NAN};
        cells[i][k++] = mean_sd_text(&original);
        for (int col = first_param; col < cols; col++) {
            top_column tc = {.param = heads[col]};
            cells[i][col] = c->trial ? top_cell_text(&tc, c->trial, 0) : vs_xstrdup("");
        }
    }
    return cols;
}

static void print_table(const confirm_view *v, int n) {
    char *heads[MAX_COLUMNS];
    int numeric[MAX_COLUMNS], width[MAX_COLUMNS];
    char ***cells = vs_xcalloc((size_t)n + 1, sizeof *cells);
    int cols = table_cells(v, n, heads, cells, numeric);
    for (int c = 0; c < cols; c++) {
        width[c] = (int)strlen(heads[c]);
        for (int i = 0; i < n; i++)
            if ((int)strlen(cells[i][c]) > width[c]) width[c] = (int)strlen(cells[i][c]);
    }
    for (int c = 0; c < cols; c++) printf("%s%*s", c ? "  " : "", numeric[c] ? width[c] : -width[c], heads[c]);
    printf("\n");
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < cols; c++) {
            printf("%s%*s", c ? "  " : "", numeric[c] ? width[c] : -width[c], cells[i][c]);
            free(cells[i][c]);
        }
        printf("\n");
        free(cells[i]);
    }
    for (int c = 0; c < cols; c++) free(heads[c]);
    free(cells);
}

/* What the table means, and whether to trust the ranking (docs/search-space.md, "When to
 * trust a sweep's winner"). */
static void print_verdict(const confirm_view *v) {
    const vs_confirm_summary *s = &v->summary;
    char metric[64];
    metric_words(vs_confirm_metrics[s->metric], metric, sizeof metric);
    const char *objective = results_string(v->source_sweep, "metric");
    printf("\ncells: mean (standard deviation) over the seeds done; sweep_rank and sweep_value: the trial's rank and "
           "validation %s in sweep %s\n",
           objective ? objective : "objective", name_of(v->source_sweep));
    double spread, gap;
    spread_and_gap(v, &spread, &gap);
    if (!isnan(spread))
        printf("seed to seed, %s moved by %.4f (standard deviation, the mean over the configurations)%s", metric, spread,
               isnan(gap) ? "\n" : "; ");
    if (!isnan(gap)) printf("the sweep's two best trials are %.4f apart\n", gap);
    if (s->has_verdict) {
        const vs_confirm_config *a = &s->configs[0], *b = &s->configs[1];
        printf("the seeds %s the first two: trial %d leads trial %d by %.4f in mean %s, %.1f times the standard error "
               "of that gap (%.4f), where Welch's test at 5%% needs %.2f%s\n",
               s->separated ? "separate" : "do not separate", a->number, b->number, s->gap, metric,
               s->gap_se > 0 ? s->gap / s->gap_se : INFINITY, s->gap_se, s->t_needed,
               s->separated ? "" : ": within the noise of training; more seeds (--seeds) would tell them apart, or "
                                   "show that neither is better");
    } else if (s->n >= 2) {
        printf("the first two need 2 seeds done each to be compared\n");
    }
    const cJSON **ranked = vs_xcalloc((size_t)cJSON_GetArraySize(v->source_trials) + 1, sizeof *ranked);
    if (vs_confirm_rank_sweep(v->source_sweep, v->source_trials, ranked) > 0) {
        int winner = (int)results_number(cJSON_GetObjectItem(ranked[0], "number"));
        for (int i = 1; i < s->n; i++)
            if (s->configs[i].number == winner && !isnan(s->configs[i].stat[s->metric].mean))
                printf("the sweep's best trial, %d, ranks %d here\n", winner, i + 1);
    }
    free(ranked);
    int failed = 0, pending = 0;
    for (int i = 0; i < s->n; i++) failed += s->configs[i].failed, pending += s->configs[i].pending;
    if (failed)
        printf("%d seed%s failed: `vaesearch confirm --retry-failed` runs %s again\n", failed, failed == 1 ? "" : "s",
               failed == 1 ? "it" : "them");
    if (pending)
        printf("%d seed%s not done yet: `vaesearch confirm` again runs %s\n", pending, pending == 1 ? "" : "s",
               pending == 1 ? "it" : "them");
}

void confirm_print_text(const confirm_view *v, int limit) {
    const vs_confirm_summary *s = &v->summary;
    char metric[64];
    metric_words(vs_confirm_metrics[s->metric], metric, sizeof metric);
    printf("sweep %s, confirmed by sweep %s on fresh seeds: %d configuration%s, best first by mean %s\n",
           name_of(v->source_sweep), name_of(v->sweep), s->n, s->n == 1 ? "" : "s", metric);
    int n = limit_of(v, limit);
    if (n == 0) {
        printf("no configuration recorded yet\n");
        return;
    }
    print_table(v, n);
    print_verdict(v);
}

/* ---- CSV ---- */

void confirm_print_csv(const confirm_view *v, int limit) {
    int n = limit_of(v, limit);
    static const char *const heads[] = {"rank", "trial", "sweep_rank", "sweep_value", "seeds_done", "seeds_pending",
                                        "seeds_failed"};
    int first = 1;
    for (size_t k = 0; k < sizeof heads / sizeof heads[0]; k++) cli_csv_field(heads[k], first), first = 0;
    for (int m = 0; m < VS_CONFIRM_N_METRICS; m++) {
        char h[64];
        snprintf(h, sizeof h, "%s_mean", vs_confirm_metrics[m]);
        cli_csv_field(h, 0);
        snprintf(h, sizeof h, "%s_sd", vs_confirm_metrics[m]);
        cli_csv_field(h, 0);
    }
    const cJSON *p, *params = params_of_first(v);
    cJSON_ArrayForEach(p, params) cli_csv_field(p->string, 0);
    printf("\n");
    for (int i = 0; i < n; i++) {
        const vs_confirm_config *c = &v->summary.configs[i];
        double row[7] = {i + 1, c->number, c->original_rank ? c->original_rank : NAN, c->original_value, c->complete,
                         c->pending, c->failed};
        for (int k = 0; k < 7; k++) {
            char buf[40] = "";
            if (!isnan(row[k])) vs_json_number(row[k], buf);
            cli_csv_field(buf, k == 0);
        }
        for (int m = 0; m < VS_CONFIRM_N_METRICS; m++) {
            char mean[40] = "", sd[40] = "";
            if (!isnan(c->stat[m].mean)) vs_json_number(c->stat[m].mean, mean);
            if (!isnan(c->stat[m].sd)) vs_json_number(c->stat[m].sd, sd);
            cli_csv_field(mean, 0);
            cli_csv_field(sd, 0);
        }
        cJSON_ArrayForEach(p, params) {
            top_column tc = {.param = p->string};
            char *text = c->trial ? top_cell_text(&tc, c->trial, 1) : vs_xstrdup("");
            cli_csv_field(text, 0);
            free(text);
        }
        printf("\n");
    }
}

/* ---- JSON ---- */

static void add_number(cJSON *o, const char *key, double x) {
    if (isnan(x)) cJSON_AddNullToObject(o, key);
    else cJSON_AddNumberToObject(o, key, x);
}

/* {"val": {"ndcg@100": {"n", "mean", "sd"}, ...}, "test": {...}} into o. */
static void add_stats(cJSON *o, const vs_confirm_config *c) {
    cJSON *val = cJSON_AddObjectToObject(o, "val"), *test = cJSON_AddObjectToObject(o, "test");
    for (int m = 0; m < VS_CONFIRM_N_METRICS; m++) {
        const char *a = vs_confirm_metrics[m];
        int is_val = !strncmp(a, "val_", 4);
        cJSON *s = cJSON_AddObjectToObject(is_val ? val : test, a + (is_val ? 4 : 5));
        cJSON_AddNumberToObject(s, "n", c->stat[m].n);
        add_number(s, "mean", c->stat[m].mean);
        add_number(s, "sd", c->stat[m].sd);
    }
}

static void add_seeds(cJSON *o, const vs_confirm_config *c) {
    cJSON *seeds = cJSON_AddObjectToObject(o, "seeds");
    cJSON_AddNumberToObject(seeds, "done", c->complete);
    cJSON_AddNumberToObject(seeds, "pending", c->pending);
    cJSON_AddNumberToObject(seeds, "failed", c->failed);
    cJSON *numbers = cJSON_AddArrayToObject(o, "trials");
    for (int k = 0; k < c->n_trials; k++) cJSON_AddItemToArray(numbers, cJSON_CreateNumber(c->numbers[k]));
}

cJSON *confirm_json(const confirm_view *v, int limit) {
    const vs_confirm_summary *s = &v->summary;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "sweep", name_of(v->source_sweep));
    cJSON_AddStringToObject(o, "confirmation", name_of(v->sweep));
    cJSON_AddStringToObject(o, "metric", vs_confirm_metrics[s->metric]);
    cJSON_AddStringToObject(o, "order", s->descending ? "higher first" : "lower first");
    cJSON *list = cJSON_AddArrayToObject(o, "configurations");
    int n = limit_of(v, limit);
    for (int i = 0; i < n; i++) {
        const vs_confirm_config *c = &s->configs[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "rank", i + 1);
        cJSON_AddNumberToObject(x, "number", c->number);
        if (c->original_rank) cJSON_AddNumberToObject(x, "sweep_rank", c->original_rank);
        else cJSON_AddNullToObject(x, "sweep_rank");
        add_number(x, "sweep_value", c->original_value);
        cJSON *params = c->trial ? cJSON_Duplicate(cJSON_GetObjectItem(c->trial, "params"), 1) : NULL;
        cJSON_AddItemToObject(x, "params", params ? params : cJSON_CreateNull());
        add_seeds(x, c);
        add_stats(x, c);
        cJSON_AddItemToArray(list, x);
    }
    double spread, gap;
    spread_and_gap(v, &spread, &gap);
    add_number(o, "seed_sd", spread);
    add_number(o, "sweep_gap", gap);
    if (!s->has_verdict) {
        cJSON_AddNullToObject(o, "verdict");
        return o;
    }
    cJSON *verdict = cJSON_AddObjectToObject(o, "verdict");
    cJSON_AddNumberToObject(verdict, "first", s->configs[0].number);
    cJSON_AddNumberToObject(verdict, "second", s->configs[1].number);
    cJSON_AddNumberToObject(verdict, "gap", s->gap);
    cJSON_AddNumberToObject(verdict, "gap_se", s->gap_se);
    cJSON_AddNumberToObject(verdict, "df", s->df);
    cJSON_AddNumberToObject(verdict, "t_needed", s->t_needed);
    cJSON_AddBoolToObject(verdict, "separated", s->separated);
    return o;
}

/* ---- one trial ---- */

static int rank_in(const vs_confirm_summary *s, const vs_confirm_config *c) { return (int)(c - s->configs) + 1; }

cJSON *confirm_trial_json(const confirm_view *v, int number, int in_confirmation) {
    const vs_confirm_summary *s = &v->summary;
    const vs_confirm_config *c = vs_confirm_find(s, number, in_confirmation);
    if (!c) return NULL;
    cJSON *o = cJSON_CreateObject();
    if (in_confirmation) {
        const cJSON *t;
        int source = -1, index = -1;
        cJSON_ArrayForEach(t, v->trials) if ((int)results_number(cJSON_GetObjectItem(t, "number")) == number)
            vs_confirm_trial_link(v->trials, t, &source, &index);
        cJSON_AddStringToObject(o, "confirms_sweep", name_of(v->source_sweep));
        cJSON_AddNumberToObject(o, "confirms_trial", source);
        cJSON_AddNumberToObject(o, "seed_index", index);
    } else {
        cJSON_AddStringToObject(o, "sweep", name_of(v->sweep));
    }
    cJSON_AddNumberToObject(o, "rank", rank_in(s, c));
    cJSON_AddNumberToObject(o, "of", s->n);
    cJSON_AddStringToObject(o, "metric", vs_confirm_metrics[s->metric]);
    if (c->original_rank) cJSON_AddNumberToObject(o, "sweep_rank", c->original_rank);
    else cJSON_AddNullToObject(o, "sweep_rank");
    add_seeds(o, c);
    add_stats(o, c);
    return o;
}

void confirm_print_trial(const confirm_view *v, int number, int in_confirmation) {
    cJSON *o = confirm_trial_json(v, number, in_confirmation);
    if (!o) return;
    const vs_confirm_config *c = vs_confirm_find(&v->summary, number, in_confirmation);
    char metric[64];
    metric_words(vs_confirm_metrics[v->summary.metric], metric, sizeof metric);
    vs_strbuf numbers = {0};
    for (int k = 0; k < c->n_trials; k++) vs_sb_printf(&numbers, "%s%d", k ? ", " : "", c->numbers[k]);
    if (in_confirmation) {
        char rank[32];
        if (c->original_rank) snprintf(rank, sizeof rank, "rank %d there", c->original_rank);
        else snprintf(rank, sizeof rank, "no longer ranked there");
        printf("confirms  trial %d of sweep %s (%s), with fresh seed %.0f\n", c->number, name_of(v->source_sweep), rank,
               results_number(cJSON_GetObjectItem(o, "seed_index")));
    }
    char pending[64] = "";
    if (c->pending || c->failed) snprintf(pending, sizeof pending, "; %d pending, %d failed", c->pending, c->failed);
    printf("%s on %d fresh seed%s%s (sweep %s, trials %s): rank %d of %d by mean %s\n",
           in_confirmation ? "          the configuration:" : "confirmed", c->complete, c->complete == 1 ? "" : "s", pending,
           name_of(v->sweep), numbers.s ? numbers.s : "none", rank_in(&v->summary, c), v->summary.n, metric);
    vs_sb_free(&numbers);
    static const char *const sets[] = {"val_", "test_"};
    for (int k = 0; k < 2; k++) {
        printf("          %-4s", k ? "test" : "val");
        for (int m = 0; m < VS_CONFIRM_N_METRICS; m++) {
            if (strncmp(vs_confirm_metrics[m], sets[k], strlen(sets[k]))) continue;
            char *cell = mean_sd_text(&c->stat[m]);
            printf(" %s %s", vs_confirm_metrics[m] + strlen(sets[k]), cell);
            free(cell);
        }
        printf("\n");
    }
    cJSON_Delete(o);
}
