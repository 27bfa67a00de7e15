/* cmd_synth: `vaesearch synth`, a synthetic dataset (.vsds) with real structure for
 * tests, demos and benchmarks. Generation is dataset/synth.c (the model is in
 * docs/synth.md); the pairs then take the same road as real data: the paper's split
 * (dataset/protocol.c) and the dataset file (dataset/dataset.c). This file parses
 * options over a preset, reports the counts like `vaesearch prepare`, and maps errors
 * to exit codes (2 for bad usage or values, 1 when generation or writing fails). */
#define _POSIX_C_SOURCE 200809L

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli_util.h"
#include "commands.h"
#include "split_report.h"
#include "common/json_exact.h"
#include "dataset/ingest.h"
#include "dataset/protocol.h"
#include "dataset/synth.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch synth -o DATASET [options]\n"
            "\n"
            "Generates implicit-feedback data with power-law item popularity and latent\n"
            "topics (docs/synth.md), then splits it with the paper's protocol like\n"
            "'vaesearch prepare'. Options override the preset's values.\n"
            "\n"
            "  -o, --output DATASET        the dataset file to write (.vsds)\n"
            "  --preset NAME               small (default: 2600 users, 600 items), or the shape\n"
            "                              of one of the paper's datasets after its preparation:\n"
            "                              ml20m (136677 users, 20108 items), netflix (463435\n"
            "                              users, 17769 items), msd (571355 users, 41140 items)\n"
            "  --users N                   users generated\n"
            "  --items N                   item catalogue size (>= 10)\n"
            "  --mean-items X              mean items per user, in [1, 2000]\n"
            "  --min-items N               least items per user, in [5, 2000]\n"
            "  --topics N                  latent topics\n"
            "  --topics-per-user N         at most N topics per user (<= topics)\n"
            "  --popularity-exponent X     Zipf exponent of item popularity, in [0, 5]\n"
            "  --topic-affinity X          probability an item comes from the user's topics\n"
            "  --seed S                    generation and split seed, an unsigned integer\n"
            "  --heldout-users N|F         N users (or fraction F in (0,1) of users) each for\n"
            "                              validation and test\n"
            "  --format F                  text (default) or json: the report as one JSON\n"
            "                              object (--json: the same as --format json)\n"
            "  -h, --help                  show this help\n");
}

/* Reports a usage error; gives the exit status for it. */
#define bad_usage(...) cli_error("synth", 2, __VA_ARGS__)

enum {
    OPT_PRESET = 256, OPT_USERS, OPT_ITEMS, OPT_MEAN_ITEMS, OPT_MIN_ITEMS, OPT_TOPICS, OPT_TOPICS_PER_USER,
    OPT_EXPONENT, OPT_AFFINITY, OPT_SEED, OPT_HELDOUT, OPT_JSON, OPT_FORMAT, OPT_END
};
/* Options from OPT_USERS to OPT_HELDOUT override the preset. */
#define N_OVERRIDES (OPT_JSON - OPT_USERS)

typedef struct synth_args {
    const char *output, *preset;
    const char *value[N_OVERRIDES];   /* the overrides as given, by opt - OPT_USERS */
    vs_synth_opts synth;
    int json;
} synth_args;

/* Applies one override to the options; returns 0, or -1 with err naming the option. */
static int apply_override(vs_synth_opts *o, int opt, const char *val, vs_error *err) {
    switch (opt) {
    case OPT_USERS: return cli_parse_int64("--users", val, 1, INT32_MAX - 1, &o->users, err);
    case OPT_ITEMS: return cli_parse_int64("--items", val, 10, INT32_MAX - 1, &o->items, err);
    case OPT_MEAN_ITEMS: return cli_parse_double("--mean-items", val, 1, 2000, &o->mean_items, err);
    case OPT_MIN_ITEMS: return cli_parse_int64("--min-items", val, 5, 2000, &o->min_items, err);
    case OPT_TOPICS: return cli_parse_int("--topics", val, 1, 1000000, &o->topics, err);
    case OPT_TOPICS_PER_USER:
        return cli_parse_int("--topics-per-user", val, 1, 1000000, &o->topics_per_user, err);
    case OPT_EXPONENT:
        return cli_parse_double("--popularity-exponent", val, 0, 5, &o->popularity_exponent, err);
    case OPT_AFFINITY: return cli_parse_double("--topic-affinity", val, 0, 1, &o->topic_affinity, err);
    case OPT_SEED: return cli_parse_seed("--seed", val, &o->seed, err);
    case OPT_HELDOUT: {
        /* a bound first, so that a count too large for any data set is refused here */
        double v;
        if (cli_parse_double("--heldout-users", val, 0, 1e12, &v, err)) return -1;
        return cli_parse_user_count("--heldout-users", val, &o->heldout_users, err);
    }
    }
    return 0;
}

/* Checks that the options fit together, naming the options at fault. */
static int check_combination(const synth_args *a) {
    const vs_synth_opts *o = &a->synth;
    if (o->topics_per_user > o->topics) {
        if (a->value[OPT_TOPICS_PER_USER - OPT_USERS])
            return bad_usage("--topics-per-user: %d is more than the %d topics", o->topics_per_user,
                             o->topics);
        return bad_usage("--topics: %d is fewer than the preset's %d topics per user; "
                         "set --topics-per-user too", o->topics, o->topics_per_user);
    }
    if (o->items < 2 * o->min_items)
        return bad_usage("--items: %lld items are fewer than twice the %lld items a user gets at least "
                         "(--min-items)", (long long)o->items, (long long)o->min_items);
    if ((double)o->users * o->mean_items > 2e9)
        return bad_usage("--users %lld with --mean-items %g is too many interactions (at most 2e9)",
                         (long long)o->users, o->mean_items);
    /* Every generated user has >= 5 items, so the protocol keeps all of them. */
    if (o->heldout_users >= 1 && 2 * o->heldout_users >= (double)o->users)
        return bad_usage("--heldout-users: %.0f validation and %.0f test users leave no training "
                         "users of the %lld generated (--users)", o->heldout_users, o->heldout_users,
                         (long long)o->users);
    return 0;
}

static int parse_args(int argc, char **argv, synth_args *a) {
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"preset", required_argument, NULL, OPT_PRESET},
        {"users", required_argument, NULL, OPT_USERS},
        {"items", required_argument, NULL, OPT_ITEMS},
        {"mean-items", required_argument, NULL, OPT_MEAN_ITEMS},
        {"min-items", required_argument, NULL, OPT_MIN_ITEMS},
        {"topics", required_argument, NULL, OPT_TOPICS},
        {"topics-per-user", required_argument, NULL, OPT_TOPICS_PER_USER},
        {"popularity-exponent", required_argument, NULL, OPT_EXPONENT},
        {"topic-affinity", required_argument, NULL, OPT_AFFINITY},
        {"seed", required_argument, NULL, OPT_SEED},
        {"heldout-users", required_argument, NULL, OPT_HELDOUT},
        {"json", no_argument, NULL, OPT_JSON},
        {"format", required_argument, NULL, OPT_FORMAT},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->preset = "small";
    optind = 0;   /* GNU getopt: 0 re-initialises it for this sub-argv */
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":o:", longopts, NULL)) != -1) {
        if (opt == '?' || opt == ':') return cli_option_error("synth", opt, argv);
        if (opt == 'o') a->output = optarg;
        else if (opt == OPT_PRESET) a->preset = optarg;
        else if (opt == OPT_JSON) a->json = 1;
        else if (opt == OPT_FORMAT) {
            vs_error ferr = {{0}};
            if (cli_parse_text_or_json(optarg, &a->json, &ferr)) return bad_usage("%s", ferr.msg);
        }
        else a->value[opt - OPT_USERS] = optarg;
    }
    if (optind < argc) return bad_usage("unexpected argument '%s'", argv[optind]);
    if (!a->output) return bad_usage("no output given: use -o DATASET");

    vs_error err = {{0}};
    if (vs_synth_preset(a->preset, &a->synth, &err)) return bad_usage("--preset: %s", err.msg);
    /* The preset first, whatever the order on the command line, then the overrides. */
    for (int i = 0; i < N_OVERRIDES; i++)
        if (a->value[i] && apply_override(&a->synth, OPT_USERS + i, a->value[i], &err))
            return bad_usage("%s", err.msg);
    return check_combination(a);
}

/* ---- the run ---- */

static cJSON *synth_params_json(const vs_synth_opts *o) {
    cJSON *s = cJSON_CreateObject();
    cli_json_add_int(s, "users", o->users);
    cli_json_add_int(s, "items", o->items);
    cJSON_AddNumberToObject(s, "mean_items", o->mean_items);
    cli_json_add_int(s, "min_items", o->min_items);
    cli_json_add_int(s, "topics", o->topics);
    cli_json_add_int(s, "topics_per_user", o->topics_per_user);
    cJSON_AddNumberToObject(s, "popularity_exponent", o->popularity_exponent);
    cJSON_AddNumberToObject(s, "topic_affinity", o->topic_affinity);
    cli_json_add_seed(s, "seed", o->seed);
    cJSON_AddNumberToObject(s, "heldout_users", o->heldout_users);
    return s;
}

/* {"source": "synth", "preset": ..., "synth": {every parameter}} for the metadata. */
static char *meta_extra_json(const synth_args *a) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", "synth");
    cJSON_AddStringToObject(o, "preset", a->preset);
    cJSON_AddItemToObject(o, "synth", synth_params_json(&a->synth));
    char *s = vs_json_print_exact(o);
    cJSON_Delete(o);
    return s;
}

/* The report's first lines, the model and what it generated; split_report prints the rest. */
static void print_text(const synth_args *a, int64_t pairs, const split_report *r) {
    const vs_synth_opts *o = &a->synth;
    printf("preset         %s\n", a->preset);
    printf("model          %lld users, %lld items, mean %g items per user (at least %lld), %d topics (<= %d per user),\n"
           "               popularity exponent %g, topic affinity %g, seed %llu\n",
           (long long)o->users, (long long)o->items, o->mean_items, (long long)o->min_items, o->topics, o->topics_per_user,
           o->popularity_exponent, o->topic_affinity, (unsigned long long)o->seed);
    printf("generated      %lld interactions\n", (long long)pairs);
    split_report_print_text(r, a->output);
}

static void print_json(const synth_args *a, int64_t pairs, const split_report *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "output", a->output);
    cJSON_AddStringToObject(o, "preset", a->preset);
    cJSON_AddItemToObject(o, "synth", synth_params_json(&a->synth));
    cli_json_add_int(o, "generated", pairs);
    split_report_print_json(o, r);
}

int cmd_synth(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    synth_args a;
    if (parse_args(argc, argv, &a)) return 2;

    vs_error err = {{0}};
    vs_interactions x;
    memset(&x, 0, sizeof x);
    double t0 = cli_seconds();
    if (vs_synth_generate(&a.synth, &x, &err) < 0) {
        vs_interactions_free(&x);
        return cli_error("synth", 1, "%s", err.msg);
    }
    int64_t pairs = x.n;
    split_report r;
    memset(&r, 0, sizeof r);
    vs_protocol_opts_default(&r.opts);
    r.opts.heldout_users = a.synth.heldout_users;
    r.opts.seed = a.synth.seed;
    r.source_step = "generate";
    r.source_s = cli_seconds() - t0;

    char *extra = meta_extra_json(&a);
    int rc = split_report_run(&x, extra, a.output, &r, &err);
    cJSON_free(extra);
    if (rc == SPLIT_REPORT_SPLIT_FAILED) return cli_error("synth", 1, "split: %s", err.msg);
    if (rc < 0) return cli_error("synth", 1, "%s", err.msg);
    if (a.json) print_json(&a, pairs, &r);
    else print_text(&a, pairs, &r);
    return 0;
}
