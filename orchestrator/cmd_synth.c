/* cmd_synth: `vaesearch synth`, a synthetic dataset (.vsds) with real structure for
 * tests, demos and benchmarks. Generation is trainer/synth.c (the model is in
 * docs/synth.md); the pairs then take the same road as real data: the paper's split
 * (trainer/protocol.c) and the dataset file (trainer/dataset.c). This file parses
 * options over a preset, reports the counts like `vaesearch prepare`, and maps errors
 * to exit codes (2 for bad usage or values, 1 when generation or writing fails). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "dataset.h"
#include "ingest.h"
#include "protocol.h"
#include "synth.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch synth -o DATASET [options]\n"
            "\n"
            "Generates implicit-feedback data with power-law item popularity and latent\n"
            "topics (docs/synth.md), then splits it with the paper's protocol like\n"
            "'vaesearch prepare'. Options override the preset's values.\n"
            "\n"
            "  -o, --output DATASET        the dataset file to write (.vsds)\n"
            "  --preset NAME               small (default: 2600 users, 600 items) or ml20m\n"
            "                              (MovieLens-20M's shape: 136677 users, 20108 items)\n"
            "  --users N                   users generated\n"
            "  --items N                   item catalogue size (>= 10)\n"
            "  --mean-items X              mean items per user, in [1, 2000]\n"
            "  --topics N                  latent topics\n"
            "  --topics-per-user N         at most N topics per user (<= topics)\n"
            "  --popularity-exponent X     Zipf exponent of item popularity, in [0, 5]\n"
            "  --topic-affinity X          probability an item comes from the user's topics\n"
            "  --seed S                    generation and split seed, an unsigned integer\n"
            "  --heldout-users N|F         N users (or fraction F in (0,1) of users) each for\n"
            "                              validation and test\n"
            "  --json                      print the report as one JSON object\n"
            "  -h, --help                  show this help\n");
}

/* Reports a usage error; returns the exit status for it. */
static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "vaesearch synth: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 2;
}

/* ---- option values ---- */

static int parse_double_in(const char *opt, const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
        return bad_usage("%s: '%s' is not a finite number", opt, s);
    if (v < lo || v > hi) return bad_usage("%s: %s is out of range [%g, %g]", opt, s, lo, hi);
    *out = v;
    return 0;
}

static int parse_int_in(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE)
        return bad_usage("%s: '%s' is not an integer", opt, s);
    if (v < lo || v > hi)
        return bad_usage("%s: %s is out of range [%lld, %lld]", opt, s, (long long)lo, (long long)hi);
    *out = v;
    return 0;
}

static int parse_seed(const char *s, uint64_t *out) {
    const char *p = s;
    while (*p == ' ') p++;
    char *end = NULL;
    errno = 0;
    /* strtoull would quietly wrap "-1" to 2^64-1 */
    unsigned long long v = *p == '-' ? 0 : strtoull(p, &end, 10);
    if (*p == '-' || end == p || *end != '\0' || errno == ERANGE)
        return bad_usage("--seed: '%s' is not an unsigned 64-bit integer", s);
    *out = v;
    return 0;
}

/* N (a whole count >= 1) or a fraction in (0, 1). */
static int parse_heldout(const char *s, double *out) {
    double v;
    if (parse_double_in("--heldout-users", s, 0, 1e12, &v)) return 2;
    if ((v >= 1 && v == floor(v)) || (v > 0 && v < 1)) {
        *out = v;
        return 0;
    }
    return bad_usage("--heldout-users: '%s' must be a whole number of users >= 1 or a fraction in (0, 1)", s);
}

enum {
    OPT_PRESET = 256, OPT_USERS, OPT_ITEMS, OPT_MEAN_ITEMS, OPT_TOPICS, OPT_TOPICS_PER_USER,
    OPT_EXPONENT, OPT_AFFINITY, OPT_SEED, OPT_HELDOUT, OPT_JSON, OPT_END
};
/* Options from OPT_USERS to OPT_HELDOUT override the preset. */
#define N_OVERRIDES (OPT_JSON - OPT_USERS)

typedef struct synth_args {
    const char *output, *preset;
    const char *value[N_OVERRIDES];   /* the overrides as given, by opt - OPT_USERS */
    vs_synth_opts synth;
    int json;
} synth_args;

/* Applies one override to the options; returns 0 or the exit status 2. */
static int apply_override(vs_synth_opts *o, int opt, const char *val) {
    int64_t n;
    switch (opt) {
    case OPT_USERS:
        if (parse_int_in("--users", val, 1, INT32_MAX - 1, &n)) return 2;
        o->users = n;
        return 0;
    case OPT_ITEMS:
        if (parse_int_in("--items", val, 10, INT32_MAX - 1, &n)) return 2;
        o->items = n;
        return 0;
    case OPT_MEAN_ITEMS: return parse_double_in("--mean-items", val, 1, 2000, &o->mean_items);
    case OPT_TOPICS:
        if (parse_int_in("--topics", val, 1, 1000000, &n)) return 2;
        o->topics = (int)n;
        return 0;
    case OPT_TOPICS_PER_USER:
        if (parse_int_in("--topics-per-user", val, 1, 1000000, &n)) return 2;
        o->topics_per_user = (int)n;
        return 0;
    case OPT_EXPONENT: return parse_double_in("--popularity-exponent", val, 0, 5, &o->popularity_exponent);
    case OPT_AFFINITY: return parse_double_in("--topic-affinity", val, 0, 1, &o->topic_affinity);
    case OPT_SEED: return parse_seed(val, &o->seed);
    case OPT_HELDOUT: return parse_heldout(val, &o->heldout_users);
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
        {"topics", required_argument, NULL, OPT_TOPICS},
        {"topics-per-user", required_argument, NULL, OPT_TOPICS_PER_USER},
        {"popularity-exponent", required_argument, NULL, OPT_EXPONENT},
        {"topic-affinity", required_argument, NULL, OPT_AFFINITY},
        {"seed", required_argument, NULL, OPT_SEED},
        {"heldout-users", required_argument, NULL, OPT_HELDOUT},
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->preset = "small";
    optind = 0;   /* GNU getopt: 0 re-initialises it for this sub-argv */
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":o:", longopts, NULL)) != -1) {
        if (opt == '?') {
            if (optopt) {
                char shortopt[3] = {'-', (char)optopt, '\0'};
                return bad_usage("unknown option '%s'; see 'vaesearch synth --help'", shortopt);
            }
            return bad_usage("unknown option '%s'; see 'vaesearch synth --help'", argv[optind - 1]);
        }
        if (opt == ':') return bad_usage("option '%s' needs a value", argv[optind - 1]);
        if (opt == 'o') a->output = optarg;
        else if (opt == OPT_PRESET) a->preset = optarg;
        else if (opt == OPT_JSON) a->json = 1;
        else a->value[opt - OPT_USERS] = optarg;
    }
    if (optind < argc) return bad_usage("unexpected argument '%s'", argv[optind]);
    if (!a->output) return bad_usage("no output given: use -o DATASET");

    vs_error err = {{0}};
    if (vs_synth_preset(a->preset, &a->synth, &err)) return bad_usage("--preset: %s", err.msg);
    /* The preset first, whatever the order on the command line, then the overrides. */
    for (int i = 0; i < N_OVERRIDES; i++)
        if (a->value[i] && apply_override(&a->synth, OPT_USERS + i, a->value[i])) return 2;
    return check_combination(a);
}

/* ---- the run ---- */

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void add_int(cJSON *o, const char *key, int64_t v) { cJSON_AddNumberToObject(o, key, (double)v); }

/* A seed as a JSON number where that is exact (<= 2^53), else as a string. */
static void add_seed(cJSON *o, const char *key, uint64_t seed) {
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)seed);
    if (seed <= (1ULL << 53)) cJSON_AddNumberToObject(o, key, (double)seed);
    else cJSON_AddStringToObject(o, key, text);
}

static cJSON *synth_params_json(const vs_synth_opts *o) {
    cJSON *s = cJSON_CreateObject();
    add_int(s, "users", o->users);
    add_int(s, "items", o->items);
    cJSON_AddNumberToObject(s, "mean_items", o->mean_items);
    add_int(s, "topics", o->topics);
    add_int(s, "topics_per_user", o->topics_per_user);
    cJSON_AddNumberToObject(s, "popularity_exponent", o->popularity_exponent);
    cJSON_AddNumberToObject(s, "topic_affinity", o->topic_affinity);
    add_seed(s, "seed", o->seed);
    cJSON_AddNumberToObject(s, "heldout_users", o->heldout_users);
    return s;
}

/* {"source": "synth", "preset": ..., "synth": {every parameter}} for the metadata. */
static char *meta_extra_json(const synth_args *a) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", "synth");
    cJSON_AddStringToObject(o, "preset", a->preset);
    cJSON_AddItemToObject(o, "synth", synth_params_json(&a->synth));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

typedef struct synth_report {
    int64_t pairs;
    vs_protocol_opts protocol_opts;
    vs_protocol_stats protocol;
    vs_dataset_stats split;
    int64_t heldout;
    double generate_s, split_s, write_s;
} synth_report;

static void print_text(const synth_args *a, const synth_report *r) {
    const vs_synth_opts *o = &a->synth;
    const vs_dataset_stats *s = &r->split;
    printf("preset         %s\n", a->preset);
    printf("model          %lld users, %lld items, mean %g items per user, %d topics (<= %d per user),\n"
           "               popularity exponent %g, topic affinity %g, seed %llu\n",
           (long long)o->users, (long long)o->items, o->mean_items, o->topics, o->topics_per_user,
           o->popularity_exponent, o->topic_affinity, (unsigned long long)o->seed);
    printf("generated      %lld interactions\n", (long long)r->pairs);
    printf("users          %lld (with >= %d items, of %lld)\n", (long long)r->protocol.kept_users,
           r->protocol_opts.min_user_items, (long long)r->protocol.input_users);
    printf("items          %lld (of %lld)\n", (long long)r->protocol.kept_items,
           (long long)r->protocol.input_items);
    printf("interactions   %lld\n", (long long)r->protocol.kept_interactions);
    printf("split          seed %llu, %lld validation and %lld test users, target fraction %g\n",
           (unsigned long long)r->protocol_opts.seed, (long long)r->heldout, (long long)r->heldout,
           r->protocol_opts.target_fraction);
    printf("train          %lld users, %lld interactions\n", (long long)s->train_users,
           (long long)s->train_interactions);
    printf("validation     %lld users, %lld fold-in, %lld targets\n", (long long)s->val_users,
           (long long)s->val_in_interactions, (long long)s->val_out_interactions);
    printf("test           %lld users, %lld fold-in, %lld targets\n", (long long)s->test_users,
           (long long)s->test_in_interactions, (long long)s->test_out_interactions);
    printf("dataset        %lld users, %lld items, %lld interactions, sparsity %.4f%%\n",
           (long long)s->users, (long long)s->items, (long long)s->interactions, 100.0 * s->sparsity);
    printf("dropped        %lld held-out interactions with items not in training\n",
           (long long)r->protocol.dropped_heldout_interactions);
    printf("time           generate %.2f s, split %.2f s, write %.2f s\n", r->generate_s, r->split_s,
           r->write_s);
    printf("wrote          %s\n", a->output);
}

static void print_json(const synth_args *a, const synth_report *r) {
    const vs_dataset_stats *s = &r->split;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "output", a->output);
    cJSON_AddStringToObject(o, "preset", a->preset);
    cJSON_AddItemToObject(o, "synth", synth_params_json(&a->synth));
    add_int(o, "generated", r->pairs);
    add_int(o, "duplicates", r->protocol.duplicates);
    add_int(o, "input_users", r->protocol.input_users);
    add_int(o, "input_items", r->protocol.input_items);
    add_int(o, "users", r->protocol.kept_users);
    add_int(o, "items", r->protocol.kept_items);
    add_int(o, "interactions", r->protocol.kept_interactions);

    cJSON *p = cJSON_AddObjectToObject(o, "protocol");
    add_int(p, "min_user_items", r->protocol_opts.min_user_items);
    add_int(p, "heldout_users", r->heldout);
    cJSON_AddNumberToObject(p, "target_fraction", r->protocol_opts.target_fraction);
    add_int(p, "min_split_items", r->protocol_opts.min_split_items);
    add_seed(p, "seed", r->protocol_opts.seed);

    cJSON *sp = cJSON_AddObjectToObject(o, "split");
    add_int(sp, "train_users", s->train_users);
    add_int(sp, "train_interactions", s->train_interactions);
    add_int(sp, "val_users", s->val_users);
    add_int(sp, "val_in_interactions", s->val_in_interactions);
    add_int(sp, "val_out_interactions", s->val_out_interactions);
    add_int(sp, "test_users", s->test_users);
    add_int(sp, "test_in_interactions", s->test_in_interactions);
    add_int(sp, "test_out_interactions", s->test_out_interactions);
    add_int(sp, "users", s->users);
    add_int(sp, "items", s->items);
    add_int(sp, "interactions", s->interactions);
    cJSON_AddNumberToObject(sp, "sparsity", s->sparsity);
    add_int(sp, "dropped_heldout_interactions", r->protocol.dropped_heldout_interactions);

    cJSON *t = cJSON_AddObjectToObject(o, "seconds");
    cJSON_AddNumberToObject(t, "generate", r->generate_s);
    cJSON_AddNumberToObject(t, "split", r->split_s);
    cJSON_AddNumberToObject(t, "write", r->write_s);

    char *text = cJSON_PrintUnformatted(o);
    printf("%s\n", text);
    cJSON_free(text);
    cJSON_Delete(o);
}

int cmd_synth(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    synth_args a;
    if (parse_args(argc, argv, &a)) return 2;

    synth_report r;
    memset(&r, 0, sizeof r);
    vs_error err = {{0}};
    vs_interactions x;
    memset(&x, 0, sizeof x);
    double t0 = now_seconds();
    if (vs_synth_generate(&a.synth, &x, &err) < 0) {
        vs_interactions_free(&x);
        fprintf(stderr, "vaesearch synth: %s\n", err.msg);
        return 1;
    }
    r.pairs = x.n;
    double t1 = now_seconds();

    vs_protocol_opts_default(&r.protocol_opts);
    r.protocol_opts.heldout_users = a.synth.heldout_users;
    r.protocol_opts.seed = a.synth.seed;
    char *extra = meta_extra_json(&a);
    vs_dataset ds;
    memset(&ds, 0, sizeof ds);
    int rc = vs_protocol_split(&x, &r.protocol_opts, extra, &ds, &r.protocol, &err);
    cJSON_free(extra);
    vs_interactions_free(&x);
    if (rc < 0) {
        fprintf(stderr, "vaesearch synth: split: %s\n", err.msg);
        return 1;
    }
    r.heldout = ds.val_in.rows;
    vs_dataset_stats_compute(&ds, &r.split);
    double t2 = now_seconds();

    rc = vs_dataset_write(&ds, a.output, &err);
    vs_dataset_close(&ds);
    if (rc < 0) {
        fprintf(stderr, "vaesearch synth: %s\n", err.msg);
        return 1;
    }
    double t3 = now_seconds();
    r.generate_s = t1 - t0;
    r.split_s = t2 - t1;
    r.write_s = t3 - t2;
    if (a.json) print_json(&a, &r);
    else print_text(&a, &r);
    return 0;
}
