/* cmd_prepare: `vaesearch prepare`, from interaction files (MovieLens ratings, the
 * Netflix Prize's files, counts such as the Million Song Dataset's or Last.fm's play
 * counts, or plain pairs; several files, or folders of them) to a prepared dataset
 * (.vsds) split with the paper's protocol. Whether the value column is a rating
 * (filtered) or a count (every row kept) is the user's choice, a named protocol's
 * (--protocol ml-20m|netflix|msd: the paper's settings for its datasets), or detected;
 * the report says which.
 * Reading is dataset/ingest.c, the split dataset/protocol.c, the file dataset/dataset.c;
 * this file parses options, reports what each step did, and maps errors to exit codes
 * (2 for bad usage or bad input, 1 when writing fails). docs/prepare.md has the details. */
#define _POSIX_C_SOURCE 200809L

#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli_util.h"
#include "commands.h"
#include "split_report.h"
#include "common/json_exact.h"
#include "common/strbuf.h"
#include "dataset/ingest.h"
#include "dataset/protocol.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: vaesearch prepare INPUT... -o DATASET [options]\n"
            "\n"
            "Reads interactions from the INPUT files (a folder stands for its files, read in\n"
            "name order) and writes the paper's split (Liang et al. 2018): items and users\n"
            "with enough interactions, users shuffled into train / validation / test users;\n"
            "held-out users' items split into fold-in input and targets.\n"
            "\n"
            "  -o, --output DATASET      the dataset file to write (.vsds)\n"
            "  --protocol NAME           the paper's settings for one of its datasets; options\n"
            "                            given with it override its values:\n"
            "                              ml-20m   rating > 3.5, users >= 5 items, 10000 held out\n"
            "                              netflix  rating > 3.5, users >= 5 items, 40000 held out\n"
            "                              msd      every row, items >= 200 users, users >= 20\n"
            "                                       items, 50000 held out\n"
            "  --input-format FMT        auto (default), csv, dat, tsv, pairs or netflix (--format\n"
            "                            FMT, the older spelling, works too)\n"
            "  --min-rating X            the value column is a rating: keep rows with rating > X\n"
            "                            (default 3.5 when ratings are detected)\n"
            "  --all-rows                the value column is a count or weight (plays, purchases,\n"
            "                            clicks): every row is an interaction\n"
            "                            (without either, the first 10000 values decide)\n"
            "  --min-item-users N        keep items with >= N distinct users (default 0: all);\n"
            "                            applied before the user filter\n"
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
    const char *const *inputs;
    int n_inputs;
    const char *output;
    int min_rating_given, all_rows;   /* the value column named by an option */
    vs_ingest_opts ingest;
    vs_protocol_opts protocol;
    const char *preset_name;          /* --protocol, or NULL */
    vs_protocol_preset preset;
    vs_strbuf overrides;              /* options given over the preset's values: "--heldout-users 100" */
    int json;
} prepare_args;

enum {
    OPT_FORMAT = 256, OPT_INPUT_FORMAT, OPT_MIN_RATING, OPT_MIN_USER_ITEMS, OPT_HELDOUT, OPT_TARGET_FRACTION,
    OPT_MIN_SPLIT_ITEMS, OPT_SEED, OPT_JSON, OPT_ALL_ROWS, OPT_PROTOCOL, OPT_MIN_ITEM_USERS,
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
                                  "pairs, netflix (the input: --input-format)", val);
        return 0;
    case OPT_INPUT_FORMAT:
        if (vs_format_parse(val, &a->ingest.format) < 0)
            return vs_errorf(err, "--input-format: '%s' is not one of auto, csv, dat, tsv, pairs, netflix", val);
        return 0;
    case OPT_MIN_RATING:
        a->ingest.values = VS_VALUES_RATING;
        a->min_rating_given = 1;
        return cli_parse_double("--min-rating", val, -HUGE_VAL, HUGE_VAL, &a->ingest.min_rating, err);
    case OPT_ALL_ROWS:
        a->ingest.values = VS_VALUES_COUNT;
        a->all_rows = 1;
        return 0;
    case OPT_MIN_ITEM_USERS:
        return cli_parse_int("--min-item-users", val, 0, INT_MAX, &p->min_item_users, err);
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

/* Options that set what a protocol sets: given with --protocol, they override it. */
static int overrides_protocol(int opt) {
    return opt == OPT_MIN_RATING || opt == OPT_ALL_ROWS || (opt >= OPT_MIN_USER_ITEMS && opt <= OPT_SEED) ||
           opt == OPT_MIN_ITEM_USERS;
}

/* The preset first, then every other option in the order given, so that options
 * override the preset wherever they stand on the command line. */
static int apply_options(prepare_args *a, int n, const int *opts, char *const *vals, const char *const *names) {
    vs_error err = {{0}};
    if (a->preset_name) {
        if (vs_protocol_preset_find(a->preset_name, &a->preset, &err)) return bad_usage("--protocol: %s", err.msg);
        a->ingest.values = a->preset.values;
        a->ingest.min_rating = a->preset.min_rating;
        a->protocol = a->preset.split;
    }
    for (int i = 0; i < n; i++) {
        if (apply_option(a, opts[i], vals[i], &err)) return bad_usage("%s", err.msg);
        if (a->preset_name && overrides_protocol(opts[i]))
            vs_sb_printf(&a->overrides, "%s--%s%s%s", a->overrides.len ? ", " : "", names[i], vals[i] ? " " : "",
                           vals[i] ? vals[i] : "");
    }
    return 0;
}

static int parse_args(int argc, char **argv, prepare_args *a) {
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"protocol", required_argument, NULL, OPT_PROTOCOL},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"input-format", required_argument, NULL, OPT_INPUT_FORMAT},
        {"min-rating", required_argument, NULL, OPT_MIN_RATING},
        {"min-item-users", required_argument, NULL, OPT_MIN_ITEM_USERS},
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
    /* Options are gathered first and applied after --protocol (apply_options). */
    int n = 0, *opts = calloc((size_t)argc + 1, sizeof *opts);
    char **vals = calloc((size_t)argc + 1, sizeof *vals);
    const char **names = calloc((size_t)argc + 1, sizeof *names);
    int opt, index, rc = 0;
    while (rc == 0 && (opt = getopt_long(argc, argv, ":o:", longopts, &index)) != -1) {
        if (opt == '?' || opt == ':') rc = cli_option_error("prepare", opt, argv);
        else if (opt == OPT_PROTOCOL) a->preset_name = optarg;
        else {
            opts[n] = opt;
            vals[n] = optarg;
            names[n++] = opt == 'o' ? "output" : longopts[index].name;
        }
    }
    if (rc == 0) rc = apply_options(a, n, opts, vals, names);
    free(opts);
    free(vals);
    free(names);
    if (rc) return rc;
    if (a->min_rating_given && a->all_rows)
        return bad_usage("--all-rows keeps every row and --min-rating filters by rating: give one of them");
    if (optind >= argc) return bad_usage("no INPUT file given; see 'vaesearch prepare --help'");
    a->inputs = (const char *const *)argv + optind;
    a->n_inputs = argc - optind;
    if (!a->output) return bad_usage("no output given: use -o DATASET");
    for (int i = 0; i < a->n_inputs; i++)
        if (strcmp(a->inputs[i], a->output) == 0) return bad_usage("the output '%s' is an input file", a->output);
    return 0;
}

/* ---- the run ---- */

/* The last part of a path, without the slash a folder may end with. */
static void base_name(const char *path, vs_strbuf *out) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    size_t start = n;
    while (start > 0 && path[start - 1] != '/') start--;
    vs_sb_printf(out, "%.*s", (int)(n - start), path + start);
}

/* Whether rows were filtered by rating. */
static int rating_filter(const vs_ingest_stats *in) { return in->values == VS_VALUES_RATING; }

/* "rating", "count", or NULL (pairs: no value column). */
static const char *values_read_as(const vs_ingest_stats *in) {
    return in->format == VS_FORMAT_PAIRS ? NULL : vs_values_name(in->values);
}

/* {"source": ..., "files": ..., "format": ..., "values": ..., "min_rating": x or null,
 * "protocol_preset": name or null}, for the dataset metadata. */
static char *meta_extra_json(const prepare_args *a, const vs_ingest_stats *in) {
    cJSON *o = cJSON_CreateObject();
    vs_strbuf source = {0};
    for (int i = 0; i < a->n_inputs; i++) {
        if (i) vs_sb_printf(&source, ", ");
        base_name(a->inputs[i], &source);
    }
    cJSON_AddStringToObject(o, "source", source.s);
    vs_sb_free(&source);
    cJSON_AddNumberToObject(o, "files", (double)in->files);
    cJSON_AddStringToObject(o, "format", vs_format_name(in->format));
    if (values_read_as(in)) cJSON_AddStringToObject(o, "values", values_read_as(in));
    else cJSON_AddNullToObject(o, "values");
    if (!rating_filter(in)) cJSON_AddNullToObject(o, "min_rating");
    else cJSON_AddNumberToObject(o, "min_rating", a->ingest.min_rating);
    if (a->preset_name) cJSON_AddStringToObject(o, "protocol_preset", a->preset.name);
    else cJSON_AddNullToObject(o, "protocol_preset");
    char *s = vs_json_print_exact(o);
    cJSON_Delete(o);
    return s;
}

/* The preset's settings in words: "every row; items with >= 200 users; ...". */
static void describe_preset(const vs_protocol_preset *p, vs_strbuf *out) {
    if (p->values == VS_VALUES_RATING) vs_sb_printf(out, "rating > %g", p->min_rating);
    else vs_sb_printf(out, "every row");
    if (p->split.min_item_users > 0) vs_sb_printf(out, "; items with >= %d users", p->split.min_item_users);
    vs_sb_printf(out, "; users with >= %d items; %.0f validation and %.0f test users", p->split.min_user_items,
                   p->split.heldout_users, p->split.heldout_users);
}

/* The report's first lines, what reading the input gave; split_report prints the rest. */
static void print_text(const prepare_args *a, const vs_ingest_stats *in, const split_report *r) {
    if (a->preset_name) {
        vs_strbuf d = {0};
        describe_preset(&a->preset, &d);
        printf("protocol       %s (Liang et al. 2018 on %s): %s\n", a->preset.name, a->preset.dataset, d.s);
        vs_sb_free(&d);
        if (a->overrides.len) printf("overrides      %s\n", a->overrides.s);
    }
    printf("input          ");
    for (int i = 0; i < a->n_inputs; i++) printf("%s%s", i ? " " : "", a->inputs[i]);
    if (in->files == 1 && a->n_inputs == 1) printf(" (%s)\n", vs_format_name(in->format));
    else printf(" (%s, %lld files)\n", vs_format_name(in->format), (long long)in->files);
    if (!in->header) printf("header         none\n");
    else if (in->files == 1) printf("header         skipped\n");
    else printf("header         skipped in %d of %lld files\n", in->header, (long long)in->files);
    printf("lines          %lld\n", (long long)in->lines);
    if (in->format == VS_FORMAT_NETFLIX) printf("movies         %lld ('MOVIEID:' lines)\n", (long long)in->item_lines);
    printf("records        %lld\n", (long long)in->records);
    if (in->format != VS_FORMAT_PAIRS) {
        /* What the value column was taken for, and why: the choice decides which rows stay. */
        const char *chosen_by = a->min_rating_given ? " (--min-rating)"
                                : a->all_rows       ? " (--all-rows)"
                                                    : " (--protocol)";
        printf("values         %s, %.10g to %.10g%s\n", rating_filter(in) ? "ratings" : "counts or weights",
               in->value_min, in->value_max, in->values_detected ? "" : chosen_by);
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
    if (a->n_inputs == 1) {
        cJSON_AddStringToObject(o, "input", a->inputs[0]);
    } else {
        cJSON *list = cJSON_AddArrayToObject(o, "input");
        for (int i = 0; i < a->n_inputs; i++) cJSON_AddItemToArray(list, cJSON_CreateString(a->inputs[i]));
    }
    cJSON_AddStringToObject(o, "output", a->output);
    if (a->preset_name) cJSON_AddStringToObject(o, "protocol_preset", a->preset.name);
    else cJSON_AddNullToObject(o, "protocol_preset");
    if (a->overrides.len) cJSON_AddStringToObject(o, "protocol_overrides", a->overrides.s);
    cJSON_AddStringToObject(o, "format", vs_format_name(in->format));
    cli_json_add_int(o, "files", in->files);
    cJSON_AddBoolToObject(o, "header", in->header > 0);
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
    if (in->format == VS_FORMAT_NETFLIX) cli_json_add_int(o, "movies", in->item_lines);
    cli_json_add_int(o, "records", in->records);
    cli_json_add_int(o, "kept", in->kept);
    split_report_print_json(o, r);
}

static int run(prepare_args *a) {
    vs_ingest_stats in;
    memset(&in, 0, sizeof in);
    vs_error err = {{0}};
    vs_interactions x;
    double t0 = cli_seconds();
    if (vs_ingest_files(a->inputs, a->n_inputs, &a->ingest, &x, &in, &err) < 0) {
        if (in.records > 0 && in.kept == 0 && in.values == VS_VALUES_RATING)   /* all filtered out */
            return cli_error("prepare", 2, "%s (if every row is an interaction, use --all-rows)", err.msg);
        return cli_error("prepare", 2, "%s", err.msg);
    }
    split_report r;
    memset(&r, 0, sizeof r);
    r.opts = a->protocol;
    r.source_step = "read";
    r.source_s = cli_seconds() - t0;

    char *extra = meta_extra_json(a, &in);
    int rc = split_report_run(&x, extra, a->output, &r, &err);
    cJSON_free(extra);
    /* a split refused is bad input (exit 2); a file not written is a failure (1) */
    if (rc == SPLIT_REPORT_SPLIT_FAILED) {
        /* the paper's held-out counts need data of the paper's size */
        int preset_heldout = a->preset_name && a->protocol.heldout_users == a->preset.split.heldout_users;
        return cli_error("prepare", 2, "%s%s: %s%s%s%s", a->inputs[0], a->n_inputs > 1 ? " ..." : "", err.msg,
                         preset_heldout ? " (--protocol " : "", preset_heldout ? a->preset.name : "",
                         preset_heldout ? " holds out the paper's numbers of users; --heldout-users N holds out fewer)" : "");
    }
    if (rc < 0) return cli_error("prepare", 1, "%s", err.msg);
    if (a->json) print_json(a, &in, &r);
    else print_text(a, &in, &r);
    return 0;
}

int cmd_prepare(int argc, char **argv) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    prepare_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc == 0) rc = run(&a);
    vs_sb_free(&a.overrides);
    return rc;
}
