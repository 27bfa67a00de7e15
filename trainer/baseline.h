/* baseline: the popularity ranking (items by their number of training users), the
 * reference every recommender must beat; its metrics use the same code as the model's. */
#ifndef VS_BASELINE_H
#define VS_BASELINE_H

#include "metrics.h"
#include "dataset/dataset.h"

/* Ranks items by training popularity for each row of fold_in (fold-in items excluded)
 * and returns the mean metrics against targets. */
void vs_popularity_metrics(const vs_dataset *ds, const vs_csr *fold_in, const vs_csr *targets, vs_metrics *out);

#endif
