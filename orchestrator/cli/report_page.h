/* report_page: the page `vaesearch report` writes: one self-contained HTML file (inline
 * CSS and SVG, no script, nothing fetched) laying out a sweep read by report_data: the
 * headline (dataset, space, sampler, pruner, budget, states, times, the best trial beside
 * the popularity baseline), the charts of report_plots, and top's table of the best
 * trials. Numbers shown as text are formatted as `vaesearch top` prints them. Elements a
 * reader (or a test) looks for have ids: #summary, #best-metrics, #best-params, #states,
 * #history, #curves, #slice-NAME, #parallel, #throughput, #pareto-A-B, #top. */
#ifndef VS_REPORT_PAGE_H
#define VS_REPORT_PAGE_H

#include "report_data.h"
#include "common/strbuf.h"

/* Writes the page into b; top_n is how many trials the table lists, generated_at the
 * time it says it was made. */
void report_page_write(vs_strbuf *b, const report *r, int top_n, const char *generated_at);

#endif
