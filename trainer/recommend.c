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

int vs_recommend(const vs_model_file *m, const int32_t *items, int n, int k, int32_t *out_idx, float *out_prob,
                 vs_error *err) {
    const vs_model_shape *s = &m->shape;
    int32_t *row = vs_xmalloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    int unique = 0;
    memcpy(row, items, sizeof(int32_t) * (size_t)n);
    qsort(row, (size_t)n, sizeof(int32_t), cmp_i32);
    for (int i = 0; i < n; i++) {
        if (row[i] < 0 || row[i] >= s->n_items) {
            int32_t bad = row[i];
            free(row);
            return vs_errorf(err, "item index %d out of range [0, %d)", bad, s->n_items);
        }
        if (unique == 0 || row[unique - 1] != row[i]) row[unique++] = row[i];
    }
    int64_t ptr[2] = {0, unique};
    vs_csr user = {1, s->n_items, ptr, row};
    int32_t zero = 0;
    vs_ws_f32 ws;
    vs_ws_init_f32(&ws, s, 1, unique);
    vs_batch_build_f32(&ws, s, &user, &zero, 1, 0, 0, 1.0, 0);
    vs_model_forward_f32(&ws, s, m->params, 1);
    const float *logits = ws.act[s->n_enc + s->n_dec - 1];
    int32_t *top = vs_xmalloc(sizeof(int32_t) * (size_t)(k > 0 ? k : 1));
    vs_topk_row(logits, s->n_items, row, unique, k, top);
    float mx = -INFINITY;
    for (int i = 0; i < s->n_items; i++) mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0;
    for (int i = 0; i < s->n_items; i++) sum += exp((double)logits[i] - mx);
    for (int j = 0; j < k; j++) {
        out_idx[j] = top[j];
        out_prob[j] = top[j] < 0 ? 0.0f : (float)(exp((double)logits[top[j]] - mx) / sum);
    }
    free(top);
    vs_ws_free_f32(&ws);
    free(row);
    return 0;
}
