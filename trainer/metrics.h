/* metrics: the paper's ranking metrics for held-out users.
 *   NDCG@100 = DCG@100 / IDCG, DCG = sum over ranks r=0..99 of [item_r in T] / log2(r+2),
 *              IDCG = sum over r < min(|T|, 100) of 1 / log2(r+2);
 *   Recall@k = |top-k ∩ T| / min(k, |T|)   (k = 20, 50).
 * Fold-in items are excluded from the ranking; users with no targets are skipped.
 * Ranking ties are broken towards the lower item index, so every backend that
 * produces the same scores produces the same ranking. */
#ifndef VS_METRICS_H
#define VS_METRICS_H

#include <stdint.h>

#define VS_METRICS_TOPK 100

typedef struct vs_metric_sums {
    double ndcg100, recall20, recall50;   /* sums over counted users */
    int64_t users;                        /* users with >= 1 target */
} vs_metric_sums;

typedef struct vs_metrics {
    double ndcg100, recall20, recall50;   /* means over users */
    int64_t users;
} vs_metrics;

/* Writes the indices of the k highest scores of scores[0..n) into out, best first,
 * skipping the indices listed in exclude (sorted ascending). If fewer than k indices
 * remain, the rest of out is filled with -1. Ties go to the lower index. */
void vs_topk_row(const float *scores, int64_t n, const int32_t *exclude, int64_t n_exclude,
                 int k, int32_t *out);

/* Adds one user: ranked holds VS_METRICS_TOPK item indices best first (-1 = none);
 * targets are sorted ascending. A user with n_targets == 0 is skipped. */
void vs_metrics_add_user(vs_metric_sums *s, const int32_t *ranked, const int32_t *targets,
                         int64_t n_targets);
void vs_metric_sums_merge(vs_metric_sums *into, const vs_metric_sums *from);
void vs_metrics_finish(const vs_metric_sums *s, vs_metrics *out);

#endif
