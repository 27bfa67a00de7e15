/* backend: chooses a backend by name. */
#include "backend.h"

#include <string.h>

#include "trainer/cpu/backend_cpu.h"

#ifdef VS_HAVE_CUDA
#include "trainer/cuda/backend_cuda.h"
#include "trainer/cuda/device_cuda.h"
#endif

vs_backend *vs_backend_create(const char *device, const vs_config *cfg, const vs_csr *train, int64_t n_items,
                              vs_error *err) {
    if (!strcmp(device, "cpu")) return vs_backend_cpu_create(cfg, train, n_items, err);
    if (!strcmp(device, "cuda")) {
#ifdef VS_HAVE_CUDA
        return vs_backend_cuda_create(cfg, train, n_items, err);
#else
        vs_errorf(err, "--device cuda: this build has no CUDA backend (configure with -DVAESEARCH_CUDA=ON on a "
                       "machine with the CUDA toolkit); use --device cpu");
        return NULL;
#endif
    }
    vs_errorf(err, "--device '%s': unknown device (expected cpu or cuda)", device);
    return NULL;
}

void vs_backend_destroy(vs_backend *b) {
    if (b) b->ops->destroy(b);
}

int vs_backend_gpu_count(void) {
#ifdef VS_HAVE_CUDA
    return vs_cuda_device_count();
#else
    return 0;
#endif
}

int vs_backend_use_gpu(int index, vs_error *err) {
#ifdef VS_HAVE_CUDA
    return vs_cuda_use_device(index, err);
#else
    return vs_errorf(err, "GPU %d: this build has no CUDA backend", index);
#endif
}
