/* comm_tcp: the CPU ranks' communicator for processes that need share nothing but a
 * folder: srun's tasks (--ranks slurm), on one node or on several. Rank 0 listens on a
 * TCP port and publishes where (its addresses, the port and a random token) in a file
 * of the run folder, which a cluster keeps on a file system every node mounts; the
 * other ranks read that file, connect, and from then on talk over TCP alone: no memory,
 * lock or file is shared while they train, so nodes need only reach each other over
 * the network. The ranks form a star around rank 0: for a sum, each rank sends its
 * chunk to rank 0, which adds them in rank order 0, 1, ... (the order comm_shm.c adds
 * threads' values in, so R processes give the same bits as R threads) and sends the
 * result back. A rank that fails sends its reason to rank 0, which passes it on; a rank
 * whose connection closes (its process ended) fails the collective at once, one that
 * hangs (or whose node died) at the timeout. */
#define _GNU_SOURCE
#include "comm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ranks.h"

#define TCP_MAX_RANKS 4096
#define CHUNK_BYTES ((size_t)1 << 20)
#define FRAME_MAGIC 0x76736331u   /* "vsc1" */
#define MAX_ADDRESSES 16

enum { FRAME_HELLO = 1, FRAME_WELCOME, FRAME_DATA, FRAME_ABORT };

/* Every message: this header, then `bytes` of payload. */
typedef struct frame {
    uint32_t magic, kind;
    int32_t rank;      /* the sender (FRAME_ABORT: the rank that failed) */
    int32_t size;      /* FRAME_HELLO: the ranks it was started with */
    uint64_t bytes;
} frame;

typedef struct tcp_comm {
    vs_comm base;
    int *peer;          /* rank 0: a socket a rank (peer[0] unused); others: peer[0], rank 0's */
    int failed_rank;    /* -1 while every rank is well */
    char reason[512];
    unsigned char *chunk;   /* rank 0: a chunk received, before it is added */
} tcp_comm;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- failures ---- */

static void send_abort(int fd, int rank, const char *reason);

/* Marks the communicator failed (the first failure wins) and tells the others: rank 0
 * every rank, any other rank rank 0, which passes it on. */
static void fail_as(tcp_comm *c, int rank, const char *reason) {
    if (c->failed_rank >= 0) return;
    c->failed_rank = rank;
    snprintf(c->reason, sizeof c->reason, "%s", reason);
    if (c->base.rank == 0) {
        for (int r = 1; r < c->base.size; r++)
            if (r != rank && c->peer[r] >= 0) send_abort(c->peer[r], rank, reason);
    } else if (rank == c->base.rank && c->peer[0] >= 0) {
        send_abort(c->peer[0], rank, reason);
    }
}

static int failed_error(tcp_comm *c, const char *what, vs_error *err) {
    if (c->failed_rank == c->base.rank) return vs_errorf(err, "rank %d: %s: %s", c->base.rank, what, c->reason);
    return vs_errorf(err, "rank %d: %s: rank %d failed: %s", c->base.rank, what, c->failed_rank, c->reason);
}

/* ---- bytes over a socket, within a deadline ---- */

/* 0 when done; -1 with why (timed out, closed, an error) in why. */
static int send_all(int fd, const void *bytes, size_t n, double deadline, char *why, size_t wn) {
    const unsigned char *p = bytes;
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k > 0) {
            p += k, n -= (size_t)k;
            continue;
        }
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            snprintf(why, wn, "%s", errno == EPIPE || errno == ECONNRESET ? "its connection closed" : strerror(errno));
            return -1;
        }
        double left = deadline - now_seconds();
        if (left <= 0) {
            snprintf(why, wn, "timed out");
            return -1;
        }
        struct pollfd pf = {fd, POLLOUT, 0};
        poll(&pf, 1, (int)(left * 1000) + 1);
    }
    return 0;
}

static int recv_all(int fd, void *bytes, size_t n, double deadline, char *why, size_t wn) {
    unsigned char *p = bytes;
    while (n) {
        ssize_t k = recv(fd, p, n, MSG_DONTWAIT);
        if (k > 0) {
            p += k, n -= (size_t)k;
            continue;
        }
        if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            snprintf(why, wn, "%s", k == 0 || errno == ECONNRESET ? "its connection closed" : strerror(errno));
            return -1;
        }
        double left = deadline - now_seconds();
        if (left <= 0) {
            snprintf(why, wn, "timed out");
            return -1;
        }
        struct pollfd pf = {fd, POLLIN, 0};
        poll(&pf, 1, (int)(left * 1000) + 1);
    }
    return 0;
}

static void send_abort(int fd, int rank, const char *reason) {
    size_t n = strlen(reason);
    frame f = {FRAME_MAGIC, FRAME_ABORT, rank, 0, n};
    char why[64];
    double deadline = now_seconds() + 1.0;   /* best effort: a peer that reads nothing is not waited for */
    if (send_all(fd, &f, sizeof f, deadline, why, sizeof why) == 0) send_all(fd, reason, n, deadline, why, sizeof why);
}

/* ---- a collective's messages ---- */

/* Sends n bytes to rank `to` (its socket fd) as a DATA frame; on failure, fails c. */
static int send_data(tcp_comm *c, int fd, int to, const void *bytes, size_t n, double deadline) {
    frame f = {FRAME_MAGIC, FRAME_DATA, c->base.rank, c->base.size, n};
    char why[128], reason[256];
    if (send_all(fd, &f, sizeof f, deadline, why, sizeof why) == 0 && send_all(fd, bytes, n, deadline, why, sizeof why) == 0)
        return 0;
    if (!strcmp(why, "timed out"))
        snprintf(reason, sizeof reason, "timed out after %g s waiting for rank %d", c->base.timeout_s, to);
    else snprintf(reason, sizeof reason, "lost rank %d (%s) while waiting for rank %d", to, why, to);
    fail_as(c, c->base.rank, reason);
    return -1;
}

/* Receives a DATA frame of exactly n bytes from rank `from`; an ABORT frame fails c with
 * the sender's reason, anything else with what went wrong. */
static int recv_data(tcp_comm *c, int fd, int from, void *bytes, size_t n, double deadline) {
    frame f;
    char why[128], reason[512];
    if (recv_all(fd, &f, sizeof f, deadline, why, sizeof why) == 0) {
        if (f.magic == FRAME_MAGIC && f.kind == FRAME_ABORT && f.bytes < sizeof reason) {
            if (recv_all(fd, reason, f.bytes, now_seconds() + 1.0, why, sizeof why)) snprintf(reason, sizeof reason, "(no reason given)");
            else reason[f.bytes] = 0;
            fail_as(c, f.rank >= 0 && f.rank < c->base.size ? f.rank : from, reason);
            return -1;
        }
        if (f.magic == FRAME_MAGIC && f.kind == FRAME_DATA && f.bytes == n && f.rank == from &&
            recv_all(fd, bytes, n, deadline, why, sizeof why) == 0)
            return 0;
        if (f.magic != FRAME_MAGIC || f.kind != FRAME_DATA || f.bytes != n || f.rank != from)
            snprintf(why, sizeof why, "it sent %llu bytes where %zu were due: the ranks went out of step",
                     (unsigned long long)f.bytes, n);
    }
    if (!strcmp(why, "timed out"))
        snprintf(reason, sizeof reason, "timed out after %g s waiting for rank %d", c->base.timeout_s, from);
    else snprintf(reason, sizeof reason, "lost rank %d (%s) while waiting for rank %d", from, why, from);
    fail_as(c, c->base.rank, reason);
    return -1;
}

/* ---- collectives ---- */

#define DEFINE_ALLREDUCE(NAME, T, WHAT)                                                                 \
    static int NAME(vs_comm *base, T *buf, size_t n, vs_error *err) {                                   \
        tcp_comm *c = (tcp_comm *)base;                                                                 \
        if (c->failed_rank >= 0) return failed_error(c, WHAT, err);                                     \
        if (base->size == 1) return 0;                                                                  \
        const size_t per = CHUNK_BYTES / sizeof(T);                                                     \
        double deadline = now_seconds() + base->timeout_s;                                              \
        for (size_t off = 0; off < n; off += per) {                                                     \
            size_t m = n - off < per ? n - off : per, bytes = m * sizeof(T);                            \
            T *mine = buf + off;                                                                        \
            if (base->rank == 0) {                                                                      \
                const T *theirs = (const T *)c->chunk;                                                  \
                for (int r = 1; r < base->size; r++) { /* rank order: rank 0's values, + 1's, + 2's */  \
                    if (recv_data(c, c->peer[r], r, c->chunk, bytes, deadline))                         \
                        return failed_error(c, WHAT, err);                                              \
                    for (size_t i = 0; i < m; i++) mine[i] += theirs[i];                                \
                }                                                                                       \
                for (int r = 1; r < base->size; r++)                                                    \
                    if (send_data(c, c->peer[r], r, mine, bytes, deadline)) return failed_error(c, WHAT, err); \
            } else if (send_data(c, c->peer[0], 0, mine, bytes, deadline) ||                            \
                       recv_data(c, c->peer[0], 0, mine, bytes, deadline)) {                            \
                return failed_error(c, WHAT, err);                                                      \
            }                                                                                           \
        }                                                                                               \
        return 0;                                                                                       \
    }

DEFINE_ALLREDUCE(tcp_allreduce_f32, float, "all-reduce (float)")
DEFINE_ALLREDUCE(tcp_allreduce_f64, double, "all-reduce (double)")

static int tcp_broadcast(vs_comm *base, void *buf, size_t n, int root, vs_error *err) {
    tcp_comm *c = (tcp_comm *)base;
    const char *what = "broadcast";
    if (c->failed_rank >= 0) return failed_error(c, what, err);
    if (base->size == 1) return 0;
    double deadline = now_seconds() + base->timeout_s;
    unsigned char *bytes = buf;
    for (size_t off = 0; off < n; off += CHUNK_BYTES) {
        size_t m = n - off < CHUNK_BYTES ? n - off : CHUNK_BYTES;
        /* another root's bytes go through rank 0 */
        if (root != 0) {
            if (base->rank == root && send_data(c, c->peer[0], 0, bytes + off, m, deadline)) return failed_error(c, what, err);
            if (base->rank == 0 && recv_data(c, c->peer[root], root, bytes + off, m, deadline))
                return failed_error(c, what, err);
        }
        if (base->rank == 0) {
            for (int r = 1; r < base->size; r++)
                if (r != root && send_data(c, c->peer[r], r, bytes + off, m, deadline)) return failed_error(c, what, err);
        } else if (base->rank != root && recv_data(c, c->peer[0], 0, bytes + off, m, deadline)) {
            return failed_error(c, what, err);
        }
    }
    return 0;
}

static void tcp_abort(vs_comm *base, const char *reason) { fail_as((tcp_comm *)base, base->rank, reason); }

static void tcp_destroy(vs_comm *base) {
    tcp_comm *c = (tcp_comm *)base;
    for (int r = 0; r < base->size; r++)
        if (c->peer[r] >= 0) close(c->peer[r]);
    free(c->peer);
    free(c->chunk);
    free(c);
}

static const vs_comm_ops tcp_ops = {
    .name = "cpu",
    .allreduce_f32 = tcp_allreduce_f32,
    .allreduce_f64 = tcp_allreduce_f64,
    .broadcast = tcp_broadcast,
    .abort = tcp_abort,
    .destroy = tcp_destroy,
};

/* ---- joining ---- */

/* The meeting file: what rank 0 publishes. */
typedef struct meeting {
    char token[33];
    int size, port, n_addresses;
    char addresses[MAX_ADDRESSES][INET6_ADDRSTRLEN];
} meeting;

static void tune(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Rank 0's IPv4 addresses, the network's first and the loopback last (ranks on this
 * machine). */
static void own_addresses(meeting *m) {
    struct ifaddrs *list = NULL;
    m->n_addresses = 0;
    if (getifaddrs(&list) == 0) {
        for (struct ifaddrs *i = list; i && m->n_addresses < MAX_ADDRESSES - 1; i = i->ifa_next) {
            if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
                (i->ifa_flags & IFF_LOOPBACK))
                continue;
            inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, m->addresses[m->n_addresses++],
                      INET6_ADDRSTRLEN);
        }
        freeifaddrs(list);
    }
    snprintf(m->addresses[m->n_addresses++], INET6_ADDRSTRLEN, "127.0.0.1");
}

static int write_meeting(const char *path, const meeting *m, vs_error *err) {
    char text[2048];
    size_t used = (size_t)snprintf(text, sizeof text, "vaesearch-comm 1\ntoken %s\nsize %d\nport %d\n", m->token,
                                   m->size, m->port);
    for (int i = 0; i < m->n_addresses; i++)
        used += (size_t)snprintf(text + used, sizeof text - used, "address %s\n", m->addresses[i]);
    return vs_ranks_publish(path, text, used, err);
}

/* 1 when path holds a whole meeting file (read into m), 0 when it is not there (yet). */
static int read_meeting(const char *path, meeting *m) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[256];
    int version = 0;
    memset(m, 0, sizeof *m);
    while (fgets(line, sizeof line, f)) {
        char word[INET6_ADDRSTRLEN];
        if (sscanf(line, "vaesearch-comm %d", &version) == 1) continue;
        if (sscanf(line, "token %32s", m->token) == 1) continue;
        if (sscanf(line, "size %d", &m->size) == 1) continue;
        if (sscanf(line, "port %d", &m->port) == 1) continue;
        if (sscanf(line, "address %45s", word) == 1 && m->n_addresses < MAX_ADDRESSES)
            snprintf(m->addresses[m->n_addresses++], INET6_ADDRSTRLEN, "%s", word);
    }
    fclose(f);
    return version == 1 && strlen(m->token) == 32 && m->port > 0 && m->n_addresses > 0;
}

/* A connection to address:port within seconds, or -1. */
static int connect_to(const char *address, int port, double seconds) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) return fd;
    if (errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    struct pollfd pf = {fd, POLLOUT, 0};
    int e = 0;
    socklen_t len = sizeof e;
    if (poll(&pf, 1, (int)(seconds * 1000)) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == 0)
        return fd;
    close(fd);
    return -1;
}

static tcp_comm *comm_new(int rank, int size, double timeout_s) {
    tcp_comm *c = vs_xcalloc(1, sizeof *c);
    c->base.ops = &tcp_ops;
    c->base.rank = rank;
    c->base.size = size;
    c->base.timeout_s = timeout_s;
    c->failed_rank = -1;
    c->peer = vs_xmalloc(sizeof(int) * (size_t)size);
    for (int r = 0; r < size; r++) c->peer[r] = -1;
    return c;
}

/* Rank 0: listen, publish, and take each rank's hello (with the token) until all came. */
static int host(tcp_comm *c, const char *path, vs_error *err) {
    int size = c->base.size;
    meeting m = {.size = size};
    unsigned char random[16];
    if (getrandom(random, sizeof random, 0) != (ssize_t)sizeof random)
        return vs_errorf(err, "getrandom: %s", strerror(errno));
    for (int i = 0; i < 16; i++) snprintf(m.token + 2 * i, 3, "%02x", random[i]);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
    socklen_t len = sizeof sa;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, size) ||
        getsockname(lfd, (struct sockaddr *)&sa, &len)) {
        int e = errno;
        if (lfd >= 0) close(lfd);
        return vs_errorf(err, "the ranks' TCP port: %s", strerror(e));
    }
    m.port = ntohs(sa.sin_port);
    own_addresses(&m);
    if (write_meeting(path, &m, err)) {
        close(lfd);
        return -1;
    }
    double deadline = now_seconds() + c->base.timeout_s;
    int joined = 1, rc = 0;
    while (joined < size && rc == 0) {
        double left = deadline - now_seconds();
        struct pollfd pf = {lfd, POLLIN, 0};
        if (left <= 0 || poll(&pf, 1, (int)(left * 1000) + 1) < 0) {
            if (left > 0 && errno == EINTR) continue;
            char missing[256] = "";
            size_t used = 0;
            for (int r = 1; r < size && used < sizeof missing - 16; r++)
                if (c->peer[r] < 0) used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%d", used ? ", " : "", r);
            rc = vs_errorf(err, "rank 0: joining the other ranks: timed out after %g s waiting for rank%s %s",
                           c->base.timeout_s, strchr(missing, ',') ? "s" : "", missing);
            break;
        }
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) continue;
        tune(fd);
        /* a hello: the frame, then the token; a stranger (no token) is dropped */
        frame f;
        char token[33] = "", why[64];
        double hello_by = now_seconds() + 5.0 < deadline ? now_seconds() + 5.0 : deadline;
        if (recv_all(fd, &f, sizeof f, hello_by, why, sizeof why) || f.magic != FRAME_MAGIC || f.kind != FRAME_HELLO ||
            f.bytes != 32 || recv_all(fd, token, 32, hello_by, why, sizeof why) || strcmp(token, m.token)) {
            close(fd);
            continue;
        }
        if (f.size != size || f.rank < 1 || f.rank >= size || c->peer[f.rank] >= 0) {
            close(fd);
            rc = vs_errorf(err, "rank 0: joining the other ranks: rank %d of %d came, but this step has %d ranks%s",
                           f.rank, f.size, size, f.rank > 0 && f.rank < size && c->peer[f.rank] >= 0 ? " (twice)" : "");
            break;
        }
        c->peer[f.rank] = fd;
        joined++;
    }
    close(lfd);
    unlink(path);   /* every rank has come (or none will): no later run meets a stale file */
    for (int r = 1; r < size && rc == 0; r++) {
        frame w = {FRAME_MAGIC, FRAME_WELCOME, 0, size, 0};
        char why[64];
        if (send_all(c->peer[r], &w, sizeof w, deadline, why, sizeof why))
            rc = vs_errorf(err, "rank 0: joining the other ranks: lost rank %d (%s)", r, why);
    }
    return rc;
}

/* Any other rank: read the meeting file (again and again: a stale one of another run
 * names a port nobody listens on, until rank 0 replaces it), connect, say hello. */
static int visit(tcp_comm *c, const char *path, vs_error *err) {
    double deadline = now_seconds() + c->base.timeout_s;
    int seen = 0;
    char last[256] = "";
    while (now_seconds() < deadline) {
        meeting m;
        if (read_meeting(path, &m)) {
            seen = 1;
            if (m.size != c->base.size)
                return vs_errorf(err, "rank %d: %s: rank 0 has %d ranks, this one %d (a stale file of another run?)",
                                 c->base.rank, path, m.size, c->base.size);
            for (int i = 0; i < m.n_addresses; i++) {
                double left = deadline - now_seconds();
                int fd = connect_to(m.addresses[i], m.port, left < 2.0 ? left : 2.0);
                if (fd < 0) {
                    snprintf(last, sizeof last, "%s port %d: %s", m.addresses[i], m.port, strerror(errno));
                    continue;
                }
                tune(fd);
                frame f = {FRAME_MAGIC, FRAME_HELLO, c->base.rank, c->base.size, 32}, w;
                char why[64];
                if (send_all(fd, &f, sizeof f, deadline, why, sizeof why) ||
                    send_all(fd, m.token, 32, deadline, why, sizeof why) ||
                    recv_all(fd, &w, sizeof w, deadline, why, sizeof why) || w.magic != FRAME_MAGIC ||
                    w.kind != FRAME_WELCOME) {
                    close(fd);
                    snprintf(last, sizeof last, "%s port %d: no welcome (%s)", m.addresses[i], m.port, why);
                    continue;
                }
                c->peer[0] = fd;
                return 0;
            }
        }
        usleep(20000);
    }
    if (!seen) return vs_errorf(err, "rank %d: %s: rank 0's file did not appear within %g s", c->base.rank, path, c->base.timeout_s);
    return vs_errorf(err, "rank %d: cannot reach rank 0 within %g s (the last try: %s)", c->base.rank, c->base.timeout_s,
                     last);
}

vs_comm *vs_comm_tcp_join(const char *path, int rank, int size, double timeout_s, vs_error *err) {
    if (size < 1 || size > TCP_MAX_RANKS || rank < 0 || rank >= size) {
        vs_errorf(err, "communicator: rank %d of %d (expected 1 to %d ranks)", rank, size, TCP_MAX_RANKS);
        return NULL;
    }
    tcp_comm *c = comm_new(rank, size, timeout_s > 0 ? timeout_s : VS_COMM_DEFAULT_TIMEOUT);
    if (size > 1 && (rank == 0 ? host(c, path, err) : visit(c, path, err))) {
        tcp_destroy(&c->base);
        return NULL;
    }
    if (rank == 0 && size > 1) c->chunk = vs_xmalloc(CHUNK_BYTES);
    return &c->base;
}
