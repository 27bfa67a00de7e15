/* svg_plot: small SVG charts written as text, for `vaesearch report`'s page: axes
 * (linear, logarithmic, categories) with ticks at round numbers, and marks drawn as
 * paths whose style comes from the page's CSS classes (no per-mark styles). Coordinates
 * are whole units of the viewBox, so a page of many thousands of marks stays small:
 *   - a series of dots is one <path> whose every subpath is a dot ("M x y h0", drawn by
 *     round line caps): count the "h0" to count the dots;
 *   - a line (a curve, a trial across parallel axes) is one <path> of its own ("M x y"
 *     then relative "l dx dy" steps; a gap: "m dx dy" starts the next piece).
 * Text is escaped for HTML and XML alike (svg_escape). */
#ifndef VS_SVG_PLOT_H
#define VS_SVG_PLOT_H

#include "common/strbuf.h"

typedef enum svg_scale { SVG_LINEAR, SVG_LOG, SVG_CATEGORIES } svg_scale;

typedef struct svg_axis {
    svg_scale scale;
    double lo, hi;                 /* LINEAR, LOG: the values at the ends (LOG: 0 < lo < hi) */
    int integer;                   /* LINEAR: ticks at whole numbers only */
    int n_categories;              /* CATEGORIES: values 0 .. n-1, each the middle of a band */
    const char *const *categories; /* their labels */
    const char *label;             /* the axis' title, or NULL */
} svg_axis;

/* An axis over the finite values v[0..n-1] (LOG: the positive ones), padded by a little
 * at both ends; a single value gets a range around it. scale is LINEAR or LOG. */
void svg_axis_fit(svg_axis *a, svg_scale scale, const double *v, int n, const char *label);
/* Where v lies along a, from 0 (lo) to 1 (hi), clamped; infinities at the ends. */
double svg_axis_frac(const svg_axis *a, double v);
/* Up to max ticks of a (round numbers; LOG: 1, 2, 5 times powers of ten; CATEGORIES:
 * every category): values and labels; returns how many. */
#define SVG_MAX_TICKS 64
int svg_axis_ticks(const svg_axis *a, int max, double *values, char labels[][32]);

/* A chart: a plotting area inside a viewBox of w x h units, with an x and a y axis. */
typedef struct svg_plot {
    vs_strbuf *b;
    int w, h;
    int x0, x1, y0, y1;   /* the plotting area: left, right, top, bottom */
    svg_axis x, y;
} svg_plot;

/* Writes <svg> with its frame, grid, ticks and axis titles. id names it in the page;
 * cls is added to its class ("plot cls"); style, when not NULL, is its style attribute
 * (the page's per-chart custom properties, e.g. "--o:.2"); label is its accessible
 * description. */
void svg_plot_begin(svg_plot *p, vs_strbuf *b, int w, int h, const svg_axis *x, const svg_axis *y, const char *id,
                    const char *cls, const char *style, const char *label);
void svg_plot_end(svg_plot *p);
/* A value's position in the viewBox. */
int svg_plot_px(const svg_plot *p, double x);
int svg_plot_py(const svg_plot *p, double y);

/* A vertical axis at x from y_top to y_bottom: its line, ticks (at most max_ticks) with
 * labels to the right, and its title above (for parallel coordinates). */
void svg_vertical_axis(vs_strbuf *b, const svg_axis *a, int x, int y_top, int y_bottom, int max_ticks);
/* Text at (x, y) with a class (its anchor and size come from the CSS), escaped. */
void svg_text(vs_strbuf *b, int x, int y, const char *cls, const char *text);

/* A path being written: dots or a line. Nothing is written for a path without points. */
typedef struct svg_path {
    vs_strbuf *b;
    const char *cls;
    int dots;
    long n;                /* points so far */
    long sub_n;            /* points of the current subpath */
    int broken;            /* a line: the next point starts a new subpath (svg_path_break) */
    int px, py;
} svg_path;

void svg_path_begin(svg_path *pa, vs_strbuf *b, const char *cls, int dots);
/* The next point (viewBox units): a dot, or the line's next vertex. */
void svg_path_to(svg_path *pa, int x, int y);
/* A line: the next point starts a new subpath, leaving a gap (a subpath of one point is
 * drawn as a dot). */
void svg_path_break(svg_path *pa);
/* A point in a plot's values; NaN is skipped, infinities go to the edge. */
void svg_path_value(svg_path *pa, const svg_plot *p, double x, double y);
/* Closes the path (a line of one point becomes a dot), with a tooltip when title is
 * not NULL. */
void svg_path_end(svg_path *pa, const char *title);

/* Appends s with &, <, >, " and ' escaped. */
void svg_escape(vs_strbuf *b, const char *s);

#endif
