/* cuda_check: every CUDA runtime call goes through CUDA_TRY, which turns a failure
 * into a vs_error naming the call, the file and the line, and returns -1. */
#ifndef VS_CUDA_CHECK_H
#define VS_CUDA_CHECK_H

#include <cuda_runtime.h>

#include "vs_error.h"

#define CUDA_TRY(err, call)                                                                         \
    do {                                                                                            \
        cudaError_t status_ = (call);                                                               \
        if (status_ != cudaSuccess)                                                                 \
            return vs_errorf((err), "%s:%d: %s: %s", __FILE__, __LINE__, #call, cudaGetErrorString(status_)); \
    } while (0)

#endif
