/* cmd_prepare: `vaesearch prepare`, from an interaction file (MovieLens ratings, counts
 * such as Last.fm's play counts, or plain pairs) to a prepared dataset (.vsds) split
 * with the paper's protocol. Whether the third column is a rating (filtered) or a count
 * (every row kept) is the user's choice, or detected and reported.
 * Reading is dataset/ingest.c, the split dataset/protocol.c, the file dataset/dataset.c;
 * this file parses options, reports what each step did, and maps errors to exit codes
 * (2 for bad usage or bad input, 1 when writing fails). docs/prepare.md has the details. */
#define _POSIX_C_SOURCE 200809L

#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli_util.h"
#include "commands.h"
#include "split_report.h"
#include "common/json_exact.h"
#include "dataset/ingest.h"
#include "dataset/protocol.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch prepare INPUT -o DATASET [options]\n"
            "\n"
            "Reads interactions from INPUT and writes the paper's split (Liang et al. 2018):\n"
            "users with enough items, shuffled into train / validation / test users; held-out\n"
            "users' items split into fold-in input and targets.\n"
            "\n"
            "  -o, --output DATASET      the dataset file to write (.vsds)\n"
            "  --input-format FMT        auto (default), csv, dat, tsv or pairs (--format FMT,\n"
            "                            the older spelling, works too)\n"
            "  --min-rating X            the third column is a rating: keep rows with rating > X\n"
            "                            (default 3.5 when ratings are detected)\n"
            "  --all-rows                the third column is a count or weight (plays, purchases,\n"
            "                            clicks): every row is an interaction\n"
            "                            (without either, the first 10000 values decide)\n"
            "  --min-user-items N        keep users with >= N distinct items (default 5)\n"
            "  --heldout-users N|F       N users (or fraction F in (0,1) of users) each for\n"
            "                            validation and test (default 10000)\n"
            "  --target-fraction F       fraction of a held-out user's items used as targets,\n"
            "                            in (0,1) (default 0.2)\n"
            "  --min-split-items N       held-out users with fewer items get no targets (default 5)\n"
            "  --seed S                  the split's random seed, an unsigned integer (default 98765)\n"
            "  --format F                text (default) or json: the report as one JSON object\n"
            "                            (--json: the same as --format json)\n"
            "  -h, --help                show this help\n");
}

/* Reports a usage error; gives the exit status for it. */
#define bad_usage(...) cli_error("prepare", 2, __VA_ARGS__)

typedef struct prepare_args {
    const char *input, *output;
    int min_rating_given, all_rows;   /* the value column named by an option */
    vs_ingest_opts ingest;
    vs_protocol_opts protocol;
    int json;
} prepare_args;

enum {
    OPT_FORMAT = 256, OPT_INPUT_FORMAT, OPT_MIN_RATING, OPT_MIN_USER_ITEMS, OPT_HELDOUT, OPT_TARGET_FRACTION,
    OPT_MIN_SPLIT_ITEMS, OPT_SEED, OPT_JSON, OPT_ALL_ROWS,
};

/* Sets the option opt to val; returns 0, or -1 with err naming the option. */
static int apply_option(prepare_args *a, int opt, const char *val, vs_error *err) {
    vs_protocol_opts *p = &a->protocol;
    switch (opt) {
    case 'o': a->output = val; return 0;
    case OPT_FORMAT:   /* the report's format, or (the older spelling) the input's */
        if (!strcmp(val, "text") || !strcmp(val, "json")) return cli_parse_text_or_json(val, &a->json, err);
        if (vs_format_parse(val, &a->ingest.format) < 0)
            return vs_errorf(err, "--format: '%s' is not text or json (the report), nor one of auto, csv, dat, tsv, "
                                  "pairs (the input: --input-format)", val);
        return 0;
    case OPT_INPUT_FORMAT:
        if (vs_format_parse(val, &a->ingest.format) < 0)
            return vs_errorf(err, "--input-format: '%s' is not one of auto, csv, dat, tsv, pairs", val);
        return 0;
    case OPT_MIN_RATING:
        a->ingest.values = VS_VALUES_RATING;
        a->min_rating_given = 1;
        return cli_parse_double("--min-rating", val, -HUGE_VAL, HUGE_VAL, &a->ingest.min_rating, err);
    case OPT_ALL_ROWS:
        a->ingest.values = VS_VALUES_COUNT;
        a->all_rows = 1;
        return 0;
    case OPT_MIN_USER_ITEMS:
        return cli_parse_int("--min-user-items", val, 0, INT_MAX, &p->min_user_items, err);
    case OPT_HELDOUT: return cli_parse_user_count("--heldout-users", val, &p->heldout_users, err);
    case OPT_TARGET_FRACTION:
        if (cli_parse_double("--target-fraction", val, -HUGE_VAL, HUGE_VAL, &p->target_fraction, err))
            return -1;
        if (!(p->target_fraction > 0 && p->target_fraction < 1))
            return vs_errorf(err, "--target-fraction: %s is not in (0, 1)", val);
        return 0;
    case OPT_MIN_SPLIT_ITEMS:
        return cli_parse_int("--min-split-items", val, 0, INT_MAX, &p->min_split_items, err);
    case OPT_SEED: return cli_parse_seed("--seed", val, &p->seed, err);
    case OPT_JSON: a->json = 1; return 0;
    }
    return vs_errorf(err, "unhandled option %d", opt);
}

static int parse_args(int argc, char **argv, prepare_args *a) {
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"input-format", required_argument, NULL, OPT_INPUT_FORMAT},
        {"min-rating", required_argument, NULL, OPT_MIN_RATING},
        {"min-user-items", required_argument, NULL, OPT_MIN_USER_ITEMS},
        {"heldout-users", required_argument, NULL, OPT_HELDOUT},
        {"target-fraction", required_argument, NULL, OPT_TARGET_FRACTION},
        {"min-split-items", required_argument, NULL, OPT_MIN_SPLIT_ITEMS},
        {"seed", required_argument, NULL, OPT_SEED},
        {"json", no_argument, NULL, OPT_JSON},
        {"all-rows", no_argument, NULL, OPT_ALL_ROWS},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    vs_ingest_opts_default(&a->ingest);
    vs_protocol_opts_default(&a->protocol);
    optind = 0;   /* GNU getopt: 0 re-initialises it for this sub-argv */
    opterr = 0;
    vs_error err = {{0}};
    int opt;
    while ((opt = getopt_long(argc, argv, ":o:", longopts, NULL)) != -1) {
        if (opt == '?' || opt == ':') return cli_option_error("prepare", opt, argv);
        if (apply_option(a, opt, optarg, &err)) return bad_usage("%s", err.msg);
    }
    if (a->min_rating_given && a->all_rows)
        return bad_usage("--all-rows keeps every row and --min-rating filters by rating: give one of them");
    if (optind >= argc) return bad_usage("no INPUT file given; see 'vaesearch prepare --help'");
    if (optind + 1 < argc) return bad_usage("unexpected argument '%s'", argv[optind + 1]);
    a->input = argv[optind];
    if (!a->output) return bad_usage("no output given: use -o DATASET");
    if (strcmp(a->input, a->output) == 0)
        return bad_usage("the output '%s' is the input file", a->output);
    return 0;
}

/* ---- the run ---- */

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

/* Whether rows were filtered by rating. */
static int rating_filter(const vs_ingest_stats *in) { return in->values == VS_VALUES_RATING; }

/* "rating", "count", or NULL (pairs: no value column). */
static const char *values_read_as(const vs_ingest_stats *in) {
    return in->format == VS_FORMAT_PAIRS ? NULL : vs_values_name(in->values);
}

/* {"source": ..., "format": ..., "values": ..., "min_rating": x or null}, for the dataset
 * metadata. */
static char *meta_extra_json(const prepare_args *a, const vs_ingest_stats *in) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", base_name(a->input));
    cJSON_AddStringToObject(o, "format", vs_format_name(in->format));
    if (values_read_as(in)) cJSON_AddStringToObject(o, "values", values_read_as(in));
    else cJSON_AddNullToObject(o, "values");
    if (!rating_filter(in)) cJSON_AddNullToObject(o, "min_rating");
    else cJSON_AddNumberToObject(o, "min_rating", a->ingest.min_rating);
    char *s = vs_json_print_exact(o);
    cJSON_Delete(o);
    return s;
}

/* The report's first lines, what reading the input gave; split_report prints the rest. */
static void print_text(const prepare_args *a, const vs_ingest_stats *in, const split_report *r) {
    printf("input          %s (%s)\n", a->input, vs_format_name(in->format));
    printf("header         %s\n", in->header ? "skipped" : "none");
    printf("lines          %lld\n", (long long)in->lines);
    printf("records        %lld\n", (long long)in->records);
    if (in->format != VS_FORMAT_PAIRS) {
        /* What the third column was taken for, and why: the choice decides which rows stay. */
        printf("values         %s, %.10g to %.10g%s\n", rating_filter(in) ? "ratings" : "counts or weights",
               in->value_min, in->value_max,
               in->values_detected ? "" : rating_filter(in) ? " (--min-rating)" : " (--all-rows)");
        if (in->values_detected)
            printf("detected       %s; %s\n", in->values_reason,
                   rating_filter(in) ? "--all-rows keeps every row instead" : "--min-rating X filters instead");
    }
    if (rating_filter(in)) printf("kept           %lld (rating > %g)\n", (long long)in->kept, a->ingest.min_rating);
    else if (in->format != VS_FORMAT_PAIRS) printf("kept           %lld (every row: no rating filter)\n", (long long)in->kept);
    else printf("kept           %lld (pairs: no rating filter)\n", (long long)in->kept);
    printf("duplicates     %lld\n", (long long)r->protocol.duplicates);
    split_report_print_text(r, a->output);
}

static void print_json(const prepare_args *a, const vs_ingest_stats *in, const split_report *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "input", a->input);
    cJSON_AddStringToObject(o, "output", a->output);
    cJSON_AddStringToObject(o, "format", vs_format_name(in->format));
    cJSON_AddBoolToObject(o, "header", in->header);
    if (values_read_as(in)) {
        cJSON_AddStringToObject(o, "values", values_read_as(in));
        cJSON_AddBoolToObject(o, "values_detected", in->values_detected);
        if (in->values_detected) cJSON_AddStringToObject(o, "values_reason", in->values_reason);
        cJSON_AddNumberToObject(o, "value_min", in->value_min);
        cJSON_AddNumberToObject(o, "value_max", in->value_max);
    } else {
        cJSON_AddNullToObject(o, "values");
    }
    if (!rating_filter(in)) cJSON_AddNullToObject(o, "min_rating");
    else cJSON_AddNumberToObject(o, "min_rating", a->ingest.min_rating);
    cli_json_add_int(o, "lines", in->lines);
    cli_json_add_int(o, "records", in->records);
    cli_json_add_int(o, "kept", in->kept);
    split_report_print_json(o, r);
}

int cmd_prepare(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    prepare_args a;
    if (parse_args(argc, argv, &a)) return 2;

    vs_ingest_stats in;
    memset(&in, 0, sizeof in);
    vs_error err = {{0}};
    vs_interactions x;
    double t0 = cli_seconds();
    if (vs_ingest_file(a.input, &a.ingest, &x, &in, &err) < 0) {
        if (in.records > 0 && in.kept == 0 && in.values == VS_VALUES_RATING)   /* all filtered out */
            return cli_error("prepare", 2, "%s (if every row is an interaction, use --all-rows)", err.msg);
        return cli_error("prepare", 2, "%s", err.msg);
    }
    split_report r;
    memset(&r, 0, sizeof r);
    r.opts = a.protocol;
    r.source_step = "read";
    r.source_s = cli_seconds() - t0;

    char *extra = meta_extra_json(&a, &in);
    int rc = split_report_run(&x, extra, a.output, &r, &err);
    cJSON_free(extra);
    /* a split refused is bad input (exit 2); a file not written is a failure (1) */
    if (rc == SPLIT_REPORT_SPLIT_FAILED) return cli_error("prepare", 2, "%s: %s", a.input, err.msg);
    if (rc < 0) return cli_error("prepare", 1, "%s", err.msg);
    if (a.json) print_json(&a, &in, &r);
    else print_text(&a, &in, &r);
    return 0;
}
