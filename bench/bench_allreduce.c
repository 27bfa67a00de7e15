/* bench_allreduce: the data-parallel path's cost on one GPU (docs/performance.md, "Data
 * parallelism"). On a synthetic preset (default `ml20m`, MovieLens-20M's shape: 24.6M
 * parameters with the paper's model), it times
 *   plain   the backend's train_step, as one GPU trains without a communicator;
 *   nccl    the same steps through NCCL with one rank: shard_grad, ncclAllReduce of the
 *           gradient and of the loss sums, apply_grad (what each of R ranks does);
 *   reduce  ncclAllReduce of the n_params-float gradient alone;
 * and reports the overhead of nccl over plain. With one rank NCCL copies in place, so
 * this measures the fixed cost of the mechanism (launch, polling, the host round trip
 * of the loss sums); the bandwidth term of R > 1 is on paper in docs/performance.md.
 *
 *   bench_allreduce [--preset ml20m] [--precision fp32] [--batch 500] [--steps 50] [--warmup 5]
 *
 * Prints one line for people and one JSON line. Needs a CUDA build with NCCL and a GPU. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cuda_runtime.h>

#include "dataset/protocol.h"
#include "dataset/synth.h"
#include "trainer/backend.h"
#include "trainer/comm.h"
#include "trainer/cuda/comm_nccl.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, const vs_error *err) {
    fprintf(stderr, "bench_allreduce: %s: %s\n", what, err->msg);
    exit(1);
}

/* One step the way train.c runs it with a communicator of one rank. */
static int comm_step(vs_backend *b, vs_comm *c, const int32_t *users, int rows, int64_t step, vs_error *err) {
    vs_step_losses l;
    int found_inf = 0;
    if (b->ops->shard_grad(b, users, rows, rows, 1, step, 0.2, &l, &found_inf, err)) return -1;
    double sums[5] = {l.neg_ll, l.kl, l.l2, found_inf, 0};
    if (vs_comm_allreduce_f32(c, b->ops->grad_buffer(b), b->shape.n_params, err) ||
        vs_comm_allreduce_f64(c, sums, 5, err))
        return -1;
    return b->ops->apply_grad(b, step, sums[3] != 0, err);
}

int main(int argc, char **argv) {
    static const struct option options[] = {
        {"preset", required_argument, 0, 'p'}, {"precision", required_argument, 0, 'P'},
        {"batch", required_argument, 0, 'b'},  {"steps", required_argument, 0, 's'},
        {"warmup", required_argument, 0, 'w'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *preset = "ml20m", *precision = "fp32";
    int batch = 500, steps = 50, warmup = 5, ch;
    while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (ch) {
        case 'p': preset = optarg; break;
        case 'P': precision = optarg; break;
        case 'b': batch = atoi(optarg); break;
        case 's': steps = atoi(optarg); break;
        case 'w': warmup = atoi(optarg); break;
        default:
            fprintf(ch == 'h' ? stdout : stderr,
                    "usage: bench_allreduce [--preset ml20m] [--precision fp32] [--batch 500] [--steps 50] "
                    "[--warmup 5]\n");
            return ch == 'h' ? 0 : 2;
        }
    }
    if (batch < 1 || steps < 1 || warmup < 0) {
        fprintf(stderr, "bench_allreduce: --batch and --steps must be >= 1, --warmup >= 0\n");
        return 2;
    }
    if (vs_backend_gpu_count() < 1) {
        fprintf(stderr, "bench_allreduce: no GPU visible\n");
        return 1;
    }
    vs_error err = {{0}};
    vs_synth_opts so;
    vs_dataset ds = {0};
    if (vs_synth_preset(preset, &so, &err) || vs_synth_dataset(&so, NULL, &ds, &err)) die("synth", &err);

    vs_config cfg;
    vs_config_default(&cfg);
    cfg.batch_size = batch;
    char set[64];
    snprintf(set, sizeof set, "precision=%s", precision);
    if (vs_config_set(&cfg, set, &err)) die("--precision", &err);
    if (ds.train.rows < (int64_t)batch * (warmup + steps)) {
        fprintf(stderr, "bench_allreduce: %lld training users are fewer than %d steps of %d\n",
                (long long)ds.train.rows, warmup + steps, batch);
        return 2;
    }
    int32_t *users = malloc(sizeof(int32_t) * (size_t)ds.train.rows);
    for (int64_t i = 0; i < ds.train.rows; i++) users[i] = (int32_t)i;

    vs_backend *b = vs_backend_create("cuda", &cfg, &ds.train, ds.n_items, &err);
    if (!b) die("backend", &err);
    vs_comm *comm;
    if (vs_comm_nccl_create_all(1, 60, &comm, &err)) die("NCCL", &err);

    double t_plain = 0, t_comm = 0, t_reduce = 0;
    for (int phase = 0; phase < 2; phase++) {
        for (int k = 0; k < warmup + steps; k++) {
            if (k == warmup) {
                cudaDeviceSynchronize();
                (phase ? &t_comm : &t_plain)[0] = -now();
            }
            vs_step_losses l;
            const int32_t *u = users + (size_t)k * batch;
            int rc = phase ? comm_step(b, comm, u, batch, k, &err) : b->ops->train_step(b, u, batch, k, 0.2, &l, &err);
            if (rc) die(phase ? "NCCL step" : "plain step", &err);
        }
        cudaDeviceSynchronize();
        (phase ? &t_comm : &t_plain)[0] += now();
    }
    for (int k = 0; k < warmup + steps; k++) {
        if (k == warmup) {
            cudaDeviceSynchronize();
            t_reduce = -now();
        }
        if (vs_comm_allreduce_f32(comm, b->ops->grad_buffer(b), b->shape.n_params, &err)) die("all-reduce", &err);
    }
    cudaDeviceSynchronize();
    t_reduce += now();
    t_plain /= steps;
    t_comm /= steps;
    t_reduce /= steps;

    struct cudaDeviceProp prop;
    int dev = 0;
    cudaGetDevice(&dev);
    cudaGetDeviceProperties(&prop, dev);
    double overhead = t_comm / t_plain - 1;
    printf("%s, %s, %zu parameters, batch %d, %d steps: plain %.3f ms/step, NCCL (1 rank) %.3f ms/step "
           "(overhead %+.2f%%), all-reduce alone %.3f ms\n",
           prop.name, precision, b->shape.n_params, batch, steps, 1e3 * t_plain, 1e3 * t_comm, 100 * overhead,
           1e3 * t_reduce);
    printf("{\"bench\":\"allreduce\",\"gpu\":\"%s\",\"preset\":\"%s\",\"precision\":\"%s\",\"parameters\":%zu,"
           "\"batch\":%d,\"steps\":%d,\"plain_step_s\":%.6g,\"nccl_step_s\":%.6g,\"overhead\":%.6g,"
           "\"allreduce_s\":%.6g}\n",
           prop.name, preset, precision, b->shape.n_params, batch, steps, t_plain, t_comm, overhead, t_reduce);
    vs_comm_destroy(comm);
    vs_backend_destroy(b);
    free(users);
    vs_dataset_close(&ds);
    return 0;
}
