/* cuda_check: every CUDA runtime and cuBLAS call goes through CUDA_TRY or CUBLAS_TRY,
 * and every kernel launch is followed by KERNEL_TRY: a failure becomes a vs_error naming
 * the call (or kernel), the file and the line, and the function returns -1. */
#ifndef VS_CUDA_CHECK_H
#define VS_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "common/vs_error.h"

#define CUDA_TRY(err, call)                                                                         \
    do {                                                                                            \
        cudaError_t status_ = (call);                                                               \
        if (status_ != cudaSuccess)                                                                 \
            return vs_errorf((err), "%s:%d: %s: %s", __FILE__, __LINE__, #call, cudaGetErrorString(status_)); \
    } while (0)

/* A cuBLAS call that fails becomes a vs_error naming the call, the file and the line. */
#define CUBLAS_TRY(err, call)                                                                         \
    do {                                                                                              \
        cublasStatus_t cublas_status_ = (call);                                                       \
        if (cublas_status_ != CUBLAS_STATUS_SUCCESS)                                                  \
            return vs_errorf((err), "%s:%d: %s: %s", __FILE__, __LINE__, #call,                       \
                             cublasGetStatusString(cublas_status_));                                  \
    } while (0)

/* After a kernel launch: a bad configuration is reported here, by the kernel's name;
 * a fault while it runs surfaces at the next synchronising call, which names itself. */
#define KERNEL_TRY(err, name)                                                                         \
    do {                                                                                              \
        cudaError_t launch_status_ = cudaGetLastError();                                              \
        if (launch_status_ != cudaSuccess)                                                            \
            return vs_errorf((err), "%s:%d: kernel %s: %s", __FILE__, __LINE__, (name),               \
                             cudaGetErrorString(launch_status_));                                     \
    } while (0)

#endif
