/* test_gpu_rng (label gpu): the GPU draws the CPU backend's dropout masks and noise,
 * exactly: the same (seed, step, user, item) gives the same decision and the same
 * normal. Skipped (77) without a CUDA build or a GPU. */
#include <stdint.h>

#include "test.h"
#include "test_gpu.h"
#include "common/pcg.h"
#include "trainer/cpu/cpu_layers.h"
#ifdef VS_HAVE_CUDA
#include "trainer/cuda/rng_cuda.h"
#endif

int main(void) {
    if (test_gpu_missing()) return 77;
#ifdef VS_HAVE_CUDA
    enum { ROWS = 64, ITEMS = 5000, LATENT = 200 };
    int64_t ptr[ROWS + 1];
    int32_t *idx = malloc(sizeof(int32_t) * ROWS * ITEMS), users[ROWS];
    vs_pcg32 g = vs_stream(3, 77, 0, 0);
    ptr[0] = 0;
    for (int r = 0; r < ROWS; r++) {
        users[r] = (int32_t)vs_pcg32_bounded(&g, 100000);
        int64_t n = ptr[r];
        for (int i = 0; i < ITEMS; i++)
            if (vs_pcg32_bounded(&g, 50) == 0) idx[n++] = i;
        ptr[r + 1] = n;
    }
    uint8_t *keep = malloc((size_t)ptr[ROWS]);
    vs_error err = {{0}};
    CHECK_OK(vs_cuda_draw_dropout(98765, 1234, users, ROWS, ptr, idx, 0.5f, keep, &err), &err);
    int64_t mismatches = 0;
    uint32_t thr = vs_keep_threshold(0.5f);
    for (int r = 0; r < ROWS; r++)
        for (int64_t k = ptr[r]; k < ptr[r + 1]; k++)
            mismatches += keep[k] != (vs_stream_at(98765, VS_RNG_DROPOUT, 1234, (uint64_t)users[r], (uint64_t)idx[k]) < thr);
    CHECK_MSG(mismatches == 0, "%lld dropout decisions differ", (long long)mismatches);

    float *eps = malloc(sizeof(float) * ROWS * LATENT);
    CHECK_OK(vs_cuda_draw_noise(98765, 1234, users, ROWS, LATENT, eps, &err), &err);
    int64_t differ = 0;
    double worst = 0;
    for (int r = 0; r < ROWS; r++) {
        vs_pcg32 s = vs_stream(98765, VS_RNG_NOISE, 1234, (uint64_t)users[r]);
        for (int j = 0; j < LATENT; j++) {
            float want = (float)vs_pcg32_normal(&s);
            differ += eps[r * LATENT + j] != want;
            worst = fmax(worst, fabs((double)eps[r * LATENT + j] - want));
        }
    }
    printf("noise: %lld of %d values differ in the last bit (worst %g)\n", (long long)differ, ROWS * LATENT, worst);
    CHECK(worst < 1e-6);
    free(idx), free(keep), free(eps);
    return test_finish();
#endif
}
