/* test_recommend: the resident recommender (vs_recommender, what `vaesearch recommend
 * --serve` keeps loaded) answers every user exactly as a fresh one-shot call does, while
 * its workspace grows and shrinks between users of very different sizes; and the
 * ranking itself: the user's own items excluded, probabilities that are the softmax of
 * the scores (checked against a direct double-precision forward pass through the
 * CPU layers), -1 past the end of a small catalogue, a bad index refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/pcg.h"
#include "test.h"
#include "trainer/cpu/cpu_layers.h"
#include "trainer/recommend.h"

enum { ITEMS = 301 };

static void make_model(vs_model_file *m, int n_items) {
    memset(m, 0, sizeof *m);
    vs_config_default(&m->cfg);
    m->cfg.n_hidden = 1;
    m->cfg.hidden_dims[0] = 24;
    m->cfg.latent_dim = 8;
    vs_model_shape_init(&m->shape, n_items, &m->cfg);
    m->params = vs_xalloc_aligned(m->shape.n_params * sizeof(float));
    vs_model_init_params(&m->shape, 3, m->params);
    /* Larger weights than the initialisation's, so scores differ clearly between items. */
    for (size_t i = 0; i < m->shape.n_params; i++) m->params[i] *= 8;
}

/* The softmax probability of every item for a user, in double, from the double layers. */
static void reference_probs(const vs_model_file *m, const int32_t *items, int n, double *prob) {
    const vs_model_shape *s = &m->shape;
    double *p = malloc(sizeof(double) * s->n_params);
    for (size_t i = 0; i < s->n_params; i++) p[i] = m->params[i];
    int32_t *row = malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    memcpy(row, items, sizeof(int32_t) * (size_t)n);   /* callers pass sorted unique items */
    int64_t ptr[2] = {0, n};
    vs_csr user = {1, s->n_items, ptr, row};
    int32_t zero = 0;
    vs_ws_f64 ws;
    vs_ws_init_f64(&ws, s, 1, n);
    vs_batch_build_f64(&ws, s, &user, &zero, 1, 0, 0, 1.0, 0);
    vs_model_forward_f64(&ws, s, p, 1);
    const double *logits = ws.act[s->n_enc + s->n_dec - 1];
    double mx = -INFINITY, sum = 0;
    for (int i = 0; i < s->n_items; i++) mx = fmax(mx, logits[i]);
    for (int i = 0; i < s->n_items; i++) sum += exp(logits[i] - mx);
    for (int i = 0; i < s->n_items; i++) prob[i] = exp(logits[i] - mx) / sum;
    vs_ws_free_f64(&ws);
    free(row), free(p);
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void check_resident_equals_one_shot(void) {
    vs_model_file m;
    make_model(&m, ITEMS);
    vs_recommender *r = vs_recommender_new(&m);
    vs_error err = {{0}};
    vs_pcg32 g = vs_stream(11, 0, 0, 0);
    const int sizes[] = {1, 250, 3, 40, 0, 299, 7, 120, 2, 60};
    enum { K = 50 };
    double prob_ref[ITEMS];
    for (int u = 0; u < 10; u++) {
        int n = sizes[u];
        int32_t items[300];
        for (int i = 0; i < n; i++) items[i] = (int32_t)vs_pcg32_bounded(&g, ITEMS);
        int32_t top_r[K], top_o[K];
        float prob_r[K], prob_o[K];
        CHECK_OK(vs_recommender_query(r, items, n, K, top_r, prob_r, &err), &err);
        CHECK_OK(vs_recommend(&m, items, n, K, top_o, prob_o, &err), &err);
        CHECK_MSG(!memcmp(top_r, top_o, sizeof top_r) && !memcmp(prob_r, prob_o, sizeof prob_r),
                  "user %d (%d items): resident and one-shot answers differ", u, n);
        /* the user's own items never come back; probabilities fall and match the reference */
        int32_t sorted[300];
        memcpy(sorted, items, sizeof(int32_t) * (size_t)n);
        qsort(sorted, (size_t)n, sizeof(int32_t), cmp_i32);
        int uniq = 0;
        for (int i = 0; i < n; i++)
            if (!uniq || sorted[uniq - 1] != sorted[i]) sorted[uniq++] = sorted[i];
        reference_probs(&m, sorted, uniq, prob_ref);
        int available = ITEMS - uniq;
        for (int j = 0; j < K; j++) {
            if (j >= available) {
                CHECK(top_r[j] == -1);
                continue;
            }
            CHECK(top_r[j] >= 0 && !bsearch(&top_r[j], sorted, (size_t)uniq, sizeof(int32_t), cmp_i32));
            if (j) CHECK(prob_r[j] <= prob_r[j - 1]);
            CHECK_NEAR(prob_r[j], prob_ref[top_r[j]], 1e-4 * prob_ref[top_r[j]] + 1e-9);   /* float vs double */
        }
    }
    vs_recommender_free(r);
    free(m.params);
}

static void check_small_catalogue_and_errors(void) {
    vs_model_file m;
    make_model(&m, 5);
    vs_recommender *r = vs_recommender_new(&m);
    vs_error err = {{0}};
    int32_t items[2] = {4, 1}, top[6];
    float prob[6];
    CHECK_OK(vs_recommender_query(r, items, 2, 6, top, prob, &err), &err);
    for (int j = 0; j < 3; j++) CHECK(top[j] == 0 || top[j] == 2 || top[j] == 3);
    for (int j = 3; j < 6; j++) CHECK(top[j] == -1 && prob[j] == 0.0f);
    double shown = (double)prob[0] + prob[1] + prob[2];   /* items 1 and 4 hold the rest of the mass */
    CHECK(shown > 0 && shown < 1);
    int32_t bad[2] = {2, 5};
    CHECK(vs_recommender_query(r, bad, 2, 3, top, prob, &err) == -1);
    CHECK(strstr(err.msg, "item index 5 out of range") != NULL);
    /* it still answers after a refused request */
    CHECK_OK(vs_recommender_query(r, items, 2, 3, top, prob, &err), &err);
    vs_recommender_free(r);
    free(m.params);
}

int main(void) {
    check_resident_equals_one_shot();
    check_small_catalogue_and_errors();
    return test_finish();
}
