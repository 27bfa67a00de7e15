/* svg_plot: SVG charts as text (svg_plot.h): axes, ticks, and marks as compact paths. */
#include "svg_plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- axes ---- */

void svg_axis_fit(svg_axis *a, svg_scale scale, const double *v, int n, const char *label) {
    memset(a, 0, sizeof *a);
    a->scale = scale;
    a->label = label;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        double x = v[i];
        if (!isfinite(x) || (scale == SVG_LOG && x <= 0)) continue;
        if (scale == SVG_LOG) x = log10(x);
        if (x < lo) lo = x;
        if (x > hi) hi = x;
    }
    if (lo > hi) lo = 0, hi = 1;   /* nothing to show: an empty unit range */
    if (lo == hi) {
        double d = scale == SVG_LOG ? 0.1 : lo == 0 ? 0.5 : fabs(lo) * 0.05;
        lo -= d, hi += d;
    } else {
        double pad = (hi - lo) * 0.04;
        lo -= pad, hi += pad;
    }
    a->lo = scale == SVG_LOG ? pow(10, lo) : lo;
    a->hi = scale == SVG_LOG ? pow(10, hi) : hi;
}

double svg_axis_frac(const svg_axis *a, double v) {
    double f;
    if (isinf(v)) return v > 0 ? 1 : 0;
    if (a->scale == SVG_CATEGORIES) f = a->n_categories > 0 ? (v + 0.5) / a->n_categories : 0.5;
    else if (a->scale == SVG_LOG) f = v > 0 ? (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo)) : 0;
    else f = a->hi > a->lo ? (v - a->lo) / (a->hi - a->lo) : 0.5;
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

/* 1, 2 or 5 times a power of ten, at least x. */
static double nice_step(double x) {
    double e = pow(10, floor(log10(x)));
    double f = x / e;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * e;
}

static int linear_ticks(const svg_axis *a, int max, double *values, char labels[][32]) {
    if (max < 2 || !(a->hi > a->lo)) return 0;
    double step = nice_step((a->hi - a->lo) / (max - 1));
    if (a->integer && step < 1) step = 1;
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    double first = ceil(a->lo / step - 1e-9) * step;
    int n = 0;
    for (int i = 0; n < max && n < SVG_MAX_TICKS; i++) {
        double v = first + i * step;
        if (v > a->hi + step * 1e-9) break;
        if (fabs(v) < step * 1e-9) v = 0;   /* no "-0" */
        values[n] = v;
        if (decimals > 8 || fabs(v) >= 1e7) snprintf(labels[n], 32, "%g", v);
        else snprintf(labels[n], 32, "%.*f", decimals, v);
        n++;
    }
    return n;
}

/* Ticks at m x 10^k for the multipliers in mult, or -1 when there would be more than max. */
static int log_ticks_with(const svg_axis *a, const int *mult, int n_mult, int every, int max, double *values,
                          char labels[][32]) {
    int k0 = (int)floor(log10(a->lo)), k1 = (int)ceil(log10(a->hi));
    int n = 0;
    for (int k = k0; k <= k1; k++) {
        if ((k - k0) % every) continue;
        for (int m = 0; m < n_mult; m++) {
            double v = mult[m] * pow(10, k);
            if (v < a->lo * (1 - 1e-9) || v > a->hi * (1 + 1e-9)) continue;
            if (n >= max || n >= SVG_MAX_TICKS) return -1;
            values[n] = v;
            snprintf(labels[n], 32, "%g", v);
            n++;
        }
    }
    return n;
}

static int log_ticks(const svg_axis *a, int max, double *values, char labels[][32]) {
    static const int all[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, some[] = {1, 2, 5}, one[] = {1};
    /* 1, 2, 5 in each decade; 1 to 9 when that gives fewer than two ticks (a narrow
     * range); powers of ten, every so many, when it gives too many. The last call is
     * the one whose ticks are kept. */
    int n = log_ticks_with(a, some, 3, 1, max, values, labels);
    if (n >= 2) return n;
    if (n >= 0) {
        if (log_ticks_with(a, all, 9, 1, max, values, labels) >= 0) return log_ticks_with(a, all, 9, 1, max, values, labels);
        return log_ticks_with(a, some, 3, 1, max, values, labels);
    }
    for (int every = 1; every < 400; every++)
        if ((n = log_ticks_with(a, one, 1, every, max, values, labels)) >= 0) return n;
    return 0;
}

int svg_axis_ticks(const svg_axis *a, int max, double *values, char labels[][32]) {
    if (max > SVG_MAX_TICKS) max = SVG_MAX_TICKS;
    if (a->scale == SVG_CATEGORIES) {
        int n = a->n_categories < max ? a->n_categories : max;
        for (int i = 0; i < n; i++) {
            values[i] = i;
            snprintf(labels[i], 32, "%s", a->categories && a->categories[i] ? a->categories[i] : "");
        }
        return n;
    }
    return a->scale == SVG_LOG ? log_ticks(a, max, values, labels) : linear_ticks(a, max, values, labels);
}

/* ---- text ---- */

void svg_escape(vs_strbuf *b, const char *s) {
    const char *run = s;
    for (; *s; s++) {
        const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '"' ? "&quot;"
                        : *s == '\'' ? "&#39;" : NULL;
        if (!rep) continue;
        vs_sb_putn(b, run, (size_t)(s - run));
        vs_sb_puts(b, rep);
        run = s + 1;
    }
    vs_sb_puts(b, run);
}

void svg_text(vs_strbuf *b, int x, int y, const char *cls, const char *text) {
    vs_sb_printf(b, "<text class=\"%s\" x=\"%d\" y=\"%d\">", cls, x, y);
    svg_escape(b, text);
    vs_sb_puts(b, "</text>");
}

/* ---- the chart ---- */

int svg_plot_px(const svg_plot *p, double x) {
    return p->x0 + (int)lround(svg_axis_frac(&p->x, x) * (p->x1 - p->x0));
}

int svg_plot_py(const svg_plot *p, double y) {
    return p->y1 - (int)lround(svg_axis_frac(&p->y, y) * (p->y1 - p->y0));
}

void svg_plot_begin(svg_plot *p, vs_strbuf *b, int w, int h, const svg_axis *x, const svg_axis *y, const char *id,
                    const char *cls, const char *style, const char *label) {
    p->b = b;
    p->w = w, p->h = h;
    p->x = *x, p->y = *y;
    /* room for the y tick labels and title at the left, the x ones below */
    p->x0 = 62, p->x1 = w - 14, p->y0 = 10, p->y1 = h - 40;
    vs_sb_printf(b, "<svg id=\"%s\" class=\"plot%s%s\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", id,
                 cls ? " " : "", cls ? cls : "", w, h);
    svg_escape(b, label);
    vs_sb_puts(b, "\"");
    if (style) vs_sb_printf(b, " style=\"%s\"", style);
    vs_sb_printf(b, "><rect class=\"fr\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>", p->x0, p->y0, p->x1 - p->x0,
                 p->y1 - p->y0);
    double xv[SVG_MAX_TICKS], yv[SVG_MAX_TICKS];
    char xl[SVG_MAX_TICKS][32], yl[SVG_MAX_TICKS][32];
    int nx = svg_axis_ticks(&p->x, p->x.scale == SVG_CATEGORIES ? 24 : (p->x1 - p->x0) / 70 + 1, xv, xl);
    int ny = svg_axis_ticks(&p->y, p->y.scale == SVG_CATEGORIES ? 24 : (p->y1 - p->y0) / 40 + 1, yv, yl);
    vs_sb_puts(b, "<path class=\"gd\" d=\"");
    for (int i = 0; i < nx; i++) vs_sb_printf(b, "M%d %dV%d", svg_plot_px(p, xv[i]), p->y0, p->y1);
    for (int i = 0; i < ny; i++) vs_sb_printf(b, "M%d %dH%d", p->x0, svg_plot_py(p, yv[i]), p->x1);
    vs_sb_puts(b, "\"/>");
    for (int i = 0; i < nx; i++) svg_text(b, svg_plot_px(p, xv[i]), p->y1 + 15, "tx", xl[i]);
    for (int i = 0; i < ny; i++) svg_text(b, p->x0 - 5, svg_plot_py(p, yv[i]) + 4, "ty", yl[i]);
    if (p->x.label) svg_text(b, (p->x0 + p->x1) / 2, h - 6, "at", p->x.label);
    if (p->y.label) {
        vs_sb_printf(b, "<text class=\"at\" transform=\"translate(13 %d) rotate(-90)\">", (p->y0 + p->y1) / 2);
        svg_escape(b, p->y.label);
        vs_sb_puts(b, "</text>");
    }
}

void svg_plot_end(svg_plot *p) {
    vs_sb_puts(p->b, "</svg>\n");
}

void svg_vertical_axis(vs_strbuf *b, const svg_axis *a, int x, int y_top, int y_bottom, int max_ticks) {
    double v[SVG_MAX_TICKS];
    char l[SVG_MAX_TICKS][32];
    int n = svg_axis_ticks(a, max_ticks, v, l);
    vs_sb_printf(b, "<path class=\"ax\" d=\"M%d %dV%d", x, y_top, y_bottom);
    int py[SVG_MAX_TICKS];
    for (int i = 0; i < n; i++) {
        py[i] = y_bottom - (int)lround(svg_axis_frac(a, v[i]) * (y_bottom - y_top));
        vs_sb_printf(b, "M%d %dh-4", x, py[i]);
    }
    vs_sb_puts(b, "\"/>");
    for (int i = 0; i < n; i++) svg_text(b, x + 3, py[i] + 4, "tv", l[i]);
    if (a->label) svg_text(b, x, y_top - 8, "ah", a->label);
}

/* ---- paths ---- */

/* Appends a decimal integer (faster than printf for the many coordinates of a page). */
static void put_int(vs_strbuf *b, int v) {
    char tmp[16];
    int n = 0;
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    do tmp[n++] = (char)('0' + u % 10), u /= 10;
    while (u);
    if (v < 0) tmp[n++] = '-';
    char out[16];
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    vs_sb_putn(b, out, (size_t)n);
}

/* "dx dy" with separators only where a minus sign does not already separate. */
static void put_pair(vs_strbuf *b, int dx, int dy, int after_number) {
    if (after_number && dx >= 0) vs_sb_putn(b, " ", 1);
    put_int(b, dx);
    if (dy >= 0) vs_sb_putn(b, " ", 1);
    put_int(b, dy);
}

void svg_path_begin(svg_path *pa, vs_strbuf *b, const char *cls, int dots) {
    pa->b = b;
    pa->cls = cls;
    pa->dots = dots;
    pa->n = pa->sub_n = 0;
    pa->broken = 0;
    pa->px = pa->py = 0;
}

/* A line's subpath of one point is drawn as a dot (round caps). */
static void close_subpath(svg_path *pa) {
    if (!pa->dots && pa->sub_n == 1) vs_sb_putn(pa->b, "h0", 2);
}

void svg_path_to(svg_path *pa, int x, int y) {
    vs_strbuf *b = pa->b;
    if (pa->n == 0) {
        vs_sb_printf(b, "<path class=\"%s\" d=\"M", pa->cls);
        put_pair(b, x, y, 0);
        if (pa->dots) vs_sb_putn(b, "h0", 2);
    } else if (pa->dots || pa->broken) {
        if (pa->broken) close_subpath(pa);
        vs_sb_putn(b, "m", 1);
        put_pair(b, x - pa->px, y - pa->py, 0);
        if (pa->dots) vs_sb_putn(b, "h0", 2);
        pa->sub_n = 0;
    } else {
        if (x == pa->px && y == pa->py) return;   /* the same point again draws nothing */
        /* "l" once, then its pairs repeat it */
        int first_step = pa->sub_n == 1;
        if (first_step) vs_sb_putn(b, "l", 1);
        put_pair(b, x - pa->px, y - pa->py, !first_step);
    }
    pa->broken = 0;
    pa->px = x, pa->py = y;
    pa->n++;
    pa->sub_n++;
}

void svg_path_break(svg_path *pa) { pa->broken = pa->n > 0; }

void svg_path_value(svg_path *pa, const svg_plot *p, double x, double y) {
    if (isnan(x) || isnan(y)) return;
    svg_path_to(pa, svg_plot_px(p, x), svg_plot_py(p, y));
}

void svg_path_end(svg_path *pa, const char *title) {
    if (pa->n == 0) return;
    close_subpath(pa);
    if (!title) {
        vs_sb_puts(pa->b, "\"/>");
        return;
    }
    vs_sb_puts(pa->b, "\"><title>");
    svg_escape(pa->b, title);
    vs_sb_puts(pa->b, "</title></path>");
}
