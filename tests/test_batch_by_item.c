/* test_batch_by_item: the CSC view of a batch (trainer/batch_by_item.h) holds every entry
 * exactly once, grouped by ascending item with rows ascending in each group; and the
 * first layer's weight gradient computed by item groups equals the row-by-row one to the
 * bit, in float and in double, also when the same view is rebuilt for another batch. */
#include <stdlib.h>
#include <string.h>

#include "common/pcg.h"
#include "test.h"
#include "trainer/batch_by_item.h"
#include "trainer/cpu/cpu_layers.h"

/* A random batch of rows users over n_items, each row's items ascending and distinct. */
static void random_batch(vs_pcg32 *g, int rows, int n_items, int max_per_row, int64_t *ptr, int32_t *idx) {
    ptr[0] = 0;
    char *seen = calloc((size_t)n_items, 1);
    for (int r = 0; r < rows; r++) {
        int n = (int)vs_pcg32_bounded(g, (uint32_t)max_per_row + 1);
        memset(seen, 0, (size_t)n_items);
        /* popular items are the low indices, as in real data */
        for (int j = 0; j < n; j++) {
            uint32_t a = vs_pcg32_bounded(g, (uint32_t)n_items), b = vs_pcg32_bounded(g, (uint32_t)n_items);
            seen[a < b ? a : b] = 1;
        }
        int64_t at = ptr[r];
        for (int i = 0; i < n_items; i++)
            if (seen[i]) idx[at++] = i;
        ptr[r + 1] = at;
    }
    free(seen);
}

static void check_view(const vs_batch_by_item *v, int rows, const int64_t *ptr, const int32_t *idx) {
    int64_t nnz = ptr[rows];
    CHECK(v->group_ptr[0] == 0 && v->group_ptr[v->n_groups] == nnz);
    char *used = calloc((size_t)(nnz ? nnz : 1), 1);
    int ok = 1;
    for (int gi = 0; gi < v->n_groups; gi++) {
        if (gi && v->item[gi] <= v->item[gi - 1]) ok = 0;
        if (v->group_ptr[gi + 1] <= v->group_ptr[gi]) ok = 0;   /* no empty group */
        for (int64_t k = v->group_ptr[gi]; k < v->group_ptr[gi + 1]; k++) {
            int64_t e = v->entry[k];
            if (e < 0 || e >= nnz || used[e] || idx[e] != v->item[gi]) ok = 0;
            else used[e] = 1;
            if (e >= 0 && e < nnz && !(ptr[v->row[k]] <= e && e < ptr[v->row[k] + 1])) ok = 0;
            if (k > v->group_ptr[gi] && v->row[k] <= v->row[k - 1]) ok = 0;
        }
    }
    for (int64_t e = 0; e < nnz; e++) ok &= used[e];
    CHECK_MSG(ok, "the view of a batch of %d rows, %lld entries, is wrong", rows, (long long)nnz);
    free(used);
}

static void check_gradients(void) {
    enum { ROWS = 300, ITEMS = 997, OUT = 37, MAXR = 60 };
    vs_pcg32 g = vs_stream(5, 0, 0, 0);
    int64_t ptr[ROWS + 1];
    int32_t *idx = malloc(sizeof(int32_t) * ROWS * MAXR);
    vs_batch_by_item view = {0};
    for (int round = 0; round < 3; round++) {
        int rows = round == 1 ? 17 : ROWS;   /* the view shrinks and grows again */
        random_batch(&g, rows, ITEMS, MAXR, ptr, idx);
        vs_batch_by_item_build(&view, rows, ptr, idx, ITEMS);
        check_view(&view, rows, ptr, idx);
        int64_t nnz = ptr[rows];
        float *val = malloc(sizeof(float) * (size_t)nnz), *dy = malloc(sizeof(float) * rows * OUT);
        double *vald = malloc(sizeof(double) * (size_t)nnz), *dyd = malloc(sizeof(double) * rows * OUT);
        for (int64_t k = 0; k < nnz; k++) vald[k] = val[k] = (float)vs_pcg32_next(&g) / 4294967296.0f;
        for (int i = 0; i < rows * OUT; i++) dyd[i] = dy[i] = (float)vs_pcg32_next(&g) / 2147483648.0f - 1.0f;
        float *a = calloc(ITEMS * OUT, sizeof(float)), *b = calloc(ITEMS * OUT, sizeof(float));
        double *ad = calloc(ITEMS * OUT, sizeof(double)), *bd = calloc(ITEMS * OUT, sizeof(double));
        vs_sparse_linear_backward_f32(rows, ptr, idx, val, dy, OUT, a, NULL);
        vs_sparse_linear_backward_by_item_f32(&view, val, dy, OUT, b);
        vs_sparse_linear_backward_f64(rows, ptr, idx, vald, dyd, OUT, ad, NULL);
        vs_sparse_linear_backward_by_item_f64(&view, vald, dyd, OUT, bd);
        CHECK_MSG(!memcmp(a, b, sizeof(float) * ITEMS * OUT), "float dW by item differs (round %d)", round);
        CHECK_MSG(!memcmp(ad, bd, sizeof(double) * ITEMS * OUT), "double dW by item differs (round %d)", round);
        double total = 0;
        for (int i = 0; i < ITEMS * OUT; i++) total += a[i] != 0;
        CHECK(total > 1000);   /* the batches touch many rows of dW */
        free(val), free(dy), free(vald), free(dyd), free(a), free(b), free(ad), free(bd);
    }
    /* an empty batch */
    int64_t zero[2] = {0, 0};
    vs_batch_by_item_build(&view, 1, zero, idx, ITEMS);
    CHECK(view.n_groups == 0 && view.group_ptr[0] == 0);
    vs_batch_by_item_free(&view);
    free(idx);
}

int main(void) {
    check_gradients();
    return test_finish();
}
