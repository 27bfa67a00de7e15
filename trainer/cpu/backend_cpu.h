/* backend_cpu: the CPU backend, on OpenBLAS and OpenMP: the reference every other
 * backend is compared with. It trains in fp32 (the float build of cpu_layers.h). */
#ifndef VS_BACKEND_CPU_H
#define VS_BACKEND_CPU_H

#include "trainer/backend.h"

vs_backend *vs_backend_cpu_create(const vs_config *cfg, const vs_csr *train, int64_t n_items, vs_error *err);

#endif
