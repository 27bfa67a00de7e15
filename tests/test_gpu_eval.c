/* test_gpu_eval (label gpu): the GPU's ranking and metrics (trainer/cuda/eval.cuh)
 * equal the CPU's metric code (vs_topk_row + vs_metrics_add_user) on the same scores:
 * the same top-100 lists, item for item, and the same metric sums. The scores are made
 * to be hard: many ties (quantised scores, whole rows of one value), NaN, infinities,
 * -0.0 beside +0.0, fold-in items excluded (some rows with fewer than 100 items left,
 * one with none), users without targets. Skipped (77) without a CUDA build or a GPU. */
#include <stdint.h>

#include "test.h"
#include "test_gpu.h"
#include "common/pcg.h"
#include "trainer/metrics.h"
#ifdef VS_HAVE_CUDA
#include "trainer/cuda/backend_cuda.h"
#endif

#ifdef VS_HAVE_CUDA

/* A random sorted subset of [0, n) with about `mean` items (each kept with p = mean/n). */
static int64_t random_row(vs_pcg32 *g, int n, double mean, int32_t *out) {
    int64_t k = 0;
    double p = mean / n < 1.0 ? mean / n : 1.0;
    uint32_t threshold = (uint32_t)(p * 4294967295.0);
    for (int i = 0; i < n; i++)
        if (vs_pcg32_next(g) < threshold) out[k++] = i;
    return k;
}

typedef struct case_data {
    int rows, n_items;
    float *scores;
    int64_t *in_ptr, *tg_ptr;
    int32_t *in_idx, *tg_idx;
} case_data;

static void case_free(case_data *c) {
    free(c->scores), free(c->in_ptr), free(c->tg_ptr), free(c->in_idx), free(c->tg_idx);
}

/* Scores by style: 0 quantised to 16 levels with special values sprinkled in, 1 every
 * score equal, 2 continuous. Row 0 excludes all but 30 items, row 1 all items, row 2
 * has no targets. */
static void case_make(case_data *c, int rows, int n_items, int style, uint64_t seed) {
    vs_pcg32 g = vs_stream(seed, 99, (uint64_t)style, 0);
    c->rows = rows;
    c->n_items = n_items;
    c->scores = malloc(sizeof(float) * (size_t)rows * n_items);
    c->in_ptr = malloc(sizeof(int64_t) * (size_t)(rows + 1));
    c->tg_ptr = malloc(sizeof(int64_t) * (size_t)(rows + 1));
    c->in_idx = malloc(sizeof(int32_t) * (size_t)rows * n_items);
    c->tg_idx = malloc(sizeof(int32_t) * (size_t)rows * n_items);
    for (size_t i = 0; i < (size_t)rows * n_items; i++) {
        float v;
        if (style == 1) v = 0.25f;
        else if (style == 2) v = (float)vs_pcg32_normal(&g);
        else {
            uint32_t r = vs_pcg32_bounded(&g, 1000);
            v = (float)vs_pcg32_bounded(&g, 16) / 8.0f - 1.0f;
            if (r == 0) v = NAN;
            else if (r == 1) v = INFINITY;
            else if (r == 2) v = -INFINITY;
            else if (r < 20) v = -0.0f;
            else if (r < 40) v = 0.0f;
        }
        c->scores[i] = v;
    }
    c->in_ptr[0] = c->tg_ptr[0] = 0;
    for (int r = 0; r < rows; r++) {
        int32_t *in = c->in_idx + c->in_ptr[r], *tg = c->tg_idx + c->tg_ptr[r];
        int64_t n_in, n_tg;
        if (r == 0 || r == 1) {
            int keep = r == 0 ? 30 : 0;   /* items left to rank */
            n_in = 0;
            for (int i = keep; i < n_items; i++) in[n_in++] = i;
        } else {
            n_in = random_row(&g, n_items, n_items / 20.0, in);
        }
        n_tg = r == 2 ? 0 : random_row(&g, n_items, 5 + r % 150, tg);
        c->in_ptr[r + 1] = c->in_ptr[r] + n_in;
        c->tg_ptr[r + 1] = c->tg_ptr[r] + n_tg;
    }
}

static void check_case(const case_data *c, const char *name) {
    vs_csr in = {c->rows, c->n_items, c->in_ptr, c->in_idx}, tg = {c->rows, c->n_items, c->tg_ptr, c->tg_idx};
    int32_t *cpu_top = malloc(sizeof(int32_t) * (size_t)c->rows * VS_METRICS_TOPK);
    int32_t *gpu_top = malloc(sizeof(int32_t) * (size_t)c->rows * VS_METRICS_TOPK);
    vs_metric_sums cpu = {0}, gpu = {0};
    for (int r = 0; r < c->rows; r++) {
        int32_t *top = cpu_top + (size_t)r * VS_METRICS_TOPK;
        vs_topk_row(c->scores + (size_t)r * c->n_items, c->n_items, c->in_idx + c->in_ptr[r],
                    c->in_ptr[r + 1] - c->in_ptr[r], VS_METRICS_TOPK, top);
        vs_metric_sums one = {0};
        vs_metrics_add_user(&one, top, c->tg_idx + c->tg_ptr[r], c->tg_ptr[r + 1] - c->tg_ptr[r]);
        vs_metric_sums_merge(&cpu, &one);
    }
    vs_error err = {{0}};
    CHECK_OK(vs_cuda_metrics_from_scores(c->scores, c->rows, c->n_items, &in, &tg, &gpu, gpu_top, &err), &err);
    int64_t differ = 0, first = -1;
    for (size_t i = 0; i < (size_t)c->rows * VS_METRICS_TOPK; i++)
        if (cpu_top[i] != gpu_top[i]) {
            if (first < 0) first = (int64_t)i;
            differ++;
        }
    CHECK_MSG(differ == 0, "%s: %lld of %d ranked items differ (first: row %lld rank %lld, cpu %d gpu %d)", name,
              (long long)differ, c->rows * VS_METRICS_TOPK, (long long)(first / VS_METRICS_TOPK),
              (long long)(first % VS_METRICS_TOPK), first >= 0 ? cpu_top[first] : 0, first >= 0 ? gpu_top[first] : 0);
    CHECK_MSG(cpu.users == gpu.users, "%s: users %lld vs %lld", name, (long long)cpu.users, (long long)gpu.users);
    CHECK_NEAR(gpu.ndcg100, cpu.ndcg100, 1e-12);
    CHECK_NEAR(gpu.recall20, cpu.recall20, 1e-12);
    CHECK_NEAR(gpu.recall50, cpu.recall50, 1e-12);
    /* the same additions in the same order: expected bit for bit */
    CHECK_MSG(gpu.ndcg100 == cpu.ndcg100 && gpu.recall20 == cpu.recall20 && gpu.recall50 == cpu.recall50,
              "%s: sums differ in the last bits (ndcg %.17g vs %.17g)", name, gpu.ndcg100, cpu.ndcg100);
    /* the special rows: 30 items left -> 30 ranked then -1; nothing left -> all -1 */
    CHECK(gpu_top[29] >= 0 && gpu_top[30] == -1);
    CHECK(gpu_top[VS_METRICS_TOPK] == -1 && gpu_top[2 * VS_METRICS_TOPK - 1] == -1);
    printf("%s: %d rows x %d items, %lld users counted, ndcg@100 sum %.6f, recall@20 sum %.6f\n", name, c->rows,
           c->n_items, (long long)gpu.users, gpu.ndcg100, gpu.recall20);
    free(cpu_top), free(gpu_top);
}

#endif

int main(void) {
    int missing = test_gpu_missing();
    if (missing) return missing;
#ifdef VS_HAVE_CUDA
    static const struct {
        const char *name;
        int rows, items, style;
    } cases[] = {
        {"ties and special values", 200, 3000, 0},
        {"all scores equal", 40, 20108, 1},
        {"continuous scores", 100, 20108, 2},
        {"fewer items than k", 20, 60, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        case_data c;
        case_make(&c, cases[i].rows, cases[i].items, cases[i].style, 12345 + i);
        check_case(&c, cases[i].name);
        case_free(&c);
    }

    /* Sums continue from what the caller passes in, as evaluate's chunks do. */
    case_data c;
    case_make(&c, 50, 500, 2, 7);
    vs_csr in = {c.rows, c.n_items, c.in_ptr, c.in_idx}, tg = {c.rows, c.n_items, c.tg_ptr, c.tg_idx};
    vs_metric_sums once = {0}, twice = {0};
    vs_error err = {{0}};
    CHECK_OK(vs_cuda_metrics_from_scores(c.scores, c.rows, c.n_items, &in, &tg, &once, NULL, &err), &err);
    twice = once;
    CHECK_OK(vs_cuda_metrics_from_scores(c.scores, c.rows, c.n_items, &in, &tg, &twice, NULL, &err), &err);
    CHECK(twice.users == 2 * once.users);
    CHECK_NEAR(twice.ndcg100, 2 * once.ndcg100, 1e-9);
    /* bad shapes are refused, not run */
    CHECK(vs_cuda_metrics_from_scores(c.scores, c.rows + 1, c.n_items, &in, &tg, &once, NULL, &err) == -1);
    case_free(&c);
    return test_finish();
#endif
}
