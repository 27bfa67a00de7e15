/* test_space_conditions: conditional parameters in the search space (space/
 * space_conditions.c, space_grid.c) and TPE's "multivariate" key: a space with "when",
 * "else", list elements and a switch reads, its canonical form holds the conditions (in
 * one order however written) and reads back; presence follows the conditions, nested
 * too; a trial's config assembles the list, gives "else" values and leaves switches out;
 * a table of broken conditions, each refused with its JSON path; a conditional grid has
 * exactly the allowed combinations, each once; an older canonical form without
 * "multivariate" reads as univariate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "common/json_exact.h"
#include "space/space.h"

static int parse(const char *json, vs_space *s, vs_error *err) { return vs_space_parse(json, "t.json", s, err); }

static int index_of(const vs_space *s, const char *name) {
    for (int i = 0; i < s->n_params; i++)
        if (!strcmp(s->params[i].name, name)) return i;
    return -1;
}

#define HEAD "{\"name\":\"t\",\"dataset\":\"d.vsds\",\"budget\":{\"trials\":5},"

static const char *layers =
    HEAD "\"parameters\":{"
    "\"hidden_dims[2]\":{\"type\":\"int\",\"low\":50,\"high\":400,\"when\":{\"n_layers\":[3]}},"
    "\"n_layers\":{\"type\":\"int\",\"low\":1,\"high\":3},"
    "\"hidden_dims[0]\":{\"type\":\"int\",\"low\":50,\"high\":400},"
    "\"hidden_dims[1]\":{\"type\":\"int\",\"low\":50,\"high\":400,\"when\":{\"n_layers\":[3,2]}},"
    "\"anneal\":{\"type\":\"categorical\",\"choices\":[true,false]},"
    "\"anneal_cap\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.5,\"when\":{\"anneal\":[true]},\"else\":1},"
    "\"lr\":{\"type\":\"log_uniform\",\"low\":0.001,\"high\":0.01,\"when\":{\"anneal\":[true],\"n_layers\":[1]}}}}";

static void test_layers(void) {
    vs_space s;
    vs_error err;
    CHECK_OK(parse(layers, &s, &err), &err);
    if (!s.name) return;
    CHECK(s.has_conditions);
    int n = index_of(&s, "n_layers"), h0 = index_of(&s, "hidden_dims[0]"), h1 = index_of(&s, "hidden_dims[1]"),
        h2 = index_of(&s, "hidden_dims[2]"), an = index_of(&s, "anneal"), cap = index_of(&s, "anneal_cap"),
        lr = index_of(&s, "lr");
    CHECK(s.params[n].is_switch && s.params[an].is_switch && !s.params[cap].is_switch);
    CHECK(s.params[h1].list_key && !strcmp(s.params[h1].list_key, "hidden_dims") && s.params[h1].list_index == 1);
    CHECK(s.params[h1].n_when == 1 && s.params[h1].when[0].n_values == 2 && s.params[h1].when[0].values[0] == 2);
    CHECK(s.params[lr].n_when == 2 && s.params[lr].when[0].parent == an);   /* by the parent's name order */

    /* The canonical form: the conditions in name order, their values in the parent's order. */
    CHECK_MSG(strstr(s.canonical, "\"hidden_dims[1]\":{\"type\":\"int\",\"low\":50,\"high\":400,\"step\":1,\"log\":false,"
                                  "\"when\":{\"n_layers\":[2,3]}}") != NULL,
              "%s", s.canonical);
    CHECK(strstr(s.canonical, "\"when\":{\"anneal\":[true]},\"else\":1}") != NULL);
    CHECK(strstr(s.canonical, "\"when\":{\"anneal\":[true],\"n_layers\":[1]}") != NULL);
    vs_space again;
    CHECK_OK(parse(s.canonical, &again, &err), &err);
    if (again.name) CHECK(!strcmp(again.canonical, s.canonical));
    vs_space_free(&again);

    /* Presence: 2 layers, annealing off. */
    double v[16];
    for (int i = 0; i < s.n_params; i++) v[i] = 0;
    v[n] = 2, v[h0] = 100, v[h1] = 200, v[h2] = 300, v[an] = 1 /* false */, v[cap] = 0.3, v[lr] = 0.002;
    int present[16];
    vs_space_presence(&s, v, present);
    CHECK(present[n] && present[h0] && present[h1] && !present[h2] && present[an] && !present[cap] && !present[lr]);
    CHECK(vs_space_presence_mismatch(&s, v) >= 0);   /* h2, cap and lr have values they should not */
    vs_space_drop_absent(&s, v);
    CHECK(isnan(v[h2]) && isnan(v[cap]) && isnan(v[lr]) && v[h1] == 200);
    CHECK(vs_space_presence_mismatch(&s, v) == -1);
    cJSON *config = vs_space_trial_config(&s, v);
    char *text = vs_json_print_exact(config);
    CHECK_MSG(text && !strcmp(text, "{\"anneal_cap\":1,\"hidden_dims\":[100,200]}"), "%s", text ? text : "(null)");
    free(text);
    cJSON_Delete(config);
    v[h1] = NAN;   /* absent though its conditions hold */
    CHECK(vs_space_presence_mismatch(&s, v) == h1);

    /* 1 layer, annealing on: lr's two conditions hold. */
    v[n] = 1, v[h1] = 5, v[an] = 0, v[cap] = 0.2, v[lr] = 0.004;
    vs_space_drop_absent(&s, v);
    CHECK(isnan(v[h1]) && v[cap] == 0.2 && v[lr] == 0.004);
    config = vs_space_trial_config(&s, v);
    text = vs_json_print_exact(config);
    CHECK_MSG(text && !strcmp(text, "{\"anneal_cap\":0.2,\"hidden_dims\":[100],\"lr\":0.004}"), "%s", text ? text : "");
    free(text);
    cJSON_Delete(config);
    vs_space_free(&s);
}

/* A condition on a conditional parameter: c is present only where b is, which is only
 * where a is 1. */
static void test_nested(void) {
    vs_space s;
    vs_error err;
    CHECK_OK(parse(HEAD "\"parameters\":{\"a\":{\"type\":\"categorical\",\"choices\":[0,1]},"
                        "\"b\":{\"type\":\"int\",\"low\":1,\"high\":4,\"when\":{\"a\":[1]}},"
                        "\"lambda\":{\"type\":\"uniform\",\"low\":0,\"high\":1,\"when\":{\"b\":[2,4]}}}}",
                   &s, &err),
             &err);
    if (!s.name) return;
    double v[3] = {0, 2, 0.5};   /* a = 0: b absent, so lambda too, whatever b's value */
    int present[3];
    vs_space_presence(&s, v, present);
    CHECK(present[0] && !present[1] && !present[2]);
    v[0] = 1;
    vs_space_presence(&s, v, present);
    CHECK(present[1] && present[2]);
    v[1] = 3;
    vs_space_presence(&s, v, present);
    CHECK(present[1] && !present[2]);
    vs_space_free(&s);
}

static const struct bad_case {
    const char *json;
    const char *expected;
} bad_cases[] = {
    {HEAD "\"parameters\":{\"lr\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.5,\"when\":{\"nope\":[1]}}}}",
     "t.json: parameters.lr.when.nope: no parameter 'nope' in \"parameters\" to depend on"},
    {HEAD "\"parameters\":{\"latent_dim\":{\"type\":\"int\",\"low\":1,\"high\":9,\"when\":{\"latent_dim\":[1]}}}}",
     "t.json: parameters.latent_dim.when.latent_dim: a parameter cannot depend on itself"},
    {HEAD "\"parameters\":{\"latent_dim\":{\"type\":\"int\",\"low\":1,\"high\":9,\"when\":{\"epochs\":[2]}},"
          "\"epochs\":{\"type\":\"int\",\"low\":1,\"high\":9,\"when\":{\"latent_dim\":[3]}}}}",
     "t.json: parameters.latent_dim.when.epochs: a cycle of conditions: epochs -> latent_dim -> epochs"},
    {HEAD "\"parameters\":{\"epochs\":{\"type\":\"int\",\"low\":1,\"high\":9},"
          "\"lr\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.5,\"when\":{\"epochs\":[2,10]}}}}",
     "t.json: parameters.lr.when.epochs[1]: not a value 'epochs' takes"},
    {HEAD "\"parameters\":{\"epochs\":{\"type\":\"int\",\"low\":1,\"high\":9},"
          "\"lr\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.5,\"when\":{\"epochs\":[2,2]}}}}",
     "t.json: parameters.lr.when.epochs[1]: the same value as parameters.lr.when.epochs[0]"},
    {HEAD "\"parameters\":{\"beta1\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.5},"
          "\"lr\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.5,\"when\":{\"beta1\":[0.2]}}}}",
     "t.json: parameters.lr.when.beta1: 'beta1' is continuous: a condition needs a categorical, int or uniform with a step"},
    {HEAD "\"parameters\":{\"epochs\":{\"type\":\"int\",\"low\":1,\"high\":9},"
          "\"lr\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.5,\"when\":{\"epochs\":[]}}}}",
     "t.json: parameters.lr.when.epochs: expected a non-empty list of values of 'epochs'"},
    {HEAD "\"parameters\":{\"lr\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.5,\"when\":[1]}}}",
     "t.json: parameters.lr.when: expected an object: parameter -> its values"},
    {HEAD "\"parameters\":{\"lr\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.5,\"else\":0.2}}}",
     "t.json: parameters.lr.else: only with \"when\""},
    {HEAD "\"parameters\":{\"epochs\":{\"type\":\"int\",\"low\":1,\"high\":9},"
          "\"lr\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.5,\"when\":{\"epochs\":[2]},\"else\":-1}}}",
     "t.json: parameters.lr.else: value -1 out of range (0, 10]"},
    {HEAD "\"parameters\":{\"n_layers\":{\"type\":\"int\",\"low\":1,\"high\":3}}}",
     "t.json: parameters.n_layers: not a trainer config key (known keys: lr,"},
    {HEAD "\"parameters\":{\"hidden_dims[1]\":{\"type\":\"int\",\"low\":10,\"high\":90}}}",
     "t.json: parameters.hidden_dims[1]: no parameter 'hidden_dims[0]': a list's elements are numbered from 0"},
    {HEAD "\"parameters\":{\"n\":{\"type\":\"int\",\"low\":1,\"high\":3},"
          "\"hidden_dims[0]\":{\"type\":\"int\",\"low\":10,\"high\":90,\"when\":{\"n\":[2,3]}},"
          "\"hidden_dims[1]\":{\"type\":\"int\",\"low\":10,\"high\":90,\"when\":{\"n\":[1,3]}}}}",
     "t.json: parameters.hidden_dims[1]: present where 'hidden_dims[0]' may be absent"},
    {HEAD "\"parameters\":{\"hidden_dims\":{\"type\":\"categorical\",\"choices\":[[5]]},"
          "\"hidden_dims[0]\":{\"type\":\"int\",\"low\":10,\"high\":90}}}",
     "t.json: parameters.hidden_dims[0]: 'hidden_dims' is a parameter too"},
    {HEAD "\"fixed\":{\"hidden_dims\":[5]},\"parameters\":{\"hidden_dims[0]\":{\"type\":\"int\",\"low\":10,\"high\":90}}}",
     "t.json: parameters.hidden_dims[0]: an element of \"hidden_dims\", which is in \"fixed\""},
    {HEAD "\"parameters\":{\"hidden_dims[0]\":{\"type\":\"int\",\"low\":0,\"high\":90}}}",
     "t.json: parameters.hidden_dims[0].low: value 0 out of range"},
    {HEAD "\"parameters\":{\"hidden_dims[0]\":{\"type\":\"uniform\",\"low\":10,\"high\":90}}}",
     "t.json: parameters.hidden_dims[0]: 'hidden_dims[0]' takes integers in the trainer: use \"type\": \"int\""},
    {HEAD "\"parameters\":{\"n\":{\"type\":\"int\",\"low\":1,\"high\":3},"
          "\"hidden_dims[0]\":{\"type\":\"int\",\"low\":10,\"high\":90,\"when\":{\"n\":[2]},\"else\":5}}}",
     "t.json: parameters.hidden_dims[0].else: 'hidden_dims[0]' is an element of a list"},
    {HEAD "\"sampler\":{\"kind\":\"tpe\",\"multivariate\":\"yes\"},\"parameters\":{"
          "\"lr\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.5}}}",
     "t.json: sampler.multivariate: expected true (vaesearch's multivariate TPE), false (univariate) or \"optuna\""},
    {HEAD "\"sampler\":{\"kind\":\"random\",\"multivariate\":true},\"parameters\":{"
          "\"lr\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.5}}}",
     "t.json: sampler.multivariate: unknown key (a random sampler takes: kind, seed)"},
};

static void test_bad(void) {
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        vs_space s;
        vs_error err = {0};
        int rc = parse(bad_cases[i].json, &s, &err);
        CHECK_MSG(rc == -1 && !strncmp(err.msg, bad_cases[i].expected, strlen(bad_cases[i].expected)),
                  "case %zu:\n  got      %s\n  expected %s...", i, rc ? err.msg : "(accepted)", bad_cases[i].expected);
        if (rc == 0) vs_space_free(&s);
    }
}

/* A conditional grid: n_layers 1..3, hidden_dims[i] of 2 values while layer i exists,
 * anneal on with 3 caps or off: (2 + 4 + 8) x (3 + 1) = 56 points, each once, none with
 * a value its conditions leave out. */
static void test_grid(void) {
    vs_space s;
    vs_error err;
    CHECK_OK(parse(HEAD "\"sampler\":{\"kind\":\"grid\"},\"parameters\":{"
                        "\"n_layers\":{\"type\":\"int\",\"low\":1,\"high\":3},"
                        "\"hidden_dims[0]\":{\"type\":\"categorical\",\"choices\":[100,200]},"
                        "\"hidden_dims[1]\":{\"type\":\"categorical\",\"choices\":[100,200],\"when\":{\"n_layers\":[2,3]}},"
                        "\"hidden_dims[2]\":{\"type\":\"categorical\",\"choices\":[100,200],\"when\":{\"n_layers\":[3]}},"
                        "\"anneal\":{\"type\":\"categorical\",\"choices\":[true,false]},"
                        "\"anneal_cap\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.3,\"step\":0.1,"
                        "\"when\":{\"anneal\":[true]}}}}",
                   &s, &err),
             &err);
    if (!s.name) return;
    int64_t size = vs_space_grid_size(&s, &err);
    CHECK_MSG(size == 56, "%lld points", (long long)size);
    char seen[56][128];
    int n_seen = 0, bad = 0;
    for (int64_t p = 0; p < size && p < 56; p++) {
        double v[6];
        if (vs_space_grid_point(&s, p, v, &err)) {
            CHECK_MSG(0, "point %lld: %s", (long long)p, err.msg);
            break;
        }
        bad += vs_space_presence_mismatch(&s, v) >= 0;
        cJSON *config = vs_space_trial_config(&s, v);
        char *text = vs_json_print_exact(config);
        for (int i = 0; i < n_seen; i++) bad += !strcmp(seen[i], text);
        snprintf(seen[n_seen++], sizeof seen[0], "%s", text);
        free(text);
        cJSON_Delete(config);
    }
    CHECK_MSG(bad == 0, "%d points repeat or break their conditions", bad);
    double v[6];
    CHECK(vs_space_grid_point(&s, 56, v, &err) == -1);
    vs_space_free(&s);
}

/* "multivariate": true (the default), false or "optuna"; an older canonical form without
 * the key is a univariate sweep's, and a space that says false, or nothing, goes on
 * with it (vs_space_keep_stored_defaults). */
static void test_multivariate_key(void) {
    const char *spaces[3] = {HEAD "\"parameters\":{\"lr\":{\"type\":\"uniform\",\"low\":0.1,\"high\":0.5}}}",
                             HEAD "\"sampler\":{\"multivariate\":false},\"parameters\":{\"lr\":{\"type\":\"uniform\","
                                  "\"low\":0.1,\"high\":0.5}}}",
                             HEAD "\"sampler\":{\"multivariate\":\"optuna\"},\"parameters\":{\"lr\":{\"type\":\"uniform\","
                                  "\"low\":0.1,\"high\":0.5}}}"};
    const int expected[3] = {VS_TPE_MULTIVARIATE, VS_TPE_UNIVARIATE, VS_TPE_OPTUNA};
    vs_space s[3];
    vs_error err;
    for (int i = 0; i < 3; i++) {
        CHECK_OK(parse(spaces[i], &s[i], &err), &err);
        CHECK(s[i].tpe_multivariate == expected[i]);
    }
    if (s[0].name && s[1].name && s[2].name) {
        CHECK(strstr(s[2].canonical, "\"multivariate\":\"optuna\"") != NULL);
        /* The form an older vaesearch stored: the same, less "multivariate". */
        char old[4096];
        const char *at = strstr(s[1].canonical, ",\"multivariate\":false");
        snprintf(old, sizeof old, "%.*s%s", (int)(at - s[1].canonical), s[1].canonical, at + strlen(",\"multivariate\":false"));
        CHECK(vs_space_diff(old, s[1].canonical) == NULL);
        char *d = vs_space_diff(old, s[0].canonical);
        CHECK_MSG(d && !strcmp(d, "sampler.multivariate: false -> true"), "%s", d ? d : "(none)");
        free(d);
        CHECK(vs_space_budget_only_change(old, s[1].canonical));
        /* A file without the key, resuming that older sweep, keeps univariate: its
         * canonical form is then the stored one, and stays so when kept again. */
        CHECK(vs_space_keep_stored_defaults(&s[0], old) == 1);
        CHECK(s[0].tpe_multivariate == VS_TPE_UNIVARIATE && !strcmp(s[0].canonical, old));
        CHECK(vs_space_keep_stored_defaults(&s[0], old) == 0 && !strcmp(s[0].canonical, old));
        /* A value the file sets is its own (true against the older form is a change), and
         * a stored form with the key, or another sampler, keeps nothing. */
        CHECK(vs_space_keep_stored_defaults(&s[1], old) == 0 && vs_space_keep_stored_defaults(&s[2], old) == 0);
        CHECK(s[2].tpe_multivariate == VS_TPE_OPTUNA);
        vs_space fresh;
        CHECK_OK(parse(spaces[0], &fresh, &err), &err);
        if (fresh.name) {
            CHECK(vs_space_keep_stored_defaults(&fresh, s[1].canonical) == 0 && fresh.tpe_multivariate == VS_TPE_MULTIVARIATE);
            vs_space_free(&fresh);
        }
        CHECK_OK(parse(HEAD "\"sampler\":{\"kind\":\"random\"},\"parameters\":{\"lr\":{\"type\":\"uniform\","
                       "\"low\":0.1,\"high\":0.5}}}", &fresh, &err), &err);
        if (fresh.name) {
            CHECK(vs_space_keep_stored_defaults(&fresh, old) == 0);
            vs_space_free(&fresh);
        }
    }
    for (int i = 0; i < 3; i++) vs_space_free(&s[i]);
}

int main(void) {
    test_layers();
    test_nested();
    test_bad();
    test_grid();
    test_multivariate_key();
    return test_finish();
}
