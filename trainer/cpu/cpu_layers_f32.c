/* cpu_layers_f32: the CPU layers in float, as the CPU backend trains. */
#include <math.h>

/* glibc's vector expf and tanhf (libmvec, linked through libm). glibc declares them
 * only under the whole of -ffast-math, whose finite-math-only this file leaves off
 * (the softmax relies on -inf); declared here, the loops over the logits vectorise. */
#pragma omp declare simd notinbranch
float expf(float);
#pragma omp declare simd notinbranch
float tanhf(float);

#define R float
#define SUF f32
#define GEMM cblas_sgemm
#include "cpu_layers_impl.h"
