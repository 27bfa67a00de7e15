/* cpu_layers_f32: the CPU layers in float, as the CPU backend trains. */
#define R float
#define SUF f32
#define GEMM cblas_sgemm
#include "cpu_layers_impl.h"
