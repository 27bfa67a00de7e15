/* fake_trainer: a stand-in for vaecf-train in the orchestrator's tests and overhead
 * benchmark. It takes the same arguments, speaks the same JSON lines, and finishes at
 * once (or misbehaves on demand), so what is measured or tested is the orchestrator.
 * The trial number comes from the --out folder's name (trial-N); FAKE_MODE chooses:
 *   ok       (default) epochs 1..E (E from "epochs" in --config, default 3), validated
 *            as the trainer does (every "eval_every" epochs, default 1, and the last) with
 *            val ndcg@100 = 0.1 + 0.01 * N * epoch / E, then done
 *   fail-odd odd trials write to stderr and report a diverged loss, exit 1
 *   fail-all every trial reports "no CUDA device (trial N)" and exits 1
 *   crash-odd odd trials kill themselves with SIGSEGV after one epoch
 *   fade     as ok up to epoch 3, then 0.09 - 0.001 * N (below every ok trial's values):
 *            trials whose best values and values at a later epoch rank differently
 *   config   as ok, with val ndcg@100 = (0.1 + 0.2 * anneal_cap + 0.002 * (seed % 5)) * epoch / E,
 *            from the config's anneal_cap (default 0) and seed (default 98765, the trainer's):
 *            values that depend on the configuration and on the training seed
 *   line-odd odd trials print FAKE_LINE in place of their done line (a broken trainer)
 *   nospace-odd odd trials fail as a full disk makes them fail ("No space left on device")
 *   sleep    sleep FAKE_SLEEP seconds (default 30) before the epochs; with FAKE_IGNORE_TERM
 *            set it ignores SIGTERM, as a trainer slow to stop would
 * FAKE_EPOCH_SLEEP, when set, makes each epoch take that many seconds and SIGTERM save the
 * state as vaecf-train does: the epochs done go into --out's fake-state, the exit status
 * is 3, and a run with --resume continues after them (saying so on stderr).
 * FAKE_CHATTY=BYTES, when set, has it print that many bytes of plain lines to stdout and as
 * many to stderr after its start line (more than a pipe holds, so it blocks until read).
 * FAKE_REPLAY=K marks the first K epoch lines "replayed", as a resumed trainer repeats them.
 * FAKE_PROGRESS, when set, prints a progress line half way through each epoch.
 * With --ranks slurm it is one of srun's tasks, rank SLURM_PROCID: rank 0 alone prints,
 * as vaecf-train's ranks do, and each rank appends "N RANK NODE CUDA_VISIBLE_DEVICES" to
 * the file FAKE_RANK_LOG names, when set (NODE: SLURMD_NODENAME).
 * FAKE_LOG, when set, is a file each run appends "N CUDA_VISIBLE_DEVICES start end" to;
 * FAKE_ENV_LOG one it appends "N OMP_WAIT_POLICY THREADS" to (the --threads value). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The positive integer "key" holds in the config file; def when absent. */
static int config_int(const char *config, const char *key, int def) {
    FILE *f = config ? fopen(config, "r") : NULL;
    if (!f) return def;
    char buf[8192], quoted[64];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    snprintf(quoted, sizeof quoted, "\"%s\"", key);
    const char *p = strstr(buf, quoted);
    if (!p || !(p = strchr(p, ':'))) return def;
    int v = atoi(p + 1);
    return v > 0 ? v : def;
}

/* The number "key" holds in the config file; def when absent. */
static double config_double(const char *config, const char *key, double def) {
    FILE *f = config ? fopen(config, "r") : NULL;
    if (!f) return def;
    char buf[8192], quoted[64];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    snprintf(quoted, sizeof quoted, "\"%s\"", key);
    const char *p = strstr(buf, quoted);
    return p && (p = strchr(p, ':')) ? atof(p + 1) : def;
}

static volatile sig_atomic_t stop_requested;

static void on_term(int sig) {
    (void)sig;
    stop_requested = 1;
}

/* Sleeps s seconds unless SIGTERM comes first; 1 when it came. */
static int sleep_unless_stopped(double s) {
    struct timespec left = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (!stop_requested && nanosleep(&left, &left) && errno == EINTR) {}
    return stop_requested;
}

/* The epochs a saved state holds (0: none). */
static int saved_epochs(const char *path) {
    FILE *f = fopen(path, "r");
    int e = 0;
    if (f) {
        if (fscanf(f, "%d", &e) != 1) e = 0;
        fclose(f);
    }
    return e;
}

int main(int argc, char **argv) {
    const char *out = NULL, *config = NULL, *threads = "-";
    int resume = 0, ranks_slurm = 0;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--ranks") && !strcmp(argv[i + 1], "slurm")) ranks_slurm = 1;
        if (i + 1 < argc && !strcmp(argv[i], "--out")) out = argv[i + 1];
        if (i + 1 < argc && !strcmp(argv[i], "--config")) config = argv[i + 1];
        if (i + 1 < argc && !strcmp(argv[i], "--threads")) threads = argv[i + 1];
        if (!strcmp(argv[i], "--resume")) resume = 1;
    }
    const char *epoch_sleep = getenv("FAKE_EPOCH_SLEEP");
    char state[4096] = "";
    if (epoch_sleep && out) {
        snprintf(state, sizeof state, "%s/fake-state", out);
        signal(SIGTERM, on_term);
    }
    const char *t = out ? strstr(out, "trial-") : NULL;
    int number = t ? atoi(t + 6) : 0, epochs = config_int(config, "epochs", 3);
    int eval_every = config_int(config, "eval_every", 1);
    const char *mode = getenv("FAKE_MODE") ? getenv("FAKE_MODE") : "ok";
    const char *visible = getenv("CUDA_VISIBLE_DEVICES");
    double start = now();
    const char *procid = getenv("SLURM_PROCID"), *rank_log = getenv("FAKE_RANK_LOG");
    int rank = ranks_slurm && procid ? atoi(procid) : 0;
    if (ranks_slurm && rank_log) {
        FILE *rf = fopen(rank_log, "a");
        const char *node = getenv("SLURMD_NODENAME");
        if (rf) fprintf(rf, "%d %d %s %s\n", number, rank, node ? node : "-", visible ? visible : "-"), fclose(rf);
    }
    if (rank > 0 && !freopen("/dev/null", "w", stdout)) return 1;   /* rank 0 alone prints */
    const char *env_log = getenv("FAKE_ENV_LOG");
    FILE *ef = env_log ? fopen(env_log, "a") : NULL;
    if (ef) {
        const char *wait = getenv("OMP_WAIT_POLICY");
        fprintf(ef, "%d %s %s\n", number, wait ? wait : "-", threads);
        fclose(ef);
    }
    printf("{\"event\":\"start\",\"device\":\"cpu\",\"cuda_visible_devices\":%s%s%s}\n", visible ? "\"" : "",
           visible ? visible : "null", visible ? "\"" : "");
    fflush(stdout);
    long chatty = getenv("FAKE_CHATTY") ? atol(getenv("FAKE_CHATTY")) : 0;
    for (long written = 0; written < chatty; written += 100) {
        printf("fake trainer %d chatters: %070ld\n", number, written);
        fprintf(stderr, "fake trainer %d chatters: %070ld\n", number, written);
    }
    fflush(stdout);
    if (getenv("FAKE_IGNORE_TERM")) signal(SIGTERM, SIG_IGN);
    if (!strcmp(mode, "sleep")) sleep(getenv("FAKE_SLEEP") ? (unsigned)atoi(getenv("FAKE_SLEEP")) : 30);
    if (!strcmp(mode, "fail-all")) {
        printf("{\"event\":\"error\",\"message\":\"no CUDA device (trial %d)\"}\n", number);
        return 1;
    }
    if (!strcmp(mode, "fail-odd") && number % 2) {
        fprintf(stderr, "fake trainer: trial %d goes wrong\n", number);
        printf("{\"event\":\"error\",\"message\":\"loss is nan at step 3 (epoch 1): training diverged\"}\n");
        return 1;
    }
    if (!strcmp(mode, "nospace-odd") && number % 2) {
        fprintf(stderr, "fake trainer: %s/checkpoint.bin: write failed: No space left on device\n", out ? out : ".");
        printf("{\"event\":\"error\",\"message\":\"cannot save the checkpoint: No space left on device\"}\n");
        return 1;
    }
    double best = 0;
    int replay = getenv("FAKE_REPLAY") ? atoi(getenv("FAKE_REPLAY")) : 0;
    int first = state[0] && resume ? saved_epochs(state) + 1 : 1;
    if (first > 1) fprintf(stderr, "fake trainer: trial %d resumes after epoch %d\n", number, first - 1);
    for (int e = first; e <= epochs; e++) {
        if (epoch_sleep && sleep_unless_stopped(atof(epoch_sleep))) {
            FILE *f = fopen(state, "w");
            if (f) fprintf(f, "%d\n", e - 1), fclose(f);
            fprintf(stderr, "fake trainer: trial %d saved its state after epoch %d\n", number, e - 1);
            return 3;
        }
        if (getenv("FAKE_PROGRESS"))
            printf("{\"event\":\"progress\",\"epoch\":%d,\"step\":%d,\"epoch_steps\":2,\"steps_per_epoch\":4,"
                   "\"users_per_s\":1234,\"seconds\":1.5}\n", e, e * 4 - 2);
        double v = 0.1 + 0.01 * number * e / epochs;
        if (!strcmp(mode, "fade") && e > 3) v = 0.09 - 0.001 * number;
        if (!strcmp(mode, "config"))
            v = (0.1 + 0.2 * config_double(config, "anneal_cap", 0) +
                 0.002 * ((long long)config_double(config, "seed", 98765) % 5)) * e / epochs;
        best = v;
        printf("{\"event\":\"epoch\",\"epoch\":%d,\"step\":%d,\"loss\":%g,\"neg_ll\":%g,\"kl\":1,\"beta\":0.1,"
               "\"users_per_s\":1000,\"seconds\":0.01",
               e, e * 4, 100.0 / e, 100.0 / e);
        if (e % eval_every == 0 || e == epochs)
            printf(",\"val\":{\"ndcg@100\":%.6f,\"recall@20\":%.6f,\"recall@50\":%.6f,\"users\":10}", v, v + 0.05,
                   v + 0.1);
        printf("%s}\n", e <= replay ? ",\"replayed\":true" : "");
        fflush(stdout);
        if (!strcmp(mode, "crash-odd") && number % 2) raise(SIGSEGV);
    }
    if (!strcmp(mode, "line-odd") && number % 2) {
        printf("%s\n", getenv("FAKE_LINE") ? getenv("FAKE_LINE") : "");
        return 0;
    }
    printf("{\"event\":\"done\",\"best_epoch\":%d,\"val\":{\"ndcg@100\":%.6f,\"recall@20\":%.6f,\"recall@50\":%.6f,"
           "\"users\":10},\"test\":{\"ndcg@100\":%.6f,\"recall@20\":%.6f,\"recall@50\":%.6f,\"users\":10},"
           "\"train_users_per_s\":1000,\"steps\":%d,\"model\":\"none\"}\n",
           epochs, best, best + 0.05, best + 0.1, best - 0.01, best + 0.04, best + 0.09, epochs * 4);
    fflush(stdout);
    const char *log = getenv("FAKE_LOG");
    if (log) {
        FILE *f = fopen(log, "a");
        if (f) {
            fprintf(f, "%d %s %.6f %.6f\n", number, visible ? visible : "-", start, now());
            fclose(f);
        }
    }
    return 0;
}
