/* bench_gpu: the CUDA backend's training throughput and evaluation time on the `ml20m`
 * synthetic preset (MovieLens-20M's shape), for each precision and batch size, beside
 * the cuBLAS floor measured in the same run: the step's dense products alone (every
 * layer but the sparse first one: forward, weight gradient, input gradient) at the same
 * shapes and precision. Achieved TFLOP/s counts vs_model_step_flops per step.
 *
 *   bench_gpu [--preset ml20m] [--precisions fp32,tf32,bf16,fp16] [--batches 500,4096,24576]
 *             [--steps N] [--warmup N] [--eval-users N] [--floor-reps N]
 *
 * Prints a table, then one JSON line per measurement. Needs a CUDA build and a GPU.
 * Exits 1 when any configuration failed (its row and JSON line say why instead of
 * giving figures), a step's loss included: every step's loss must be finite. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cuda_runtime.h>

#include "dataset/protocol.h"
#include "dataset/synth.h"
#include "trainer/backend.h"
#include "trainer/cuda/backend_cuda.h"
#include "trainer/cuda/device_cuda.h"
#include "trainer/train.h"

#define MAX_LIST 8

typedef struct run_result {
    vs_precision precision;
    int batch, steps, ok;
    double users_per_s, step_s, tflops, floor_step_s, floor_tflops, last_loss;
    double eval_s;
    int64_t eval_users;
    vs_error error;
} run_result;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, const vs_error *err) {
    fprintf(stderr, "bench_gpu: %s: %s\n", what, err->msg);
    exit(1);
}

/* "a,b,c" into at most MAX_LIST strings (the argument is modified). */
static int split_list(char *s, char **out) {
    int n = 0;
    for (char *tok = strtok(s, ","); tok && n < MAX_LIST; tok = strtok(NULL, ",")) out[n++] = tok;
    return n;
}

static int parse_precision(const char *s, vs_precision *p) {
    static const vs_precision all[] = {VS_FP32, VS_TF32, VS_FP16, VS_BF16};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, vs_precision_name(all[i]))) return *p = all[i], 0;
    return -1;
}

/* Rows of step k of the run: consecutive slices of each epoch's permutation. */
static int step_rows(int64_t n, int batch, int64_t k, int64_t steps_per_epoch, int64_t *r0) {
    int64_t in_epoch = k % steps_per_epoch;
    *r0 = in_epoch * batch;
    return (int)(n - *r0 < batch ? n - *r0 : batch);
}

static void run_one(const vs_dataset *ds, vs_precision prec, int batch, int warmup, int steps, int floor_reps,
                    int64_t eval_users, run_result *out) {
    memset(out, 0, sizeof *out);
    out->precision = prec;
    out->batch = batch;
    vs_config cfg;
    vs_config_default(&cfg);
    cfg.batch_size = batch;
    cfg.precision = prec;
    vs_error err = {{0}};
    vs_backend *b = vs_backend_create("cuda", &cfg, &ds->train, ds->n_items, &err);
    if (!b) {
        out->error = err;
        return;
    }
    int64_t n = ds->train.rows, steps_per_epoch = (n + batch - 1) / batch;
    double mean_nnz = (double)vs_csr_nnz(&ds->train) / (double)n;
    int32_t *perm = malloc(sizeof(int32_t) * (size_t)n);
    int64_t perm_epoch = -1, users = 0;
    double t = 0, flops = 0;
    vs_step_losses l = {0};
    for (int64_t k = 0; k < warmup + steps; k++) {
        int64_t epoch = k / steps_per_epoch, r0;
        if (epoch != perm_epoch) vs_epoch_permutation(perm, n, cfg.seed, perm_epoch = epoch);
        int rows = step_rows(n, batch, k, steps_per_epoch, &r0);
        double t0 = now();
        if (b->ops->train_step(b, perm + r0, rows, k, vs_config_beta(&cfg, k), &l, &err)) {
            out->error = err;
            goto done;
        }
        if (!isfinite(l.loss)) {   /* a throughput of wrong arithmetic is no figure */
            vs_errorf(&out->error, "step %lld: the loss is %g", (long long)k, l.loss);
            goto done;
        }
        if (k < warmup) continue;   /* the step reads its losses back: it has finished here */
        t += now() - t0;
        users += rows;
        flops += vs_model_step_flops(&b->shape, rows, rows * mean_nnz * cfg.keep_prob);
    }
    out->steps = steps;
    out->step_s = t / steps;
    out->users_per_s = users / t;
    out->tflops = flops / t * 1e-12;
    out->last_loss = l.loss;
    double floor_flops = 0;
    if (vs_cuda_time_dense_products(&b->shape, prec, batch, floor_reps, &out->floor_step_s, &floor_flops, &err)) {
        out->error = err;
        goto done;
    }
    out->floor_tflops = floor_flops / out->floor_step_s * 1e-12;
    if (eval_users > 0) {
        vs_csr in = ds->val_in, tg = ds->val_out;
        if (in.rows > eval_users) in.rows = tg.rows = eval_users;
        vs_metric_sums sums = {0};
        double t0 = now();
        if (b->ops->evaluate(b, &in, &tg, &sums, &err)) {
            out->error = err;
            goto done;
        }
        out->eval_s = now() - t0;
        out->eval_users = in.rows;
    }
    out->ok = 1;
done:
    free(perm);
    vs_backend_destroy(b);
}

int main(int argc, char **argv) {
    const char *preset = "ml20m";
    char precisions_arg[128] = "fp32,tf32,bf16,fp16", batches_arg[128] = "500,4096,24576";
    int steps = 20, warmup = 3, floor_reps = 10;
    int64_t eval_users = 10000;
    static const struct option opts[] = {{"preset", 1, 0, 'p'},     {"precisions", 1, 0, 'P'}, {"batches", 1, 0, 'b'},
                                         {"steps", 1, 0, 's'},      {"warmup", 1, 0, 'w'},     {"eval-users", 1, 0, 'e'},
                                         {"floor-reps", 1, 0, 'f'}, {"help", 0, 0, 'h'},       {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'p') preset = optarg;
        else if (ch == 'P') snprintf(precisions_arg, sizeof precisions_arg, "%s", optarg);
        else if (ch == 'b') snprintf(batches_arg, sizeof batches_arg, "%s", optarg);
        else if (ch == 's') steps = atoi(optarg);
        else if (ch == 'w') warmup = atoi(optarg);
        else if (ch == 'e') eval_users = atoll(optarg);
        else if (ch == 'f') floor_reps = atoi(optarg);
        else {
            printf("usage: bench_gpu [--preset ml20m] [--precisions fp32,tf32,bf16,fp16] [--batches 500,4096,24576]\n"
                   "                 [--steps N] [--warmup N] [--eval-users N] [--floor-reps N]\n");
            return ch == 'h' ? 0 : 2;
        }
    }
    if (steps < 1 || warmup < 0 || floor_reps < 1) {
        fprintf(stderr, "bench_gpu: --steps and --floor-reps must be >= 1, --warmup >= 0\n");
        return 2;
    }
    char *prec_names[MAX_LIST], *batch_names[MAX_LIST];
    int n_prec = split_list(precisions_arg, prec_names), n_batch = split_list(batches_arg, batch_names);
    vs_precision precs[MAX_LIST];
    int batches[MAX_LIST];
    for (int i = 0; i < n_prec; i++)
        if (parse_precision(prec_names[i], &precs[i])) {
            fprintf(stderr, "bench_gpu: --precisions: unknown '%s' (fp32, tf32, fp16, bf16)\n", prec_names[i]);
            return 2;
        }
    for (int i = 0; i < n_batch; i++)
        if ((batches[i] = atoi(batch_names[i])) < 1) {
            fprintf(stderr, "bench_gpu: --batches: '%s' is not a positive integer\n", batch_names[i]);
            return 2;
        }
    setvbuf(stdout, NULL, _IOLBF, 0);

    const char *problem = vs_cuda_device_problem();
    if (problem) {
        fprintf(stderr, "bench_gpu: no usable CUDA device: %s\n", problem);
        return 1;
    }
    struct cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
        fprintf(stderr, "bench_gpu: cudaGetDeviceProperties failed\n");
        return 1;
    }

    vs_error err = {{0}};
    double t0 = now();
    vs_synth_opts so;
    if (vs_synth_preset(preset, &so, &err)) die("--preset", &err);
    vs_dataset ds = {0};
    if (vs_synth_dataset(&so, NULL, &ds, &err)) die("synth", &err);
    printf("device: %s (sm_%d%d, %.1f GiB)\n", prop.name, prop.major, prop.minor,
           (double)prop.totalGlobalMem / (1024.0 * 1024 * 1024));
    printf("data: preset %s, %lld train users, %lld items, %lld train interactions, %lld validation users (%.1f s)\n",
           preset, (long long)ds.train.rows, (long long)ds.n_items, (long long)vs_csr_nnz(&ds.train),
           (long long)ds.val_in.rows, now() - t0);
    printf("timing: %d warm-up steps, then %d timed steps; floor = the step's dense products alone (cuBLAS)\n\n", warmup,
           steps);
    printf("%-5s %6s %12s %9s %9s %12s %8s %10s %10s\n", "prec", "batch", "users/s", "step ms", "TFLOP/s",
           "floor TFLOP/s", "ratio", "eval s", "last loss");
    printf("(ratio = step time / floor time; eval s = %lld validation users, once per precision)\n",
           (long long)eval_users);

    run_result results[MAX_LIST * MAX_LIST];
    int n_results = 0, n_failed = 0;
    for (int i = 0; i < n_prec; i++)
        for (int j = 0; j < n_batch; j++) {
            run_result *r = &results[n_results++];
            /* one evaluation per precision, with the first batch size's backend */
            run_one(&ds, precs[i], batches[j], warmup, steps, floor_reps, j == 0 ? eval_users : 0, r);
            if (!r->ok) {
                printf("%-5s %6d  failed: %s\n", vs_precision_name(r->precision), r->batch, r->error.msg);
                n_failed++;
                continue;
            }
            char eval_s[32] = "-";
            if (r->eval_users) snprintf(eval_s, sizeof eval_s, "%.3f", r->eval_s);
            printf("%-5s %6d %12.0f %9.2f %9.2f %12.2f %8.3f %10s %10.4f\n", vs_precision_name(r->precision), r->batch,
                   r->users_per_s, r->step_s * 1e3, r->tflops, r->floor_tflops, r->step_s / r->floor_step_s, eval_s,
                   r->last_loss);
        }
    printf("\n");
    for (int i = 0; i < n_results; i++) {
        const run_result *r = &results[i];
        if (!r->ok) {
            printf("{\"bench\":\"gpu_train\",\"preset\":\"%s\",\"precision\":\"%s\",\"batch\":%d,\"error\":\"", preset,
                   vs_precision_name(r->precision), r->batch);
            for (const char *c = r->error.msg; *c; c++) putchar(*c == '"' || *c == '\\' ? '\'' : *c);
            printf("\"}\n");
            continue;
        }
        printf("{\"bench\":\"gpu_train\",\"device\":\"%s\",\"preset\":\"%s\",\"precision\":\"%s\",\"batch\":%d,"
               "\"steps\":%d,\"users_per_s\":%.1f,\"step_ms\":%.4f,\"tflops\":%.4f,\"floor_step_ms\":%.4f,"
               "\"floor_tflops\":%.4f,\"ratio\":%.4f,\"last_loss\":%.6f}\n",
               prop.name, preset, vs_precision_name(r->precision), r->batch, r->steps, r->users_per_s, r->step_s * 1e3,
               r->tflops, r->floor_step_s * 1e3, r->floor_tflops, r->step_s / r->floor_step_s, r->last_loss);
        if (r->eval_users)
            printf("{\"bench\":\"gpu_eval\",\"device\":\"%s\",\"preset\":\"%s\",\"precision\":\"%s\",\"users\":%lld,"
                   "\"seconds\":%.4f,\"users_per_s\":%.1f}\n",
                   prop.name, preset, vs_precision_name(r->precision), (long long)r->eval_users, r->eval_s,
                   r->eval_users / r->eval_s);
    }
    vs_dataset_close(&ds);
    if (n_failed) {
        fprintf(stderr, "bench_gpu: %d of %d configurations failed\n", n_failed, n_results);
        return 1;
    }
    return 0;
}
