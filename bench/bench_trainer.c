/* bench_trainer: the stand-in trainer of the TPE benchmark (bench_tpe.py). `vaesearch run
 * --trainer build/bench_trainer` runs it for each trial as it runs vaecf-train; it reads
 * the trial's config (--config) and reports, for its one epoch, the value of the known
 * function named by BENCH_FUNCTION (tpe_functions.h) as the validation metric, exactly
 * (17 digits), so that results.db holds the very double bench_tpe_quality computes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tpe_functions.h"

static cJSON *read_config(const char *path) {
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return cJSON_Parse(buf);
}

static void fail(const char *msg) {
    printf("{\"event\":\"error\",\"message\":\"%s\"}\n", msg);
    exit(1);
}

int main(int argc, char **argv) {
    const char *config_path = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--config")) config_path = argv[i + 1];
    const char *function = getenv("BENCH_FUNCTION");
    printf("{\"event\":\"start\",\"device\":\"cpu\",\"cuda_visible_devices\":null}\n");
    if (!function) fail("BENCH_FUNCTION is not set (branin, hartmann6 or mixed)");
    cJSON *config = read_config(config_path);
    if (!config) fail("cannot read the trial's config");
    double v;
    char why[256];
    if (tpe_function_value(function, config, &v, why, sizeof why)) fail(why);
    cJSON_Delete(config);
    printf("{\"event\":\"epoch\",\"epoch\":1,\"step\":1,\"loss\":1,\"neg_ll\":1,\"kl\":0,\"beta\":0,\"users_per_s\":1,"
           "\"seconds\":0,\"val\":{\"ndcg@100\":%.17g,\"recall@20\":%.17g,\"recall@50\":%.17g,\"users\":1}}\n",
           v, v, v);
    printf("{\"event\":\"done\",\"best_epoch\":1,\"val\":{\"ndcg@100\":%.17g,\"recall@20\":%.17g,\"recall@50\":%.17g,"
           "\"users\":1},\"test\":{\"ndcg@100\":%.17g,\"recall@20\":%.17g,\"recall@50\":%.17g,\"users\":1},"
           "\"train_users_per_s\":1,\"steps\":1,\"model\":\"none\"}\n",
           v, v, v, v, v, v);
    return 0;
}
