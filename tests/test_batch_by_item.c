/* test_batch_by_item: the CSC view of a batch (trainer/batch_by_item.h) holds every entry
 * exactly once, grouped by ascending item with rows ascending in each group; and the
 * first layer's weight gradient computed by item groups equals the row-by-row one to the
 * bit, in float and in double, also when the same view is rebuilt for another batch.
 * Then the GPU's way to the same groups (trainer/cuda/batch_plan.h, whose functions the
 * kernels of by_item.cuh call), replayed on the host step by step with a stable sort in
 * place of CUB's: from a batch with dropped entries (value 0) it must give the compacted
 * input the CPU builds (kept entries only, rows in order) and, item for item, the
 * groups of batch_by_item on that input: the same rows, in the same order, with the same
 * values; so the dW1 it computes adds the same terms in the same order. */
#include <stdlib.h>
#include <string.h>

#include "common/pcg.h"
#include "test.h"
#include "trainer/batch_by_item.h"
#include "trainer/cpu/cpu_layers.h"
#include "trainer/cuda/batch_plan.h"

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

/* ------------------------------------------------------------------ the GPU's plan, on the host */

typedef struct keyed {
    uint32_t key;
    int64_t at;   /* the entry's place before sorting: the tie-break that makes qsort stable */
    uint64_t val;
} keyed;

static int keyed_cmp(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* The plan of by_item.cuh for a batch (rows, ptr, idx, val with 0 for dropped entries),
 * each kernel's loop run on the host in index order: it must match the CPU's compacted
 * input (kept entries) and batch_by_item's groups on it. Returns 1 when everything matched. */
static int replay_plan(int rows, const int64_t *ptr, const int32_t *idx, const float *val, int32_t n_items) {
    int64_t nnz = ptr[rows];
    int32_t *pos = malloc(sizeof(int32_t) * (size_t)(nnz + 1));
    keyed *sorted = malloc(sizeof(keyed) * (size_t)(nnz ? nnz : 1));
    uint32_t *keys = malloc(sizeof(uint32_t) * (size_t)(nnz ? nnz : 1));
    int ok = 1;
    /* step 1: plan_entries_kernel */
    for (int r = 0; r < rows; r++)
        for (int64_t k = ptr[r]; k < ptr[r + 1]; k++) {
            pos[k] = vs_plan_kept(val[k]);
            sorted[k] = (keyed){vs_plan_key(val[k], idx[k], n_items), k, vs_plan_pack(r, val[k])};
            if (vs_plan_row(sorted[k].val) != r || vs_plan_val(sorted[k].val) != val[k]) ok = 0;
        }
    /* step 2: the flags' exclusive prefix sum (CUB's DeviceScan), then compact_kernel */
    pos[nnz] = 0;
    int32_t run = 0;
    for (int64_t k = 0; k <= nnz; k++) {
        int32_t f = pos[k];
        pos[k] = run;
        run += f;
    }
    int64_t *in_ptr = malloc(sizeof(int64_t) * (size_t)(rows + 1));
    int32_t *in_idx = malloc(sizeof(int32_t) * (size_t)(nnz ? nnz : 1));
    float *in_val = malloc(sizeof(float) * (size_t)(nnz ? nnz : 1));
    for (int r = 0; r < rows; r++) {
        in_ptr[r] = pos[ptr[r]];
        if (r == rows - 1) in_ptr[rows] = pos[ptr[rows]];
        for (int64_t k = ptr[r]; k < ptr[r + 1]; k++)
            if (vs_plan_kept(val[k])) in_idx[pos[k]] = idx[k], in_val[pos[k]] = val[k];
    }
    /* the CPU's compacted input: the kept entries, row by row, in order */
    int64_t n_kept = 0;
    for (int r = 0; r < rows; r++) {
        if (in_ptr[r] != n_kept) ok = 0;
        for (int64_t k = ptr[r]; k < ptr[r + 1]; k++)
            if (val[k] != 0) {
                if (in_idx[n_kept] != idx[k] || in_val[n_kept] != val[k]) ok = 0;
                n_kept++;
            }
    }
    if (in_ptr[rows] != n_kept) ok = 0;
    /* step 3: the stable sort by key (CUB's DeviceRadixSort), then group_starts_kernel */
    qsort(sorted, (size_t)nnz, sizeof *sorted, keyed_cmp);
    for (int64_t k = 0; k < nnz; k++) keys[k] = sorted[k].key;
    int32_t *starts = malloc(sizeof(int32_t) * (size_t)(n_items + 1));
    for (int32_t i = 0; i <= n_items; i++) starts[i] = vs_plan_group_start(keys, (int32_t)nnz, (uint32_t)i);
    if (starts[n_items] != n_kept) ok = 0;
    /* batch_by_item on the compacted input: the same groups, item for item */
    vs_batch_by_item view = {0};
    vs_batch_by_item_build(&view, rows, in_ptr, in_idx, n_items);
    int gi = 0;
    for (int32_t i = 0; i < n_items && ok; i++) {
        int32_t len = starts[i + 1] - starts[i];
        if (gi < view.n_groups && view.item[gi] == i) {
            int64_t g0 = view.group_ptr[gi];
            if (len != view.group_ptr[gi + 1] - g0) ok = 0;
            for (int32_t t = 0; t < len && ok; t++) {
                uint64_t p = sorted[starts[i] + t].val;
                if (vs_plan_row(p) != view.row[g0 + t] || vs_plan_val(p) != in_val[view.entry[g0 + t]]) ok = 0;
            }
            gi++;
        } else if (len != 0) {
            ok = 0;
        }
    }
    if (gi != view.n_groups) ok = 0;
    vs_batch_by_item_free(&view);
    free(pos), free(sorted), free(keys), free(in_ptr), free(in_idx), free(in_val), free(starts);
    return ok;
}

static void check_gpu_plan(void) {
    enum { ROWS = 400, ITEMS = 1201, MAXR = 80 };
    vs_pcg32 g = vs_stream(6, 0, 0, 0);
    int64_t ptr[ROWS + 1];
    int32_t *idx = malloc(sizeof(int32_t) * ROWS * MAXR);
    float *val = malloc(sizeof(float) * ROWS * MAXR);
    /* dropout at 0.5 (the paper's), none, and everything dropped */
    static const double keep[] = {0.5, 1.0, 0.0};
    for (int round = 0; round < 3; round++) {
        int rows = round == 1 ? 1 : ROWS;
        random_batch(&g, rows, ITEMS, MAXR, ptr, idx);
        for (int64_t k = 0; k < ptr[rows]; k++)
            val[k] = vs_pcg32_unit_double(&g) < keep[round] ? 0.25f + (float)(k % 7) : 0.0f;
        CHECK_MSG(replay_plan(rows, ptr, idx, val, ITEMS), "the GPU's plan differs from batch_by_item (round %d)", round);
    }
    /* the last item present: its key is n_items - 1, beside the dropped entries' n_items */
    int64_t p2[3] = {0, 2, 3};
    int32_t i2[3] = {3, ITEMS - 1, ITEMS - 1};
    float v2[3] = {1, 0, 2};
    CHECK(replay_plan(2, p2, i2, v2, ITEMS));
    CHECK(vs_plan_key_bits(1) == 1 && vs_plan_key_bits(20108) == 15 && vs_plan_key_bits(32767) == 15 &&
          vs_plan_key_bits(32768) == 16);
    /* a negative zero is kept out like zero; a negative value packs and unpacks */
    CHECK(!vs_plan_kept(-0.0f) && vs_plan_val(vs_plan_pack(7, -1.5f)) == -1.5f && vs_plan_row(vs_plan_pack(7, -1.5f)) == 7);
    free(idx), free(val);
}

int main(void) {
    check_gradients();
    check_gpu_plan();
    return test_finish();
}
