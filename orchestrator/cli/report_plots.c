/* report_plots: the charts of `vaesearch report` (report_plots.h says what each draws). */
#include "report_plots.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svg_plot.h"
#include "common/json_exact.h"

const char *const report_state_classes[RS_COUNT] = {"c-complete", "c-pruned", "c-fail", "c-waiting", "c-running"};

/* Chart sizes, in viewBox units (the page scales them to its width). */
enum { WIDE_W = 760, WIDE_H = 300, SMALL_W = 360, SMALL_H = 240 };

/* How opaque and large marks are, from how many there are: thousands of lines or dots
 * must still show where they crowd. Per chart, as CSS custom properties. */
static void density_style(char out[64], long lines, long dots) {
    double o = lines > 0 ? 6 / sqrt((double)lines) : 1;
    double po = dots > 0 ? 12 / sqrt((double)dots) : 1;
    int d = dots < 300 ? 6 : dots < 3000 ? 4 : 3;
    o = o > 0.85 ? 0.85 : o < 0.04 ? 0.04 : o;
    po = po > 0.85 ? 0.85 : po < 0.2 ? 0.2 : po;
    snprintf(out, 64, "--o:%.2f;--po:%.2f;--d:%d", o, po, d);
}

static const char *objective_name(const report *r, int o) {
    return r->objectives[o].name;
}

/* The value of objective 0 a trial is drawn at: a COMPLETE trial's objective, a PRUNED
 * one's last intermediate value (as Optuna stores it); NaN for the others. */
static double drawn_value(const report_trial *t) {
    return t->state == RS_COMPLETE || t->state == RS_PRUNED ? t->values[0] : NAN;
}

/* An axis over objective 0 of the trials in the given states (-1: COMPLETE and PRUNED). */
static void objective_axis(const report *r, int only_state, svg_axis *a) {
    double *v = vs_xmalloc(sizeof(double) * (size_t)(r->n ? r->n : 1));
    int n = 0;
    for (int i = 0; i < r->n; i++)
        if (only_state < 0 ? !isnan(drawn_value(&r->t[i])) : r->t[i].state == only_state)
            v[n++] = r->t[i].values[0];
    svg_axis_fit(a, SVG_LINEAR, v, n, objective_name(r, 0));
    free(v);
}

/* The best trial ringed, with its number as a tooltip. */
static void best_dot(vs_strbuf *b, const report *r, const svg_plot *p, double x, double y) {
    if (r->best < 0 || isnan(x) || isnan(y)) return;
    vs_sb_printf(b, "<circle class=\"ring\" cx=\"%d\" cy=\"%d\" r=\"7\"><title>best: trial %d</title></circle>",
                 svg_plot_px(p, x), svg_plot_py(p, y), r->t[r->best].number);
}

/* ---- optimisation history ---- */

void report_plot_history(vs_strbuf *b, const report *r) {
    svg_axis x, y;
    double *numbers = vs_xmalloc(sizeof(double) * (size_t)(r->n ? r->n : 1));
    long ended = 0;
    for (int i = 0; i < r->n; i++) {
        numbers[i] = r->t[i].number;
        ended += r->t[i].state == RS_COMPLETE || r->t[i].state == RS_PRUNED || r->t[i].state == RS_FAIL;
    }
    svg_axis_fit(&x, SVG_LINEAR, numbers, r->n, "trial");
    x.integer = 1;
    free(numbers);
    objective_axis(r, -1, &y);
    char style[64];
    density_style(style, 0, ended);
    svg_plot p;
    svg_plot_begin(&p, b, WIDE_W, WIDE_H, &x, &y, "history", NULL, style,
                   "optimisation history: each ended trial's objective by trial number, and the best so far");
    /* the best so far, as a step line over the COMPLETE trials in order: a vertex where
     * it improves, and one at the last trial */
    int maximize = r->objectives[0].maximize;
    double best = NAN;
    svg_path pa;
    svg_path_begin(&pa, b, "ln c-bsf", 0);
    for (int i = 0; i < r->n; i++) {
        double v = r->t[i].values[0];
        if (r->t[i].state != RS_COMPLETE || isnan(v)) continue;
        if (!isnan(best) && !(maximize ? v > best : v < best)) continue;
        if (!isnan(best)) svg_path_value(&pa, &p, r->t[i].number, best);
        best = v;
        svg_path_value(&pa, &p, r->t[i].number, best);
    }
    if (!isnan(best) && r->n) svg_path_value(&pa, &p, r->t[r->n - 1].number, best);
    svg_path_end(&pa, NULL);
    static const int drawn[] = {RS_PRUNED, RS_COMPLETE};
    for (int s = 0; s < 2; s++) {
        svg_path_begin(&pa, b, drawn[s] == RS_COMPLETE ? "pt c-complete" : "pt c-pruned", 1);
        for (int i = 0; i < r->n; i++)
            if (r->t[i].state == drawn[s]) svg_path_value(&pa, &p, r->t[i].number, r->t[i].values[0]);
        svg_path_end(&pa, NULL);
    }
    /* failed trials have no value: on the bottom edge */
    svg_path_begin(&pa, b, "pt c-fail", 1);
    for (int i = 0; i < r->n; i++)
        if (r->t[i].state == RS_FAIL) svg_path_to(&pa, svg_plot_px(&p, r->t[i].number), p.y1);
    svg_path_end(&pa, NULL);
    if (r->best >= 0) best_dot(b, r, &p, r->t[r->best].number, r->t[r->best].values[0]);
    svg_plot_end(&p);
}

/* ---- learning curves ---- */

/* The epochs the trials were to run: the space's fixed "epochs", or the most any trial ran. */
static int planned_epochs(const report *r) {
    int e = 0;
    if (r->has_space) {
        const cJSON *fixed = cJSON_GetObjectItem(r->space.fixed, "epochs");
        if (cJSON_IsNumber(fixed) && fixed->valuedouble >= 1 && fixed->valuedouble < 1e7) e = (int)fixed->valuedouble;
    }
    for (int i = 0; i < r->n; i++)
        if (r->t[i].n_epochs > e) e = r->t[i].n_epochs;
    return e ? e : 1;
}

static void curve_path(vs_strbuf *b, const svg_plot *p, const report_trial *t, const char *cls, const char *title) {
    svg_path pa;
    svg_path_begin(&pa, b, cls, 0);
    for (int e = 1; e <= t->n_epochs; e++) svg_path_value(&pa, p, e, t->curve[e - 1]);
    svg_path_end(&pa, title);
}

/* The last epoch with a value, or 0. */
static int last_valued_epoch(const report_trial *t) {
    for (int e = t->n_epochs; e >= 1; e--)
        if (!isnan(t->curve[e - 1])) return e;
    return 0;
}

void report_plot_curves(vs_strbuf *b, const report *r) {
    int64_t n_points = 0;
    long lines = 0;
    for (int i = 0; i < r->n; i++) {
        n_points += r->t[i].curve ? r->t[i].n_epochs : 0;
        lines += r->t[i].curve && last_valued_epoch(&r->t[i]) > 0;
    }
    double *v = vs_xmalloc(sizeof(double) * (size_t)(n_points ? n_points : 1));
    int64_t k = 0;
    for (int i = 0; i < r->n; i++)
        for (int e = 0; r->t[i].curve && e < r->t[i].n_epochs; e++) v[k++] = r->t[i].curve[e];
    svg_axis x, y;
    svg_axis_fit(&y, SVG_LINEAR, v, (int)(k < INT32_MAX ? k : INT32_MAX), objective_name(r, 0));
    free(v);
    double ends[2] = {1, planned_epochs(r)};
    svg_axis_fit(&x, SVG_LINEAR, ends, 2, "epoch");
    x.integer = 1;
    char style[64];
    density_style(style, lines, lines);
    svg_plot p;
    svg_plot_begin(&p, b, WIDE_W, WIDE_H, &x, &y, "curves", NULL, style,
                   "learning curves: each trial's validation metric by epoch; pruned trials end early");
    /* pruned and unfinished first, so the complete ones show above them */
    static const int order[] = {RS_PRUNED, RS_FAIL, RS_WAITING, RS_RUNNING, RS_COMPLETE};
    for (int s = 0; s < RS_COUNT; s++) {
        char cls[32];
        snprintf(cls, sizeof cls, "ln %s", report_state_classes[order[s]]);
        for (int i = 0; i < r->n; i++)
            if (r->t[i].state == order[s] && r->t[i].curve && i != r->best) curve_path(b, &p, &r->t[i], cls, NULL);
    }
    /* where each pruned trial was stopped */
    svg_path pa;
    svg_path_begin(&pa, b, "pt c-cut", 1);
    for (int i = 0; i < r->n; i++) {
        int e = r->t[i].state == RS_PRUNED && r->t[i].curve ? last_valued_epoch(&r->t[i]) : 0;
        if (e) svg_path_value(&pa, &p, e, r->t[i].curve[e - 1]);
    }
    svg_path_end(&pa, NULL);
    if (r->best >= 0 && r->t[r->best].curve) {
        char title[64];
        snprintf(title, sizeof title, "best: trial %d", r->t[r->best].number);
        curve_path(b, &p, &r->t[r->best], "ln c-best", title);
    }
    svg_plot_end(&p);
}

/* ---- a parameter's axis ---- */

/* A categorical's choices as text: a string as itself, a number or list as JSON. */
static char **choice_labels(const vs_param *q) {
    char **l = vs_xcalloc((size_t)(q->n_choices ? q->n_choices : 1), sizeof *l);
    for (int c = 0; c < q->n_choices; c++)
        l[c] = cJSON_IsString(q->choices[c]) ? vs_xstrdup(q->choices[c]->valuestring) : vs_json_print_exact(q->choices[c]);
    return l;
}

static void free_labels(char **l, int n) {
    for (int c = 0; l && c < n; c++) free(l[c]);
    free(l);
}

/* The axis of parameter q over its whole range in the space: where the sampled values
 * lie within it shows. labels receives a categorical's choices (caller frees). */
static void param_axis(const vs_param *q, svg_axis *a, char ***labels) {
    *labels = NULL;
    if (q->kind == VS_PARAM_CATEGORICAL) {
        memset(a, 0, sizeof *a);
        a->scale = SVG_CATEGORIES;
        a->n_categories = q->n_choices;
        *labels = choice_labels(q);
        a->categories = (const char *const *)*labels;
    } else {
        double ends[2] = {q->low, q->high};
        svg_axis_fit(a, q->kind == VS_PARAM_LOG_UNIFORM || q->log ? SVG_LOG : SVG_LINEAR, ends, 2, NULL);
        a->integer = q->kind == VS_PARAM_INT;
    }
    a->label = q->name;
}

/* A categorical's dots spread across its band, by a hash of the trial number (the
 * same every time), so that many trials of one choice do not pile up in one dot. */
static double jitter(int number) {
    uint32_t h = (uint32_t)number * 2654435761u;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    return ((double)(h % 1000) / 999.0 - 0.5) * 0.6;
}

static double param_coordinate(const vs_param *q, const report_trial *t, int i) {
    if (!t->params) return NAN;
    double v = t->params[i];
    return q->kind == VS_PARAM_CATEGORICAL ? v + jitter(t->number) : v;
}

/* ---- slices ---- */

void report_plot_slice(vs_strbuf *b, const report *r, int i) {
    if (!r->has_space || i < 0 || i >= r->space.n_params) return;
    const vs_param *q = &r->space.params[i];
    if (q->kind == VS_PARAM_CONSTANT) return;
    svg_axis x, y;
    char **labels;
    param_axis(q, &x, &labels);
    objective_axis(r, RS_COMPLETE, &y);
    char style[64], id[160], label[200];
    density_style(style, 0, r->counts[RS_COMPLETE]);
    snprintf(id, sizeof id, "slice-%s", q->name);
    snprintf(label, sizeof label, "slice: objective of the complete trials against %s", q->name);
    svg_plot p;
    svg_plot_begin(&p, b, SMALL_W, SMALL_H, &x, &y, id, "slice", style, label);
    svg_path pa;
    svg_path_begin(&pa, b, "pt c-complete", 1);
    for (int k = 0; k < r->n; k++)
        if (r->t[k].state == RS_COMPLETE) svg_path_value(&pa, &p, param_coordinate(q, &r->t[k], i), r->t[k].values[0]);
    svg_path_end(&pa, NULL);
    if (r->best >= 0) best_dot(b, r, &p, param_coordinate(q, &r->t[r->best], i), r->t[r->best].values[0]);
    svg_plot_end(&p);
    free_labels(labels, q->n_choices);
}

/* ---- parallel coordinates ---- */

int report_parallel_count(const report *r) {
    int complete = 0;
    for (int i = 0; i < r->n; i++) complete += r->t[i].state == RS_COMPLETE && !isnan(r->t[i].values[0]);
    int k = (complete + 9) / 10;
    if (k < 10) k = complete < 10 ? complete : 10;
    return k > 50 ? 50 : k;
}

static const report *rank_of;   /* for qsort's comparison */

/* Best first by objective 0; equals in trial order (top's order). */
static int by_objective(const void *pa, const void *pb) {
    const report_trial *a = &rank_of->t[*(const int *)pa], *b = &rank_of->t[*(const int *)pb];
    if (a->values[0] != b->values[0])
        return (a->values[0] > b->values[0]) == rank_of->objectives[0].maximize ? -1 : 1;
    return a->number - b->number;
}

void report_plot_parallel(vs_strbuf *b, const report *r) {
    if (!r->has_space) return;
    int *idx = vs_xmalloc(sizeof(int) * (size_t)(r->n ? r->n : 1)), m = 0;
    for (int i = 0; i < r->n; i++)
        if (r->t[i].state == RS_COMPLETE && !isnan(r->t[i].values[0]) && r->t[i].params) idx[m++] = i;
    rank_of = r;
    qsort(idx, (size_t)m, sizeof *idx, by_objective);
    int k = report_parallel_count(r);
    if (k > m) k = m;
    /* the axes: every searched parameter, then the objective over the drawn trials */
    int n_axes = 0;
    int *param_of = vs_xmalloc(sizeof(int) * (size_t)(r->space.n_params + 1));
    for (int i = 0; i < r->space.n_params; i++)
        if (r->space.params[i].kind != VS_PARAM_CONSTANT) param_of[n_axes++] = i;
    param_of[n_axes++] = -1;
    svg_axis *axes = vs_xcalloc((size_t)n_axes, sizeof *axes);
    char ***labels = vs_xcalloc((size_t)n_axes, sizeof *labels);
    for (int a = 0; a < n_axes - 1; a++) param_axis(&r->space.params[param_of[a]], &axes[a], &labels[a]);
    double *v = vs_xmalloc(sizeof(double) * (size_t)(k ? k : 1));
    for (int j = 0; j < k; j++) v[j] = r->t[idx[j]].values[0];
    svg_axis_fit(&axes[n_axes - 1], SVG_LINEAR, v, k, objective_name(r, 0));
    free(v);

    int left = 70, right = WIDE_W - 80, top = 46, bottom = WIDE_H - 16;
    vs_sb_printf(b, "<svg id=\"parallel\" class=\"plot\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"parallel "
                    "coordinates of the best %d trials: their parameters and objective\">",
                 WIDE_W, WIDE_H, k);
    int *ax = vs_xmalloc(sizeof(int) * (size_t)n_axes);
    for (int a = 0; a < n_axes; a++) {
        ax[a] = n_axes > 1 ? left + (int)lround((double)a * (right - left) / (n_axes - 1)) : (left + right) / 2;
        const char *title = axes[a].label;
        axes[a].label = NULL;
        svg_vertical_axis(b, &axes[a], ax[a], top, bottom, 5);
        /* titles on two rows when the axes are close, so that they do not run together */
        svg_text(b, ax[a], top - 10 - (n_axes > 5 && a % 2 ? 14 : 0), "ah", title);
    }
    /* worst drawn first, so the best lies on top; shaded by rank in quarters */
    for (int j = k - 1; j >= 0; j--) {
        const report_trial *t = &r->t[idx[j]];
        char cls[32], title[64];
        if (j == 0) snprintf(cls, sizeof cls, "ln c-best");
        else snprintf(cls, sizeof cls, "ln c-q%d", 1 + 4 * j / (k > 1 ? k : 1));
        snprintf(title, sizeof title, "trial %d (rank %d)", t->number, j + 1);
        svg_path pa;
        svg_path_begin(&pa, b, cls, 0);
        for (int a = 0; a < n_axes; a++) {
            double value = param_of[a] < 0 ? t->values[0] : t->params[param_of[a]];
            if (isnan(value)) {   /* a parameter the trial does not have (its conditions left it out): a gap */
                svg_path_break(&pa);
                continue;
            }
            if (param_of[a] >= 0 && r->space.params[param_of[a]].kind == VS_PARAM_CATEGORICAL)
                value += jitter(t->number) * 0.5;
            svg_path_to(&pa, ax[a], bottom - (int)lround(svg_axis_frac(&axes[a], value) * (bottom - top)));
        }
        svg_path_end(&pa, title);
    }
    vs_sb_puts(b, "</svg>\n");
    for (int a = 0; a < n_axes - 1; a++) free_labels(labels[a], r->space.params[param_of[a]].n_choices);
    free(labels);
    free(axes);
    free(ax);
    free(param_of);
    free(idx);
}

/* ---- throughput ---- */

void report_plot_throughput(vs_strbuf *b, const report *r) {
    double *speed = vs_xmalloc(sizeof(double) * (size_t)(r->n ? r->n : 1));
    int n = 0;
    for (int i = 0; i < r->n; i++)
        if (r->t[i].state == RS_COMPLETE) speed[n++] = r->t[i].users_per_s;
    svg_axis x, y;
    svg_axis_fit(&x, SVG_LINEAR, speed, n, "training users/s");
    free(speed);
    objective_axis(r, RS_COMPLETE, &y);
    char style[64];
    density_style(style, 0, r->counts[RS_COMPLETE]);
    svg_plot p;
    svg_plot_begin(&p, b, WIDE_W, WIDE_H, &x, &y, "throughput", NULL, style,
                   "throughput: each complete trial's training users per second against its objective");
    svg_path pa;
    svg_path_begin(&pa, b, "pt c-complete", 1);
    for (int i = 0; i < r->n; i++)
        if (r->t[i].state == RS_COMPLETE) svg_path_value(&pa, &p, r->t[i].users_per_s, r->t[i].values[0]);
    svg_path_end(&pa, NULL);
    if (r->best >= 0) best_dot(b, r, &p, r->t[r->best].users_per_s, r->t[r->best].values[0]);
    svg_plot_end(&p);
}

/* ---- the Pareto front ---- */

static int pair_x;   /* for qsort's comparison: the objective along x */
static const report *pair_of;

static int by_x(const void *pa, const void *pb) {
    double a = pair_of->t[*(const int *)pa].values[pair_x], b = pair_of->t[*(const int *)pb].values[pair_x];
    return a < b ? -1 : a > b ? 1 : *(const int *)pa - *(const int *)pb;
}

void report_plot_pareto(vs_strbuf *b, const report *r, int a, int bo) {
    if (r->n_objectives < 2 || a == bo || a >= r->n_objectives || bo >= r->n_objectives) return;
    /* the trials the front is made of: COMPLETE with a value for every objective */
    int *idx = vs_xmalloc(sizeof(int) * (size_t)(r->n ? r->n : 1)), m = 0;
    double *xv = vs_xmalloc(sizeof(double) * (size_t)(r->n ? r->n : 1));
    double *yv = vs_xmalloc(sizeof(double) * (size_t)(r->n ? r->n : 1));
    for (int i = 0; i < r->n; i++) {
        int all = r->t[i].state == RS_COMPLETE;
        for (int o = 0; all && o < r->n_objectives; o++) all = !isnan(r->t[i].values[o]);
        if (!all) continue;
        xv[m] = r->t[i].values[a], yv[m] = r->t[i].values[bo];
        idx[m++] = i;
    }
    svg_axis x, y;
    svg_axis_fit(&x, SVG_LINEAR, xv, m, objective_name(r, a));
    svg_axis_fit(&y, SVG_LINEAR, yv, m, objective_name(r, bo));
    free(xv);
    free(yv);
    char style[64], id[64];
    density_style(style, 0, m);
    snprintf(id, sizeof id, "pareto-%d-%d", a, bo);
    svg_plot p;
    svg_plot_begin(&p, b, WIDE_W, WIDE_H, &x, &y, id, NULL, style,
                   "Pareto front: the complete trials by two objectives; the front's trials marked and joined");
    svg_path pa;
    svg_path_begin(&pa, b, "pt c-complete", 1);
    for (int j = 0; j < m; j++) svg_path_value(&pa, &p, r->t[idx[j]].values[a], r->t[idx[j]].values[bo]);
    svg_path_end(&pa, NULL);
    /* the front, in order along x */
    int nf = 0;
    for (int j = 0; j < m; j++)
        if (r->t[idx[j]].on_front) idx[nf++] = idx[j];
    pair_x = a, pair_of = r;
    qsort(idx, (size_t)nf, sizeof *idx, by_x);
    svg_path_begin(&pa, b, "ln c-front", 0);
    for (int j = 0; j < nf; j++) svg_path_value(&pa, &p, r->t[idx[j]].values[a], r->t[idx[j]].values[bo]);
    svg_path_end(&pa, NULL);
    svg_path_begin(&pa, b, "pt c-front", 1);
    for (int j = 0; j < nf; j++) svg_path_value(&pa, &p, r->t[idx[j]].values[a], r->t[idx[j]].values[bo]);
    svg_path_end(&pa, NULL);
    svg_plot_end(&p);
    free(idx);
}
