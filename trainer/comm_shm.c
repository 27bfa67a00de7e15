/* comm_shm: the CPU ranks' communicator for the threads of one process (--ranks N), over
 * a heap block they share (processes, on one node or several, use comm_tcp.c). The
 * block holds a header (the barrier's counters and the failure, as
 * atomics) and one slot per rank plus a result slot. A collective moves
 * its buffer through the slots a chunk at a time: every rank copies its chunk into its
 * slot, waits for the others, sums its share of the elements over the slots in rank
 * order 0, 1, ... into the result (so the sum is the same whichever thread runs first),
 * waits, copies the result out, and waits once more before the slots are reused. */
#define _GNU_SOURCE
#include "comm.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SHM_MAGIC 0x766173636f6d6d32ull   /* "vascomm2" */
#define SHM_MAX_RANKS 256
#define SLOT_BYTES ((size_t)4 << 20)      /* a chunk: 1M floats */

/* Lock-free atomics only: a thread stuck anywhere leaves no lock held and no waiter that a
 * wake-up would wait for; the others notice it by the timeout. */
typedef struct shm_header {
    uint64_t magic;
    int32_t size;
    _Atomic int32_t failed_rank;          /* -1 while every rank is well */
    _Atomic int32_t reason_ready;         /* reason written by failed_rank */
    _Atomic int32_t arrived;              /* ranks waiting at the current barrier */
    _Atomic int32_t users;                /* communicators still using a heap block */
    _Atomic int64_t generation;           /* barriers completed */
    _Atomic int64_t passes[SHM_MAX_RANKS]; /* barriers each rank has entered */
    char reason[512];
} shm_header;

typedef struct shm_comm {
    vs_comm base;
    shm_header *h;
    unsigned char *slots;                 /* size + 1 slots of SLOT_BYTES; the last is the result */
} shm_comm;

static size_t header_bytes(void) { return (sizeof(shm_header) + 63) / 64 * 64; }
static size_t block_bytes(int size) { return header_bytes() + (size_t)(size + 1) * SLOT_BYTES; }

static unsigned char *slot(shm_comm *c, int r) { return c->slots + (size_t)r * SLOT_BYTES; }

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Waiting politely: a few yields, then short sleeps. */
static void pause_a_little(int *spins) {
    if (++*spins < 200) sched_yield();
    else usleep(20);
}

/* Marks the block failed with this rank's reason (the first failure wins). */
static void fail(shm_comm *c, const char *reason) {
    shm_header *h = c->h;
    int32_t none = -1;
    if (atomic_compare_exchange_strong(&h->failed_rank, &none, c->base.rank)) {
        snprintf(h->reason, sizeof h->reason, "%s", reason);
        atomic_store(&h->reason_ready, 1);
    }
}

static int failed_error(shm_comm *c, const char *what, vs_error *err) {
    shm_header *h = c->h;
    int spins = 0;
    for (double until = now_seconds() + 1.0; !atomic_load(&h->reason_ready) && now_seconds() < until;)
        pause_a_little(&spins);
    int who = atomic_load(&h->failed_rank);
    const char *reason = atomic_load(&h->reason_ready) ? h->reason : "(no reason given)";
    if (who == c->base.rank) return vs_errorf(err, "rank %d: %s: %s", c->base.rank, what, reason);
    return vs_errorf(err, "rank %d: %s: rank %d failed: %s", c->base.rank, what, who, reason);
}

/* Waits until every rank has entered this barrier, the block fails, or the timeout
 * passes (which fails the block, naming the ranks that did not come). */
static int barrier(shm_comm *c, const char *what, vs_error *err) {
    shm_header *h = c->h;
    int size = c->base.size, me = c->base.rank;
    if (atomic_load(&h->failed_rank) >= 0) return failed_error(c, what, err);
    int64_t gen = atomic_load(&h->generation);   /* cannot move before this rank arrives */
    int64_t mine = atomic_fetch_add(&h->passes[me], 1) + 1;
    if (atomic_fetch_add(&h->arrived, 1) + 1 == size) {
        atomic_store(&h->arrived, 0);
        atomic_fetch_add(&h->generation, 1);
        return 0;
    }
    double deadline = now_seconds() + c->base.timeout_s;
    int spins = 0;
    while (atomic_load(&h->generation) == gen) {
        if (atomic_load(&h->failed_rank) >= 0) return failed_error(c, what, err);
        if (now_seconds() > deadline) {
            char missing[256] = "";
            size_t used = 0;
            for (int r = 0; r < size && used < sizeof missing - 16; r++)
                if (atomic_load(&h->passes[r]) < mine)
                    used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%d", used ? ", " : "", r);
            char reason[512];
            snprintf(reason, sizeof reason, "timed out after %g s waiting for rank%s %s", c->base.timeout_s,
                     strchr(missing, ',') ? "s" : "", missing);
            fail(c, reason);
            return failed_error(c, what, err);
        }
        pause_a_little(&spins);
    }
    return 0;
}

/* The elements [lo, hi) of this rank's share of n. */
static void share(const shm_comm *c, size_t n, size_t *lo, size_t *hi) {
    size_t R = (size_t)c->base.size, r = (size_t)c->base.rank;
    *lo = n * r / R;
    *hi = n * (r + 1) / R;
}

#define DEFINE_ALLREDUCE(NAME, T, WHAT)                                                         \
    static int NAME(vs_comm *base, T *buf, size_t n, vs_error *err) {                           \
        shm_comm *c = (shm_comm *)base;                                                         \
        const size_t per = SLOT_BYTES / sizeof(T);                                              \
        T *result = (T *)slot(c, base->size);                                                   \
        for (size_t off = 0; off < n || off == 0; off += per) {                                 \
            size_t m = n - off < per ? n - off : per;                                           \
            memcpy(slot(c, base->rank), buf + off, m * sizeof(T));                              \
            if (barrier(c, WHAT, err)) return -1;                                               \
            size_t lo, hi;                                                                      \
            share(c, m, &lo, &hi);                                                              \
            const T *first = (const T *)slot(c, 0);                                             \
            for (size_t i = lo; i < hi; i++) result[i] = first[i];                              \
            for (int r = 1; r < base->size; r++) {                                              \
                const T *s = (const T *)slot(c, r);                                             \
                for (size_t i = lo; i < hi; i++) result[i] += s[i];                             \
            }                                                                                   \
            if (barrier(c, WHAT, err)) return -1;                                               \
            memcpy(buf + off, result, m * sizeof(T));                                           \
            if (barrier(c, WHAT, err)) return -1;                                               \
            if (n == 0) break;                                                                  \
        }                                                                                       \
        return 0;                                                                               \
    }

DEFINE_ALLREDUCE(shm_allreduce_f32, float, "all-reduce (float)")
DEFINE_ALLREDUCE(shm_allreduce_f64, double, "all-reduce (double)")

static int shm_broadcast(vs_comm *base, void *buf, size_t n, int root, vs_error *err) {
    shm_comm *c = (shm_comm *)base;
    unsigned char *bytes = buf, *result = slot(c, base->size);
    for (size_t off = 0; off < n || off == 0; off += SLOT_BYTES) {
        size_t m = n - off < SLOT_BYTES ? n - off : SLOT_BYTES;
        if (base->rank == root) memcpy(result, bytes + off, m);
        if (barrier(c, "broadcast", err)) return -1;
        if (base->rank != root) memcpy(bytes + off, result, m);
        if (barrier(c, "broadcast", err)) return -1;
        if (n == 0) break;
    }
    return 0;
}

static void shm_abort(vs_comm *base, const char *reason) { fail((shm_comm *)base, reason); }

static void shm_destroy(vs_comm *base) {
    shm_comm *c = (shm_comm *)base;
    if (atomic_fetch_sub(&c->h->users, 1) == 1) free(c->h);
    free(c);
}

static const vs_comm_ops shm_ops = {
    .name = "cpu",
    .allreduce_f32 = shm_allreduce_f32,
    .allreduce_f64 = shm_allreduce_f64,
    .broadcast = shm_broadcast,
    .abort = shm_abort,
    .destroy = shm_destroy,
};

static void header_init(shm_header *h, int size) {
    h->size = size;
    atomic_store(&h->failed_rank, -1);
    h->magic = SHM_MAGIC;
}

static shm_comm *comm_new(shm_header *h, int rank, int size, double timeout_s) {
    shm_comm *c = vs_xcalloc(1, sizeof *c);
    c->base.ops = &shm_ops;
    c->base.rank = rank;
    c->base.size = size;
    c->base.timeout_s = timeout_s > 0 ? timeout_s : VS_COMM_DEFAULT_TIMEOUT;
    c->h = h;
    c->slots = (unsigned char *)h + header_bytes();
    return c;
}

static int check_size(int rank, int size, vs_error *err) {
    if (size < 1 || size > SHM_MAX_RANKS)
        return vs_errorf(err, "communicator: %d ranks (expected 1 to %d)", size, SHM_MAX_RANKS);
    if (rank < 0 || rank >= size) return vs_errorf(err, "communicator: rank %d of %d", rank, size);
    return 0;
}

int vs_comm_threads_create(int size, double timeout_s, vs_comm **comms, vs_error *err) {
    if (check_size(0, size, err)) return -1;
    shm_header *h = vs_xalloc_aligned(block_bytes(size));   /* zeroed */
    header_init(h, size);
    atomic_store(&h->users, size);
    for (int r = 0; r < size; r++) comms[r] = &comm_new(h, r, size, timeout_s)->base;
    return 0;
}
