/* report_plots: the charts of `vaesearch report`, each an inline <svg> (svg_plot.h) of a
 * sweep read by report_data. What each draws, mark by mark (what a test counts):
 *   history     a dot per ended trial at its number and objective: COMPLETE ("c-complete"),
 *               PRUNED (its last intermediate value, "c-pruned"), FAIL (no value: on the
 *               bottom edge, "c-fail"); the best so far as a line ("c-bsf");
 *   curves      a line per trial with an intermediate value (its class its state; the
 *               best trial's "c-best", on top), a dot where each PRUNED trial was cut
 *               ("c-cut");
 *   slice       per searched parameter, a dot per COMPLETE trial that has it (a
 *               conditional parameter's conditions may leave it out) at its value (log
 *               axis for a log parameter, a band per choice of a categorical) and objective;
 *   parallel    a line per trial among the best COMPLETE ones (report_parallel_count)
 *               across the parameters' axes to the objective's, shaded by rank, with a
 *               gap at a parameter the trial does not have: a piece ("M"/"m") per run of
 *               axes it has, a piece of one axis a dot ("h0");
 *   throughput  a dot per COMPLETE trial at its training users/s and objective;
 *   pareto      per pair of objectives (of the first three), a dot per COMPLETE trial with
 *               every value, the front's dots ("c-front") joined by a line.
 * Where the best COMPLETE trial is a dot, it is also ringed (a <circle class="ring">).
 * Where one objective is meant, it is objective 0, the sweep's metric. */
#ifndef VS_REPORT_PLOTS_H
#define VS_REPORT_PLOTS_H

#include "report_data.h"
#include "common/strbuf.h"

/* The CSS class of a trial state's marks: "c-complete", "c-pruned", ... */
extern const char *const report_state_classes[RS_COUNT];

void report_plot_history(vs_strbuf *b, const report *r);
void report_plot_curves(vs_strbuf *b, const report *r);
/* Parameter i of the space; nothing for a constant. */
void report_plot_slice(vs_strbuf *b, const report *r, int i);
void report_plot_parallel(vs_strbuf *b, const report *r);
/* How many of the best COMPLETE trials the parallel coordinates draw: a tenth of them,
 * at least 10 (all when there are fewer), at most 50. */
int report_parallel_count(const report *r);
void report_plot_throughput(vs_strbuf *b, const report *r);
/* Objectives a and b; nothing with one objective. */
void report_plot_pareto(vs_strbuf *b, const report *r, int a, int bo);

#endif
