/* metrics.c: the paper's ranking metrics (NDCG@100, Recall@20, Recall@50) and the
 * top-k selection that feeds them.
 *
 * Top-k runs once per evaluated user over every item (~20,000), so it is one pass
 * with a size-k min-heap of packed 64-bit keys: the high 32 bits order the score,
 * the low 32 bits hold the complement of the index, so a single integer comparison
 * ranks by score first and then towards the lower index. NaN scores get the lowest
 * key of all, so they are selected only when nothing else is left. */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/vs_error.h"

/* ---------------------------------------------------------------- keys */

/* Maps a float to a uint32 whose unsigned order is the float order, with every NaN
 * below -inf and -0.0 equal to +0.0 (they compare equal as floats, so they tie). */
static inline uint32_t score_key(float score) {
    if (isnan(score)) return 0;
    if (score == 0.0f) score = 0.0f;   /* folds -0.0 into +0.0 */
    uint32_t bits;
    memcpy(&bits, &score, sizeof bits);
    /* Negative floats order backwards as integers: flip them all; positives only
     * need to sit above the negatives. -inf becomes 0x007fffff, so 0 stays free. */
    return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

/* Higher key = better: higher score, then lower index. */
static inline uint64_t rank_key(float score, int64_t index) {
    return ((uint64_t)score_key(score) << 32) | (uint32_t)(0xffffffffu - (uint32_t)index);
}

/* The score a key was made from (NaN for the NaN key); inverts score_key. */
static inline float key_score(uint64_t key) {
    uint32_t ordered = (uint32_t)(key >> 32);
    if (ordered == 0) return NAN;
    uint32_t bits = (ordered & 0x80000000u) ? (ordered & 0x7fffffffu) : ~ordered;
    float score;
    memcpy(&score, &bits, sizeof score);
    return score;
}

static inline int32_t key_index(uint64_t key) {
    return (int32_t)(0xffffffffu - (uint32_t)key);
}

/* ---------------------------------------------------------------- min-heap */

/* heap[0] is the worst of the kept keys: the one a better candidate displaces. */
static void heap_sift_down(uint64_t *heap, int size, int pos) {
    uint64_t moving = heap[pos];
    for (;;) {
        int child = 2 * pos + 1;
        if (child >= size) break;
        if (child + 1 < size && heap[child + 1] < heap[child]) child++;
        if (heap[child] >= moving) break;
        heap[pos] = heap[child];
        pos = child;
    }
    heap[pos] = moving;
}

static void heap_sift_up(uint64_t *heap, int pos) {
    uint64_t moving = heap[pos];
    while (pos > 0) {
        int parent = (pos - 1) / 2;
        if (heap[parent] <= moving) break;
        heap[pos] = heap[parent];
        pos = parent;
    }
    heap[pos] = moving;
}

/* Offers scores[begin..end) (none of them excluded) to the heap. */
static void heap_offer_range(uint64_t *heap, int *size, int k, const float *scores,
                             int64_t begin, int64_t end) {
    int64_t i = begin;
    /* Fill phase: the heap takes everything until it holds k keys. */
    for (; i < end && *size < k; i++) {
        heap[*size] = rank_key(scores[i], i);
        heap_sift_up(heap, (*size)++);
    }
    /* Steady phase: a candidate enters only if strictly better than the worst kept.
     * Indices grow, so an equal score never displaces the lower index already kept.
     * Most candidates lose; the float threshold rejects them without building a key
     * (`!(x > t)` is also true for NaN x, and a NaN threshold lets everything through
     * to the exact key test). */
    if (i == end) return;   /* the heap may not be full (or even started) yet */
    float threshold = key_score(heap[0]);
    for (; i < end; i++) {
        if (!(scores[i] > threshold) && !isnan(threshold)) continue;
        uint64_t key = rank_key(scores[i], i);
        if (key > heap[0]) {
            heap[0] = key;
            heap_sift_down(heap, k, 0);
            threshold = key_score(heap[0]);
        }
    }
}

void vs_topk_row(const float *scores, int64_t n, const int32_t *exclude, int64_t n_exclude,
                 int k, int32_t *out) {
    if (k <= 0) return;
    /* Indices are reported as int32, so items beyond INT32_MAX cannot be ranked. */
    if (n > INT32_MAX) n = INT32_MAX;
    if (n < 0) n = 0;
    if (!exclude) n_exclude = 0;

    uint64_t stack_heap[VS_METRICS_TOPK];
    uint64_t *heap = k <= VS_METRICS_TOPK ? stack_heap : vs_xmalloc((size_t)k * sizeof *heap);
    int size = 0;

    /* Scan the runs between excluded indices; the moving pointer into the sorted
     * exclude list tolerates duplicates and out-of-range entries. */
    int64_t next = 0, ex = 0;
    while (next < n) {
        while (ex < n_exclude && exclude[ex] < next) ex++;
        int64_t run_end = (ex < n_exclude && exclude[ex] < n) ? exclude[ex] : n;
        heap_offer_range(heap, &size, k, scores, next, run_end);
        next = run_end + 1;   /* steps over the excluded index (or past n) */
    }

    /* Pop the worst first, filling out from the back, so out is best first. */
    for (int i = k - 1; i >= size; i--) out[i] = -1;
    for (int i = size - 1; i >= 0; i--) {
        out[i] = key_index(heap[0]);
        heap[0] = heap[i];
        heap_sift_down(heap, i, 0);
    }
    if (heap != stack_heap) free(heap);
}

/* ---------------------------------------------------------------- metrics */

/* discount[r] = 1 / log2(r + 2); ideal_dcg[m] = sum of discount[0..m). Filled once. */
static double discount[VS_METRICS_TOPK];
static double ideal_dcg[VS_METRICS_TOPK + 1];
static pthread_once_t discount_once = PTHREAD_ONCE_INIT;

static void discount_init(void) {
    ideal_dcg[0] = 0.0;
    for (int r = 0; r < VS_METRICS_TOPK; r++) {
        discount[r] = 1.0 / log2((double)r + 2.0);
        ideal_dcg[r + 1] = ideal_dcg[r] + discount[r];
    }
}

static int is_target(int32_t item, const int32_t *targets, int64_t n_targets) {
    int64_t lo = 0, hi = n_targets;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (targets[mid] < item) lo = mid + 1;
        else hi = mid;
    }
    return lo < n_targets && targets[lo] == item;
}

void vs_metrics_add_user(vs_metric_sums *s, const int32_t *ranked, const int32_t *targets,
                         int64_t n_targets) {
    if (n_targets <= 0) return;
    pthread_once(&discount_once, discount_init);

    double dcg = 0.0;
    int64_t hits20 = 0, hits50 = 0;
    for (int r = 0; r < VS_METRICS_TOPK; r++) {
        if (ranked[r] < 0 || !is_target(ranked[r], targets, n_targets)) continue;
        dcg += discount[r];
        if (r < 20) hits20++;
        if (r < 50) hits50++;
    }
    int64_t ideal_ranks = n_targets < VS_METRICS_TOPK ? n_targets : VS_METRICS_TOPK;
    s->ndcg100 += dcg / ideal_dcg[ideal_ranks];
    s->recall20 += (double)hits20 / (double)(n_targets < 20 ? n_targets : 20);
    s->recall50 += (double)hits50 / (double)(n_targets < 50 ? n_targets : 50);
    s->users++;
}

void vs_metric_sums_merge(vs_metric_sums *into, const vs_metric_sums *from) {
    into->ndcg100 += from->ndcg100;
    into->recall20 += from->recall20;
    into->recall50 += from->recall50;
    into->users += from->users;
}

/* With no counted users the means are 0 (users = 0 tells the caller why), so a
 * report never carries a NaN. */
void vs_metrics_finish(const vs_metric_sums *s, vs_metrics *out) {
    out->users = s->users;
    if (s->users <= 0) {
        out->ndcg100 = out->recall20 = out->recall50 = 0.0;
        return;
    }
    double n = (double)s->users;
    out->ndcg100 = s->ndcg100 / n;
    out->recall20 = s->recall20 / n;
    out->recall50 = s->recall50 / n;
}
