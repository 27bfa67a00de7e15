/* report_data: reading a sweep for `vaesearch report` (report_data.h). */
#define _GNU_SOURCE /* timegm */
#include "report_data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_util.h"
#include "results_cli.h"

/* Steps beyond this are not epochs (a damaged file): not drawn (the results database's limit). */
#define REPORT_MAX_EPOCH 1000000

const char *const report_state_names[RS_COUNT] = {"COMPLETE", "PRUNED", "FAIL", "WAITING", "RUNNING"};

static int state_of(const char *s) {
    for (int i = 0; s && i < RS_COUNT; i++)
        if (!strcmp(s, report_state_names[i])) return i;
    return RS_WAITING;   /* not a state Optuna writes: shown as not started */
}

/* ---- reading ---- */

/* The stored space, parsed as `vaesearch run` parsed it. */
static int parse_space(report *r, vs_error *err) {
    char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(r->sweep, "space"));
    char source[4200];
    snprintf(source, sizeof source, "%s: the sweep's stored space", r->db_path);
    int rc = text ? vs_space_parse(text, source, &r->space, err) : vs_errorf(err, "%s: no stored space", source);
    free(text);
    r->has_space = rc == 0;
    return rc;
}

static int read_all(report *r, vs_db *db, int study_id, vs_db_indexed_value **values, int64_t *n_values,
                    vs_db_indexed_value **curves, int64_t *n_curves, vs_error *err) {
    if (!(r->sweep = vs_db_sweep_json(db, study_id, err))) return -1;
    if (parse_space(r, err)) return -1;
    if (!(r->trials = vs_db_trials_json(db, study_id, -1, 0, err))) return -1;
    if (!(r->study_attrs = vs_db_study_user_attrs(db, study_id, err))) return -1;
    if (vs_db_objectives(db, study_id, &r->objectives, &r->n_objectives, err)) return -1;
    if (vs_db_study_values(db, study_id, values, n_values, err)) return -1;
    return vs_db_study_intermediate_values(db, study_id, curves, n_curves, err);
}

/* ---- what is derived ---- */

/* A parameter's value along its axis: the number, or a categorical's choice index. */
static double param_value(const vs_param *q, const cJSON *value) {
    double v;
    if (!value) return NAN;
    if (vs_param_internal_value(q, value, &v) == 0) return v;
    /* off the space's grid or range (the file was edited): drawn where it lies */
    return q->kind != VS_PARAM_CATEGORICAL && cJSON_IsNumber(value) ? value->valuedouble : NAN;
}

/* The intermediate values of one trial (points p[0..n-1], by step) as a curve. */
static void curve_of(report *r, report_trial *t, const vs_db_indexed_value *p, int64_t n, int64_t *used) {
    int last = 0;
    for (int64_t i = 0; i < n; i++)
        if (p[i].index >= 1 && p[i].index <= REPORT_MAX_EPOCH && p[i].index > last) last = p[i].index;
    if (!last) return;
    t->curve = r->curves + *used;
    t->n_epochs = last;
    for (int e = 0; e < last; e++) t->curve[e] = NAN;
    for (int64_t i = 0; i < n; i++)
        if (p[i].index >= 1 && p[i].index <= last) t->curve[p[i].index - 1] = p[i].value;
    *used += last;
}

/* The room the curves need: each trial's largest step (as curve_of counts it). */
static int64_t curves_room(const vs_db_indexed_value *c, int64_t n) {
    int64_t room = 0;
    int last = 0;
    for (int64_t i = 0; i < n; i++) {
        if (c[i].index >= 1 && c[i].index <= REPORT_MAX_EPOCH && c[i].index > last) last = c[i].index;
        if (i + 1 == n || c[i + 1].number != c[i].number) room += last, last = 0;   /* the trial's last row */
    }
    return room;
}

/* Each trial's JSON, state, speed, parameters, and (matched by number: the reads are
 * separate, and a live run may have added a trial in between) its values and curve. */
static void assemble(report *r, const vs_db_indexed_value *v, int64_t n_v, const vs_db_indexed_value *c, int64_t n_c) {
    r->n = cJSON_GetArraySize(r->trials);
    size_t n = (size_t)(r->n ? r->n : 1), k = (size_t)r->n_objectives, np = (size_t)(r->space.n_params ? r->space.n_params : 1);
    r->t = vs_xcalloc(n, sizeof *r->t);
    r->values = vs_xmalloc(sizeof(double) * n * k);
    r->params = vs_xmalloc(sizeof(double) * n * np);
    r->curves = vs_xmalloc(sizeof(double) * (size_t)(curves_room(c, n_c) + 1));
    int64_t vi = 0, ci = 0, used = 0;
    int i = 0;
    const cJSON *j;
    cJSON_ArrayForEach(j, r->trials) {
        report_trial *t = &r->t[i];
        t->json = j;
        t->number = (int)results_number(cJSON_GetObjectItem(j, "number"));
        t->state = state_of(results_string(j, "state"));
        t->users_per_s = results_number(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "user_attrs"), "train_users_per_s"));
        t->params = r->params + (size_t)i * np;
        const cJSON *params = cJSON_GetObjectItem(j, "params");
        for (int q = 0; q < r->space.n_params; q++)
            t->params[q] = param_value(&r->space.params[q], cJSON_GetObjectItemCaseSensitive(params, r->space.params[q].name));
        t->values = r->values + (size_t)i * k;
        for (size_t o = 0; o < k; o++) t->values[o] = NAN;
        while (vi < n_v && v[vi].number < t->number) vi++;
        for (; vi < n_v && v[vi].number == t->number; vi++)
            if (v[vi].index >= 0 && (size_t)v[vi].index < k) t->values[v[vi].index] = v[vi].value;
        while (ci < n_c && c[ci].number < t->number) ci++;
        int64_t first = ci;
        while (ci < n_c && c[ci].number == t->number) ci++;
        curve_of(r, t, c + first, ci - first, &used);
        r->counts[t->state]++;
        i++;
    }
}

/* The best COMPLETE trial by objective 0 in its direction; the first of equals, as top ranks. */
static void find_best(report *r) {
    int maximize = r->objectives[0].maximize;
    r->best = -1;
    for (int i = 0; i < r->n; i++) {
        double v = r->t[i].values[0];
        if (r->t[i].state != RS_COMPLETE || isnan(v)) continue;
        double b = r->best < 0 ? NAN : r->t[r->best].values[0];
        if (r->best < 0 || (maximize ? v > b : v < b)) r->best = i;
    }
}

/* ---- the Pareto front ---- */

static const report *front_of;   /* for qsort's comparison */

/* An objective's value with smaller better. */
static double cost(const report *r, int i, int o) {
    return r->objectives[o].maximize ? -r->t[i].values[o] : r->t[i].values[o];
}

static int by_costs(const void *pa, const void *pb) {
    int a = *(const int *)pa, b = *(const int *)pb;
    for (int o = 0; o < front_of->n_objectives; o++) {
        double x = cost(front_of, a, o), y = cost(front_of, b, o);
        if (x != y) return x < y ? -1 : 1;
    }
    return a - b;
}

static int dominates(const report *r, int a, int b) {
    int better = 0;
    for (int o = 0; o < r->n_objectives; o++) {
        double x = cost(r, a, o), y = cost(r, b, o);
        if (x > y) return 0;
        if (x < y) better = 1;
    }
    return better;
}

/* The COMPLETE trials with every objective's value that no other such trial dominates.
 * Sorted by their costs, a trial can only be dominated by one before it, and whatever
 * dominates it is itself dominated by, or is, a member of the front found so far: so
 * each trial is checked against the front only. */
static void find_front(report *r) {
    if (r->n_objectives < 2) return;
    int *idx = vs_xmalloc(sizeof(int) * (size_t)(r->n ? r->n : 1)), m = 0;
    for (int i = 0; i < r->n; i++) {
        int all = r->t[i].state == RS_COMPLETE;
        for (int o = 0; all && o < r->n_objectives; o++) all = !isnan(r->t[i].values[o]);
        if (all) idx[m++] = i;
    }
    front_of = r;
    qsort(idx, (size_t)m, sizeof *idx, by_costs);
    int *front = vs_xmalloc(sizeof(int) * (size_t)(m ? m : 1)), nf = 0;
    for (int c = 0; c < m; c++) {
        int dominated = 0;
        for (int f = 0; f < nf && !dominated; f++) dominated = dominates(r, front[f], idx[c]);
        if (!dominated) front[nf++] = idx[c], r->t[idx[c]].on_front = 1;
    }
    r->n_front = nf;
    free(front);
    free(idx);
}

/* ---- time ---- */

/* Optuna's naive UTC datetime ("2026-12-05 02:17:03.123456") as seconds since 1970, or NaN. */
static double utc_seconds(const char *s) {
    struct tm tm = {0};
    double frac = 0;
    if (!s || sscanf(s, "%d-%d-%d %d:%d:%d%lf", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                     &tm.tm_sec, &frac) < 6)
        return NAN;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (double)timegm(&tm) + (frac > 0 && frac < 1 ? frac : 0);
}

/* From the first trial's start to the last one's end (now while a trial runs), and the
 * trainers' time over all trials. */
static void find_times(report *r) {
    double first = INFINITY, last = -INFINITY;
    int running = 0;
    r->trainer_seconds = 0;
    for (int i = 0; i < r->n; i++) {
        const char *start = results_string(r->t[i].json, "datetime_start");
        const char *end = results_string(r->t[i].json, "datetime_complete");
        double s = utc_seconds(start), e = utc_seconds(end);
        if (s < first) first = s, snprintf(r->first_start, sizeof r->first_start, "%.19s", start);
        if (e > last) last = e, snprintf(r->last_end, sizeof r->last_end, "%.19s", end);
        if (r->t[i].state == RS_RUNNING) running = 1;
        double secs = results_number(cJSON_GetObjectItem(r->t[i].json, "seconds"));
        if (isfinite(secs)) r->trainer_seconds += secs;
    }
    if (running) {
        last = (double)time(NULL);
        snprintf(r->last_end, sizeof r->last_end, "now");
    }
    r->wall_seconds = isfinite(first) && isfinite(last) && last >= first ? last - first : NAN;
}

/* ---- the interface ---- */

int report_load(report *r, const char *db_path, const char *sweep_name) {
    memset(r, 0, sizeof *r);
    r->best = -1;
    r->wall_seconds = NAN;
    snprintf(r->db_path, sizeof r->db_path, "%s", db_path);
    vs_db *db = NULL;
    int study_id;
    int rc = results_cli_open_sweep("report", db_path, sweep_name, &db, &study_id);
    if (rc) return rc;
    vs_error err = {{0}};
    vs_db_indexed_value *values = NULL, *curves = NULL;
    int64_t n_values = 0, n_curves = 0;
    rc = read_all(r, db, study_id, &values, &n_values, &curves, &n_curves, &err);
    vs_db_close(db);
    if (rc == 0) assemble(r, values, n_values, curves, n_curves);
    free(values);
    free(curves);
    if (rc) {
        report_free(r);
        return cli_error("report", 1, "%s", err.msg);
    }
    find_best(r);
    find_front(r);
    find_times(r);
    return 0;
}

void report_free(report *r) {
    cJSON_Delete(r->sweep);
    cJSON_Delete(r->trials);
    cJSON_Delete(r->study_attrs);
    if (r->has_space) vs_space_free(&r->space);
    free(r->objectives);
    free(r->t);
    free(r->values);
    free(r->params);
    free(r->curves);
    memset(r, 0, sizeof *r);
}

const char *report_metric(const report *r) {
    const char *m = results_string(r->sweep, "metric");
    return m ? m : "ndcg@100";
}

const cJSON *report_best_json(const report *r) {
    return r->best >= 0 ? r->t[r->best].json : NULL;
}

const cJSON *report_space_params(const report *r) {
    return cJSON_GetObjectItem(cJSON_GetObjectItem(r->sweep, "space"), "parameters");
}
