/* ranks: shares of batches and held-out users, the ranks' agreement check, and the
 * srun rank variables and meeting files. */
#include "ranks.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void vs_rank_share(int64_t n, int rank, int size, int64_t *lo, int64_t *hi) {
    *lo = n * rank / size;
    *hi = n * (rank + 1) / size;
}

void vs_rank_shard_csr(const vs_csr *m, int rank, int size, vs_csr *out, int64_t **ptr_out) {
    int64_t lo, hi;
    vs_rank_share(m->rows, rank, size, &lo, &hi);
    int64_t *ptr = vs_xmalloc(sizeof(int64_t) * (size_t)(hi - lo + 1));
    int64_t base = m->rows ? m->indptr[lo] : 0;
    for (int64_t r = lo; r <= hi; r++) ptr[r - lo] = m->rows ? m->indptr[r] - base : 0;
    out->rows = hi - lo;
    out->cols = m->cols;
    out->indptr = ptr;
    out->indices = m->indices + base;
    *ptr_out = ptr;
}

uint64_t vs_ranks_hash(const void *bytes, size_t n) {
    const unsigned char *p = bytes;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

int vs_ranks_check_same(vs_comm *c, const float *v, size_t n, const char *what, vs_error *err) {
    uint64_t mine = vs_ranks_hash(v, n * sizeof(float)), root = mine;
    if (vs_comm_broadcast(c, &root, sizeof root, 0, err)) return -1;
    /* differ[r] = 1 when rank r's hash is not rank 0's; summed, every rank sees them all */
    double *differ = vs_xcalloc((size_t)c->size, sizeof(double));
    differ[c->rank] = mine != root;
    int rc = vs_comm_allreduce_f64(c, differ, (size_t)c->size, err);
    if (rc == 0) {
        char list[256] = "";
        size_t used = 0;
        for (int r = 0; r < c->size && used < sizeof list - 16; r++)
            if (differ[r] != 0) used += (size_t)snprintf(list + used, sizeof list - used, "%s%d", used ? ", " : "", r);
        if (used)
            rc = vs_errorf(err, "%s of rank%s %s differ from rank 0's (checksum %016llx): the ranks went out of step",
                           what, strchr(list, ',') ? "s" : "", list, (unsigned long long)root);
    }
    free(differ);
    return rc;
}

static int env_int(const char *name, int min, int *out, vs_error *err) {
    const char *s = getenv(name);
    if (!s || !*s) return vs_errorf(err, "--ranks slurm: %s is not set (run under srun)", name);
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > 1 << 20) return vs_errorf(err, "--ranks slurm: %s='%s' is not a count", name, s);
    *out = (int)v;
    return 0;
}

int vs_slurm_rank_from_env(vs_slurm_rank *out, vs_error *err) {
    memset(out, 0, sizeof *out);
    if (env_int("SLURM_PROCID", 0, &out->rank, err) || env_int("SLURM_NTASKS", 1, &out->size, err) ||
        env_int("SLURM_LOCALID", 0, &out->local, err))
        return -1;
    if (out->rank >= out->size)
        return vs_errorf(err, "--ranks slurm: SLURM_PROCID=%d but SLURM_NTASKS=%d", out->rank, out->size);
    const char *job = getenv("SLURM_JOB_ID"), *step = getenv("SLURM_STEP_ID");
    if (!job || !*job) return vs_errorf(err, "--ranks slurm: SLURM_JOB_ID is not set (run under srun)");
    for (const char *p = job; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '_'))
            return vs_errorf(err, "--ranks slurm: SLURM_JOB_ID='%s' has a character other than [A-Za-z0-9_-]", job);
    int step_id = 0, attempt = 0;
    if (step && *step && env_int("SLURM_STEP_ID", 0, &step_id, err)) return -1;
    const char *restarts = getenv("SLURM_RESTART_COUNT");
    if (restarts && *restarts && env_int("SLURM_RESTART_COUNT", 0, &attempt, err)) return -1;
    snprintf(out->step, sizeof out->step, "%s.%d.a%d", job, step_id, attempt);
    return 0;
}

void vs_ranks_meeting_path(char *buf, size_t n, const char *dir, const vs_slurm_rank *w, const char *kind) {
    snprintf(buf, n, "%s/.ranks-%s.%s", dir, w->step, kind);
}

int vs_ranks_publish(const char *path, const void *bytes, size_t n, vs_error *err) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return vs_errorf(err, "%s: %s", tmp, strerror(errno));
    int bad = fwrite(bytes, 1, n, f) != n;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        unlink(tmp);
        return vs_errorf(err, "%s: cannot write it: %s", path, strerror(errno));
    }
    return 0;
}

int vs_ranks_await(const char *path, void *bytes, size_t n, double timeout_s, vs_error *err) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        FILE *f = fopen(path, "rb");
        if (f) {
            size_t got = fread(bytes, 1, n, f);
            int extra = fgetc(f) != EOF;
            fclose(f);
            if (got != n || extra) return vs_errorf(err, "%s: expected %zu bytes from rank 0", path, n);
            return 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - start.tv_sec) + 1e-9 * (double)(now.tv_nsec - start.tv_nsec) > timeout_s)
            return vs_errorf(err, "%s: rank 0's file did not appear within %g s", path, timeout_s);
        usleep(10000);
    }
}

unsigned vs_ranks_pause_us(double waited_s) {
    if (waited_s < 2e-3) return 0;
    double us = waited_s * 1e5;   /* a tenth of the wait, in microseconds */
    return us < 200 ? 200 : us > 1000 ? 1000 : (unsigned)us;
}

void vs_ranks_pause(double waited_s) {
    unsigned us = vs_ranks_pause_us(waited_s);
    if (us == 0) sched_yield();
    else usleep(us);
}
