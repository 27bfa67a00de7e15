/* device_cuda: the CUDA devices this process can use, and, when it can use none, why
 * not in the CUDA runtime's own words (the GPU tests print it; docs/cuda.md). Defined in
 * the CUDA module; in the programs, by trainer/cuda_loader.c (which also says why the
 * module did not load). */
#ifndef VS_DEVICE_CUDA_H
#define VS_DEVICE_CUDA_H

#ifdef __cplusplus
extern "C" {
#endif

/* Number of CUDA devices usable by this process; 0 when there is none or no driver. */
int vs_cuda_device_count(void);

/* NULL when the current device (the first visible one unless the process chose another)
 * is usable: a context can be created on it. Else why not, naming
 * the failing call and the runtime's error string, e.g. "cudaGetDeviceCount:
 * cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime
 * version". The text lives in a static buffer. */
const char *vs_cuda_device_problem(void);

#ifdef __cplusplus
}
#endif

#endif
