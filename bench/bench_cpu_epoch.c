/* bench_cpu_epoch: one training epoch of the CPU backend on the `ml20m` synthetic
 * preset (MovieLens-20M's shape), in users/s, beside the BLAS floor measured in the
 * same run: the decoder's three dense products alone (logits = h W, dW = h^T dY,
 * dh = dY W^T) for the same number of steps, timed in blocks alternating with the
 * training steps. The ratio epoch / floor says how much
 * time goes to everything that is not those products.
 *
 *   bench_cpu_epoch [--preset ml20m] [--batch 500] [--steps N] [--threads N]
 *
 * --steps limits the epoch to its first N steps (users/s stays comparable). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <omp.h>

#include "dataset/protocol.h"
#include "dataset/synth.h"
#include "trainer/backend.h"
#include "trainer/train.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const vs_error *err) {
    fprintf(stderr, "bench_cpu_epoch: %s\n", err->msg);
    exit(1);
}

int main(int argc, char **argv) {
    const char *preset = "ml20m";
    int batch = 500, threads = 0;
    int64_t max_steps = 0;
    static const struct option opts[] = {{"preset", 1, 0, 'p'}, {"batch", 1, 0, 'b'}, {"steps", 1, 0, 's'},
                                         {"threads", 1, 0, 't'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'p') preset = optarg;
        else if (c == 'b') batch = atoi(optarg);
        else if (c == 's') max_steps = atoll(optarg);
        else if (c == 't') threads = atoi(optarg);
        else return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);   /* lines appear as they come, also into a file */
    if (threads > 0) omp_set_num_threads(threads), openblas_set_num_threads(threads);
    vs_error err = {{0}};
    double t0 = now();
    vs_synth_opts so;
    if (vs_synth_preset(preset, &so, &err)) die(&err);
    vs_dataset ds = {0};
    if (vs_synth_dataset(&so, NULL, &ds, &err)) die(&err);
    printf("data: preset %s, %lld train users, %lld items, %lld train interactions (%.1f s)\n", preset,
           (long long)ds.train.rows, (long long)ds.n_items, (long long)vs_csr_nnz(&ds.train), now() - t0);

    vs_config cfg;
    vs_config_default(&cfg);
    cfg.batch_size = batch;
    vs_backend *b = vs_backend_create("cpu", &cfg, &ds.train, ds.n_items, &err);
    if (!b) die(&err);
    int64_t n = ds.train.rows, steps = (n + batch - 1) / batch;
    if (max_steps > 0 && max_steps < steps) steps = max_steps;
    int32_t *perm = malloc(sizeof(int32_t) * (size_t)n);
    vs_epoch_permutation(perm, n, cfg.seed, 0);

    /* The floor's buffers: the decoder output layer's three products. */
    int H = cfg.hidden_dims[0], n_items = (int)ds.n_items;
    float *h = calloc((size_t)batch * H, sizeof(float)), *W = calloc((size_t)H * n_items, sizeof(float));
    float *Y = calloc((size_t)batch * n_items, sizeof(float)), *dW = calloc((size_t)H * n_items, sizeof(float));
    float *dh = calloc((size_t)batch * H, sizeof(float));
    for (size_t i = 0; i < (size_t)batch * H; i++) h[i] = (float)(i % 7) * 0.01f;
    for (size_t i = 0; i < (size_t)H * n_items; i++) W[i] = (float)(i % 5) * 0.01f;

    /* Warm-up (first touch of every buffer, thread start-up), then the epoch and the
     * floor in alternating blocks of steps, so that both see the same machine: on a
     * shared machine the speed drifts over minutes. */
    vs_step_losses l;
    if (b->ops->train_step(b, perm, batch, 0, 0.0, &l, &err)) die(&err);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, n_items, H, 1, h, H, W, n_items, 0, Y, n_items);
    int64_t users = 0;
    double epoch_s = 0, floor_s = 0, flops = 0;
    const int64_t block = 5;
    for (int64_t k0 = 0; k0 < steps; k0 += block) {
        int64_t k1 = k0 + block < steps ? k0 + block : steps;
        double t = now();
        for (int64_t k = k0; k < k1; k++) {
            int rows = (int)(n - k * batch < batch ? n - k * batch : batch);
            if (b->ops->train_step(b, perm + k * batch, rows, k + 1, vs_config_beta(&cfg, k + 1), &l, &err)) die(&err);
            users += rows;
        }
        epoch_s += now() - t;
        t = now();
        for (int64_t k = k0; k < k1; k++) {
            int rows = (int)(n - k * batch < batch ? n - k * batch : batch);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, n_items, H, 1, h, H, W, n_items, 0, Y, n_items);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, n_items, rows, 1, h, H, Y, n_items, 0, dW, n_items);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, H, n_items, 1, Y, n_items, W, n_items, 0, dh, H);
            flops += 3.0 * 2.0 * rows * (double)H * n_items;
        }
        floor_s += now() - t;
    }
    printf("epoch: %lld steps of batch %d, %lld users in %.2f s: %.0f users/s (%d threads)\n", (long long)steps, batch,
           (long long)users, epoch_s, users / epoch_s, omp_get_max_threads());
    printf("floor: decoder's 3 products alone, same steps: %.2f s (%.1f GFLOP/s)\n", floor_s, flops / floor_s * 1e-9);
    printf("ratio: epoch / floor = %.3f\n", epoch_s / floor_s);
    printf("{\"bench\":\"cpu_epoch\",\"preset\":\"%s\",\"batch\":%d,\"steps\":%lld,\"users\":%lld,\"epoch_s\":%.4f,"
           "\"users_per_s\":%.1f,\"floor_s\":%.4f,\"floor_gflops\":%.2f,\"ratio\":%.4f,\"threads\":%d}\n",
           preset, batch, (long long)steps, (long long)users, epoch_s, users / epoch_s, floor_s, flops / floor_s * 1e-9,
           epoch_s / floor_s, omp_get_max_threads());
    free(h), free(W), free(Y), free(dW), free(dh), free(perm);
    vs_backend_destroy(b);
    vs_dataset_close(&ds);
    return 0;
}
