/* test_gpu_data_parallel: the NCCL path on a GPU (docs/cuda.md, "Data parallelism").
 * A trial forced through the communicator with one rank (--comm always: the step split
 * into shard_grad, NCCL's all-reduce of the gradient and the loss sums, apply_grad; the
 * evaluation's sums all-reduced; the state broadcast) must equal the plain path to the
 * bit, in fp32 and in fp16 (the loss scaler's decisions go through the reduced overflow
 * flag). With two or more GPUs, 2 ranks must give the 1-rank parameters within float
 * tolerance. Skipped (77) without a GPU or without NCCL in the build; failed then when
 * VS_REQUIRE_GPU=1 (test_gpu.h). Since dW1 is built without atomics (by_item.cuh), the
 * plain path is deterministic, so bit-identity is a fair test; two plain runs of the same
 * seed are compared to the bit first, so that a difference is pinned on the right cause. */
#include <unistd.h>

#include <cjson/cJSON.h>

#include "test.h"
#include "test_gpu.h"
#include "dataset/protocol.h"
#include "dataset/synth.h"
#include "trainer/backend.h"
#include "trainer/safetensors.h"
#include "trainer/train.h"

static char tmp[2048];
static vs_dataset ds;

static void make_dataset(void) {
    vs_error err = {{0}};
    vs_synth_opts so;
    if (vs_synth_preset("small", &so, &err) || vs_synth_dataset(&so, NULL, &ds, &err)) {
        fprintf(stderr, "synth: %s\n", err.msg);
        exit(1);
    }
}

typedef struct outcome {
    int rc;
    float *params;
    size_t n;
    char done[4096];
    vs_error err;
} outcome;

static outcome train(const char *name, vs_precision prec, int ranks, int comm_always) {
    outcome out = {0};
    vs_config cfg;
    vs_config_default(&cfg);
    cfg.precision = prec;
    cfg.batch_size = 200;
    cfg.epochs = 2;
    cfg.eval_every = 1;
    cfg.total_anneal_steps = 0;
    cfg.lambda = 0.01;
    char dir[4096], events[4200], state[4200];
    snprintf(dir, sizeof dir, "%s/%s", tmp, name);
    snprintf(events, sizeof events, "%s/%s.jsonl", tmp, name);
    FILE *f = fopen(events, "w+");
    vs_train_opts o = {.device = "cuda", .out_dir = dir, .events = f, .ranks = ranks, .comm_always = comm_always,
                       .comm_timeout = 120};
    out.rc = vs_train_run(&ds, &cfg, &o, &out.err);
    rewind(f);
    char line[1 << 16];
    while (fgets(line, sizeof line, f))
        if (strstr(line, "\"event\":\"done\"")) {
            /* the metrics and steps, without the timing */
            cJSON *d = cJSON_Parse(line);
            cJSON_DeleteItemFromObject(d, "train_users_per_s");
            cJSON_DeleteItemFromObject(d, "model");
            cJSON_DeleteItemFromObject(d, "ranks");
            char *s = cJSON_PrintUnformatted(d);
            snprintf(out.done, sizeof out.done, "%s", s);
            free(s);
            cJSON_Delete(d);
        }
    fclose(f);
    snprintf(state, sizeof state, "%s/state.safetensors", dir);
    vs_st_file st;
    vs_error err = {{0}};
    if (out.rc == VS_TRAIN_DONE && vs_st_read(state, &st, &err) == 0) {
        const vs_st_tensor *t = vs_st_find(&st, "params");
        out.n = (size_t)t->shape[0];
        out.params = malloc(out.n * sizeof(float));
        memcpy(out.params, t->data, out.n * sizeof(float));
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

int main(void) {
    int missing = test_gpu_missing_nccl();
    if (missing) return missing;
    int gpus = vs_backend_gpu_count();
    const char *base = getenv("VS_TEST_TMP");
    snprintf(tmp, sizeof tmp, "%s", base ? base : "/tmp/test_gpu_data_parallel");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", tmp, tmp);
    if (system(cmd)) return 1;
    make_dataset();

    vs_precision precs[2] = {VS_FP32, VS_FP16};
    for (int p = 0; p < 2; p++) {
        char a[64], b[64];
        snprintf(a, sizeof a, "plain-%s", vs_precision_name(precs[p]));
        snprintf(b, sizeof b, "nccl1-%s", vs_precision_name(precs[p]));
        char a2[80];
        snprintf(a2, sizeof a2, "%s-again", a);
        outcome plain = train(a, precs[p], 1, 0), again = train(a2, precs[p], 1, 0);
        CHECK_MSG(plain.rc == VS_TRAIN_DONE && again.rc == VS_TRAIN_DONE, "%s: %s %s", a, plain.err.msg,
                  again.err.msg);
        CHECK_MSG(max_diff(&plain, &again) == 0 && !strcmp(plain.done, again.done),
                  "%s: two plain runs of the same seed differ (by %g): the backend is not deterministic",
                  vs_precision_name(precs[p]), max_diff(&plain, &again));
        free(again.params);
        outcome nccl = train(b, precs[p], 1, 1);
        CHECK_MSG(nccl.rc == VS_TRAIN_DONE, "%s: %s", b, nccl.err.msg);
        CHECK_MSG(max_diff(&plain, &nccl) == 0, "%s: NCCL with 1 rank differs from the plain path by %g",
                  vs_precision_name(precs[p]), max_diff(&plain, &nccl));
        CHECK_MSG(!strcmp(plain.done, nccl.done), "done lines differ:\n  %s\n  %s", plain.done, nccl.done);
        printf("%s: NCCL with 1 rank equals the plain path: %s\n", vs_precision_name(precs[p]),
               max_diff(&plain, &nccl) == 0 ? "yes" : "NO");
        if (gpus >= 2 && precs[p] == VS_FP32) {
            outcome two = train("nccl2-fp32", precs[p], 2, 0);
            CHECK_MSG(two.rc == VS_TRAIN_DONE, "2 GPUs: %s", two.err.msg);
            printf("2 GPUs: largest parameter difference from 1 GPU %.3g\n", max_diff(&plain, &two));
            CHECK(max_diff(&plain, &two) < 1e-4);
            free(two.params);
        } else if (precs[p] == VS_FP32) {
            printf("one GPU: the 2-GPU comparison needs two and was not run\n");
        }
        free(plain.params);
        free(nccl.params);
    }
    vs_dataset_close(&ds);
    return test_finish();
}
