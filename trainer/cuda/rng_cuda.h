/* rng_cuda: the counter-based random streams of pcg.h drawn on the GPU, so that the
 * CUDA backend's dropout masks and reparameterisation noise are the CPU backend's, bit
 * for bit. A C API (host pointers in and out) for tests and for the CUDA backend's
 * set-up; the __device__ functions themselves are pcg.h's. */
#ifndef VS_RNG_CUDA_H
#define VS_RNG_CUDA_H

#include <stdint.h>

#include "common/vs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Number of CUDA devices usable by this process; 0 when there is none or no driver. */
int vs_cuda_device_count(void);

/* keep_out[k] = 1 when entry k of the batch (row r = users[r], entries ptr[r]..ptr[r+1]
 * with item idx[k]) survives dropout at this step, else 0. */
int vs_cuda_draw_dropout(uint64_t seed, int64_t step, const int32_t *users, int rows, const int64_t *ptr,
                         const int32_t *idx, float keep_prob, uint8_t *keep_out, vs_error *err);

/* eps_out[r * latent + j]: the standard normal for (seed, step, users[r], j). */
int vs_cuda_draw_noise(uint64_t seed, int64_t step, const int32_t *users, int rows, int latent, float *eps_out,
                       vs_error *err);

#ifdef __cplusplus
}
#endif

#endif
