/* test_gpu_rng (label gpu): the CUDA backend draws the CPU backend's dropout masks and
 * noise, through its own batch-building and reparameterisation kernels (the code
 * train_step runs, reached by vs_cuda_backend_build_batch and vs_cuda_backend_reparam):
 *   - the batch: the same kept items with the same input values, bit for bit (integer
 *     draws, then 1/sqrt(n) and the division by keep_prob, correctly rounded on both)
 *   - the noise: the same normals within 1e-6 (Box-Muller in double: the GPU's log and
 *     cos may differ from glibc's in the last bit), and z = mu + eps exp(logvar/2)
 *     within 1e-6 of 1 + |z|
 * Skipped (77) without a CUDA build or a GPU; failed then when VS_REQUIRE_GPU=1. */
#include <stdint.h>

#include "test.h"
#include "test_gpu.h"
#include "common/pcg.h"
#include "trainer/cpu/cpu_layers.h"
#include "trainer/train.h"

int main(void) {
    int missing = test_gpu_missing();
    if (missing) return missing;
#ifdef VS_HAVE_CUDA
    enum { ROWS = 64 };
    const int64_t step = 1234;
    vs_dataset ds = {0};
    gpu_test_preset("small", &ds);
    vs_config cfg;
    vs_config_default(&cfg);
    cfg.seed = 98765;
    cfg.keep_prob = 0.5;
    cfg.batch_size = ROWS;
    vs_backend *gpu = gpu_test_backend("cuda", &cfg, &ds);
    const vs_model_shape *s = &gpu->shape;
    int32_t *perm = malloc(sizeof(int32_t) * (size_t)ds.train.rows);
    vs_epoch_permutation(perm, ds.train.rows, 5, 0);
    int64_t nnz = 0;
    for (int r = 0; r < ROWS; r++) nnz += ds.train.indptr[perm[r] + 1] - ds.train.indptr[perm[r]];

    /* the batch */
    int64_t ptr[ROWS + 1];
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)nnz);
    float *val = malloc(sizeof(float) * (size_t)nnz);
    vs_error err = {{0}};
    CHECK_OK(vs_cuda_backend_build_batch(gpu, perm, ROWS, step, ptr, idx, val, &err), &err);
    vs_ws_f32 ws;
    vs_ws_init_f32(&ws, s, ROWS, nnz + 1);
    vs_batch_build_f32(&ws, s, &ds.train, perm, ROWS, step, cfg.seed, cfg.keep_prob, 1);
    const vs_batch_f32 *bt = &ws.batch;
    int64_t differ = 0, kept = 0;
    CHECK(ptr[ROWS] == nnz);
    for (int r = 0; r < ROWS; r++) {
        const int32_t *items = ds.train.indices + ds.train.indptr[perm[r]];
        int64_t c = bt->in_ptr[r];
        for (int64_t k = ptr[r]; k < ptr[r + 1]; k++) {
            differ += idx[k] != items[k - ptr[r]];   /* every item of the row, in order */
            if (val[k] == 0.0f) continue;            /* dropped */
            kept++;
            if (c >= bt->in_ptr[r + 1] || bt->in_idx[c] != idx[k] || memcmp(&bt->in_val[c], &val[k], sizeof(float)))
                differ++;
            c++;
        }
        differ += c != bt->in_ptr[r + 1];   /* the CPU kept more */
    }
    printf("batch: %lld entries, %lld kept (keep_prob %.2f), %lld differences from the CPU's\n", (long long)nnz,
           (long long)kept, cfg.keep_prob, (long long)differ);
    CHECK_MSG(differ == 0, "%lld batch entries differ from the CPU's", (long long)differ);
    CHECK(kept > nnz / 4 && kept < 3 * nnz / 4);

    /* the noise and z, on an encoder output with mu and logvar of every sign */
    int L = s->latent;
    float *mulv = malloc(sizeof(float) * ROWS * 2 * L), *eps = malloc(sizeof(float) * ROWS * L);
    float *z = malloc(sizeof(float) * ROWS * L), *z_cpu = malloc(sizeof(float) * ROWS * L);
    vs_pcg32 g = vs_stream(3, 77, 0, 0);
    for (int i = 0; i < ROWS * 2 * L; i++) mulv[i] = (float)(4.0 * vs_pcg32_unit_double(&g) - 2.0);
    CHECK_OK(vs_cuda_backend_reparam(gpu, perm, ROWS, step, mulv, eps, z, &err), &err);
    vs_reparam_forward_f32(ROWS, L, mulv, bt->eps, z_cpu);
    int64_t eps_bits = 0, z_bits = 0;
    double eps_worst = 0, z_worst = 0;
    for (int i = 0; i < ROWS * L; i++) {
        eps_bits += eps[i] != bt->eps[i];
        z_bits += z[i] != z_cpu[i];
        eps_worst = fmax(eps_worst, fabs((double)eps[i] - bt->eps[i]));
        z_worst = fmax(z_worst, fabs((double)z[i] - z_cpu[i]) / (1.0 + fabs((double)z_cpu[i])));
    }
    printf("noise: %lld of %d values differ from the CPU's in the last bits (worst %.3g); z: %lld differ (worst %.3g "
           "of 1 + |z|)\n",
           (long long)eps_bits, ROWS * L, eps_worst, (long long)z_bits, z_worst);
    CHECK(eps_worst < 1e-6);
    CHECK(z_worst < 1e-6);
    vs_ws_free_f32(&ws);
    free(idx), free(val), free(mulv), free(eps), free(z), free(z_cpu), free(perm);
    vs_backend_destroy(gpu);
    vs_dataset_close(&ds);
    return test_finish();
#endif
}
