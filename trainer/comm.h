/* comm: the communicator of data-parallel training (docs/trainer.md, "Ranks"). R ranks
 * each compute the gradient of their share of a batch; the communicator sums those
 * gradients and the loss sums over the ranks and hands every rank the same result, so
 * every rank applies the same Adam step. Three implementations:
 *   comm_shm.c            CPU ranks as threads of one process (vs_comm_threads_create)
 *   comm_tcp.c            CPU ranks as processes, on one node or several (srun's tasks:
 *                         vs_comm_tcp_join), over TCP, meeting through a file
 *                         both sum in rank order, so results are reproducible and the
 *                         same for threads and processes.
 *   cuda/comm_nccl.c      GPUs through NCCL (builds with NCCL only).
 * Every collective is bounded by a timeout, and a rank that fails aborts the
 * communicator with its reason: the other ranks' collectives then fail with that reason
 * instead of waiting for a rank that will never come. */
#ifndef VS_COMM_H
#define VS_COMM_H

#include <stddef.h>

#include "common/vs_error.h"

typedef struct vs_comm vs_comm;

typedef struct vs_comm_ops {
    const char *name;
    /* Sums n floats over the ranks, in place, in the memory where the rank's backend
     * keeps its tensors (host for CPU ranks, the GPU for NCCL: grad_buffer's). */
    int (*allreduce_f32)(vs_comm *c, float *buf, size_t n, vs_error *err);
    /* Sums n doubles over the ranks, in place, in host memory. */
    int (*allreduce_f64)(vs_comm *c, double *buf, size_t n, vs_error *err);
    /* Copies root's n bytes of host memory to every rank. */
    int (*broadcast)(vs_comm *c, void *buf, size_t n, int root, vs_error *err);
    /* Marks the communicator failed with reason: every rank's collective, now or later,
     * fails with "rank R failed: reason". Safe to call more than once. */
    void (*abort)(vs_comm *c, const char *reason);
    void (*destroy)(vs_comm *c);
} vs_comm_ops;

struct vs_comm {
    const vs_comm_ops *ops;
    int rank, size;
    double timeout_s;   /* the longest one collective waits for the other ranks */
};

/* Seconds a collective waits by default (rank 0 may be writing a checkpoint meanwhile). */
#define VS_COMM_DEFAULT_TIMEOUT 600.0

/* size CPU ranks as threads of this process: comms[r] is rank r's (each used by one
 * thread). Destroy every one. */
int vs_comm_threads_create(int size, double timeout_s, vs_comm **comms, vs_error *err);

/* This process as rank `rank` of `size` CPU ranks, which may run on different machines:
 * rank 0 listens on a TCP port and writes its addresses, the port and a random token to
 * the file path (in a folder every rank sees: the run folder); the others read it (up to
 * timeout_s for it to appear) and connect. Rank 0 removes the file once all have joined.
 * Nothing but the file is shared, and it only once: the ranks need to reach rank 0's
 * node over TCP. */
vs_comm *vs_comm_tcp_join(const char *path, int rank, int size, double timeout_s, vs_error *err);

static inline int vs_comm_allreduce_f32(vs_comm *c, float *buf, size_t n, vs_error *err) {
    return c->ops->allreduce_f32(c, buf, n, err);
}
static inline int vs_comm_allreduce_f64(vs_comm *c, double *buf, size_t n, vs_error *err) {
    return c->ops->allreduce_f64(c, buf, n, err);
}
static inline int vs_comm_broadcast(vs_comm *c, void *buf, size_t n, int root, vs_error *err) {
    return c->ops->broadcast(c, buf, n, root, err);
}
static inline void vs_comm_abort(vs_comm *c, const char *reason) { c->ops->abort(c, reason); }
static inline void vs_comm_destroy(vs_comm *c) {
    if (c) c->ops->destroy(c);
}

#endif
