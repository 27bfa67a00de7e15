/* test_baseline: the popularity baseline (trainer/baseline.c) against the ranking it
 * stands for, computed the plain way: every item scored by its training users and each
 * user's top 100 taken by vs_topk_row over all items with the fold-in excluded. On
 * random data with many ties (few distinct counts), items nobody trained on, a user
 * whose fold-in leaves fewer than 100 items, one with no fold-in and one with no
 * targets, the metrics must be the very same numbers. */
#include <stdint.h>
#include <stdlib.h>

#include "test.h"
#include "common/pcg.h"
#include "dataset/dataset.h"
#include "trainer/baseline.h"
#include "trainer/metrics.h"

enum { ITEMS = 400, TRAIN = 300, HELD = 80 };

/* A random CSR of rows x ITEMS: each row's items drawn with a probability from a few
 * levels, so that many items share a count, and items 350 on never; shape[r] > 0 puts
 * the first shape[r] items in row r instead, shape[r] < 0 none. */
static vs_csr random_csr(vs_pcg32 *g, int rows, const int *shape, int64_t **indptr_out, int32_t **indices_out) {
    int64_t *indptr = vs_xcalloc((size_t)rows + 1, sizeof *indptr);
    int32_t *indices = vs_xmalloc(sizeof *indices * (size_t)rows * ITEMS);
    int64_t nnz = 0;
    for (int r = 0; r < rows; r++) {
        for (int i = 0; i < ITEMS; i++) {
            uint32_t level = i >= 350 ? 0 : 1 + (uint32_t)(i % 4);
            int take = shape && shape[r] > 0 ? i < shape[r] : shape && shape[r] < 0 ? 0 : vs_pcg32_bounded(g, 40) < level;
            if (take) indices[nnz++] = i;
        }
        indptr[r + 1] = nnz;
    }
    *indptr_out = indptr;
    *indices_out = indices;
    return (vs_csr){rows, ITEMS, indptr, indices};
}

/* The plain way: float scores, vs_topk_row over every item for every user. */
static void reference(const vs_dataset *ds, const vs_csr *in, const vs_csr *out, vs_metrics *m) {
    float score[ITEMS] = {0};
    for (int64_t k = 0; k < vs_csr_nnz(&ds->train); k++) score[ds->train.indices[k]] += 1.0f;
    vs_metric_sums s = {0};
    int32_t top[VS_METRICS_TOPK];
    for (int64_t u = 0; u < in->rows; u++) {
        vs_topk_row(score, ITEMS, in->indices + in->indptr[u], in->indptr[u + 1] - in->indptr[u], VS_METRICS_TOPK, top);
        vs_metrics_add_user(&s, top, out->indices + out->indptr[u], out->indptr[u + 1] - out->indptr[u]);
    }
    vs_metrics_finish(&s, m);
}

int main(void) {
    vs_pcg32 g;
    vs_pcg32_seed(&g, 42, 7);
    int64_t *p[3];
    int32_t *x[3];
    vs_dataset ds = {0};
    ds.n_items = ITEMS;
    ds.train = random_csr(&g, TRAIN, NULL, &p[0], &x[0]);
    int in_shape[HELD] = {0}, out_shape[HELD] = {0};
    in_shape[0] = ITEMS - 40;   /* 40 items left to rank: the rest of its top 100 is empty */
    in_shape[1] = -1;           /* no fold-in items */
    out_shape[0] = 5;           /* its targets among its fold-in items: never ranked, never hits */
    out_shape[2] = -1;          /* no targets: skipped by the metrics */
    vs_csr in = random_csr(&g, HELD, in_shape, &p[1], &x[1]);
    vs_csr out = random_csr(&g, HELD, out_shape, &p[2], &x[2]);

    vs_metrics got, want;
    vs_popularity_metrics(&ds, &in, &out, &got);
    reference(&ds, &in, &out, &want);
    printf("popularity: NDCG@100 %.6f, Recall@20 %.6f, Recall@50 %.6f over %lld users\n", got.ndcg100, got.recall20,
           got.recall50, (long long)got.users);
    CHECK(got.users == want.users && got.users == HELD - 1);
    CHECK(got.ndcg100 == want.ndcg100);
    CHECK(got.recall20 == want.recall20);
    CHECK(got.recall50 == want.recall50);
    for (int i = 0; i < 3; i++) free(p[i]), free(x[i]);
    return test_finish();
}
