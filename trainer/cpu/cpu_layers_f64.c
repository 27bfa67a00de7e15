/* cpu_layers_f64: the CPU layers in double, for gradient checks against finite differences. */
#define R double
#define SUF f64
#define GEMM cblas_dgemm
#include "cpu_layers_impl.h"
