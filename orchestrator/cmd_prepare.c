/* cmd_prepare: `vaesearch prepare`, from an interaction file (MovieLens ratings or
 * plain pairs) to a prepared dataset (.vsds) split with the paper's protocol.
 * Reading is trainer/ingest.c, the split trainer/protocol.c, the file trainer/dataset.c;
 * this file parses options, reports what each step did, and maps errors to exit codes
 * (2 for bad usage or bad input, 1 when writing fails). docs/prepare.md has the details. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "dataset.h"
#include "ingest.h"
#include "protocol.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch prepare INPUT -o DATASET [options]\n"
            "\n"
            "Reads interactions from INPUT and writes the paper's split (Liang et al. 2018):\n"
            "users with enough items, shuffled into train / validation / test users; held-out\n"
            "users' items split into fold-in input and targets.\n"
            "\n"
            "  -o, --output DATASET      the dataset file to write (.vsds)\n"
            "  --format FMT              auto (default), csv, dat, tsv or pairs\n"
            "  --min-rating X            keep ratings > X (default 3.5; not used for pairs)\n"
            "  --min-user-items N        keep users with >= N distinct items (default 5)\n"
            "  --heldout-users N|F       N users (or fraction F in (0,1) of users) each for\n"
            "                            validation and test (default 10000)\n"
            "  --target-fraction F       fraction of a held-out user's items used as targets,\n"
            "                            in (0,1) (default 0.2)\n"
            "  --min-split-items N       held-out users with fewer items get no targets (default 5)\n"
            "  --seed S                  the split's random seed, an unsigned integer (default 98765)\n"
            "  --json                    print the report as one JSON object\n"
            "  -h, --help                show this help\n");
}

/* Reports a usage error; returns the exit status for it. */
static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "vaesearch prepare: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 2;
}

/* ---- option values ---- */

static int parse_double_opt(const char *opt, const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
        return bad_usage("%s: '%s' is not a finite number", opt, s);
    *out = v;
    return 0;
}

static int parse_count_opt(const char *opt, const char *s, int *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE)
        return bad_usage("%s: '%s' is not an integer", opt, s);
    if (v < 0 || v > INT_MAX) return bad_usage("%s: %s is out of range [0, 2147483647]", opt, s);
    *out = (int)v;
    return 0;
}

static int parse_seed_opt(const char *s, uint64_t *out) {
    const char *p = s;
    while (*p == ' ') p++;
    char *end;
    errno = 0;
    /* strtoull would quietly wrap "-1" to 2^64-1 */
    unsigned long long v = *p == '-' ? 0 : strtoull(p, &end, 10);
    if (*p == '-' || end == p || *end != '\0' || errno == ERANGE)
        return bad_usage("%s: '%s' is not an unsigned 64-bit integer", "--seed", s);
    *out = v;
    return 0;
}

/* N (a whole count >= 1) or a fraction in (0, 1). */
static int parse_heldout_opt(const char *s, double *out) {
    double v;
    if (parse_double_opt("--heldout-users", s, &v)) return 2;
    if (v >= 1 && v == floor(v)) {
        *out = v;
        return 0;
    }
    if (v > 0 && v < 1) {
        *out = v;
        return 0;
    }
    return bad_usage("%s: '%s' must be a whole number of users >= 1 or a fraction in (0, 1)",
                     "--heldout-users", s);
}

typedef struct prepare_args {
    const char *input, *output;
    vs_ingest_opts ingest;
    vs_protocol_opts protocol;
    int json;
} prepare_args;

enum {
    OPT_FORMAT = 256, OPT_MIN_RATING, OPT_MIN_USER_ITEMS, OPT_HELDOUT, OPT_TARGET_FRACTION,
    OPT_MIN_SPLIT_ITEMS, OPT_SEED, OPT_JSON,
};

static int apply_option(prepare_args *a, int opt, const char *val) {
    switch (opt) {
    case 'o': a->output = val; return 0;
    case OPT_FORMAT:
        if (vs_format_parse(val, &a->ingest.format) < 0)
            return bad_usage("--format: '%s' is not one of auto, csv, dat, tsv, pairs", val);
        return 0;
    case OPT_MIN_RATING: return parse_double_opt("--min-rating", val, &a->ingest.min_rating);
    case OPT_MIN_USER_ITEMS: return parse_count_opt("--min-user-items", val, &a->protocol.min_user_items);
    case OPT_HELDOUT: return parse_heldout_opt(val, &a->protocol.heldout_users);
    case OPT_TARGET_FRACTION:
        if (parse_double_opt("--target-fraction", val, &a->protocol.target_fraction)) return 2;
        if (!(a->protocol.target_fraction > 0 && a->protocol.target_fraction < 1))
            return bad_usage("--target-fraction: %s is not in (0, 1)", val);
        return 0;
    case OPT_MIN_SPLIT_ITEMS:
        return parse_count_opt("--min-split-items", val, &a->protocol.min_split_items);
    case OPT_SEED: return parse_seed_opt(val, &a->protocol.seed);
    case OPT_JSON: a->json = 1; return 0;
    }
    return 2;
}

static int parse_args(int argc, char **argv, prepare_args *a) {
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"min-rating", required_argument, NULL, OPT_MIN_RATING},
        {"min-user-items", required_argument, NULL, OPT_MIN_USER_ITEMS},
        {"heldout-users", required_argument, NULL, OPT_HELDOUT},
        {"target-fraction", required_argument, NULL, OPT_TARGET_FRACTION},
        {"min-split-items", required_argument, NULL, OPT_MIN_SPLIT_ITEMS},
        {"seed", required_argument, NULL, OPT_SEED},
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    vs_ingest_opts_default(&a->ingest);
    vs_protocol_opts_default(&a->protocol);
    optind = 0;   /* GNU getopt: 0 re-initialises it for this sub-argv */
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":o:", longopts, NULL)) != -1) {
        if (opt == '?') {
            if (optopt) {
                char shortopt[3] = {'-', (char)optopt, '\0'};
                return bad_usage("unknown option '%s'; see 'vaesearch prepare --help'", shortopt);
            }
            return bad_usage("unknown option '%s'; see 'vaesearch prepare --help'", argv[optind - 1]);
        }
        if (opt == ':') return bad_usage("option '%s' needs a value", argv[optind - 1]);
        if (apply_option(a, opt, optarg)) return 2;
    }
    if (optind >= argc) return bad_usage("no INPUT file given; see 'vaesearch prepare --help'");
    if (optind + 1 < argc) return bad_usage("unexpected argument '%s'", argv[optind + 1]);
    a->input = argv[optind];
    if (!a->output) return bad_usage("no output given: use -o DATASET");
    if (strcmp(a->input, a->output) == 0)
        return bad_usage("the output '%s' is the input file", a->output);
    return 0;
}

/* ---- the run ---- */

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

/* {"source": ..., "format": ..., "min_rating": x or null}, for the dataset metadata. */
static char *meta_extra_json(const prepare_args *a, vs_format used) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", base_name(a->input));
    cJSON_AddStringToObject(o, "format", vs_format_name(used));
    if (used == VS_FORMAT_PAIRS) cJSON_AddNullToObject(o, "min_rating");
    else cJSON_AddNumberToObject(o, "min_rating", a->ingest.min_rating);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

typedef struct prepare_report {
    vs_ingest_stats ingest;
    vs_protocol_stats protocol;
    vs_dataset_stats split;
    int64_t heldout;
    double read_s, split_s, write_s;
} prepare_report;

static void print_text(const prepare_args *a, const prepare_report *r) {
    const vs_dataset_stats *s = &r->split;
    int rated = r->ingest.format != VS_FORMAT_PAIRS;
    printf("input          %s (%s)\n", a->input, vs_format_name(r->ingest.format));
    printf("lines          %lld\n", (long long)r->ingest.lines);
    printf("records        %lld\n", (long long)r->ingest.records);
    if (rated) printf("kept           %lld (rating > %g)\n", (long long)r->ingest.kept, a->ingest.min_rating);
    else printf("kept           %lld (pairs: no rating filter)\n", (long long)r->ingest.kept);
    printf("duplicates     %lld\n", (long long)r->protocol.duplicates);
    printf("users          %lld (with >= %d items, of %lld)\n", (long long)r->protocol.kept_users,
           a->protocol.min_user_items, (long long)r->protocol.input_users);
    printf("items          %lld (of %lld)\n", (long long)r->protocol.kept_items,
           (long long)r->protocol.input_items);
    printf("interactions   %lld\n", (long long)r->protocol.kept_interactions);
    printf("split          seed %llu, %lld validation and %lld test users, target fraction %g\n",
           (unsigned long long)a->protocol.seed, (long long)r->heldout, (long long)r->heldout,
           a->protocol.target_fraction);
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
    printf("time           read %.2f s, split %.2f s, write %.2f s\n", r->read_s, r->split_s,
           r->write_s);
    printf("wrote          %s\n", a->output);
}

static void add_int(cJSON *o, const char *key, int64_t v) { cJSON_AddNumberToObject(o, key, (double)v); }

static void print_json(const prepare_args *a, const prepare_report *r) {
    const vs_dataset_stats *s = &r->split;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "input", a->input);
    cJSON_AddStringToObject(o, "output", a->output);
    cJSON_AddStringToObject(o, "format", vs_format_name(r->ingest.format));
    if (r->ingest.format == VS_FORMAT_PAIRS) cJSON_AddNullToObject(o, "min_rating");
    else cJSON_AddNumberToObject(o, "min_rating", a->ingest.min_rating);
    add_int(o, "lines", r->ingest.lines);
    add_int(o, "records", r->ingest.records);
    add_int(o, "kept", r->ingest.kept);
    add_int(o, "duplicates", r->protocol.duplicates);
    add_int(o, "input_users", r->protocol.input_users);
    add_int(o, "input_items", r->protocol.input_items);
    add_int(o, "users", r->protocol.kept_users);
    add_int(o, "items", r->protocol.kept_items);
    add_int(o, "interactions", r->protocol.kept_interactions);

    cJSON *p = cJSON_AddObjectToObject(o, "protocol");
    add_int(p, "min_user_items", a->protocol.min_user_items);
    add_int(p, "heldout_users", r->heldout);
    cJSON_AddNumberToObject(p, "target_fraction", a->protocol.target_fraction);
    add_int(p, "min_split_items", a->protocol.min_split_items);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)a->protocol.seed);
    if (a->protocol.seed <= (1ULL << 53)) cJSON_AddNumberToObject(p, "seed", (double)a->protocol.seed);
    else cJSON_AddStringToObject(p, "seed", seed);

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
    cJSON_AddNumberToObject(t, "read", r->read_s);
    cJSON_AddNumberToObject(t, "split", r->split_s);
    cJSON_AddNumberToObject(t, "write", r->write_s);

    char *text = cJSON_PrintUnformatted(o);
    printf("%s\n", text);
    cJSON_free(text);
    cJSON_Delete(o);
}

int cmd_prepare(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    prepare_args a;
    if (parse_args(argc, argv, &a)) return 2;

    prepare_report r;
    memset(&r, 0, sizeof r);
    vs_error err = {{0}};
    vs_interactions x;
    double t0 = now_seconds();
    if (vs_ingest_file(a.input, &a.ingest, &x, &r.ingest, &err) < 0) {
        fprintf(stderr, "vaesearch prepare: %s\n", err.msg);
        return 2;
    }
    double t1 = now_seconds();

    char *extra = meta_extra_json(&a, r.ingest.format);
    vs_dataset ds;
    int rc = vs_protocol_split(&x, &a.protocol, extra, &ds, &r.protocol, &err);
    cJSON_free(extra);
    vs_interactions_free(&x);
    if (rc < 0) {
        fprintf(stderr, "vaesearch prepare: %s: %s\n", a.input, err.msg);
        return 2;
    }
    r.heldout = ds.val_in.rows;
    vs_dataset_stats_compute(&ds, &r.split);
    double t2 = now_seconds();

    rc = vs_dataset_write(&ds, a.output, &err);
    vs_dataset_close(&ds);
    if (rc < 0) {
        fprintf(stderr, "vaesearch prepare: %s\n", err.msg);
        return 1;
    }
    double t3 = now_seconds();
    r.read_s = t1 - t0;
    r.split_s = t2 - t1;
    r.write_s = t3 - t2;
    if (a.json) print_json(&a, &r);
    else print_text(&a, &r);
    return 0;
}
