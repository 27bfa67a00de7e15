/* fake_nccl: a stand-in for NCCL and the few CUDA runtime calls trainer/cuda/comm_nccl.c
 * makes, so that test_comm_nccl runs that file on a machine without a GPU. "Device"
 * memory is host memory and a copy happens when it is enqueued; a collective can be made
 * to answer ncclInProgress (a non-blocking communicator) for a number of polls of
 * ncclCommGetAsyncError before it is on the stream, and only then does its work, so a
 * copy enqueued too early reads the old bytes. Faults are injected by the fields below. */
#ifndef VS_TEST_FAKE_NCCL_H
#define VS_TEST_FAKE_NCCL_H

#include <cuda_runtime.h>
#include <nccl.h>

typedef struct fake_nccl_state {
    /* set by the test */
    int rank;                   /* this process's rank in the collectives' effects */
    int factor;                 /* an all-reduce multiplies by this (the ranks' sum of equal buffers) */
    int init_polls;             /* ncclCommInitRankConfig in progress for this many polls */
    int collective_polls;       /* each collective in progress for this many polls (0: done at once) */
    ncclResult_t init_result;   /* what ncclCommInitRankConfig returns when not in progress */
    ncclResult_t poll_result;   /* what ncclCommGetAsyncError itself returns (ncclSuccess) */
    ncclResult_t async_error;   /* the error it reports once a collective is on the stream */
    cudaError_t get_device;     /* cudaGetDevice's result */
    int set_device_fails_for;   /* cudaSetDevice(this device) fails (-1: none) */
    /* counted */
    int aborts, destroys, polls, blocking;
} fake_nccl_state;

extern fake_nccl_state fake_nccl;

/* Back to the defaults: every call succeeds at once, rank 1, factor 2. */
void fake_nccl_reset(void);

#endif
