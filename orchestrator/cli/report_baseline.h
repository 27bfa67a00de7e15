/* report_baseline: the popularity baseline of a sweep's dataset, for `vaesearch report`
 * (report_baseline.c says where the dataset comes from). */
#ifndef VS_REPORT_BASELINE_H
#define VS_REPORT_BASELINE_H

#include "report_data.h"

/* Fills r->baseline from dataset_path, or with NULL from the dataset the sweep
 * recorded; when it cannot be read, r->baseline.known is 0 and its note says why. */
void report_baseline_compute(report *r, const char *dataset_path);

#endif
