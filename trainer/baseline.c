/* baseline: popularity ranking metrics. */
#include "baseline.h"

#include <stdlib.h>

#include "common/vs_error.h"

void vs_popularity_metrics(const vs_dataset *ds, const vs_csr *fold_in, const vs_csr *targets, vs_metrics *out) {
    int64_t n = ds->n_items;
    float *score = vs_xcalloc((size_t)n, sizeof(float));
    for (int64_t k = 0; k < vs_csr_nnz(&ds->train); k++) score[ds->train.indices[k]] += 1.0f;
    vs_metric_sums sums = {0};
    int32_t top[VS_METRICS_TOPK];
    for (int64_t u = 0; u < fold_in->rows; u++) {
        vs_topk_row(score, n, fold_in->indices + fold_in->indptr[u], fold_in->indptr[u + 1] - fold_in->indptr[u],
                    VS_METRICS_TOPK, top);
        vs_metrics_add_user(&sums, top, targets->indices + targets->indptr[u],
                            targets->indptr[u + 1] - targets->indptr[u]);
    }
    vs_metrics_finish(&sums, out);
    free(score);
}
