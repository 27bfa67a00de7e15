/* bench_recommend: latency of "which items will this new user like?" on the CPU, for a
 * model of MovieLens-20M's shape (20,108 items, 600-200-600): 10 items in, the top 100
 * out. It times the resident recommender (vs_recommender_query: the model loaded once,
 * its workspace reused, as `vaesearch recommend --serve` runs) beside what one
 * `vaesearch recommend` process does per user (vs_model_load of the model file, then
 * vs_recommend), alternating query by query in the same run, and prints p50 and p99 of
 * each and the ratio of the p50s. The model file is written to a temporary folder.
 *
 *   bench_recommend [--items N] [--queries N] [--threads N] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>
#include <omp.h>

#include "common/pcg.h"
#include "dataset/ingest.h"
#include "trainer/recommend.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *v, int n, double p) {
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

int main(int argc, char **argv) {
    int n_items_in = 10, queries = 2000, threads = 1, k = 100;
    static const struct option opts[] = {{"items", 1, 0, 'i'}, {"queries", 1, 0, 'q'}, {"threads", 1, 0, 't'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'i') n_items_in = atoi(optarg);
        else if (c == 'q') queries = atoi(optarg);
        else if (c == 't') threads = atoi(optarg);
        else return 2;
    }
    if (n_items_in < 1 || queries < 10 || threads < 1) {
        fprintf(stderr, "bench_recommend: --items >= 1, --queries >= 10, --threads >= 1\n");
        return 2;
    }
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    vs_model_file m;
    memset(&m, 0, sizeof m);
    vs_config_default(&m.cfg);
    m.cfg.n_hidden = 1;
    m.cfg.hidden_dims[0] = 600;
    m.cfg.latent_dim = 200;
    vs_model_shape_init(&m.shape, 20108, &m.cfg);
    m.params = vs_xalloc_aligned(m.shape.n_params * sizeof(float));
    vs_model_init_params(&m.shape, 1, m.params);

    int32_t *items = malloc(sizeof(int32_t) * (size_t)n_items_in), *top = malloc(sizeof(int32_t) * (size_t)k);
    float *prob = malloc(sizeof(float) * (size_t)k);
    double *resident = malloc(sizeof(double) * (size_t)queries), *oneshot = malloc(sizeof(double) * (size_t)queries);
    vs_error err = {{0}};
    char dir[] = "/tmp/bench_recommend.XXXXXX", path[64];
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    {
        vs_idmap ids = {0};
        char text[16];
        for (int i = 0; i < m.shape.n_items; i++) {
            snprintf(text, sizeof text, "%d", i + 1);
            vs_idmap_intern(&ids, text, strlen(text));
        }
        vs_strtab table = vs_idmap_table(&ids);
        int rc = vs_model_save(path, &m.shape, m.params, &m.cfg, &table, 1, 0.0, &err);
        vs_idmap_free(&ids);
        if (rc) goto fail;
    }
    vs_recommender *r = vs_recommender_new(&m);
    vs_pcg32 g = vs_stream(7, 0, 0, 0);
    double checksum = 0;
    /* Alternate the two ways query by query, so that both see the same machine state. */
    for (int q = -20; q < queries; q++) {
        for (int i = 0; i < n_items_in; i++) items[i] = (int32_t)vs_pcg32_bounded(&g, 20108);
        double t0 = now();
        if (vs_recommender_query(r, items, n_items_in, k, top, prob, &err)) goto fail;
        double t1 = now();
        checksum += prob[0];
        vs_model_file loaded;
        if (vs_model_load(path, &loaded, &err)) goto fail;
        int rc = vs_recommend(&loaded, items, n_items_in, k, top, prob, &err);
        vs_model_file_free(&loaded);
        if (rc) goto fail;
        double t2 = now();
        checksum -= prob[0];
        if (q >= 0) resident[q] = 1e3 * (t1 - t0), oneshot[q] = 1e3 * (t2 - t1);   /* the first 20 warm up */
    }
    if (checksum != 0) {
        fprintf(stderr, "bench_recommend: the two ways disagree (checksum %g)\n", checksum);
        return 1;
    }
    double rp50 = percentile(resident, queries, 0.5), rp99 = percentile(resident, queries, 0.99);
    double op50 = percentile(oneshot, queries, 0.5), op99 = percentile(oneshot, queries, 0.99);
    printf("model 20108 items, 600-200-600; %d items in, top %d out; %d queries; %d thread(s)\n", n_items_in, k,
           queries, threads);
    printf("resident (--serve)   p50 %.3f ms  p99 %.3f ms\n", rp50, rp99);
    printf("load + query         p50 %.3f ms  p99 %.3f ms\n", op50, op99);
    printf("ratio (load + query) / resident (p50): %.2f\n", op50 / rp50);
    vs_recommender_free(r);
    unlink(path), rmdir(dir);
    return 0;
fail:
    fprintf(stderr, "bench_recommend: %s\n", err.msg);
    return 1;
}
