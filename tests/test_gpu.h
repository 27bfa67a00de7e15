/* test_gpu.h: what the gpu-labelled tests share: they report themselves skipped (exit 77)
 * in a build without CUDA or on a machine without a GPU. */
#ifndef VS_TEST_GPU_H
#define VS_TEST_GPU_H

#include <stdio.h>

#ifdef VS_HAVE_CUDA
#include "trainer/cuda/rng_cuda.h"   /* vs_cuda_device_count */
#endif

/* 1 (after saying why) when the test cannot run here. */
static inline int test_gpu_missing(void) {
#ifndef VS_HAVE_CUDA
    printf("skipped: built without CUDA\n");
    return 1;
#else
    if (vs_cuda_device_count() < 1) {
        printf("skipped: no CUDA device\n");
        return 1;
    }
    return 0;
#endif
}

#endif
