/* bench_sparse_backward: the first layer's weight gradient, dW1[i,:] += val * dy[r,:]
 * over a batch's input entries, two ways on the CPU, on batches of the `ml20m` synthetic
 * preset (MovieLens-20M's shape and popularity): row by row with OpenMP column blocks
 * (the baseline), and by item groups (trainer/batch_by_item.h, the default, each dW1 row
 * written by one thread; the grouping's own cost included). Both give the same bits
 * (test_batch_by_item); alternating blocks share the machine's state. Prints ms per step
 * and the ratio baseline / by-item.
 *
 *   bench_sparse_backward [--batch 500] [--steps 40] [--threads N] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <omp.h>

#include "dataset/protocol.h"
#include "dataset/synth.h"
#include "trainer/batch_by_item.h"
#include "trainer/cpu/cpu_layers.h"
#include "trainer/train.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const vs_error *err) {
    fprintf(stderr, "bench_sparse_backward: %s\n", err->msg);
    exit(1);
}

int main(int argc, char **argv) {
    int batch = 500, steps = 40, threads = 0, out = 600;
    static const struct option opts[] = {{"batch", 1, 0, 'b'}, {"steps", 1, 0, 's'}, {"threads", 1, 0, 't'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'b') batch = atoi(optarg);
        else if (c == 's') steps = atoi(optarg);
        else if (c == 't') threads = atoi(optarg);
        else return 2;
    }
    if (batch < 1 || steps < 2) return fprintf(stderr, "bench_sparse_backward: --batch >= 1, --steps >= 2\n"), 2;
    if (threads > 0) omp_set_num_threads(threads);
    vs_error err = {{0}};
    vs_synth_opts so;
    if (vs_synth_preset("ml20m", &so, &err)) die(&err);
    vs_dataset ds = {0};
    if (vs_synth_dataset(&so, NULL, &ds, &err)) die(&err);
    const vs_csr *tr = &ds.train;
    int n_items = (int)ds.n_items;
    int32_t *perm = malloc(sizeof(int32_t) * (size_t)tr->rows);
    vs_epoch_permutation(perm, tr->rows, 1, 0);

    /* Each step's batch as the layer sees it (no dropout: every entry kept). */
    int64_t *ptr = malloc(sizeof(int64_t) * (size_t)(batch + 1));
    int64_t cap = 0;
    for (int s = 0; s < steps; s++) {
        int64_t n = 0;
        for (int r = 0; r < batch; r++) {
            int32_t u = perm[((int64_t)s * batch + r) % tr->rows];
            n += tr->indptr[u + 1] - tr->indptr[u];
        }
        if (n > cap) cap = n;
    }
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)cap);
    float *val = malloc(sizeof(float) * (size_t)cap), *dy = malloc(sizeof(float) * (size_t)batch * out);
    float *dW = calloc((size_t)n_items * out, sizeof(float));
    for (size_t i = 0; i < (size_t)batch * out; i++) dy[i] = (float)(i % 13) * 0.01f - 0.06f;
    vs_batch_by_item g = {0};
    double base_s = 0, item_s = 0;
    int64_t entries = 0;
    for (int s = -1; s < steps; s++) {   /* step -1 warms up */
        int step = s < 0 ? 0 : s;
        ptr[0] = 0;
        for (int r = 0; r < batch; r++) {
            int32_t u = perm[((int64_t)step * batch + r) % tr->rows];
            int64_t n = tr->indptr[u + 1] - tr->indptr[u];
            memcpy(idx + ptr[r], tr->indices + tr->indptr[u], sizeof(int32_t) * (size_t)n);
            for (int64_t k = 0; k < n; k++) val[ptr[r] + k] = 0.1f;
            ptr[r + 1] = ptr[r] + n;
        }
        double t0 = now();
        vs_sparse_linear_backward_f32(batch, ptr, idx, val, dy, out, dW, NULL);
        double t1 = now();
        vs_batch_by_item_build(&g, batch, ptr, idx, n_items);
        vs_sparse_linear_backward_by_item_f32(&g, val, dy, out, dW);
        double t2 = now();
        if (s >= 0) base_s += t1 - t0, item_s += t2 - t1, entries += ptr[batch];
    }
    printf("ml20m batches of %d users (%.0f entries a step on average), 600 outputs, %d threads, %d steps\n", batch,
           (double)entries / steps, omp_get_max_threads(), steps);
    printf("row by row (column blocks): %.3f ms a step\n", 1e3 * base_s / steps);
    printf("by item groups (with grouping): %.3f ms a step\n", 1e3 * item_s / steps);
    printf("ratio row-by-row / by-item: %.2f\n", base_s / item_s);
    vs_batch_by_item_free(&g);
    free(perm), free(ptr), free(idx), free(val), free(dy), free(dW);
    vs_dataset_close(&ds);
    return 0;
}
