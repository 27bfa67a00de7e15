/* baseline: popularity ranking metrics. Every user's ranking is the same list, items by
 * training users (ties to the lower index, as vs_topk_row breaks them), less the user's
 * fold-in items: so the items are sorted once, and each user's top items are the first
 * of that list not in its fold-in, O(top + fold-in) a user rather than a scan of every
 * item (which took a second for ML-20M's 20,000 held-out users). */
#include "baseline.h"

#include <stdlib.h>

#include "common/vs_error.h"

static const int64_t *sort_counts;   /* for qsort's comparison */

/* More training users first; equal counts by the lower index. */
static int by_popularity(const void *pa, const void *pb) {
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    if (sort_counts[a] != sort_counts[b]) return sort_counts[a] > sort_counts[b] ? -1 : 1;
    return a < b ? -1 : a > b;
}

void vs_popularity_metrics(const vs_dataset *ds, const vs_csr *fold_in, const vs_csr *targets, vs_metrics *out) {
    int64_t n = ds->n_items;
    if (n > INT32_MAX) n = INT32_MAX;   /* item indices are int32, as vs_topk_row reports them */
    if (n < 0) n = 0;
    int64_t *count = vs_xcalloc((size_t)(n ? n : 1), sizeof *count);
    for (int64_t k = 0; k < vs_csr_nnz(&ds->train); k++)
        if (ds->train.indices[k] >= 0 && ds->train.indices[k] < n) count[ds->train.indices[k]]++;
    int32_t *order = vs_xmalloc(sizeof *order * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) order[i] = (int32_t)i;
    sort_counts = count;
    qsort(order, (size_t)n, sizeof *order, by_popularity);
    unsigned char *in_fold = vs_xcalloc((size_t)(n ? n : 1), 1);
    vs_metric_sums sums = {0};
    int32_t top[VS_METRICS_TOPK];
    for (int64_t u = 0; u < fold_in->rows; u++) {
        const int32_t *f = fold_in->indices + fold_in->indptr[u];
        int64_t nf = fold_in->indptr[u + 1] - fold_in->indptr[u];
        for (int64_t i = 0; i < nf; i++)
            if (f[i] >= 0 && f[i] < n) in_fold[f[i]] = 1;
        int k = 0;
        for (int64_t i = 0; i < n && k < VS_METRICS_TOPK; i++)
            if (!in_fold[order[i]]) top[k++] = order[i];
        while (k < VS_METRICS_TOPK) top[k++] = -1;
        for (int64_t i = 0; i < nf; i++)
            if (f[i] >= 0 && f[i] < n) in_fold[f[i]] = 0;
        vs_metrics_add_user(&sums, top, targets->indices + targets->indptr[u],
                            targets->indptr[u + 1] - targets->indptr[u]);
    }
    vs_metrics_finish(&sums, out);
    free(in_fold);
    free(order);
    free(count);
}
