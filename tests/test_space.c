/* test_space: the search space (space/): the example spaces in
 * search_spaces/ load; every kind of parameter and every default; a table of broken
 * spaces, each refused with the JSON path of the culprit; Optuna's distribution JSON
 * (the expected strings were printed by optuna 5.0's distribution_to_json); a trial's
 * trainer config; the differences between two spaces; grid sizes; file loading. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test.h"
#include "common/json_exact.h"
#include "space/space.h"
#include "trainer/config.h"

/* ------------------------------------------------------------ helpers */

static int parse(const char *json, vs_space *s, vs_error *err) { return vs_space_parse(json, "t.json", s, err); }

static const vs_param *find_param(const vs_space *s, const char *name) {
    for (int i = 0; i < s->n_params; i++)
        if (!strcmp(s->params[i].name, name)) return &s->params[i];
    return NULL;
}

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

/* search_spaces/ beside tests/, found from this file's path (C tests get no source dir). */
static void example_path(char *out, size_t n, const char *file) {
    const char *src = __FILE__;
    const char *slash = strrchr(src, '/');
    if (!slash) {
        snprintf(out, n, "../search_spaces/%s", file);
        return;
    }
    snprintf(out, n, "%.*s/../search_spaces/%s", (int)(slash - src), src, file);
}

/* ------------------------------------------------------------ good spaces */

static const char *full_space =
    "{\n"
    "  \"name\": \"full-1\",\n"
    "  \"description\": \"every kind of parameter\",\n"
    "  \"dataset\": \"data/x.vsds\",\n"
    "  \"sampler\": {\"kind\": \"random\", \"seed\": 5},\n"
    "  \"budget\": {\"trials\": 12, \"max_seconds\": 3600},\n"
    "  \"fixed\": {\"epochs\": 10, \"batch_size\": 100},\n"
    "  \"parameters\": {\n"
    "    \"lr\": {\"type\": \"loguniform\", \"low\": 1e-4, \"high\": 1e-2},\n"
    "    \"anneal_cap\": {\"type\": \"uniform\", \"low\": 0.1, \"high\": 0.5, \"step\": 0.05},\n"
    "    \"keep_prob\": {\"type\": \"constant\", \"value\": 0.5},\n"
    "    \"latent_dim\": {\"type\": \"int\", \"low\": 50, \"high\": 400, \"log\": true},\n"
    "    \"hidden_dims\": {\"type\": \"categorical\", \"choices\": [[600], [600, 200]]},\n"
    "    \"total_anneal_steps\": {\"type\": \"int\", \"low\": 1000, \"high\": 20000, \"step\": 1000},\n"
    "    \"lambda\": {\"type\": \"uniform\", \"low\": 0, \"high\": 1e-5},\n"
    "    \"beta2\": {\"type\": \"categorical\", \"choices\": [0.9, 0.999]}\n"
    "  }\n"
    "}\n";

static void test_full_space(void) {
    vs_space s;
    vs_error err = {{0}};
    CHECK_OK(parse(full_space, &s, &err), &err);
    if (!s.name) return;
    CHECK(!strcmp(s.name, "full-1"));
    CHECK(!strcmp(s.dataset, "data/x.vsds"));   /* parse does not resolve; load does */
    CHECK(s.dataset_synth == NULL);
    CHECK(!strcmp(s.metric, "ndcg@100"));
    CHECK(s.maximize == 1);
    CHECK(s.sampler == VS_SAMPLER_RANDOM);
    CHECK(s.seed == 5);
    CHECK(s.n_trials == 12);
    CHECK(s.max_seconds == 3600);
    CHECK(s.gpus_per_trial == 1 && s.trials_per_gpu == 1 && s.max_retries == 0 && s.window == 0);
    CHECK(s.trial_timeout == 0);
    CHECK(s.pruner == VS_PRUNER_NONE);
    CHECK(!strcmp(s.source_path, "t.json"));

    /* Parameters in name order, whatever the file's order. */
    const char *order[] = {"anneal_cap", "beta2", "hidden_dims", "keep_prob", "lambda", "latent_dim", "lr", "total_anneal_steps"};
    CHECK(s.n_params == 8);
    for (int i = 0; i < 8 && i < s.n_params; i++) CHECK_MSG(!strcmp(s.params[i].name, order[i]), "param %d is %s", i, s.params[i].name);

    const vs_param *p = find_param(&s, "lr");
    CHECK(p && p->kind == VS_PARAM_LOG_UNIFORM && p->low == 1e-4 && p->high == 1e-2 && p->step == 0);
    p = find_param(&s, "anneal_cap");
    CHECK(p && p->kind == VS_PARAM_UNIFORM && p->low == 0.1 && p->high == 0.5 && p->step == 0.05);
    p = find_param(&s, "latent_dim");
    CHECK(p && p->kind == VS_PARAM_INT && p->low == 50 && p->high == 400 && p->step == 1 && p->log == 1);
    p = find_param(&s, "total_anneal_steps");
    CHECK(p && p->kind == VS_PARAM_INT && p->step == 1000 && p->log == 0);
    p = find_param(&s, "hidden_dims");
    CHECK(p && p->kind == VS_PARAM_CATEGORICAL && p->n_choices == 2 && cJSON_GetArraySize(p->choices[1]) == 2);
    p = find_param(&s, "keep_prob");
    CHECK(p && p->kind == VS_PARAM_CONSTANT && cJSON_IsNumber(p->value) && p->value->valuedouble == 0.5);

    /* The fixed settings, in the trainer's key order (batch_size before epochs). */
    char *fixed = cJSON_PrintUnformatted(s.fixed);
    CHECK_MSG(!strcmp(fixed, "{\"batch_size\":100,\"epochs\":10}"), "%s", fixed);
    free(fixed);

    /* Not a grid: lr is continuous. */
    vs_error gerr = {{0}};
    CHECK(vs_space_grid_size(&s, &gerr) == 0);
    CHECK_MSG(strstr(gerr.msg, "parameters.lambda: a grid needs") != NULL, "%s", gerr.msg);
    vs_space_free(&s);
    CHECK(s.name == NULL && s.params == NULL);
}

static void test_defaults_and_pruners(void) {
    vs_space s;
    vs_error err = {{0}};
    /* Nothing but the required keys: TPE, no pruner, ndcg@100 maximised. */
    CHECK_OK(parse("{\"name\":\"d\",\"dataset\":{\"synth\":\"small\"},\"budget\":{\"trials\":3},"
                   "\"parameters\":{\"lr\":{\"type\":\"log-uniform\",\"low\":0.001,\"high\":0.1}}}",
                   &s, &err),
             &err);
    if (s.name) {
        CHECK(s.sampler == VS_SAMPLER_TPE && s.seed == 0 && s.tpe_startup_trials == 10 && s.tpe_candidates == 24);
        CHECK(s.tpe_multivariate == VS_TPE_MULTIVARIATE);
        CHECK(s.pruner == VS_PRUNER_NONE && s.pruner_startup_trials == 5 && s.pruner_warmup_epochs == 5);
        CHECK(s.asha_min_epochs == 1 && s.asha_reduction_factor == 3);
        CHECK(s.dataset == NULL && !strcmp(s.dataset_synth, "small"));
        CHECK(s.max_seconds == 0 && s.gpus_per_trial == 1 && s.trials_per_gpu == 1);
        CHECK(cJSON_GetArraySize(s.fixed) == 0);
        const char *expected =
            "{\"name\":\"d\",\"dataset\":{\"synth\":\"small\"},\"objective\":{\"metric\":\"ndcg@100\",\"direction\":"
            "\"maximize\"},\"sampler\":{\"kind\":\"tpe\",\"seed\":0,\"startup_trials\":10,\"candidates\":24,"
            "\"multivariate\":true},"
            "\"budget\":{\"trials\":3,\"max_seconds\":0},\"resources\":{\"gpus_per_trial\":1,\"trials_per_gpu\":1,"
            "\"max_retries\":0,\"trial_timeout\":0,\"window\":0},\"pruner\":{\"kind\":\"none\"},\"fixed\":{},"
            "\"parameters\":{\"lr\":{\"type\":\"log_uniform\",\"low\":0.001,\"high\":0.1}}}";
        CHECK_MSG(!strcmp(s.canonical, expected), "%s", s.canonical);
    }
    vs_space_free(&s);

    /* Median and ASHA settings; minimize recall@50; every resource. */
    CHECK_OK(parse("{\"name\":\"m\",\"dataset\":\"x.vsds\",\"objective\":{\"metric\":\"recall@50\",\"direction\":"
                   "\"minimize\"},\"sampler\":{\"kind\":\"tpe\",\"startup_trials\":3,\"candidates\":7,\"seed\":9},"
                   "\"budget\":{\"trials\":4},\"resources\":{\"gpus_per_trial\":2,\"trials_per_gpu\":3,"
                   "\"max_retries\":2,\"trial_timeout\":90.5,\"window\":6},"
                   "\"pruner\":{\"kind\":\"median\",\"startup_trials\":2,\"warmup_epochs\":0},"
                   "\"parameters\":{\"lr\":{\"type\":\"uniform\",\"log\":true,\"low\":0.001,\"high\":0.1}}}",
                   &s, &err),
             &err);
    if (s.name) {
        CHECK(!strcmp(s.metric, "recall@50") && s.maximize == 0);
        CHECK(s.tpe_startup_trials == 3 && s.tpe_candidates == 7 && s.seed == 9);
        CHECK(s.gpus_per_trial == 2 && s.trials_per_gpu == 3 && s.max_retries == 2 && s.trial_timeout == 90.5 &&
              s.window == 6);
        CHECK(s.pruner == VS_PRUNER_MEDIAN && s.pruner_startup_trials == 2 && s.pruner_warmup_epochs == 0);
        CHECK(s.params[0].kind == VS_PARAM_LOG_UNIFORM);   /* uniform with "log": true */
    }
    vs_space_free(&s);

    CHECK_OK(parse("{\"name\":\"a\",\"dataset\":\"x.vsds\",\"budget\":{\"trials\":4},"
                   "\"pruner\":{\"kind\":\"asha\",\"min_epochs\":2,\"reduction_factor\":4},"
                   "\"parameters\":{\"lr\":{\"type\":\"log_uniform\",\"low\":0.001,\"high\":0.1}}}",
                   &s, &err),
             &err);
    if (s.name) CHECK(s.pruner == VS_PRUNER_ASHA && s.asha_min_epochs == 2 && s.asha_reduction_factor == 4);
    vs_space_free(&s);

    /* eval_every with a pruner is kept as written. It is refused (test_bad_spaces) only
     * when no validated epoch before the last could be judged; accepted when one can,
     * when the warm-up alone is the reason none can, or when epochs varies by trial. */
    static const char *const accepted[] = {
        "\"pruner\":{\"kind\":\"median\",\"warmup_epochs\":4},\"fixed\":{\"epochs\":10,\"eval_every\":3}",
        "\"pruner\":{\"kind\":\"median\",\"warmup_epochs\":6},\"fixed\":{\"epochs\":10,\"eval_every\":3}",
        "\"pruner\":{\"kind\":\"asha\",\"min_epochs\":2},\"fixed\":{\"epochs\":10,\"eval_every\":9}",
        "\"pruner\":{\"kind\":\"none\"},\"fixed\":{\"epochs\":10,\"eval_every\":10}",
        "\"pruner\":{\"kind\":\"median\",\"warmup_epochs\":20},\"fixed\":{\"epochs\":5,\"eval_every\":5}",
    };
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        char json[1024];
        snprintf(json, sizeof json, "{\"name\":\"e\",\"dataset\":\"x.vsds\",\"budget\":{\"trials\":4},%s,"
                 "\"parameters\":{\"lr\":{\"type\":\"log_uniform\",\"low\":0.001,\"high\":0.1}}}", accepted[i]);
        CHECK_OK(parse(json, &s, &err), &err);
        const cJSON *every = s.name ? cJSON_GetObjectItemCaseSensitive(s.fixed, "eval_every") : NULL;
        CHECK_MSG(every && every->valuedouble == (i == 2 ? 9 : i < 2 ? 3 : i == 3 ? 10 : 5), "case %zu", i);
        vs_space_free(&s);
    }
    CHECK_OK(parse("{\"name\":\"e\",\"dataset\":\"x.vsds\",\"budget\":{\"trials\":4},\"pruner\":{\"kind\":"
                   "\"median\"},\"fixed\":{\"eval_every\":50},\"parameters\":{\"epochs\":{\"type\":\"int\","
                   "\"low\":10,\"high\":200}}}",
                   &s, &err),
             &err);
    vs_space_free(&s);
}

/* The canonical form: the same space written differently gives the same text, a
 * description does not count, and the canonical text is itself a space that reads back
 * to the same canonical text. */
static void test_canonical(void) {
    const char *reordered =
        "{\"parameters\": {\"beta2\": {\"choices\": [0.9, 0.999], \"type\": \"choice\"},"
        " \"total_anneal_steps\": {\"step\": 1000, \"high\": 20000, \"low\": 1000, \"type\": \"integer\"},"
        " \"lambda\": {\"high\": 0.00001, \"low\": 0.0, \"type\": \"float\"},"
        " \"hidden_dims\": {\"choices\": [[600], [600, 200]], \"type\": \"categorical\"},"
        " \"latent_dim\": {\"log\": true, \"step\": 1, \"high\": 400, \"low\": 50, \"type\": \"int\"},"
        " \"keep_prob\": {\"value\": 0.5, \"type\": \"constant\"},"
        " \"anneal_cap\": {\"step\": 0.05, \"high\": 0.5, \"low\": 0.1, \"type\": \"uniform\"},"
        " \"lr\": {\"high\": 0.01, \"low\": 0.0001, \"type\": \"log_uniform\"}},"
        " \"fixed\": {\"batch_size\": 100, \"epochs\": 10},"
        " \"budget\": {\"max_seconds\": 3600, \"trials\": 12}, \"sampler\": {\"seed\": 5, \"kind\": \"random\"},"
        " \"dataset\": \"data/x.vsds\", \"name\": \"full-1\"}";
    vs_space a, b, c;
    vs_error err = {{0}};
    CHECK_OK(parse(full_space, &a, &err), &err);
    CHECK_OK(parse(reordered, &b, &err), &err);
    if (!a.canonical || !b.canonical) return;
    CHECK_MSG(!strcmp(a.canonical, b.canonical), "\n%s\n%s", a.canonical, b.canonical);
    CHECK(vs_space_diff(a.canonical, b.canonical) == NULL);
    const char *params_part =
        "\"parameters\":{\"anneal_cap\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.5,\"step\":0.05},"
        "\"beta2\":{\"type\":\"categorical\",\"choices\":[0.9,0.999]},"
        "\"hidden_dims\":{\"type\":\"categorical\",\"choices\":[[600],[600,200]]},"
        "\"keep_prob\":{\"type\":\"constant\",\"value\":0.5},"
        "\"lambda\":{\"type\":\"uniform\",\"low\":0,\"high\":1e-05},"
        "\"latent_dim\":{\"type\":\"int\",\"low\":50,\"high\":400,\"step\":1,\"log\":true},"
        "\"lr\":{\"type\":\"log_uniform\",\"low\":0.0001,\"high\":0.01},"
        "\"total_anneal_steps\":{\"type\":\"int\",\"low\":1000,\"high\":20000,\"step\":1000,\"log\":false}}}";
    CHECK_MSG(strstr(a.canonical, params_part) != NULL, "%s", a.canonical);
    CHECK(strstr(a.canonical, "description") == NULL);
    CHECK_OK(parse(a.canonical, &c, &err), &err);
    if (c.canonical) CHECK(!strcmp(c.canonical, a.canonical));
    vs_space_free(&a);
    vs_space_free(&b);
    vs_space_free(&c);

    /* Numbers that need all 17 digits survive exactly (cJSON's printer may not). */
    CHECK_OK(parse("{\"name\":\"x\",\"dataset\":\"d\",\"budget\":{\"trials\":1},\"parameters\":{\"lr\":"
                   "{\"type\":\"uniform\",\"low\":0.1,\"high\":0.30000000000000004}}}",
                   &a, &err),
             &err);
    if (a.canonical) {
        CHECK_MSG(strstr(a.canonical, "\"high\":0.30000000000000004") != NULL, "%s", a.canonical);
        CHECK_OK(parse(a.canonical, &b, &err), &err);
        if (b.name) CHECK(b.params[0].high == 0.30000000000000004);
        vs_space_free(&b);
    }
    vs_space_free(&a);
}

/* ------------------------------------------------------------ bad spaces */

#define HEAD "{\"name\":\"t\",\"dataset\":\"d.vsds\",\"budget\":{\"trials\":5},"
#define LR_OK "\"lr\":{\"type\":\"log_uniform\",\"low\":0.0001,\"high\":0.01}"

static const struct bad_case {
    const char *json;
    const char *expected;   /* the message's beginning, source and JSON path included */
} bad_cases[] = {
    {HEAD "\"parameters\":{\"lr\":{\"type\":\"log_uniform\",\"low\":0,\"high\":0.01}}}",
     "t.json: parameters.lr.low: must be > 0 for a log-uniform"},
    {HEAD "\"parameters\":{\"lr\":{\"type\":\"log_uniform\",\"low\":0.1,\"high\":0.01}}}",
     "t.json: parameters.lr.low: must be < high"},
    {HEAD "\"parameters\":{\"dropout\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.5}}}",
     "t.json: parameters.dropout: not a trainer config key (known keys: lr, beta1, beta2,"},
    {HEAD "\"parameters\":{\"hidden_dims\":{\"type\":\"categorical\",\"choices\":[]}}}",
     "t.json: parameters.hidden_dims.choices: must not be empty"},
    {"{\"name\":\"t\",\"dataset\":\"d\",\"budget\":{\"trials\":0},\"parameters\":{" LR_OK "}}",
     "t.json: budget.trials: expected an integer >= 1"},
    {HEAD "\"sampler\":{\"kind\":\"bayes\"},\"parameters\":{" LR_OK "}}",
     "t.json: sampler.kind: expected grid, random or tpe"},
    {HEAD "\"pruner\":{\"kind\":\"median\",\"warmup\":3},\"parameters\":{" LR_OK "}}",
     "t.json: pruner.warmup: unknown key (a median pruner takes: kind, startup_trials, warmup_epochs)"},
    {HEAD "\"fixed\":{\"epochs\":5},\"parameters\":{\"epochs\":{\"type\":\"int\",\"low\":1,\"high\":9}}}",
     "t.json: parameters.epochs: also in \"fixed\""},
    {HEAD "\"parameters\":{\"batch_size\":{\"type\":\"int\",\"low\":100,\"high\":900,\"step\":0}}}",
     "t.json: parameters.batch_size.step: expected an integer >= 1"},
    {HEAD "\"parameters\":{\"batch_size\":{\"type\":\"int\",\"low\":100,\"high\":950,\"step\":100}}}",
     "t.json: parameters.batch_size.high: high - low must be a multiple of step 100 (Optuna would lower high to 900)"},
    {HEAD "\"parameters\":{\"latent_dim\":{\"type\":\"int\",\"low\":50,\"high\":450,\"step\":2,\"log\":true}}}",
     "t.json: parameters.latent_dim.step: must be 1 with a log scale"},
    {HEAD "\"sampler\":{\"kind\":\"grid\"},\"parameters\":{" LR_OK "}}",
     "t.json: parameters.lr: a grid needs a categorical, int, constant, or uniform with a step"},
    {HEAD "\"parameters\":{\"keep_prob\":{\"type\":\"uniform\",\"low\":0.5,\"high\":1.5}}}",
     "t.json: parameters.keep_prob.high: value 1.5 out of range (0, 1]"},
    {"{\"name\":\"t\",\n\"dataset\":\"d.vsds\",\n\"budget\":{\"trials\":5,},\n\"parameters\":{}}",
     "t.json:3: invalid JSON near '"},
    {HEAD "\"fixed\":{\"lr\":-1},\"parameters\":{\"beta2\":{\"type\":\"constant\",\"value\":0.9}}}",
     "t.json: fixed.lr: value -1 out of range (0, 10]"},
    {HEAD "\"fixed\":{\"dropout\":0.5},\"parameters\":{" LR_OK "}}",
     "t.json: fixed.dropout: not a trainer config key (known keys: lr,"},
    {"{\"dataset\":\"d\",\"budget\":{\"trials\":5},\"parameters\":{" LR_OK "}}", "t.json: name: missing"},
    {"{\"name\":\"a b\",\"dataset\":\"d\",\"budget\":{\"trials\":5},\"parameters\":{" LR_OK "}}",
     "t.json: name: use letters, digits"},
    {"{\"name\":\"t\",\"dataset\":5,\"budget\":{\"trials\":5},\"parameters\":{" LR_OK "}}",
     "t.json: dataset: expected a path or {\"synth\": PRESET}"},
    {"{\"name\":\"t\",\"dataset\":{\"synth\":\"huge\"},\"budget\":{\"trials\":5},\"parameters\":{" LR_OK "}}",
     "t.json: dataset.synth: unknown synth preset 'huge'"},
    {HEAD "\"objective\":{\"metric\":\"auc\"},\"parameters\":{" LR_OK "}}",
     "t.json: objective.metric: expected ndcg@100, recall@20 or recall@50"},
    {HEAD "\"objective\":{\"direction\":\"up\"},\"parameters\":{" LR_OK "}}",
     "t.json: objective.direction: expected maximize or minimize"},
    {HEAD "\"resources\":{\"gpus_per_trial\":0},\"parameters\":{" LR_OK "}}",
     "t.json: resources.gpus_per_trial: expected an integer >= 1"},
    {HEAD "\"resources\":{\"window\":1.5},\"parameters\":{" LR_OK "}}",
     "t.json: resources.window: expected an integer >= 0"},
    {HEAD "\"budgets\":{},\"parameters\":{" LR_OK "}}", "t.json: budgets: unknown key (a search space takes: name,"},
    {HEAD "\"fixed\":{}}", "t.json: parameters: missing"},
    {HEAD "\"parameters\":{\"lr\":{\"low\":0.1,\"high\":0.2}}}", "t.json: parameters.lr.type: missing"},
    {HEAD "\"parameters\":{\"lr\":{\"type\":\"normal\",\"low\":0.1,\"high\":0.2}}}",
     "t.json: parameters.lr.type: expected uniform, log_uniform, int, categorical or constant"},
    {HEAD "\"parameters\":{\"hidden_dims\":{\"type\":\"categorical\",\"choices\":[[600],[600,\"x\"]]}}}",
     "t.json: parameters.hidden_dims.choices[1][1]: expected an integer"},
    {HEAD "\"parameters\":{\"keep_prob\":{\"type\":\"constant\",\"value\":0}}}",
     "t.json: parameters.keep_prob.value: value 0 out of range (0, 1]"},
    {HEAD "\"parameters\":{\"latent_dim\":{\"type\":\"uniform\",\"low\":50,\"high\":400}}}",
     "t.json: parameters.latent_dim: 'latent_dim' takes integers in the trainer: use \"type\": \"int\""},
    {HEAD "\"parameters\":{\"anneal_cap\":{\"type\":\"uniform\",\"log\":true,\"low\":0.1,\"high\":0.5,\"step\":0.1}}}",
     "t.json: parameters.anneal_cap.step: not allowed with a log scale"},
    {HEAD "\"parameters\":{\"anneal_cap\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.7,\"step\":0.25}}}",
     "t.json: parameters.anneal_cap.high: high - low must be a multiple of step 0.25 (Optuna would lower high to 0.6)"},
    {HEAD "\"parameters\":{\"beta2\":{\"type\":\"categorical\",\"choices\":[0.9,0.99,0.9]}}}",
     "t.json: parameters.beta2.choices[2]: the same as choices[0]"},
    {"{\"name\":\"t\",\"dataset\":\"d\",\"sampler\":{\"kind\":\"grid\"},\"budget\":{\"trials\":10},\"parameters\":{"
     "\"beta2\":{\"type\":\"categorical\",\"choices\":[0.9,0.99]},\"latent_dim\":{\"type\":\"int\",\"low\":1,\"high\":3}}}",
     "t.json: budget.trials: 10 is more than the grid's 6 points"},
    {"{\"name\":\"t\",\"dataset\":\"d\",\"parameters\":{" LR_OK "}}", "t.json: budget.trials: missing"},
    {HEAD "\"sampler\":{\"kind\":\"random\",\"candidates\":5},\"parameters\":{" LR_OK "}}",
     "t.json: sampler.candidates: unknown key (a random sampler takes: kind, seed)"},
    {HEAD "\"pruner\":{\"kind\":\"asha\",\"reduction_factor\":1},\"parameters\":{" LR_OK "}}",
     "t.json: pruner.reduction_factor: expected an integer >= 2"},
    {HEAD "\"parameters\":{" LR_OK "," LR_OK "}}", "t.json: parameters.lr: appears twice"},
    {HEAD "\"parameters\":{\"lr\":0.01}}", "t.json: parameters.lr: expected an object with a \"type\""},
    {"{\"name\":\"t\",\"dataset\":\"d\",\"budget\":{\"trials\":5,\"max_seconds\":-1},\"parameters\":{" LR_OK "}}",
     "t.json: budget.max_seconds: expected a number >= 0"},
    {HEAD "\"sampler\":{\"seed\":-1},\"parameters\":{" LR_OK "}}", "t.json: sampler.seed: expected an integer >= 0"},
    {"[1, 2]", "t.json: expected a JSON object"},
    {HEAD "\"parameters\":{" LR_OK "}} x", "t.json:1: invalid JSON near 'x'"},
    {HEAD "\"parameters\":{\"latent_dim\":{\"type\":\"int\",\"low\":0,\"high\":8,\"log\":true}}}",
     "t.json: parameters.latent_dim.low: must be >= 1 for a log scale"},
    {HEAD "\"parameters\":{\"batch_size\":{\"type\":\"int\",\"low\":1.5,\"high\":8}}}",
     "t.json: parameters.batch_size.low: expected an integer"},
    {HEAD "\"parameters\":{\"lr\":{\"type\":\"log_uniform\",\"low\":0.001,\"high\":0.1,\"step\":0.001}}}",
     "t.json: parameters.lr.step: unknown key (a log_uniform parameter takes: type, low, high, when, else)"},
    {HEAD "\"parameters\":{\"hidden_dims\":{\"type\":\"int\",\"low\":100,\"high\":200}}}",
     "t.json: parameters.hidden_dims.low: expected a list of integers"},
    {HEAD "\"sampler\":{\"kind\":\"tpe\",\"kind\":\"grid\"},\"parameters\":{" LR_OK "}}",
     "t.json: sampler.kind: appears twice"},
    {HEAD "\"parameters\":{\"lr\":{\"type\":\"uniform\",\"low\":0.001,\"high\":20}}}",
     "t.json: parameters.lr.high: value 20 out of range (0, 10]"},
    {HEAD "\"parameters\":{\"beta1\":{\"type\":\"uniform\",\"low\":0.5,\"high\":1}}}",
     "t.json: parameters.beta1.high: value 1 out of range [0, 1)"},
    {HEAD "\"parameters\":{\"lr\":{\"type\":\"uniform\",\"low\":0.001,\"high\":0.1,\"step\":0}}}",
     "t.json: parameters.lr.step: expected a number > 0"},
    {"", "t.json:1: invalid JSON (unexpected end)"},
    /* An eval_every under which the pruner could never judge before the last epoch. */
    {HEAD "\"pruner\":{\"kind\":\"median\",\"warmup_epochs\":7},\"fixed\":{\"epochs\":10,\"eval_every\":6},"
          "\"parameters\":{" LR_OK "}}",
     "t.json: fixed.eval_every: 6 validates no epoch from 7 (pruner.warmup_epochs) to 9 (the last before epoch 10 "
     "ends the trial), so the median pruner could never stop a trial: validate more often, or set pruner.kind to "
     "\"none\""},
    {HEAD "\"pruner\":{\"kind\":\"asha\",\"min_epochs\":6},\"fixed\":{\"epochs\":8,\"eval_every\":5},"
          "\"parameters\":{" LR_OK "}}",
     "t.json: fixed.eval_every: 5 validates no epoch from 6 (pruner.min_epochs, the first rung) to 7"},
    {HEAD "\"pruner\":{\"kind\":\"median\"},\"fixed\":{\"eval_every\":1000000},\"parameters\":{" LR_OK "}}",
     "t.json: fixed.eval_every: 1000000 validates no epoch from 5 (pruner.warmup_epochs)"},   /* default epochs */
};

static void test_bad_spaces(void) {
    int n = (int)(sizeof bad_cases / sizeof bad_cases[0]);
    CHECK(n >= 25);
    for (int i = 0; i < n; i++) {
        vs_space s;
        vs_error err = {{0}};
        int rc = parse(bad_cases[i].json, &s, &err);
        CHECK_MSG(rc == -1, "case %d was accepted: %s", i, bad_cases[i].json);
        if (rc == 0) {
            vs_space_free(&s);
            continue;
        }
        CHECK_MSG(!strncmp(err.msg, bad_cases[i].expected, strlen(bad_cases[i].expected)),
                  "case %d:\n  got      %s\n  expected %s...", i, err.msg, bad_cases[i].expected);
        /* Nothing is left allocated on an error. */
        CHECK(s.name == NULL && s.params == NULL && s.fixed == NULL && s.canonical == NULL);
    }
}

/* ------------------------------------------------------------ Optuna's JSON */

static void check_distribution(const vs_param *p, const char *expected) {
    char *got = vs_param_distribution_json(p);
    CHECK_MSG(!strcmp(got, expected), "%s:\n  got      %s\n  expected %s", p->name, got, expected);
    free(got);
}

static void test_distribution_json(void) {
    vs_space s;
    vs_error err = {{0}};
    CHECK_OK(parse(full_space, &s, &err), &err);
    if (!s.name) return;
    /* Each string is optuna.distributions.distribution_to_json of the same distribution. */
    static const struct {
        const char *name, *json;
    } expected[] = {
        {"anneal_cap",
         "{\"name\": \"FloatDistribution\", \"attributes\": {\"step\": 0.05, \"low\": 0.1, \"high\": 0.5, \"log\": false}}"},
        {"beta2", "{\"name\": \"CategoricalDistribution\", \"attributes\": {\"choices\": [0.9, 0.999]}}"},
        {"hidden_dims",
         "{\"name\": \"CategoricalDistribution\", \"attributes\": {\"choices\": [\"[600]\", \"[600,200]\"]}}"},
        {"keep_prob", "{\"name\": \"CategoricalDistribution\", \"attributes\": {\"choices\": [0.5]}}"},
        {"lambda",
         "{\"name\": \"FloatDistribution\", \"attributes\": {\"step\": null, \"low\": 0.0, \"high\": 1e-05, \"log\": false}}"},
        {"latent_dim",
         "{\"name\": \"IntDistribution\", \"attributes\": {\"log\": true, \"step\": 1, \"low\": 50, \"high\": 400}}"},
        {"lr",
         "{\"name\": \"FloatDistribution\", \"attributes\": {\"step\": null, \"low\": 0.0001, \"high\": 0.01, \"log\": true}}"},
        {"total_anneal_steps",
         "{\"name\": \"IntDistribution\", \"attributes\": {\"log\": false, \"step\": 1000, \"low\": 1000, \"high\": 20000}}"},
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        const vs_param *p = find_param(&s, expected[i].name);
        CHECK_MSG(p != NULL, "%s", expected[i].name);
        if (p) check_distribution(p, expected[i].json);
    }
    vs_space_free(&s);

    /* Numbers at the edges of Python's float repr (positional vs exponent, 17 digits). */
    vs_param p = {.name = "x", .kind = VS_PARAM_LOG_UNIFORM, .low = 1e-20, .high = 1e20};
    check_distribution(&p, "{\"name\": \"FloatDistribution\", \"attributes\": {\"step\": null, \"low\": 1e-20, \"high\": 1e+20, \"log\": true}}");
    p = (vs_param){.name = "x", .kind = VS_PARAM_UNIFORM, .low = -2.5, .high = 1e16};
    check_distribution(&p, "{\"name\": \"FloatDistribution\", \"attributes\": {\"step\": null, \"low\": -2.5, \"high\": 1e+16, \"log\": false}}");
    p = (vs_param){.name = "x", .kind = VS_PARAM_UNIFORM, .low = 0.0001, .high = 12345678.9};
    check_distribution(&p, "{\"name\": \"FloatDistribution\", \"attributes\": {\"step\": null, \"low\": 0.0001, \"high\": 12345678.9, \"log\": false}}");
    p = (vs_param){.name = "x", .kind = VS_PARAM_UNIFORM, .low = 1e-5, .high = 123456789012345.6};
    check_distribution(&p, "{\"name\": \"FloatDistribution\", \"attributes\": {\"step\": null, \"low\": 1e-05, \"high\": 123456789012345.6, \"log\": false}}");
    p = (vs_param){.name = "x", .kind = VS_PARAM_UNIFORM, .low = 1.0 / 3, .high = 2.0 / 3};
    check_distribution(&p, "{\"name\": \"FloatDistribution\", \"attributes\": {\"step\": null, \"low\": 0.3333333333333333, \"high\": 0.6666666666666666, \"log\": false}}");
    p = (vs_param){.name = "x", .kind = VS_PARAM_UNIFORM, .low = 1, .high = 3, .step = 1};
    check_distribution(&p, "{\"name\": \"FloatDistribution\", \"attributes\": {\"step\": 1.0, \"low\": 1.0, \"high\": 3.0, \"log\": false}}");

    cJSON *choices[3] = {cJSON_CreateNumber(0), cJSON_CreateNumber(1e-5), cJSON_CreateNumber(0.5)};
    p = (vs_param){.name = "x", .kind = VS_PARAM_CATEGORICAL, .n_choices = 3, .choices = choices};
    check_distribution(&p, "{\"name\": \"CategoricalDistribution\", \"attributes\": {\"choices\": [0, 1e-05, 0.5]}}");
    cJSON_Delete(choices[0]);
    cJSON_Delete(choices[1]);
    choices[0] = cJSON_CreateNumber(1e22);
    choices[1] = cJSON_CreateNumber(2);
    p.n_choices = 2;
    check_distribution(&p, "{\"name\": \"CategoricalDistribution\", \"attributes\": {\"choices\": [1e+22, 2]}}");
    for (int i = 0; i < 3; i++) cJSON_Delete(choices[i]);
}

/* ------------------------------------------------------------ trials */

static void test_trial_values(void) {
    vs_space s;
    vs_error err = {{0}};
    CHECK_OK(parse(full_space, &s, &err), &err);
    if (!s.name) return;
    /* Internal values, in parameter (name) order: anneal_cap, beta2, hidden_dims, keep_prob,
     * lambda, latent_dim, lr, total_anneal_steps. */
    double values[8] = {0.25, 1, 1, 0, 2e-6, 128, 0.001, 5000};
    cJSON *config = vs_space_trial_config(&s, values);
    CHECK(config != NULL);
    if (config) {
        char *text = cJSON_PrintUnformatted(config);
        const char *expected = "{\"batch_size\":100,\"epochs\":10,\"anneal_cap\":0.25,\"beta2\":0.999,"
                               "\"hidden_dims\":[600,200],\"keep_prob\":0.5,\"lambda\":2e-06,\"latent_dim\":128,"
                               "\"lr\":0.001,\"total_anneal_steps\":5000}";
        CHECK_MSG(!strcmp(text, expected), "\n  got      %s\n  expected %s", text, expected);
        free(text);
        /* What the trainer will be given is a valid config. */
        vs_config cfg;
        vs_config_default(&cfg);
        CHECK_OK(vs_config_apply_json(&cfg, config, "trial", &err), &err);
        CHECK(cfg.n_hidden == 2 && cfg.hidden_dims[1] == 200 && cfg.latent_dim == 128 && cfg.beta2 == 0.999);
        cJSON_Delete(config);
    }

    const vs_param *hidden = find_param(&s, "hidden_dims"), *latent = find_param(&s, "latent_dim");
    cJSON *v = vs_param_json_value(hidden, 0);
    CHECK(cJSON_IsArray(v) && cJSON_GetArraySize(v) == 1 && cJSON_GetArrayItem(v, 0)->valuedouble == 600);
    cJSON_Delete(v);
    CHECK(vs_param_json_value(hidden, 2) == NULL);     /* no such choice */
    CHECK(vs_param_json_value(hidden, 0.5) == NULL);   /* not an index */
    CHECK(vs_param_json_value(hidden, -1) == NULL);
    v = vs_param_json_value(latent, 57.4);
    CHECK(v && v->valuedouble == 57);
    cJSON_Delete(v);
    v = vs_param_json_value(find_param(&s, "keep_prob"), 0);
    CHECK(v && v->valuedouble == 0.5);
    cJSON_Delete(v);

    values[2] = 7;   /* a bad index makes no config */
    CHECK(vs_space_trial_config(&s, values) == NULL);
    vs_space_free(&s);
}

/* ------------------------------------------------------------ differences */

static void test_diff(void) {
    const char *base = "{\"name\":\"d\",\"dataset\":\"x.vsds\",\"budget\":{\"trials\":%d},"
                       "\"sampler\":{\"kind\":\"%s\"},"
                       "\"parameters\":{\"lr\":{\"type\":\"log_uniform\",\"low\":0.001,\"high\":%s}%s}}";
    char text_a[1024], text_b[1024];
    snprintf(text_a, sizeof text_a, base, 50, "tpe", "0.01", "");
    snprintf(text_b, sizeof text_b, base, 60, "tpe", "0.02", "");
    vs_space a, b;
    vs_error err = {{0}};
    CHECK_OK(parse(text_a, &a, &err), &err);
    CHECK_OK(parse(text_b, &b, &err), &err);
    if (!a.name || !b.name) return;
    char *d = vs_space_diff(a.canonical, b.canonical);
    CHECK_MSG(d && !strcmp(d, "budget.trials: 50 -> 60; parameters.lr.high: 0.01 -> 0.02"), "%s", d ? d : "(null)");
    free(d);
    CHECK(vs_space_diff(a.canonical, a.canonical) == NULL);
    vs_space_free(&b);

    /* A sampler of another kind has other keys; a new parameter shows whole. */
    snprintf(text_b, sizeof text_b, base, 50, "random", "0.01",
             ",\"beta2\":{\"type\":\"categorical\",\"choices\":[0.9,0.999]}");
    CHECK_OK(parse(text_b, &b, &err), &err);
    if (b.name) {
        d = vs_space_diff(a.canonical, b.canonical);
        const char *expected = "sampler.kind: tpe -> random; sampler.startup_trials: 10 -> (none); "
                               "sampler.candidates: 24 -> (none); sampler.multivariate: true -> (none); "
                               "parameters.beta2: (none) -> {\"type\":\"categorical\",\"choices\":[0.9,0.999]}";
        CHECK_MSG(d && !strcmp(d, expected), "\n  got      %s\n  expected %s", d ? d : "(null)", expected);
        free(d);
    }
    vs_space_free(&b);

    /* The same JSON written differently is no difference; an unreadable text is one. */
    CHECK(vs_space_diff("{\"a\": [1, 2], \"b\": 1.0}", "{\"b\":1,\"a\":[1,2]}") == NULL);
    d = vs_space_diff(a.canonical, "{not json");
    CHECK(d && strstr(d, "not valid JSON"));
    free(d);
    vs_space_free(&a);
}

/* ------------------------------------------------------------ grids */

static void test_grid(void) {
    vs_space s;
    vs_error err = {{0}};
    /* 3 choices x 10 ints x 9 stepped floats x 1 constant x 3 (0.1..0.3 by 0.1, exact in decimal). */
    CHECK_OK(parse("{\"name\":\"g\",\"dataset\":\"d\",\"sampler\":{\"kind\":\"grid\",\"seed\":3},"
                   "\"parameters\":{\"hidden_dims\":{\"type\":\"categorical\",\"choices\":[[100],[200],[300]]},"
                   "\"batch_size\":{\"type\":\"int\",\"low\":100,\"high\":1000,\"step\":100},"
                   "\"anneal_cap\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.5,\"step\":0.05},"
                   "\"keep_prob\":{\"type\":\"constant\",\"value\":0.5},"
                   "\"lambda\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.3,\"step\":0.1}}}",
                   &s, &err),
             &err);
    if (s.name) {
        CHECK(s.sampler == VS_SAMPLER_GRID && s.seed == 3);
        CHECK_MSG(vs_space_grid_size(&s, &err) == 810, "%lld", (long long)vs_space_grid_size(&s, &err));
        CHECK(s.n_trials == 810);   /* the budget defaults to the whole grid */
        CHECK(!strstr(s.canonical, "startup_trials"));
    }
    vs_space_free(&s);

    /* A log int is a grid of every integer. */
    CHECK_OK(parse("{\"name\":\"g\",\"dataset\":\"d\",\"sampler\":{\"kind\":\"grid\"},\"budget\":{\"trials\":4},"
                   "\"parameters\":{\"latent_dim\":{\"type\":\"int\",\"low\":8,\"high\":15,\"log\":true}}}",
                   &s, &err),
             &err);
    if (s.name) CHECK(vs_space_grid_size(&s, &err) == 8 && s.n_trials == 4);
    vs_space_free(&s);
}

/* ------------------------------------------------------------ files */

static void test_examples(void) {
    char path[4096];
    vs_space s;
    vs_error err = {{0}};

    example_path(path, sizeof path, "demo-cpu.json");
    CHECK_OK(vs_space_load(path, &s, &err), &err);
    if (s.name) {
        CHECK(!strcmp(s.name, "demo-cpu"));
        CHECK(s.dataset == NULL && s.dataset_synth && !strcmp(s.dataset_synth, "small"));
        CHECK(s.n_trials == 8 && s.n_params == 4);
        CHECK(s.sampler == VS_SAMPLER_TPE && s.pruner == VS_PRUNER_MEDIAN);
        const cJSON *epochs = cJSON_GetObjectItemCaseSensitive(s.fixed, "epochs");
        const cJSON *eval = cJSON_GetObjectItemCaseSensitive(s.fixed, "eval_every");
        CHECK(epochs && epochs->valuedouble == 8 && eval && eval->valuedouble == 1);
    }
    vs_space_free(&s);

    example_path(path, sizeof path, "paper-ml20m.json");
    CHECK_OK(vs_space_load(path, &s, &err), &err);
    if (s.name) {
        const char *tail = "search_spaces/../data/ml-20m.vsds";
        size_t n = strlen(s.dataset), t = strlen(tail);
        CHECK_MSG(n >= t && !strcmp(s.dataset + n - t, tail), "%s", s.dataset);
        CHECK(strstr(s.canonical, "\"dataset\":\"../data/ml-20m.vsds\"") != NULL);   /* as written */
        const cJSON *batch = cJSON_GetObjectItemCaseSensitive(s.fixed, "batch_size");
        CHECK(batch && batch->valuedouble == 500);
    }
    vs_space_free(&s);

    /* The paper's set-up on its other two datasets: 100 epochs, batch 500, [600] -> 200. */
    static const char *const paper_spaces[][2] = {{"paper-netflix.json", "search_spaces/../data/netflix.vsds"},
                                                  {"paper-msd.json", "search_spaces/../data/msd.vsds"}};
    for (int k = 0; k < 2; k++) {
        example_path(path, sizeof path, paper_spaces[k][0]);
        CHECK_OK(vs_space_load(path, &s, &err), &err);
        const char *tail = paper_spaces[k][1];
        if (!s.name || !s.dataset) {
            vs_space_free(&s);
            continue;
        }
        size_t n = strlen(s.dataset), t = strlen(tail);
        CHECK_MSG(n >= t && !strcmp(s.dataset + n - t, tail), "%s", s.dataset);
        const cJSON *epochs = cJSON_GetObjectItemCaseSensitive(s.fixed, "epochs");
        const cJSON *batch = cJSON_GetObjectItemCaseSensitive(s.fixed, "batch_size");
        const cJSON *latent = cJSON_GetObjectItemCaseSensitive(s.fixed, "latent_dim");
        const cJSON *anneal = cJSON_GetObjectItemCaseSensitive(s.fixed, "total_anneal_steps");
        CHECK(epochs && epochs->valuedouble == 100 && batch && batch->valuedouble == 500);
        CHECK(latent && latent->valuedouble == 200 && anneal && anneal->valuedouble == 200000);
        CHECK(s.n_params == 2 && s.sampler == VS_SAMPLER_TPE && s.pruner == VS_PRUNER_MEDIAN);
        vs_space_free(&s);
    }

    example_path(path, sizeof path, "nvidia-large-batch.json");
    CHECK_OK(vs_space_load(path, &s, &err), &err);
    if (s.name) {
        const cJSON *batch = cJSON_GetObjectItemCaseSensitive(s.fixed, "batch_size");
        CHECK(batch && batch->valuedouble == 24576 && s.pruner == VS_PRUNER_ASHA && s.gpus_per_trial == 1);
    }
    vs_space_free(&s);
}

static void test_load(void) {
    const char *tmp = getenv("VS_TEST_TMP");
    if (!tmp) tmp = "/tmp/test_space";
    char dir[4096], path[4200], text[512];
    snprintf(dir, sizeof dir, "%s/spaces", tmp);
    mkdir(tmp, 0777);
    mkdir(dir, 0777);
    vs_space s;
    vs_error err = {{0}};

    /* A relative dataset is relative to the space file's folder; an absolute one stays. */
    snprintf(path, sizeof path, "%s/rel.json", dir);
    CHECK(write_file(path, HEAD "\"parameters\":{" LR_OK "}}") == 0);
    CHECK_OK(vs_space_load(path, &s, &err), &err);
    if (s.name) {
        char expected[4200];
        snprintf(expected, sizeof expected, "%s/d.vsds", dir);
        CHECK_MSG(!strcmp(s.dataset, expected), "%s", s.dataset);
        CHECK(!strcmp(s.source_path, path));
    }
    vs_space_free(&s);
    snprintf(text, sizeof text,
             "{\"name\":\"t\",\"dataset\":\"/data/abs.vsds\",\"budget\":{\"trials\":2},\"parameters\":{" LR_OK "}}");
    CHECK(write_file(path, text) == 0);
    CHECK_OK(vs_space_load(path, &s, &err), &err);
    if (s.name) CHECK(!strcmp(s.dataset, "/data/abs.vsds"));
    vs_space_free(&s);

    /* A syntax error names the file and the line. */
    snprintf(path, sizeof path, "%s/broken.json", dir);
    CHECK(write_file(path, "{\n  \"name\": \"t\",\n  \"dataset\": \"d\"\n  \"budget\": {}\n}\n") == 0);
    CHECK(vs_space_load(path, &s, &err) == -1);
    char expected[4300];
    snprintf(expected, sizeof expected, "%s:4: invalid JSON", path);
    CHECK_MSG(!strncmp(err.msg, expected, strlen(expected)), "%s", err.msg);

    /* A file-level message starts with the path. */
    snprintf(path, sizeof path, "%s/bad.json", dir);
    CHECK(write_file(path, HEAD "\"parameters\":{\"lr\":{\"type\":\"log_uniform\",\"low\":0,\"high\":1}}}") == 0);
    CHECK(vs_space_load(path, &s, &err) == -1);
    snprintf(expected, sizeof expected, "%s: parameters.lr.low: must be > 0 for a log-uniform", path);
    CHECK_MSG(!strcmp(err.msg, expected), "%s", err.msg);

    snprintf(path, sizeof path, "%s/missing.json", dir);
    CHECK(vs_space_load(path, &s, &err) == -1);
    CHECK_MSG(strstr(err.msg, "missing.json: ") && strstr(err.msg, strerror(ENOENT)), "%s", err.msg);
    CHECK(s.name == NULL);
}

/* ------------------------------------------------------------ growing a sweep */

static void test_growing(void) {
    vs_error err;
    vs_space a, b, c;
    const char *base = "{\"name\": \"g\", \"dataset\": \"d.vsds\", \"budget\": {\"trials\": %d},"
                       " \"fixed\": {\"epochs\": %d}, \"parameters\": {"
                       "\"lr\": {\"type\": \"log_uniform\", \"low\": 0.001, \"high\": 0.1},"
                       "\"anneal_cap\": {\"type\": \"uniform\", \"low\": 0, \"high\": 0.5, \"step\": 0.05},"
                       "\"batch_size\": {\"type\": \"int\", \"low\": 100, \"high\": 500, \"step\": 100},"
                       "\"hidden_dims\": {\"type\": \"categorical\", \"choices\": [[100], [200, 100]]},"
                       "\"keep_prob\": {\"type\": \"constant\", \"value\": 0.5}}%s}";
    char text[2048];
    snprintf(text, sizeof text, base, 10, 5, "");
    CHECK_OK(parse(text, &a, &err), &err);
    snprintf(text, sizeof text, base, 20, 5, "");
    CHECK_OK(parse(text, &b, &err), &err);
    snprintf(text, sizeof text, base, 10, 6, "");
    CHECK_OK(parse(text, &c, &err), &err);
    /* a budget raised is compatible; anything else is not */
    CHECK(vs_space_budget_only_change(a.canonical, b.canonical) == 1);
    CHECK(vs_space_budget_only_change(a.canonical, c.canonical) == 0);
    CHECK(vs_space_budget_only_change(a.canonical, NULL) == 0);
    CHECK(a.warm_start_db == NULL && !strstr(a.canonical, "warm_start"));

    /* another sweep's values onto this space */
    const vs_param *lr = find_param(&a, "lr"), *cap = find_param(&a, "anneal_cap"), *bs = find_param(&a, "batch_size"),
                   *hd = find_param(&a, "hidden_dims"), *kp = find_param(&a, "keep_prob");
    double v = -1;
    cJSON *j = cJSON_Parse("0.01");
    CHECK(vs_param_internal_value(lr, j, &v) == 0 && v == 0.01);
    cJSON_Delete(j);
    j = cJSON_Parse("0.2");   /* above high */
    CHECK(vs_param_internal_value(lr, j, &v) == -1);
    cJSON_Delete(j);
    j = cJSON_Parse("0.30000000000000004");   /* on the grid, up to float noise: the grid's decimal, as stored */
    CHECK(vs_param_internal_value(cap, j, &v) == 0 && v == 0.3);
    cJSON_Delete(j);
    j = cJSON_Parse("0.35");   /* 7 x 0.05 is 0.35000000000000003 in doubles: still the decimal */
    CHECK(vs_param_internal_value(cap, j, &v) == 0 && v == 0.35);
    cJSON_Delete(j);
    j = cJSON_Parse("0.33");   /* off the grid */
    CHECK(vs_param_internal_value(cap, j, &v) == -1);
    cJSON_Delete(j);
    j = cJSON_Parse("300");
    CHECK(vs_param_internal_value(bs, j, &v) == 0 && v == 300);
    cJSON_Delete(j);
    j = cJSON_Parse("250");
    CHECK(vs_param_internal_value(bs, j, &v) == -1);
    cJSON_Delete(j);
    j = cJSON_Parse("[200, 100]");
    CHECK(vs_param_internal_value(hd, j, &v) == 0 && v == 1);
    cJSON_Delete(j);
    j = cJSON_Parse("[200]");
    CHECK(vs_param_internal_value(hd, j, &v) == -1);
    cJSON_Delete(j);
    j = cJSON_Parse("0.5");
    CHECK(vs_param_internal_value(kp, j, &v) == 0);
    cJSON_Delete(j);
    j = cJSON_Parse("\"0.01\"");   /* a string is no number */
    CHECK(vs_param_internal_value(lr, j, &v) == -1);
    cJSON_Delete(j);
    vs_space_free(&a);
    vs_space_free(&b);
    vs_space_free(&c);

    /* warm_start: in the canonical form when given; a missing db is refused by path */
    snprintf(text, sizeof text, base, 10, 5, ", \"warm_start\": {\"db\": \"old.db\", \"sweep\": \"s1\"}");
    CHECK_OK(parse(text, &a, &err), &err);
    CHECK(a.warm_start_db && !strcmp(a.warm_start_db, "old.db") && !strcmp(a.warm_start_sweep, "s1"));
    CHECK(strstr(a.canonical, "\"warm_start\":{\"db\":\"old.db\",\"sweep\":\"s1\"}") != NULL);
    vs_space_free(&a);
    /* warm_start.match: "setup" (the default, left out of the canonical form) or "parameters" */
    snprintf(text, sizeof text, base, 10, 5, ", \"warm_start\": {\"db\": \"old.db\", \"match\": \"setup\"}");
    CHECK_OK(parse(text, &a, &err), &err);
    CHECK(!a.warm_start_any_setup && strstr(a.canonical, "\"warm_start\":{\"db\":\"old.db\"}") != NULL);
    vs_space_free(&a);
    snprintf(text, sizeof text, base, 10, 5, ", \"warm_start\": {\"db\": \"old.db\", \"match\": \"parameters\"}");
    CHECK_OK(parse(text, &a, &err), &err);
    CHECK(a.warm_start_any_setup && strstr(a.canonical, "\"warm_start\":{\"db\":\"old.db\",\"match\":\"parameters\"}"));
    vs_space_free(&a);
    snprintf(text, sizeof text, base, 10, 5, ", \"warm_start\": {\"db\": \"old.db\", \"match\": \"params\"}");
    CHECK(parse(text, &a, &err) == -1 && strstr(err.msg, "warm_start.match: must be \"setup\""));
    snprintf(text, sizeof text, base, 10, 5, ", \"warm_start\": {\"sweep\": \"s1\"}");
    CHECK(parse(text, &a, &err) == -1 && strstr(err.msg, "warm_start.db: missing"));
    snprintf(text, sizeof text, base, 10, 5, ", \"warm_start\": {\"db\": \"x.db\", \"study\": \"s1\"}");
    CHECK(parse(text, &a, &err) == -1 && strstr(err.msg, "warm_start.study: unknown key"));

    CHECK(vs_space_name_ok("demo-cpu.2") && !vs_space_name_ok("-x") && !vs_space_name_ok("a b") && !vs_space_name_ok(""));
}

/* Stepped values are the decimals of their grid, in the sampler's values and in print. */
static void test_step_on_grid(void) {
    CHECK(0.1 + 2 * 0.1 != 0.3);   /* the float noise this is about */
    CHECK(vs_step_on_grid(0.1, 0.1, 0.1 + 2 * 0.1) == 0.3);
    CHECK(vs_step_on_grid(0.0, 0.05, 6 * 0.05) == 0.3);
    CHECK(vs_step_on_grid(0.0, 0.05, 0.31) == 0.3);        /* nearest grid point */
    CHECK(vs_step_on_grid(-1.0, 0.1, -0.7000000000000001) == -0.7);
    CHECK(vs_step_on_grid(1e-4, 1e-4, 3 * 1e-4) == 3e-4);
    CHECK(vs_step_on_grid(0.0, 0.0, 0.123) == 0.123);      /* no step: as it is */
    vs_param p = {.kind = VS_PARAM_UNIFORM, .low = 0.0, .high = 0.5, .step = 0.05};
    cJSON *v = vs_param_json_value(&p, 0.30000000000000004);
    char *text = vs_json_print_exact(v);
    CHECK_MSG(text && !strcmp(text, "0.3"), "printed %s", text ? text : "NULL");
    free(text);
    cJSON_Delete(v);
    vs_param q = {.kind = VS_PARAM_UNIFORM, .low = 0.0, .high = 0.5, .step = 0.0};
    CHECK(vs_param_on_grid(&q, 0.30000000000000004) == 0.30000000000000004);
}

int main(void) {
    test_step_on_grid();
    test_full_space();
    test_defaults_and_pruners();
    test_canonical();
    test_bad_spaces();
    test_distribution_json();
    test_trial_values();
    test_diff();
    test_grid();
    test_examples();
    test_load();
    test_growing();
    return test_finish();
}
