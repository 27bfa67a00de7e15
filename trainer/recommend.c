/* recommend: top-k recommendations for one user from a loaded model. */
#include "recommend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "trainer/cpu/cpu_layers.h"

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

struct vs_recommender {
    const vs_model_file *m;
    vs_ws_f32 ws;
    int32_t *row, *top;   /* the user's sorted unique items; the top-k scratch */
    int row_cap, top_cap;
};

vs_recommender *vs_recommender_new(const vs_model_file *m) {
    vs_recommender *r = vs_xcalloc(1, sizeof *r);
    r->m = m;
    vs_ws_init_f32(&r->ws, &m->shape, 1, 64);
    return r;
}

void vs_recommender_free(vs_recommender *r) {
    if (!r) return;
    vs_ws_free_f32(&r->ws);
    free(r->row);
    free(r->top);
    free(r);
}

int vs_recommender_query(vs_recommender *r, const int32_t *items, int n, int k, int32_t *out_idx, float *out_prob,
                         vs_error *err) {
    const vs_model_shape *s = &r->m->shape;
    if (n > r->row_cap) {
        r->row_cap = n;
        r->row = vs_xrealloc(r->row, sizeof(int32_t) * (size_t)n);
    }
    if (k > r->top_cap) {
        r->top_cap = k;
        r->top = vs_xrealloc(r->top, sizeof(int32_t) * (size_t)k);
    }
    int32_t *row = r->row;
    int unique = 0;
    if (n > 0) memcpy(row, items, sizeof(int32_t) * (size_t)n);
    qsort(row, (size_t)n, sizeof(int32_t), cmp_i32);
    for (int i = 0; i < n; i++) {
        if (row[i] < 0 || row[i] >= s->n_items) return vs_errorf(err, "item index %d out of range [0, %d)", row[i], s->n_items);
        if (unique == 0 || row[unique - 1] != row[i]) row[unique++] = row[i];
    }
    int64_t ptr[2] = {0, unique};
    vs_csr user = {1, s->n_items, ptr, row};
    int32_t zero = 0;
    vs_batch_build_f32(&r->ws, s, &user, &zero, 1, 0, 0, 1.0, 0);
    vs_model_forward_f32(&r->ws, s, r->m->params, 1);
    const float *logits = r->ws.act[s->n_enc + s->n_dec - 1];
    vs_topk_row(logits, s->n_items, row, unique, k, r->top);
    float mx = -INFINITY;
    for (int i = 0; i < s->n_items; i++) mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0;
    for (int i = 0; i < s->n_items; i++) sum += exp((double)logits[i] - mx);
    for (int j = 0; j < k; j++) {
        out_idx[j] = r->top[j];
        out_prob[j] = r->top[j] < 0 ? 0.0f : (float)(exp((double)logits[r->top[j]] - mx) / sum);
    }
    return 0;
}

int vs_recommend(const vs_model_file *m, const int32_t *items, int n, int k, int32_t *out_idx, float *out_prob,
                 vs_error *err) {
    vs_recommender *r = vs_recommender_new(m);
    int rc = vs_recommender_query(r, items, n, k, out_idx, out_prob, err);
    vs_recommender_free(r);
    return rc;
}
