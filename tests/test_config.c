/* test_config: trainer config keys: defaults, JSON and --set parsing, and refusals
 * that name the key. */
#include "test.h"
#include "trainer/config.h"

static int refused(const char *json, const char *expect) {
    vs_config c;
    vs_config_default(&c);
    vs_error err = {{0}};
    cJSON *j = cJSON_Parse(json);
    int rc = vs_config_apply_json(&c, j, "trial.json", &err);
    cJSON_Delete(j);
    if (rc == 0) return 0;
    if (!strstr(err.msg, expect)) {
        fprintf(stderr, "message '%s' lacks '%s'\n", err.msg, expect);
        return 0;
    }
    return 1;
}

int main(void) {
    vs_config c;
    vs_config_default(&c);
    /* the paper's settings */
    CHECK(c.batch_size == 500 && c.latent_dim == 200 && c.n_hidden == 1 && c.hidden_dims[0] == 600);
    CHECK(c.keep_prob == 0.5 && c.anneal_cap == 0.2 && c.total_anneal_steps == 200000 && c.lr == 1e-3);
    vs_error err = {{0}};
    CHECK(vs_config_validate(&c, &err) == 0);

    cJSON *j = cJSON_Parse("{\"lr\": 0.003, \"hidden_dims\": [300, 100], \"seed\": 7, \"lambda\": 0.01}");
    CHECK_OK(vs_config_apply_json(&c, j, "x.json", &err), &err);
    cJSON_Delete(j);
    CHECK(c.lr == 0.003 && c.n_hidden == 2 && c.hidden_dims[1] == 100 && c.seed == 7 && c.lambda == 0.01);

    CHECK_OK(vs_config_set(&c, "batch_size=1024", &err), &err);
    CHECK_OK(vs_config_set(&c, "hidden_dims=200", &err), &err);
    CHECK_OK(vs_config_set(&c, "keep_prob=1", &err), &err);
    CHECK(c.batch_size == 1024 && c.n_hidden == 1 && c.hidden_dims[0] == 200 && c.keep_prob == 1.0);
    CHECK_OK(vs_config_set(&c, "hidden_dims=[]", &err), &err);
    CHECK(c.n_hidden == 0);

    CHECK(refused("{\"lrr\": 1}", "unknown key 'lrr'"));
    CHECK(refused("{\"lr\": \"fast\"}", "'lr': expected a number"));
    CHECK(refused("{\"lr\": 0}", "'lr'"));
    CHECK(refused("{\"batch_size\": 12.5}", "'batch_size': expected an integer"));
    CHECK(refused("{\"keep_prob\": 0}", "'keep_prob'"));
    CHECK(refused("{\"keep_prob\": 1.5}", "'keep_prob'"));
    CHECK(refused("{\"beta2\": 1}", "'beta2'"));
    CHECK(refused("{\"hidden_dims\": 600}", "'hidden_dims': expected a list"));
    CHECK(refused("{\"hidden_dims\": [600, 0]}", "'hidden_dims[1]'"));
    CHECK(refused("{\"epochs\": -1}", "'epochs'"));
    CHECK(refused("[1, 2]", "expected a JSON object"));
    CHECK(vs_config_set(&c, "nope=3", &err) == -1 && strstr(err.msg, "'nope'"));
    CHECK(vs_config_set(&c, "lr", &err) == -1 && strstr(err.msg, "key=value"));
    CHECK(vs_config_set(&c, "lr=abc", &err) == -1 && strstr(err.msg, "lr"));
    /* nothing may follow the value: cJSON alone would read "0.005,xyz" as 0.005 */
    vs_config e;
    vs_config_default(&e);
    e.lr = 0.001;
    CHECK(vs_config_set(&e, "lr=0.005,xyz", &err) == -1 && strstr(err.msg, "'lr'") && strstr(err.msg, ",xyz"));
    CHECK(vs_config_set(&e, "epochs=2 garbage", &err) == -1 && strstr(err.msg, "'epochs'") &&
          strstr(err.msg, "garbage"));
    CHECK(e.lr == 0.001);
    CHECK_OK(vs_config_set(&e, "lr=0.005 ", &err), &err);   /* trailing blanks are fine */
    CHECK(e.lr == 0.005);

    /* canonical JSON round-trips */
    vs_config d;
    vs_config_default(&d);
    cJSON *out = vs_config_to_json(&c);
    CHECK_OK(vs_config_apply_json(&d, out, "roundtrip", &err), &err);
    cJSON *back = vs_config_to_json(&d);
    CHECK(cJSON_Compare(out, back, 1));
    CHECK(d.n_hidden == 0 && d.batch_size == 1024 && d.lr == 0.003);
    cJSON_Delete(out);
    cJSON_Delete(back);

    /* beta annealing */
    vs_config_default(&c);
    CHECK(vs_config_beta(&c, 0) == 0.0);
    CHECK_NEAR(vs_config_beta(&c, 20000), 0.1, 1e-15);
    CHECK(vs_config_beta(&c, 10000000) == 0.2);
    c.total_anneal_steps = 0;
    CHECK(vs_config_beta(&c, 0) == 0.2);

    /* a config file with a syntax error names the file and line */
    const char *dir = getenv("VS_TEST_TMP");
    char path[512];
    snprintf(path, sizeof path, "%s/bad.json", dir ? dir : "/tmp");
    if (dir) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
        CHECK(system(cmd) == 0);
    }
    FILE *f = fopen(path, "w");
    fputs("{\n  \"lr\": 0.001,\n  \"epochs\": ,\n}\n", f);
    fclose(f);
    CHECK(vs_config_load_file(&c, path, &err) == -1 && strstr(err.msg, "bad.json:3"));

    /* a second object after the first is refused, not ignored */
    f = fopen(path, "w");
    fputs("{\"epochs\": 1}\n{\"epochs\": 50}\n", f);
    fclose(f);
    vs_config_default(&c);
    CHECK(vs_config_load_file(&c, path, &err) == -1 && strstr(err.msg, "bad.json:2") &&
          strstr(err.msg, "unexpected text"));
    f = fopen(path, "w");
    fputs("{\"epochs\": 1}\n\n", f);
    fclose(f);
    CHECK_OK(vs_config_load_file(&c, path, &err), &err);
    CHECK(c.epochs == 1);
    return test_finish();
}
