/* fake_nccl: the stand-in NCCL and CUDA runtime of fake_nccl.h. */
#include "fake_nccl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

fake_nccl_state fake_nccl;

/* The collective waiting to be "on the stream": it does its work when its polls run out. */
static struct {
    int active, polls_left;
    enum { OP_ALLREDUCE, OP_BROADCAST } op;
    void *buf;
    size_t count;
    ncclDataType_t type;
    int root;
} pending;

static struct CUstream_st *const the_stream = (struct CUstream_st *)&pending;
static struct ncclComm *const the_comm = (struct ncclComm *)&fake_nccl;

void fake_nccl_reset(void) {
    memset(&fake_nccl, 0, sizeof fake_nccl);
    memset(&pending, 0, sizeof pending);
    fake_nccl.rank = 1;
    fake_nccl.factor = 2;
    fake_nccl.set_device_fails_for = -1;
}

static void run(void) {
    if (pending.op == OP_ALLREDUCE) {
        for (size_t i = 0; i < pending.count; i++) {
            if (pending.type == ncclFloat) ((float *)pending.buf)[i] *= (float)fake_nccl.factor;
            else ((double *)pending.buf)[i] *= fake_nccl.factor;
        }
    } else if (fake_nccl.rank != pending.root) {
        for (size_t i = 0; i < pending.count; i++) ((unsigned char *)pending.buf)[i] = (unsigned char)(i * 13 + 5);
    }
    pending.active = 0;
}

static ncclResult_t start(void) {
    pending.active = 1;
    pending.polls_left = fake_nccl.collective_polls;
    if (pending.polls_left > 0) return ncclInProgress;
    run();
    return ncclSuccess;
}

/* ------------------------------------------------------------------ NCCL */

ncclResult_t ncclGetUniqueId(ncclUniqueId *id) {
    memset(id->internal, 0x5a, sizeof id->internal);
    return ncclSuccess;
}

ncclResult_t ncclCommInitRankConfig(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank, ncclConfig_t *config) {
    *comm = the_comm;
    fake_nccl.blocking = config->blocking;
    if (fake_nccl.init_polls > 0) return ncclInProgress;
    return fake_nccl.init_result;
}

ncclResult_t ncclCommInitAll(ncclComm_t *comms, int n, const int *devs) {
    for (int i = 0; i < n; i++) comms[i] = the_comm;
    return ncclSuccess;
}

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t *async) {
    fake_nccl.polls++;
    if (fake_nccl.poll_result != ncclSuccess) return fake_nccl.poll_result;
    if (fake_nccl.init_polls > 0) {   /* the communicator itself is still being made */
        *async = --fake_nccl.init_polls > 0 ? ncclInProgress : fake_nccl.init_result;
        return ncclSuccess;
    }
    if (pending.active && --pending.polls_left > 0) {
        *async = ncclInProgress;
        return ncclSuccess;
    }
    if (pending.active) run();
    *async = fake_nccl.async_error;
    return ncclSuccess;
}

ncclResult_t ncclAllReduce(const void *send, void *recv, size_t count, ncclDataType_t type, ncclRedOp_t op,
                           ncclComm_t comm, cudaStream_t stream) {
    pending.op = OP_ALLREDUCE, pending.buf = recv, pending.count = count, pending.type = type;
    return start();
}

ncclResult_t ncclBroadcast(const void *send, void *recv, size_t count, ncclDataType_t type, int root,
                           ncclComm_t comm, cudaStream_t stream) {
    pending.op = OP_BROADCAST, pending.buf = recv, pending.count = count, pending.type = type, pending.root = root;
    return start();
}

ncclResult_t ncclCommAbort(ncclComm_t comm) {
    fake_nccl.aborts++;
    return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
    fake_nccl.destroys++;
    return ncclSuccess;
}

const char *ncclGetErrorString(ncclResult_t r) {
    switch (r) {
    case ncclSuccess: return "no error";
    case ncclInProgress: return "operation in progress";
    case ncclRemoteError: return "remote process exited or there was a network error";
    default: return "fake NCCL error";
    }
}

const char *ncclGetLastError(ncclComm_t comm) { return "fake NCCL's last error"; }

/* ------------------------------------------------------------------ CUDA runtime */

cudaError_t cudaGetDevice(int *device) {
    *device = 0;
    return fake_nccl.get_device;
}

cudaError_t cudaSetDevice(int device) {
    return device == fake_nccl.set_device_fails_for ? cudaErrorInvalidDevice : cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t *stream) {
    *stream = the_stream;
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) { return cudaSuccess; }

cudaError_t cudaStreamQuery(cudaStream_t stream) { return pending.active ? cudaErrorNotReady : cudaSuccess; }

cudaError_t cudaMalloc(void **p, size_t bytes) {
    *p = calloc(1, bytes ? bytes : 1);
    return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t cudaFree(void *p) {
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, enum cudaMemcpyKind kind, cudaStream_t stream) {
    memcpy(dst, src, n);
    return cudaSuccess;
}

const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    default: return "fake CUDA error";
    }
}
