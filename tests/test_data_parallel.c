/* test_data_parallel: data-parallel training on CPU ranks (docs/trainer.md, "Ranks").
 * The communicator: sums in rank order (bitwise what a serial loop gives), chunked
 * buffers, broadcast, a rank's abort and a missing rank's timeout reported by the
 * others instead of a hang; the same over processes (fork) meeting over TCP through a
 * file, one rank through a copy of it alone (as on another node), a rank whose process
 * ends noticed at once, a stale file of another run.
 * The ranks' bookkeeping: shares, held-out shards, the parameters' agreement check,
 * srun's variables and the file that carries NCCL's unique id from rank 0 to the others.
 * Training: 1 rank through the communicator equals the plain path to the bit; 2 and 3
 * ranks give the 1-rank parameters after 20 steps within float tolerance and the same
 * metrics; a state saved by 2 ranks resumes with 3 and with 1 to the same end. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "test.h"
#include "dataset/protocol.h"
#include "dataset/synth.h"
#include "trainer/comm.h"
#include "trainer/ranks.h"
#include "trainer/safetensors.h"
#include "trainer/train.h"

static char tmp[2048];

/* ------------------------------------------------------------------ communicator */

typedef struct job {
    pthread_t thread;
    vs_comm *comm;
    int mode;            /* 0: collectives; 1: abort; 2: stay away */
    size_t n;
    float *data;
    double *d;
    int rc;
    vs_error err;
} job;

static float value_of(int rank, size_t i) { return (float)((double)(i % 1000) * 1e-3 + rank * 0.1 + 1e-7 * rank * i); }

static void *run_job(void *arg) {
    job *j = arg;
    vs_comm *c = j->comm;
    if (j->mode == 1) {
        vs_comm_abort(c, "disk full");
        j->rc = -1;
        return NULL;
    }
    if (j->mode == 2) return NULL;
    j->rc = vs_comm_allreduce_f32(c, j->data, j->n, &j->err);
    if (j->rc == 0) j->rc = vs_comm_allreduce_f64(c, j->d, 3, &j->err);
    j->d[1] = c->rank + 10;
    if (j->rc == 0) j->rc = vs_comm_broadcast(c, &j->d[1], sizeof(double), 1 % c->size, &j->err);
    return NULL;
}

static void test_threads_sum(int size, size_t n) {
    vs_error err = {{0}};
    vs_comm *comms[4];
    CHECK_OK(vs_comm_threads_create(size, 30, comms, &err), &err);
    job jobs[4];
    for (int r = 0; r < size; r++) {
        jobs[r] = (job){.comm = comms[r], .n = n, .data = malloc(n * sizeof(float)), .d = calloc(3, sizeof(double))};
        for (size_t i = 0; i < n; i++) jobs[r].data[i] = value_of(r, i);
        jobs[r].d[0] = r + 0.5;
        jobs[r].d[2] = 1e300 * (r == 0);
        pthread_create(&jobs[r].thread, NULL, run_job, &jobs[r]);
    }
    for (int r = 0; r < size; r++) pthread_join(jobs[r].thread, NULL);
    int exact = 1;
    for (size_t i = 0; i < n; i++) {
        float want = value_of(0, i);
        for (int r = 1; r < size; r++) want += value_of(r, i);
        for (int r = 0; r < size; r++) exact &= jobs[r].data[i] == want;
    }
    CHECK_MSG(exact, "%d ranks, %zu floats: not the rank-order sum on every rank", size, n);
    for (int r = 0; r < size; r++) {
        CHECK_OK(jobs[r].rc, &jobs[r].err);
        CHECK(jobs[r].d[0] == size * (size - 1) / 2.0 + 0.5 * size && jobs[r].d[2] == 1e300);
        CHECK(jobs[r].d[1] == (1 % size) + 10);   /* rank 1's after the broadcast (rank 0's alone) */
        free(jobs[r].data);
        free(jobs[r].d);
        vs_comm_destroy(comms[r]);
    }
}

static void test_threads_failures(void) {
    vs_error err = {{0}};
    vs_comm *comms[3];
    /* rank 2 fails: ranks 0 and 1 get its reason */
    CHECK_OK(vs_comm_threads_create(3, 30, comms, &err), &err);
    job jobs[3];
    for (int r = 0; r < 3; r++) {
        jobs[r] = (job){.comm = comms[r], .mode = r == 2, .n = 10, .data = calloc(10, sizeof(float)),
                        .d = calloc(3, sizeof(double))};
        pthread_create(&jobs[r].thread, NULL, run_job, &jobs[r]);
    }
    for (int r = 0; r < 3; r++) pthread_join(jobs[r].thread, NULL);
    for (int r = 0; r < 2; r++) {
        CHECK(jobs[r].rc == -1);
        CHECK_MSG(strstr(jobs[r].err.msg, "rank 2 failed: disk full") != NULL, "%s", jobs[r].err.msg);
    }
    for (int r = 0; r < 3; r++) {
        free(jobs[r].data);
        free(jobs[r].d);
        vs_comm_destroy(comms[r]);
    }
    /* rank 1 never comes: rank 0 gives up after the timeout, naming it */
    CHECK_OK(vs_comm_threads_create(2, 0.3, comms, &err), &err);
    for (int r = 0; r < 2; r++) {
        jobs[r] = (job){.comm = comms[r], .mode = r == 1 ? 2 : 0, .n = 10, .data = calloc(10, sizeof(float)),
                        .d = calloc(3, sizeof(double))};
        pthread_create(&jobs[r].thread, NULL, run_job, &jobs[r]);
    }
    for (int r = 0; r < 2; r++) pthread_join(jobs[r].thread, NULL);
    CHECK(jobs[0].rc == -1);
    CHECK_MSG(strstr(jobs[0].err.msg, "timed out after 0.3 s waiting for rank 1") != NULL, "%s", jobs[0].err.msg);
    for (int r = 0; r < 2; r++) {
        free(jobs[r].data);
        free(jobs[r].d);
        vs_comm_destroy(comms[r]);
    }
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Processes (srun's tasks): children are ranks 1..size-1, meeting rank 0 over TCP
 * through a file; each checks its own sums and exits 0 or 1. A rank's `meet` is the
 * path it reads the meeting file from: rank 0's, or a copy elsewhere, as a node sees a
 * file of a shared folder, since nothing else is shared. */
static int process_rank(const char *meet, int rank, int size, int mode, vs_error *err) {
    vs_comm *c = vs_comm_tcp_join(meet, rank, size, 20, err);
    if (!c) return -1;
    size_t n = 1500000;   /* more than one chunk */
    float *v = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) v[i] = value_of(rank, i);
    int rc = vs_comm_allreduce_f32(c, v, n, err);
    for (size_t i = 0; i < n && rc == 0; i++) {
        float want = value_of(0, i);
        for (int r = 1; r < size; r++) want += value_of(r, i);
        if (v[i] != want) rc = vs_errorf(err, "rank %d: element %zu is %g, expected %g", rank, i, v[i], want);
    }
    /* a broadcast from the last rank, through rank 0 */
    double from_last[3] = {rank, rank * 2.0, -1};
    if (rc == 0) rc = vs_comm_broadcast(c, from_last, sizeof from_last, size - 1, err);
    if (rc == 0 && (from_last[0] != size - 1 || from_last[1] != 2.0 * (size - 1) || from_last[2] != -1))
        rc = vs_errorf(err, "rank %d: the broadcast brought %g %g %g", rank, from_last[0], from_last[1], from_last[2]);
    /* mode 1: the last rank ends without a word; mode 2: it fails, saying why */
    if (rc == 0 && mode && rank == size - 1) {
        if (mode == 1) _exit(0);
        vs_comm_abort(c, "disk full");
    }
    double d[2] = {rank, 1};
    if (rc == 0) rc = vs_comm_allreduce_f64(c, d, 2, err);
    if (rc == 0 && (d[0] != size * (size - 1) / 2.0 || d[1] != size))
        rc = vs_errorf(err, "rank %d: the double sums are %g %g", rank, d[0], d[1]);
    free(v);
    vs_comm_destroy(c);
    return rc;
}

/* Ranks 1..size-1 as children (rank 1 reading a copy of the meeting file when copy is
 * set), rank 0 here; its result, and each child's exit status in kid_ok[r]. */
static int run_processes(int size, int mode, int copy, int *kid_ok, vs_error *err) {
    char path[4096], elsewhere[4200];
    snprintf(path, sizeof path, "%s/.ranks-test.comm", tmp);
    snprintf(elsewhere, sizeof elsewhere, "%s/node2", tmp);
    mkdir(elsewhere, 0777);
    snprintf(elsewhere, sizeof elsewhere, "%s/node2/.ranks-test.comm", tmp);
    unlink(elsewhere);
    pid_t kids[8];
    for (int r = 1; r < size; r++) {
        kids[r] = fork();
        if (kids[r] == 0) {
            vs_error e = {{0}};
            int rc = process_rank(copy && r == 1 ? elsewhere : path, r, size, mode, &e);
            if (rc && !mode) fprintf(stderr, "child rank %d: %s\n", r, e.msg);
            _exit(rc ? 1 : 0);
        }
    }
    if (copy) {   /* a copy of rank 0's file, once it is whole: all rank 1 ever sees of rank 0's folder */
        pid_t copier = fork();
        if (copier == 0) {
            for (int i = 0; i < 2000; i++) {
                FILE *in = fopen(path, "rb");
                if (in) {
                    char buf[4096];
                    size_t k = fread(buf, 1, sizeof buf, in);
                    fclose(in);
                    char tmpfile[4300];
                    snprintf(tmpfile, sizeof tmpfile, "%s.part", elsewhere);
                    FILE *out = fopen(tmpfile, "wb");
                    if (out && fwrite(buf, 1, k, out) == k && fclose(out) == 0 && rename(tmpfile, elsewhere) == 0) _exit(0);
                    _exit(1);
                }
                usleep(5000);
            }
            _exit(1);
        }
        kids[0] = copier;
    }
    int rc = process_rank(path, 0, size, mode, err);
    for (int r = copy ? 0 : 1; r < size; r++) {
        int status = 0;
        waitpid(kids[r], &status, 0);
        kid_ok[r] = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    return rc;
}

static void test_processes(void) {
    vs_error err = {{0}};
    int ok[8];
    /* 3 ranks: the sums in rank order, as threads make them */
    CHECK_OK(run_processes(3, 0, 0, ok, &err), &err);
    CHECK_MSG(ok[1] && ok[2], "child ranks: %d %d", ok[1], ok[2]);
    char path[4096];
    snprintf(path, sizeof path, "%s/.ranks-test.comm", tmp);
    struct stat st;
    CHECK_MSG(stat(path, &st) != 0, "rank 0 leaves no meeting file behind");
    /* rank 1 sees a copy of the file alone, made once (as on another node): the same */
    CHECK_OK(run_processes(2, 0, 1, ok, &err), &err);
    CHECK_MSG(ok[0] && ok[1], "copier %d, rank 1 %d", ok[0], ok[1]);
    /* the last rank's process ends after joining: the others fail at once, naming it */
    double t0 = now_s();
    CHECK(run_processes(3, 1, 0, ok, &err) == -1);
    CHECK_MSG(strstr(err.msg, "lost rank 2 (its connection closed) while waiting for rank 2") != NULL, "%s", err.msg);
    CHECK_MSG(now_s() - t0 < 10, "took %.1f s (the timeout is 20)", now_s() - t0);
    CHECK(!ok[1]);
    /* the last rank fails with a reason: every rank's collective fails with it */
    CHECK(run_processes(3, 2, 0, ok, &err) == -1);
    CHECK_MSG(strstr(err.msg, "rank 0: all-reduce (double): rank 2 failed: disk full") != NULL, "%s", err.msg);
    CHECK(!ok[1] && !ok[2]);

    /* rank 1 never joins; rank 0 fails after the timeout, naming it; a lone rank 1 finds no file */
    vs_comm *c = vs_comm_tcp_join(path, 0, 2, 0.3, &err);
    CHECK(c == NULL);
    CHECK_MSG(strstr(err.msg, "waiting for rank 1") != NULL, "%s", err.msg);
    CHECK_MSG(stat(path, &st) != 0, "rank 0 removed its file");
    c = vs_comm_tcp_join(path, 1, 2, 0.2, &err);
    CHECK(c == NULL);
    CHECK_MSG(strstr(err.msg, "did not appear within 0.2 s") != NULL, "%s", err.msg);
    /* a stale file of another run (nobody listens): rank 1 keeps trying, then says so */
    FILE *f = fopen(path, "w");
    fprintf(f, "vaesearch-comm 1\ntoken 0123456789abcdef0123456789abcdef\nsize 2\nport 9\naddress 127.0.0.1\n");
    fclose(f);
    c = vs_comm_tcp_join(path, 1, 2, 0.3, &err);
    CHECK(c == NULL);
    CHECK_MSG(strstr(err.msg, "cannot reach rank 0 within 0.3 s") && strstr(err.msg, "127.0.0.1 port 9"), "%s", err.msg);
    unlink(path);
}

/* ------------------------------------------------------------------ bookkeeping */

static void test_shares(void) {
    for (int size = 1; size <= 5; size++) {
        for (int64_t n = 0; n < 12; n++) {
            int64_t next = 0;
            for (int r = 0; r < size; r++) {
                int64_t lo, hi;
                vs_rank_share(n, r, size, &lo, &hi);
                CHECK(lo == next && hi >= lo);
                next = hi;
                if (r == size - 1 && n > 0) CHECK(hi > lo);   /* the last rank (the penalty's) has rows */
            }
            CHECK(next == n);
        }
    }
    int64_t indptr[] = {0, 2, 2, 5, 6, 9};
    int32_t indices[] = {1, 3, 0, 2, 4, 7, 1, 5, 6};
    vs_csr m = {5, 8, indptr, indices};
    vs_csr part;
    int64_t *ptr;
    vs_rank_shard_csr(&m, 1, 2, &part, &ptr);   /* rows 2..4 */
    CHECK(part.rows == 3 && part.indptr[0] == 0 && part.indptr[3] == 7 && part.indices[0] == 0 && part.cols == 8);
    free(ptr);
}

typedef struct check_job {
    pthread_t thread;
    vs_comm *comm;
    float v[4];
    int rc;
    vs_error err;
} check_job;

static void *run_check(void *arg) {
    check_job *j = arg;
    j->rc = vs_ranks_check_same(j->comm, j->v, 4, "the parameters", &j->err);
    return NULL;
}

static void test_check_same(void) {
    for (int differ = 0; differ < 2; differ++) {
        vs_error err = {{0}};
        vs_comm *comms[3];
        CHECK_OK(vs_comm_threads_create(3, 30, comms, &err), &err);
        check_job j[3];
        for (int r = 0; r < 3; r++) {
            j[r] = (check_job){.comm = comms[r], .v = {1, 2, 3, 4}};
            if (differ && r == 2) j[r].v[3] = nextafterf(4, 5);
            pthread_create(&j[r].thread, NULL, run_check, &j[r]);
        }
        for (int r = 0; r < 3; r++) pthread_join(j[r].thread, NULL);
        for (int r = 0; r < 3; r++) {
            CHECK(j[r].rc == (differ ? -1 : 0));
            if (differ) CHECK_MSG(strstr(j[r].err.msg, "of rank 2 differ") != NULL, "%s", j[r].err.msg);
            vs_comm_destroy(comms[r]);
        }
    }
}

/* srun's variables, and the files through which the ranks meet (NCCL's id goes this way) */
static void test_slurm_env(void) {
    vs_error err = {{0}};
    vs_slurm_rank w;
    setenv("SLURM_PROCID", "2", 1);
    setenv("SLURM_NTASKS", "4", 1);
    setenv("SLURM_LOCALID", "0", 1);
    setenv("SLURM_JOB_ID", "4711", 1);
    setenv("SLURM_STEP_ID", "3", 1);
    unsetenv("SLURM_RESTART_COUNT");
    CHECK_OK(vs_slurm_rank_from_env(&w, &err), &err);
    CHECK(w.rank == 2 && w.size == 4 && w.local == 0 && !strcmp(w.step, "4711.3.a0"));
    char path[4200], first[4200];
    vs_ranks_meeting_path(first, sizeof first, "/runs/t1", &w, "nccl-id");
    CHECK(!strcmp(first, "/runs/t1/.ranks-4711.3.a0.nccl-id"));
    /* a requeued job (same job id, step ids from 0 again) meets through another file */
    setenv("SLURM_RESTART_COUNT", "2", 1);
    CHECK_OK(vs_slurm_rank_from_env(&w, &err), &err);
    vs_ranks_meeting_path(path, sizeof path, "/runs/t1", &w, "nccl-id");
    CHECK_MSG(!strcmp(path, "/runs/t1/.ranks-4711.3.a2.nccl-id") && strcmp(path, first), "%s", path);
    setenv("SLURM_RESTART_COUNT", "two", 1);
    CHECK(vs_slurm_rank_from_env(&w, &err) == -1 && strstr(err.msg, "SLURM_RESTART_COUNT='two'"));
    unsetenv("SLURM_RESTART_COUNT");
    setenv("SLURM_PROCID", "4", 1);
    CHECK(vs_slurm_rank_from_env(&w, &err) == -1 && strstr(err.msg, "SLURM_PROCID=4 but SLURM_NTASKS=4"));
    setenv("SLURM_PROCID", "x", 1);
    CHECK(vs_slurm_rank_from_env(&w, &err) == -1 && strstr(err.msg, "SLURM_PROCID='x'"));
    setenv("SLURM_PROCID", "1", 1);
    setenv("SLURM_JOB_ID", "../etc", 1);
    CHECK(vs_slurm_rank_from_env(&w, &err) == -1 && strstr(err.msg, "SLURM_JOB_ID"));
    unsetenv("SLURM_NTASKS");
    CHECK(vs_slurm_rank_from_env(&w, &err) == -1 && strstr(err.msg, "SLURM_NTASKS is not set"));
    const char *vars[] = {"SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_JOB_ID", "SLURM_STEP_ID"};
    for (int i = 0; i < 5; i++) unsetenv(vars[i]);

    /* rank 0 publishes 128 bytes (the size of ncclUniqueId) after a delay; a rank waits for them */
    snprintf(path, sizeof path, "%s/.ranks-test.nccl-id", tmp);
    unsigned char id[128], got[128];
    for (int i = 0; i < 128; i++) id[i] = (unsigned char)(i * 7 + 1);
    pid_t kid = fork();
    if (kid == 0) {
        usleep(200000);
        vs_error e = {{0}};
        _exit(vs_ranks_publish(path, id, sizeof id, &e) ? 1 : 0);
    }
    CHECK_OK(vs_ranks_await(path, got, sizeof got, 20, &err), &err);
    CHECK(memcmp(id, got, sizeof id) == 0);
    int status = 0;
    waitpid(kid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unsigned char more[129];
    CHECK(vs_ranks_await(path, more, sizeof more, 1, &err) == -1 && strstr(err.msg, "expected 129 bytes"));
    unlink(path);
    CHECK(vs_ranks_await(path, got, sizeof got, 0.2, &err) == -1 && strstr(err.msg, "did not appear within 0.2 s"));
}

/* How a waiting rank pauses: yields for 2 ms, then sleeps a tenth of the wait, 200 us to 1 ms. */
static void test_pause(void) {
    CHECK(vs_ranks_pause_us(0) == 0 && vs_ranks_pause_us(1e-3) == 0 && vs_ranks_pause_us(1.999e-3) == 0);
    CHECK(vs_ranks_pause_us(2e-3) == 200 && vs_ranks_pause_us(5e-3) == 500 && vs_ranks_pause_us(0.01) == 1000);
    CHECK(vs_ranks_pause_us(60) == 1000);
    unsigned last = 0;
    int monotone = 1;
    for (double t = 0; t < 0.05; t += 1e-4) {
        unsigned us = vs_ranks_pause_us(t);
        monotone &= us >= last && us <= 1000;
        last = us;
    }
    CHECK(monotone);
}

/* ------------------------------------------------------------------ training */

static vs_dataset ds;

static void make_dataset(void) {
    vs_error err = {{0}};
    vs_synth_opts so;
    if (vs_synth_preset("small", &so, &err) || vs_synth_dataset(&so, NULL, &ds, &err)) {
        fprintf(stderr, "synth: %s\n", err.msg);
        exit(1);
    }
}

/* A small model, 20 steps of 100 rows (with dropout, noise, the KL term and a penalty),
 * validation after each of the 2 epochs. */
static void config(vs_config *cfg, int epochs) {
    vs_config_default(cfg);
    cfg->hidden_dims[0] = 64;
    cfg->n_hidden = 1;
    cfg->latent_dim = 16;
    cfg->batch_size = (int)(ds.train.rows / 10);
    cfg->epochs = epochs;
    cfg->eval_every = 1;
    cfg->total_anneal_steps = 0;
    cfg->lambda = 0.01;
}

typedef struct outcome {
    int rc;
    float *params;
    size_t n;
    cJSON *done;
} outcome;

static outcome train(const char *name, int ranks, int comm_always, int epochs, int resume, int stop_after) {
    outcome out = {0};
    vs_config cfg;
    config(&cfg, epochs);
    char dir[4096], events[4200];
    snprintf(dir, sizeof dir, "%s/%s", tmp, name);
    snprintf(events, sizeof events, "%s/%s.jsonl", tmp, name);
    FILE *f = fopen(events, "w+");
    vs_train_opts o = {.device = "cpu", .out_dir = dir, .events = f, .ranks = ranks, .comm_always = comm_always,
                       .resume = resume, .stop_after_epochs = stop_after, .comm_timeout = 60};
    vs_error err = {{0}};
    out.rc = vs_train_run(&ds, &cfg, &o, &err);
    if (out.rc == VS_TRAIN_FAILED) fprintf(stderr, "%s: %s\n", name, err.msg);
    rewind(f);
    char line[1 << 16];
    while (fgets(line, sizeof line, f))
        if (strstr(line, "\"event\":\"done\"")) out.done = cJSON_Parse(line);
    fclose(f);
    char state[4200];
    snprintf(state, sizeof state, "%s/state.safetensors", dir);
    vs_st_file st;
    if (vs_st_read(state, &st, &err) == 0) {
        const vs_st_tensor *t = vs_st_find(&st, "params");
        if (t) {
            out.n = (size_t)t->shape[0];
            out.params = malloc(out.n * sizeof(float));
            memcpy(out.params, t->data, out.n * sizeof(float));
        }
        vs_st_free(&st);
    }
    return out;
}

static double max_diff(const outcome *a, const outcome *b) {
    if (!a->params || !b->params || a->n != b->n) return INFINITY;
    double m = 0;
    for (size_t i = 0; i < a->n; i++) m = fmax(m, fabs((double)a->params[i] - b->params[i]));
    return m;
}

static double metric(const outcome *o, const char *set, const char *key) {
    const cJSON *s = o->done ? cJSON_GetObjectItem(o->done, set) : NULL;
    const cJSON *v = s ? cJSON_GetObjectItem(s, key) : NULL;
    return v ? v->valuedouble : NAN;
}

static void free_outcome(outcome *o) {
    free(o->params);
    cJSON_Delete(o->done);
}

static void test_training(void) {
    outcome plain = train("plain", 1, 0, 2, 0, 0);
    CHECK(plain.rc == VS_TRAIN_DONE && plain.params);
    const cJSON *steps = plain.done ? cJSON_GetObjectItem(plain.done, "steps") : NULL;
    CHECK(steps && steps->valuedouble == 20);

    outcome one = train("one", 1, 1, 2, 0, 0);
    CHECK(one.rc == VS_TRAIN_DONE);
    CHECK_MSG(max_diff(&plain, &one) == 0, "1 rank through the communicator differs from the plain path by %g",
              max_diff(&plain, &one));
    for (int ranks = 2; ranks <= 3; ranks++) {
        char name[32];
        snprintf(name, sizeof name, "ranks%d", ranks);
        outcome r = train(name, ranks, 0, 2, 0, 0);
        CHECK(r.rc == VS_TRAIN_DONE);
        double d = max_diff(&plain, &r);
        printf("%d ranks: largest parameter difference from 1 rank after 20 steps %.3g\n", ranks, d);
        CHECK_MSG(d < 2e-5, "%d ranks: parameters differ by %g", ranks, d);
        const cJSON *rk = r.done ? cJSON_GetObjectItem(r.done, "ranks") : NULL;
        CHECK(rk && rk->valueint == ranks);
        const char *sets[] = {"val", "test"}, *keys[] = {"ndcg@100", "recall@20", "recall@50", "users"};
        for (int s = 0; s < 2; s++)
            for (int k = 0; k < 4; k++) CHECK_NEAR(metric(&r, sets[s], keys[k]), metric(&plain, sets[s], keys[k]), 1e-6);
        free_outcome(&r);
    }

    /* 2 ranks stop after the first epoch; 3 ranks, then 1 rank, resume that state */
    outcome half = train("resume", 2, 0, 2, 0, 1);
    CHECK(half.rc == VS_TRAIN_STOPPED);
    char from[4200], to[4200];
    snprintf(from, sizeof from, "%s/resume/state.safetensors", tmp);
    snprintf(to, sizeof to, "%s/resume-state.safetensors", tmp);
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    int ch;
    while (a && b && (ch = fgetc(a)) != EOF) fputc(ch, b);
    if (a) fclose(a);
    if (b) fclose(b);
    outcome three = train("resume", 3, 0, 2, 1, 0);
    CHECK(three.rc == VS_TRAIN_DONE);
    CHECK_MSG(max_diff(&plain, &three) < 2e-5, "resumed with 3 ranks: %g", max_diff(&plain, &three));
    rename(to, from);
    outcome single = train("resume", 1, 0, 2, 1, 0);
    CHECK(single.rc == VS_TRAIN_DONE);
    CHECK_MSG(max_diff(&plain, &single) < 2e-5, "resumed with 1 rank: %g", max_diff(&plain, &single));
    CHECK_NEAR(metric(&single, "test", "ndcg@100"), metric(&plain, "test", "ndcg@100"), 1e-6);
    free_outcome(&half);
    free_outcome(&three);
    free_outcome(&single);
    free_outcome(&one);
    free_outcome(&plain);
}

int main(void) {
    const char *base = getenv("VS_TEST_TMP");
    snprintf(tmp, sizeof tmp, "%s", base ? base : "/tmp/test_data_parallel");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", tmp, tmp);
    if (system(cmd)) return 1;

    test_threads_sum(1, 1000);
    test_threads_sum(3, 1000);
    test_threads_sum(2, 2500000);   /* three chunks */
    test_threads_failures();
    test_processes();
    test_shares();
    test_check_same();
    test_slurm_env();
    test_pause();
    make_dataset();
    test_training();
    vs_dataset_close(&ds);
    return test_finish();
}
