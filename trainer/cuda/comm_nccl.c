/* comm_nccl: GPU ranks' collectives on NCCL. Each communicator owns a CUDA stream that
 * is ordered with the legacy default stream the backend computes on (a blocking
 * stream), so a collective sees the gradient the step wrote and the Adam step sees the
 * sum. A collective is enqueued and then polled: done when its stream is idle, failed
 * when NCCL reports an error (ncclCommGetAsyncError) or another rank of this process
 * aborted, and after timeout_s the communicator is aborted (ncclCommAbort) so that no
 * rank hangs. Host-memory collectives (loss sums, metric sums, broadcasts of the state)
 * go through a device staging buffer.
 *
 * srun's ranks use a non-blocking communicator (so that a rank that never comes ends
 * the join at the timeout): there any NCCL call may return ncclInProgress before its
 * work is on the stream, and NCCL's rule is to poll ncclCommGetAsyncError until it is no
 * longer in progress before the next call or the use of the result. enqueued() does so
 * after every collective, before the staging buffer's copy back to the host is put on
 * the stream behind it. Waiting spins with sched_yield for the first milliseconds
 * (a collective of a step at batch 500 takes tens of microseconds; a sleep costs about
 * 100) and then sleeps, longer the longer it has waited (vs_ranks_pause).
 * tests/test_comm_nccl.c runs this file against a stand-in NCCL and CUDA runtime. */
#include "comm_nccl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cuda_runtime.h>
#include <nccl.h>

#include "trainer/ranks.h"

#define STAGING_BYTES ((size_t)64 << 20)

/* What the ranks of one process share: the first failure and its reason. */
typedef struct nccl_group {
    pthread_mutex_t mutex;
    int failed_rank;
    char reason[512];
    int users;
} nccl_group;

typedef struct nccl_comm {
    vs_comm base;
    ncclComm_t comm;
    int device;
    cudaStream_t stream;
    void *staging;
    nccl_group *group;
    int dead;            /* ncclCommAbort done */
} nccl_comm;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static nccl_group *group_new(int users) {
    nccl_group *g = vs_xcalloc(1, sizeof *g);
    pthread_mutex_init(&g->mutex, NULL);
    g->failed_rank = -1;
    g->users = users;
    return g;
}

static void group_fail(nccl_comm *c, const char *reason) {
    nccl_group *g = c->group;
    pthread_mutex_lock(&g->mutex);
    if (g->failed_rank < 0) {
        g->failed_rank = c->base.rank;
        snprintf(g->reason, sizeof g->reason, "%s", reason);
    }
    pthread_mutex_unlock(&g->mutex);
}

/* NCCL's communicator aborted: its pending work ends, later calls fail at once. */
static void kill_comm(nccl_comm *c) {
    if (!c->dead && c->comm) ncclCommAbort(c->comm);
    c->dead = 1;
}

static int failure(nccl_comm *c, const char *what, vs_error *err) {
    nccl_group *g = c->group;
    pthread_mutex_lock(&g->mutex);
    int who = g->failed_rank;
    char reason[512];
    snprintf(reason, sizeof reason, "%s", g->reason);
    pthread_mutex_unlock(&g->mutex);
    kill_comm(c);
    if (who == c->base.rank) return vs_errorf(err, "rank %d: %s: %s", c->base.rank, what, reason);
    return vs_errorf(err, "rank %d: %s: rank %d failed: %s", c->base.rank, what, who, reason);
}

static int failed(nccl_comm *c) {
    pthread_mutex_lock(&c->group->mutex);
    int f = c->group->failed_rank >= 0;
    pthread_mutex_unlock(&c->group->mutex);
    return f;
}

/* Waits for the enqueued work of c's stream, bounded as the file's comment says. */
static int wait_done(nccl_comm *c, const char *what, vs_error *err) {
    double start = now_seconds(), deadline = start + c->base.timeout_s;
    char reason[512];
    for (;;) {
        ncclResult_t async = ncclSuccess;
        ncclResult_t q = ncclCommGetAsyncError(c->comm, &async);
        if (q != ncclSuccess) async = q;
        if (async != ncclSuccess && async != ncclInProgress) {
            snprintf(reason, sizeof reason, "NCCL: %s (%s)", ncclGetErrorString(async), ncclGetLastError(c->comm));
            break;
        }
        if (async == ncclSuccess) {
            cudaError_t s = cudaStreamQuery(c->stream);
            if (s == cudaSuccess) return 0;
            if (s != cudaErrorNotReady) {
                snprintf(reason, sizeof reason, "CUDA: %s", cudaGetErrorString(s));
                break;
            }
        }
        if (failed(c)) return failure(c, what, err);
        if (now_seconds() > deadline) {
            snprintf(reason, sizeof reason, "timed out after %g s (another rank failed or stopped answering)",
                     c->base.timeout_s);
            break;
        }
        vs_ranks_pause(now_seconds() - start);
    }
    group_fail(c, reason);
    return failure(c, what, err);
}

/* After an NCCL call that returned r: 0 once its work is on the stream. ncclInProgress
 * (a non-blocking communicator) means not yet: poll ncclCommGetAsyncError until it says
 * otherwise, bounded as wait_done is; only then may the stream take more work. */
static int enqueued(nccl_comm *c, ncclResult_t r, const char *what, vs_error *err) {
    char reason[512];
    double start = now_seconds(), deadline = start + c->base.timeout_s;
    while (r == ncclInProgress) {
        ncclResult_t async = ncclInProgress;
        ncclResult_t q = ncclCommGetAsyncError(c->comm, &async);
        r = q != ncclSuccess ? q : async;
        if (r != ncclInProgress) break;
        if (failed(c)) return failure(c, what, err);
        if (now_seconds() > deadline) {
            snprintf(reason, sizeof reason, "timed out after %g s putting it on the stream (NCCL still in progress)",
                     c->base.timeout_s);
            group_fail(c, reason);
            return failure(c, what, err);
        }
        vs_ranks_pause(now_seconds() - start);
    }
    if (r == ncclSuccess) return 0;
    snprintf(reason, sizeof reason, "NCCL: %s (%s)", ncclGetErrorString(r), ncclGetLastError(c->comm));
    group_fail(c, reason);
    return failure(c, what, err);
}

static int cuda_ok(nccl_comm *c, cudaError_t s, const char *what, vs_error *err) {
    if (s == cudaSuccess) return 0;
    char reason[512];
    snprintf(reason, sizeof reason, "CUDA: %s", cudaGetErrorString(s));
    group_fail(c, reason);
    return failure(c, what, err);
}

static int nccl_allreduce_f32(vs_comm *base, float *buf, size_t n, vs_error *err) {
    nccl_comm *c = (nccl_comm *)base;
    const char *what = "all-reduce (float)";
    if (c->dead || failed(c)) return failure(c, what, err);
    return enqueued(c, ncclAllReduce(buf, buf, n, ncclFloat, ncclSum, c->comm, c->stream), what, err) ||
                   wait_done(c, what, err)
               ? -1
               : 0;
}

static int nccl_allreduce_f64(vs_comm *base, double *buf, size_t n, vs_error *err) {
    nccl_comm *c = (nccl_comm *)base;
    const char *what = "all-reduce (double)";
    if (c->dead || failed(c)) return failure(c, what, err);
    size_t per = STAGING_BYTES / sizeof(double);
    for (size_t off = 0; off < n; off += per) {
        size_t m = n - off < per ? n - off : per;
        if (cuda_ok(c, cudaMemcpyAsync(c->staging, buf + off, m * sizeof(double), cudaMemcpyHostToDevice, c->stream),
                    what, err) ||
            enqueued(c, ncclAllReduce(c->staging, c->staging, m, ncclDouble, ncclSum, c->comm, c->stream), what, err) ||
            cuda_ok(c, cudaMemcpyAsync(buf + off, c->staging, m * sizeof(double), cudaMemcpyDeviceToHost, c->stream),
                    what, err) ||
            wait_done(c, what, err))
            return -1;
    }
    return 0;
}

static int nccl_broadcast(vs_comm *base, void *buf, size_t n, int root, vs_error *err) {
    nccl_comm *c = (nccl_comm *)base;
    const char *what = "broadcast";
    if (c->dead || failed(c)) return failure(c, what, err);
    unsigned char *bytes = buf;
    for (size_t off = 0; off < n; off += STAGING_BYTES) {
        size_t m = n - off < STAGING_BYTES ? n - off : STAGING_BYTES;
        if ((base->rank == root &&
             cuda_ok(c, cudaMemcpyAsync(c->staging, bytes + off, m, cudaMemcpyHostToDevice, c->stream), what, err)) ||
            enqueued(c, ncclBroadcast(c->staging, c->staging, m, ncclChar, root, c->comm, c->stream), what, err) ||
            (base->rank != root &&
             cuda_ok(c, cudaMemcpyAsync(bytes + off, c->staging, m, cudaMemcpyDeviceToHost, c->stream), what, err)) ||
            wait_done(c, what, err))
            return -1;
    }
    return 0;
}

static void nccl_abort(vs_comm *base, const char *reason) {
    nccl_comm *c = (nccl_comm *)base;
    group_fail(c, reason);
    kill_comm(c);
}

static void nccl_destroy(vs_comm *base) {
    nccl_comm *c = (nccl_comm *)base;
    if (!c) return;
    /* After a clean end nothing is pending (every collective was waited for); the
     * ranks of one process are destroyed one after another, as NCCL's own example of
     * ncclCommInitAll does, which a globally synchronising ncclCommFinalize would not allow. */
    if (c->comm && !c->dead) ncclCommDestroy(c->comm);
    if (c->staging) cudaFree(c->staging);
    if (c->stream) cudaStreamDestroy(c->stream);
    pthread_mutex_lock(&c->group->mutex);
    int last = --c->group->users == 0;
    pthread_mutex_unlock(&c->group->mutex);
    if (last) {
        pthread_mutex_destroy(&c->group->mutex);
        free(c->group);
    }
    free(c);
}

static const vs_comm_ops nccl_ops = {
    .name = "nccl",
    .allreduce_f32 = nccl_allreduce_f32,
    .allreduce_f64 = nccl_allreduce_f64,
    .broadcast = nccl_broadcast,
    .abort = nccl_abort,
    .destroy = nccl_destroy,
};

/* The stream and staging buffer on the current device. */
static nccl_comm *comm_new(nccl_group *g, int rank, int size, int device, double timeout_s, vs_error *err) {
    nccl_comm *c = vs_xcalloc(1, sizeof *c);
    c->base.ops = &nccl_ops;
    c->base.rank = rank;
    c->base.size = size;
    c->base.timeout_s = timeout_s > 0 ? timeout_s : VS_COMM_DEFAULT_TIMEOUT;
    c->device = device;
    c->group = g;
    cudaError_t s = cudaStreamCreate(&c->stream);
    if (s == cudaSuccess) s = cudaMalloc(&c->staging, STAGING_BYTES);
    if (s != cudaSuccess) {
        vs_errorf(err, "NCCL rank %d on GPU %d: %s", rank, device, cudaGetErrorString(s));
        if (c->stream) cudaStreamDestroy(c->stream);
        free(c);
        return NULL;
    }
    return c;
}

int vs_comm_nccl_create_all(int size, double timeout_s, vs_comm **comms, vs_error *err) {
    int *devs = vs_xcalloc((size_t)size, sizeof(int));
    ncclComm_t *nc = vs_xcalloc((size_t)size, sizeof *nc);
    for (int d = 0; d < size; d++) devs[d] = d;
    int previous = 0;
    cudaError_t st = cudaGetDevice(&previous);
    if (st != cudaSuccess) {
        free(devs), free(nc);
        return vs_errorf(err, "NCCL ranks: cudaGetDevice: %s", cudaGetErrorString(st));
    }
    ncclResult_t r = ncclCommInitAll(nc, size, devs);
    free(devs);
    if (r != ncclSuccess) {
        free(nc);
        return vs_errorf(err, "ncclCommInitAll over %d GPUs: %s (%s)", size, ncclGetErrorString(r),
                         ncclGetLastError(NULL));
    }
    nccl_group *g = group_new(size);
    int made = 0;
    for (; made < size; made++) {
        st = cudaSetDevice(made);
        if (st != cudaSuccess) {
            vs_errorf(err, "NCCL rank %d: cudaSetDevice(%d): %s", made, made, cudaGetErrorString(st));
            break;
        }
        nccl_comm *c = comm_new(g, made, size, made, timeout_s, err);
        if (!c) break;
        c->comm = nc[made];
        comms[made] = &c->base;
    }
    int ok = made == size;
    st = cudaSetDevice(previous);
    if (ok && st != cudaSuccess) {
        vs_errorf(err, "NCCL ranks: cudaSetDevice(%d), back to the caller's device: %s", previous,
                  cudaGetErrorString(st));
        ok = 0;
    }
    if (!ok) {
        for (int k = 0; k < size; k++) ncclCommAbort(nc[k]);
        g->users = made + 1;   /* the ones made, and this function's hold */
        for (int k = 0; k < made; k++) {
            ((nccl_comm *)comms[k])->dead = 1;
            nccl_destroy(comms[k]);
        }
        pthread_mutex_destroy(&g->mutex);
        free(g);
        free(nc);
        return -1;
    }
    free(nc);
    return 0;
}

/* Rank 0 removes the id file once it has served, or when the join fails: a later
 * attempt's ranks must never find it (their file's name differs too: ranks.h). */
static vs_comm *join_failed(nccl_comm *c, const char *id_path, int rank) {
    if (rank == 0) unlink(id_path);
    if (c) {
        kill_comm(c);
        nccl_destroy(&c->base);
    }
    return NULL;
}

vs_comm *vs_comm_nccl_join(const char *id_path, int rank, int size, double timeout_s, vs_error *err) {
    if (timeout_s <= 0) timeout_s = VS_COMM_DEFAULT_TIMEOUT;
    ncclUniqueId id;
    if (rank == 0) {
        ncclResult_t r = ncclGetUniqueId(&id);
        if (r != ncclSuccess) {
            vs_errorf(err, "ncclGetUniqueId: %s", ncclGetErrorString(r));
            return NULL;
        }
        if (vs_ranks_publish(id_path, &id, sizeof id, err)) return NULL;
    } else if (vs_ranks_await(id_path, &id, sizeof id, timeout_s, err)) {
        return NULL;
    }
    int device = 0;
    cudaError_t st = cudaGetDevice(&device);
    if (st != cudaSuccess) {
        vs_errorf(err, "rank %d: cudaGetDevice: %s", rank, cudaGetErrorString(st));
        return join_failed(NULL, id_path, rank);
    }
    nccl_comm *c = comm_new(group_new(1), rank, size, device, timeout_s, err);
    if (!c) return join_failed(NULL, id_path, rank);
    /* Non-blocking: a rank that never comes ends the join at the timeout, not never. */
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    ncclResult_t r = ncclCommInitRankConfig(&c->comm, size, id, rank, &config);
    if (r != ncclSuccess && r != ncclInProgress) {
        vs_errorf(err, "rank %d: ncclCommInitRankConfig: %s", rank, ncclGetErrorString(r));
        c->dead = 1;
        return join_failed(c, id_path, rank);
    }
    double start = now_seconds(), deadline = start + timeout_s;
    for (;;) {
        ncclResult_t async = ncclInProgress;
        ncclResult_t q = ncclCommGetAsyncError(c->comm, &async);
        if (q != ncclSuccess) {
            vs_errorf(err, "rank %d: joining the NCCL ranks: ncclCommGetAsyncError: %s", rank, ncclGetErrorString(q));
            return join_failed(c, id_path, rank);
        }
        if (async == ncclSuccess) break;
        if (async != ncclInProgress || now_seconds() > deadline) {
            if (async == ncclInProgress)
                vs_errorf(err, "rank %d: the other %d ranks did not all join within %g s (%s)", rank, size - 1,
                          timeout_s, id_path);
            else
                vs_errorf(err, "rank %d: joining the NCCL ranks: %s", rank, ncclGetErrorString(async));
            return join_failed(c, id_path, rank);
        }
        vs_ranks_pause(now_seconds() - start);
    }
    /* everyone has joined: the id file has served (rank 0 removes it) */
    if (rank == 0) unlink(id_path);
    return &c->base;
}
