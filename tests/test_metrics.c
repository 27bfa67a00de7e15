/* test_metrics: NDCG@100 and Recall@20/50 against hand-computed values, and
 * vs_topk_row (exclusions, ties, NaN, short rows) against a brute-force full sort. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "common/pcg.h"
#include "trainer/metrics.h"

#define TOL 1e-12

/* A ranking of VS_METRICS_TOPK items that are never targets (items 10000+r). */
static void fill_misses(int32_t *ranked) {
    for (int r = 0; r < VS_METRICS_TOPK; r++) ranked[r] = 10000 + r;
}

/* --------------------------------------------------------------- metrics */

static void test_three_targets(void) {
    int32_t ranked[VS_METRICS_TOPK];
    fill_misses(ranked);
    const int32_t targets[] = {5, 7, 9};   /* sorted; hit at ranks 0, 2, 5 */
    ranked[0] = 9;
    ranked[2] = 5;
    ranked[5] = 7;
    vs_metric_sums s = {0};
    vs_metrics_add_user(&s, ranked, targets, 3);
    double dcg = 1.0 / log2(2.0) + 1.0 / log2(4.0) + 1.0 / log2(7.0);
    double idcg = 1.0 / log2(2.0) + 1.0 / log2(3.0) + 1.0 / log2(4.0);
    CHECK(s.users == 1);
    CHECK_NEAR(s.ndcg100, dcg / idcg, TOL);
    CHECK_NEAR(s.recall20, 1.0, TOL);
    CHECK_NEAR(s.recall50, 1.0, TOL);
}

static void test_many_targets(void) {
    int32_t ranked[VS_METRICS_TOPK];
    int32_t targets[150];
    for (int i = 0; i < 150; i++) targets[i] = 2 * i;   /* even items 0..298 */
    fill_misses(ranked);
    const int hit_ranks[] = {0, 10, 19, 20, 49, 50, 99};
    double dcg = 0;
    for (int h = 0; h < 7; h++) {
        ranked[hit_ranks[h]] = targets[20 * h];
        dcg += 1.0 / log2(hit_ranks[h] + 2.0);
    }
    ranked[30] = 3;   /* odd: not a target */
    double idcg = 0;  /* over min(150, 100) = 100 ranks */
    for (int r = 0; r < 100; r++) idcg += 1.0 / log2(r + 2.0);

    vs_metric_sums s = {0};
    vs_metrics_add_user(&s, ranked, targets, 150);
    CHECK(s.users == 1);
    CHECK_NEAR(s.ndcg100, dcg / idcg, TOL);
    CHECK_NEAR(s.recall20, 3.0 / 20.0, TOL);   /* ranks 0, 10, 19 */
    CHECK_NEAR(s.recall50, 5.0 / 50.0, TOL);   /* plus 20, 49 */

    /* 30 targets (0..58), 25 of them at ranks 0..24: Recall@20 over 20, Recall@50
     * over 30, IDCG over 30 ranks. */
    vs_metric_sums s30 = {0};
    int32_t ranked30[VS_METRICS_TOPK];
    fill_misses(ranked30);
    double dcg30 = 0, idcg30 = 0;
    for (int r = 0; r < 30; r++) {
        if (r < 25) {
            ranked30[r] = 2 * r;
            dcg30 += 1.0 / log2(r + 2.0);
        }
        idcg30 += 1.0 / log2(r + 2.0);
    }
    vs_metrics_add_user(&s30, ranked30, targets, 30);
    CHECK_NEAR(s30.ndcg100, dcg30 / idcg30, TOL);
    CHECK_NEAR(s30.recall20, 20.0 / 20.0, TOL);
    CHECK_NEAR(s30.recall50, 25.0 / 30.0, TOL);
}

static void test_no_hits_and_no_targets(void) {
    int32_t ranked[VS_METRICS_TOPK];
    for (int r = 0; r < VS_METRICS_TOPK; r++) ranked[r] = -1;   /* nothing ranked */
    const int32_t targets[] = {0, 1};
    vs_metric_sums s = {0};
    vs_metrics_add_user(&s, ranked, targets, 2);
    CHECK(s.users == 1);
    CHECK_NEAR(s.ndcg100, 0.0, 0);
    CHECK_NEAR(s.recall20, 0.0, 0);

    fill_misses(ranked);
    vs_metrics_add_user(&s, ranked, NULL, 0);    /* no targets: skipped */
    vs_metrics_add_user(&s, ranked, targets, 0);
    CHECK(s.users == 1);
    CHECK_NEAR(s.ndcg100, 0.0, 0);
}

static void test_merge_finish(void) {
    vs_metric_sums a = {.ndcg100 = 0.5, .recall20 = 1.0, .recall50 = 1.5, .users = 2};
    vs_metric_sums b = {.ndcg100 = 0.25, .recall20 = 0.5, .recall50 = 0.0, .users = 3};
    vs_metric_sums_merge(&a, &b);
    CHECK(a.users == 5);
    vs_metrics m;
    vs_metrics_finish(&a, &m);
    CHECK(m.users == 5);
    CHECK_NEAR(m.ndcg100, 0.75 / 5, TOL);
    CHECK_NEAR(m.recall20, 1.5 / 5, TOL);
    CHECK_NEAR(m.recall50, 1.5 / 5, TOL);

    vs_metric_sums empty = {0};
    vs_metrics_finish(&empty, &m);
    CHECK(m.users == 0);
    CHECK(m.ndcg100 == 0.0 && m.recall20 == 0.0 && m.recall50 == 0.0);

    /* Two real users averaged: a perfect one and a miss. */
    int32_t ranked[VS_METRICS_TOPK];
    fill_misses(ranked);
    const int32_t target[] = {10000};   /* ranked[0] */
    const int32_t miss[] = {3};
    vs_metric_sums s = {0};
    vs_metrics_add_user(&s, ranked, target, 1);
    vs_metrics_add_user(&s, ranked, miss, 1);
    vs_metrics_finish(&s, &m);
    CHECK(m.users == 2);
    CHECK_NEAR(m.ndcg100, 0.5, TOL);
    CHECK_NEAR(m.recall20, 0.5, TOL);
    CHECK_NEAR(m.recall50, 0.5, TOL);
}

/* --------------------------------------------------------------- top-k */

static int same_ints(const int32_t *a, const int32_t *b, int n) {
    return memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

static void test_topk_small(void) {
    int32_t out[8];
    const float s1[] = {0.1f, 0.9f, 0.5f, 0.9f, 0.3f};
    vs_topk_row(s1, 5, NULL, 0, 3, out);
    CHECK(same_ints(out, (int32_t[]){1, 3, 2}, 3));

    const int32_t ex1[] = {1};
    vs_topk_row(s1, 5, ex1, 1, 3, out);
    CHECK(same_ints(out, (int32_t[]){3, 2, 4}, 3));

    /* All equal: lowest indices, in order; exclusions skipped. */
    float flat[10];
    for (int i = 0; i < 10; i++) flat[i] = 0.25f;
    vs_topk_row(flat, 10, NULL, 0, 4, out);
    CHECK(same_ints(out, (int32_t[]){0, 1, 2, 3}, 4));
    const int32_t ex2[] = {0, 2};
    vs_topk_row(flat, 10, ex2, 2, 4, out);
    CHECK(same_ints(out, (int32_t[]){1, 3, 4, 5}, 4));

    /* A later score equal to the k-th best does not displace it. */
    const float s2[] = {5, 3, 3, 3, 4};
    vs_topk_row(s2, 5, NULL, 0, 3, out);
    CHECK(same_ints(out, (int32_t[]){0, 4, 1}, 3));

    /* Fewer candidates than k: the rest is -1. Exclusions may repeat or exceed n. */
    const float s3[] = {1, 2, 3};
    const int32_t ex3[] = {1, 1, 7, 99};
    vs_topk_row(s3, 3, ex3, 4, 5, out);
    CHECK(same_ints(out, (int32_t[]){2, 0, -1, -1, -1}, 5));
    vs_topk_row(s3, 0, NULL, 0, 2, out);
    CHECK(same_ints(out, (int32_t[]){-1, -1}, 2));
    const int32_t ex_all[] = {0, 1, 2};
    vs_topk_row(s3, 3, ex_all, 3, 2, out);
    CHECK(same_ints(out, (int32_t[]){-1, -1}, 2));

    /* NaN ranks below everything, -inf included; NaNs among themselves by index. */
    const float s4[] = {NAN, 1, NAN, -INFINITY, 2};
    vs_topk_row(s4, 5, NULL, 0, 5, out);
    CHECK(same_ints(out, (int32_t[]){4, 1, 3, 0, 2}, 5));
    vs_topk_row(s4, 5, NULL, 0, 3, out);
    CHECK(same_ints(out, (int32_t[]){4, 1, 3}, 3));
    const float s5[] = {NAN, NAN, NAN, 0.5f};
    vs_topk_row(s5, 4, NULL, 0, 2, out);
    CHECK(same_ints(out, (int32_t[]){3, 0}, 2));

    /* -0.0 and +0.0 are equal scores, so the lower index wins either way. */
    const float z1[] = {0.0f, -0.0f}, z2[] = {-0.0f, 0.0f};
    vs_topk_row(z1, 2, NULL, 0, 2, out);
    CHECK(same_ints(out, (int32_t[]){0, 1}, 2));
    vs_topk_row(z2, 2, NULL, 0, 2, out);
    CHECK(same_ints(out, (int32_t[]){0, 1}, 2));

    /* k = 0 writes nothing. */
    out[0] = 12345;
    vs_topk_row(s1, 5, NULL, 0, 0, out);
    CHECK(out[0] == 12345);
}

/* Brute force: sort every candidate by (NaN last, score descending, index ascending). */
static const float *brute_scores;

static int brute_compare(const void *a, const void *b) {
    int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
    float x = brute_scores[i], y = brute_scores[j];
    int x_nan = isnan(x), y_nan = isnan(y);
    if (x_nan != y_nan) return x_nan ? 1 : -1;
    if (!x_nan && x != y) return x > y ? -1 : 1;
    return i < j ? -1 : 1;
}

static void brute_topk(const float *scores, int n, const int32_t *exclude, int n_exclude,
                       int k, int32_t *out) {
    char *excluded = calloc((size_t)n + 1, 1);
    int32_t *cand = malloc(((size_t)n + 1) * sizeof *cand);
    for (int e = 0; e < n_exclude; e++)
        if (exclude[e] >= 0 && exclude[e] < n) excluded[exclude[e]] = 1;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!excluded[i]) cand[m++] = i;
    brute_scores = scores;
    qsort(cand, (size_t)m, sizeof *cand, brute_compare);
    for (int r = 0; r < k; r++) out[r] = r < m ? cand[r] : -1;
    free(cand);
    free(excluded);
}

static int int32_ascending(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void test_topk_matches_brute_force(void) {
    const int max_n = 3000, max_k = 300;
    float *scores = malloc((size_t)max_n * sizeof *scores);
    int32_t *exclude = malloc((size_t)max_n * sizeof *exclude);
    int32_t got[300], want[300];
    int mismatches = 0;
    for (int row = 0; row < 400; row++) {
        vs_pcg32 g = vs_stream(42, VS_RNG_SYNTH, 777, (uint64_t)row);
        int n = 1 + (int)vs_pcg32_bounded(&g, (uint32_t)max_n);
        /* Few distinct values so ties are everywhere; some NaN and signed zeros. */
        uint32_t levels = 1 + vs_pcg32_bounded(&g, 50);
        for (int i = 0; i < n; i++) {
            uint32_t kind = vs_pcg32_bounded(&g, 100);
            if (kind < 3) scores[i] = NAN;
            else if (kind < 6) scores[i] = (kind & 1) ? -0.0f : 0.0f;
            else scores[i] = (float)vs_pcg32_bounded(&g, levels) - (float)levels / 2;
        }
        int n_exclude = (int)vs_pcg32_bounded(&g, (uint32_t)n / 2 + 1);
        for (int e = 0; e < n_exclude; e++)
            exclude[e] = (int32_t)vs_pcg32_bounded(&g, (uint32_t)n);   /* may repeat */
        qsort(exclude, (size_t)n_exclude, sizeof *exclude, int32_ascending);
        static const int ks[] = {1, 20, 50, 100};
        int k = row % 5 < 4 ? ks[row % 5] : 1 + (int)vs_pcg32_bounded(&g, max_k);

        vs_topk_row(scores, n, exclude, n_exclude, k, got);
        brute_topk(scores, n, exclude, n_exclude, k, want);
        if (!same_ints(got, want, k)) {
            if (mismatches++ < 3) CHECK_MSG(0, "row %d (n %d, k %d) differs", row, n, k);
        }
    }
    CHECK_MSG(mismatches == 0, "%d rows differ from the full sort", mismatches);
    free(exclude);
    free(scores);
}

int main(void) {
    test_three_targets();
    test_many_targets();
    test_no_hits_and_no_targets();
    test_merge_finish();
    test_topk_small();
    test_topk_matches_brute_force();
    return test_finish();
}
