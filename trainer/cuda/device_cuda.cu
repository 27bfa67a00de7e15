/* device_cuda: counting the usable CUDA devices, and the reason when there is none. */
#include "device_cuda.h"

#include <stdio.h>

#include <cuda_runtime.h>

extern "C" int vs_cuda_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return n;
}

static const char *runtime_problem(const char *call, cudaError_t st) {
    static char why[512];
    snprintf(why, sizeof why, "%s: %s: %s", call, cudaGetErrorName(st), cudaGetErrorString(st));
    (void)cudaGetLastError();
    return why;
}

extern "C" const char *vs_cuda_device_problem(void) {
    int n = 0;
    cudaError_t st = cudaGetDeviceCount(&n);
    if (st != cudaSuccess) return runtime_problem("cudaGetDeviceCount", st);
    if (n < 1) return "cudaGetDeviceCount: no CUDA device is visible to this process";
    /* a context on the current device: fails on a busy exclusive-mode GPU, a broken driver */
    if ((st = cudaFree(NULL)) != cudaSuccess) return runtime_problem("cudaFree(NULL) (creating a context)", st);
    return NULL;
}
