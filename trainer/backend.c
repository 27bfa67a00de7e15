/* backend: chooses a backend by name. The CUDA backend lives in the CUDA module,
 * loaded when it is first asked for (cuda_loader.c). */
#include "backend.h"

#include <string.h>

#include "cuda_loader.h"
#include "trainer/cpu/backend_cpu.h"
#include "trainer/cuda/backend_cuda.h"
#include "trainer/cuda/device_cuda.h"

vs_backend *vs_backend_create(const char *device, const vs_config *cfg, const vs_csr *train, int64_t n_items,
                              vs_error *err) {
    if (!strcmp(device, "cpu")) return vs_backend_cpu_create(cfg, train, n_items, err);
    if (!strcmp(device, "cuda")) return vs_backend_cuda_create(cfg, train, n_items, err);
    vs_errorf(err, "--device '%s': unknown device (expected cpu or cuda)", device);
    return NULL;
}

void vs_backend_destroy(vs_backend *b) {
    if (b) b->ops->destroy(b);
}

int vs_backend_gpu_count(void) { return vs_cuda_device_count(); }

int vs_backend_gpu_discover(void) { return vs_cuda_device_count_apart(); }

int vs_backend_use_gpu(int index, vs_error *err) { return vs_cuda_use_device(index, err); }
