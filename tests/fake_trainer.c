/* fake_trainer: a stand-in for vaecf-train in the orchestrator's tests and overhead
 * benchmark. It takes the same arguments, speaks the same JSON lines, and finishes at
 * once (or misbehaves on demand), so what is measured or tested is the orchestrator.
 * The trial number comes from the --out folder's name (trial-N); FAKE_MODE chooses:
 *   ok       (default) epochs 1..E (E from "epochs" in --config, default 3), each with
 *            val ndcg@100 = 0.1 + 0.01 * N * epoch / E, then done
 *   fail-odd odd trials write to stderr and report a diverged loss, exit 1
 *   crash-odd odd trials kill themselves with SIGSEGV after one epoch
 *   sleep    sleep FAKE_SLEEP seconds (default 30) before the epochs; with FAKE_IGNORE_TERM
 *            set it ignores SIGTERM, as a trainer slow to stop would
 * FAKE_REPLAY=K marks the first K epoch lines "replayed", as a resumed trainer repeats them.
 * FAKE_LOG, when set, is a file each run appends "N CUDA_VISIBLE_DEVICES start end" to. */
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

static int epochs_in(const char *config) {
    FILE *f = config ? fopen(config, "r") : NULL;
    if (!f) return 3;
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strstr(buf, "\"epochs\"");
    if (!p || !(p = strchr(p, ':'))) return 3;
    int e = atoi(p + 1);
    return e > 0 ? e : 3;
}

int main(int argc, char **argv) {
    const char *out = NULL, *config = NULL;
    for (int i = 1; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "--out")) out = argv[i + 1];
        if (!strcmp(argv[i], "--config")) config = argv[i + 1];
    }
    const char *t = out ? strstr(out, "trial-") : NULL;
    int number = t ? atoi(t + 6) : 0, epochs = epochs_in(config);
    const char *mode = getenv("FAKE_MODE") ? getenv("FAKE_MODE") : "ok";
    const char *visible = getenv("CUDA_VISIBLE_DEVICES");
    double start = now();
    printf("{\"event\":\"start\",\"device\":\"cpu\",\"cuda_visible_devices\":%s%s%s}\n", visible ? "\"" : "",
           visible ? visible : "null", visible ? "\"" : "");
    fflush(stdout);
    if (getenv("FAKE_IGNORE_TERM")) signal(SIGTERM, SIG_IGN);
    if (!strcmp(mode, "sleep")) sleep(getenv("FAKE_SLEEP") ? (unsigned)atoi(getenv("FAKE_SLEEP")) : 30);
    if (!strcmp(mode, "fail-odd") && number % 2) {
        fprintf(stderr, "fake trainer: trial %d goes wrong\n", number);
        printf("{\"event\":\"error\",\"message\":\"loss is nan at step 3 (epoch 1): training diverged\"}\n");
        return 1;
    }
    double best = 0;
    int replay = getenv("FAKE_REPLAY") ? atoi(getenv("FAKE_REPLAY")) : 0;
    for (int e = 1; e <= epochs; e++) {
        double v = 0.1 + 0.01 * number * e / epochs;
        best = v;
        printf("{\"event\":\"epoch\",\"epoch\":%d,\"step\":%d,\"loss\":%g,\"neg_ll\":%g,\"kl\":1,\"beta\":0.1,"
               "\"users_per_s\":1000,\"seconds\":0.01,\"val\":{\"ndcg@100\":%.6f,\"recall@20\":%.6f,\"recall@50\":%.6f,"
               "\"users\":10}%s}\n",
               e, e * 4, 100.0 / e, 100.0 / e, v, v + 0.05, v + 0.1, e <= replay ? ",\"replayed\":true" : "");
        fflush(stdout);
        if (!strcmp(mode, "crash-odd") && number % 2) raise(SIGSEGV);
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
