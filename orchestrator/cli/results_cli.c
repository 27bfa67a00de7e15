/* results_cli: options, loading and JSON reading shared by top, status and show
 * (results_cli.h says what each does). */
#define _GNU_SOURCE /* getopt_long */
#include "results_cli.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include "common/strbuf.h"
#include "results/results_db.h"

#define MAX_OWN_OPTIONS 8

/* --format's value as an index into o->formats; -1 after "is not text, csv or json".
 * "table", top's older name for its text, is text. */
static int parse_format(const results_cli *o, const char *value) {
    for (int i = 0; o->formats[i]; i++)
        if (!strcmp(value, o->formats[i]) || (!strcmp(value, "table") && !strcmp(o->formats[i], "text"))) return i;
    vs_strbuf choices = {0};
    for (int i = 0; o->formats[i]; i++)
        vs_sb_printf(&choices, "%s%s", i == 0 ? "" : o->formats[i + 1] ? ", " : " or ", o->formats[i]);
    cli_error(o->verb, 2, "--format: '%s' is not %s", value, choices.s);
    vs_sb_free(&choices);
    return -1;
}

/* The shared long options followed by the command's own. */
static void long_options(const results_cli *o, struct option *opts) {
    static const struct option shared[] = {{"db", required_argument, NULL, 'd'},
                                           {"sweep", required_argument, NULL, 's'},
                                           {"format", required_argument, NULL, 'f'},
                                           {"json", no_argument, NULL, 'J'}};
    int n = 0;
    for (int i = 0; i < 4; i++) opts[n++] = shared[i];
    for (const struct option *own = o->own_long; own && own->name && n < 4 + MAX_OWN_OPTIONS; own++) opts[n++] = *own;
    opts[n] = (struct option){NULL, 0, NULL, 0};
}

int results_cli_parse(results_cli *o, int argc, char **argv) {
    static const char *const text_or_json[] = {"text", "json", NULL};
    if (!o->formats) o->formats = text_or_json;
    struct option opts[4 + MAX_OWN_OPTIONS + 1];
    char short_opts[32];
    long_options(o, opts);
    snprintf(short_opts, sizeof short_opts, ":%s", o->own_short ? o->own_short : "");
    o->db_path = "results.db";
    o->sweep = NULL;
    o->format = 0;
    int c, rc;
    optind = 0; /* GNU getopt: start over on this sub-argv; it moves operands to the end */
    opterr = 0;
    while ((c = getopt_long(argc, argv, short_opts, opts, NULL)) != -1) {
        if (c == 'd') o->db_path = optarg;
        else if (c == 's') o->sweep = optarg;
        else if (c == 'f' || c == 'J') {   /* --json: --format json, the older spelling */
            if ((o->format = parse_format(o, c == 'J' ? "json" : optarg)) < 0) return 2;
        } else if (c == '?' || c == ':' || !o->take_own) return cli_option_error(o->verb, c, argv);
        else if ((rc = o->take_own(c, optarg, o->own_ctx))) return rc;
    }
    if (!o->takes_operands && optind < argc)
        return cli_error(o->verb, 2, "unexpected argument '%s'; see 'vaesearch %s --help'", argv[optind], o->verb);
    return 0;
}

int results_cli_load(const results_cli *o, int number, int detail, cJSON **sweep, cJSON **trials) {
    vs_error err = {{0}};
    vs_db *db = NULL;
    int study_id;
    *sweep = *trials = NULL;
    if (vs_db_open_existing(o->db_path, &db, &err)) {
        /* missing: 2, as the help says; there but not a results database: it cannot be read, 1 */
        return cli_error(o->verb, access(o->db_path, F_OK) == 0 ? 1 : 2, "%s", err.msg);
    }
    if (vs_db_find_sweep(db, o->sweep, &study_id, &err)) {
        vs_db_close(db);
        return cli_error(o->verb, 2, "%s", err.msg);
    }
    *sweep = vs_db_sweep_json(db, study_id, &err);
    *trials = *sweep ? vs_db_trials_json(db, study_id, number, detail, &err) : NULL;
    vs_db_close(db);
    if (!*trials) {
        cJSON_Delete(*sweep);
        *sweep = NULL;
        return cli_error(o->verb, 1, "%s", err.msg);
    }
    return 0;
}

int results_cli_open_sweep(const char *verb, const char *db_path, const char *name, vs_db **db, int *study_id) {
    vs_error err = {{0}};
    *db = NULL;
    if (vs_db_open_existing(db_path, db, &err))
        return cli_error(verb, access(db_path, F_OK) == 0 ? 1 : 2, "%s", err.msg);
    if (vs_db_find_sweep(*db, name, study_id, &err)) {
        vs_db_close(*db);
        *db = NULL;
        return cli_error(verb, 2, "%s", err.msg);
    }
    return 0;
}

double results_number(const cJSON *v) {
    if (cJSON_IsNumber(v)) return v->valuedouble;
    if (cJSON_IsString(v) && !strcmp(v->valuestring, "inf")) return INFINITY;
    if (cJSON_IsString(v) && !strcmp(v->valuestring, "-inf")) return -INFINITY;
    return NAN;
}

const char *results_string(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

void results_duration(double s, char out[32]) {
    if (!isfinite(s) || s < 0) snprintf(out, 32, "?");
    else if (s < 10) snprintf(out, 32, "%.1f s", s);
    else if (s < 60) snprintf(out, 32, "%.0f s", s);
    else if (s < 3600) snprintf(out, 32, "%d min %02d s", (int)(s / 60), (int)fmod(s, 60));
    else snprintf(out, 32, "%d h %02d min", (int)(s / 3600), (int)fmod(s / 60, 60));
}

void results_bytes(int64_t b, char out[32]) {
    if (b < 1000) snprintf(out, 32, "%lld B", (long long)b);
    else if (b < 1000000) snprintf(out, 32, "%.1f KB", (double)b / 1e3);
    else if (b < 1000000000) snprintf(out, 32, "%.1f MB", (double)b / 1e6);
    else snprintf(out, 32, "%.1f GB", (double)b / 1e9);
}

int results_cli_sweep_args(const char *verb, int argc, char **argv, int n_args, void (*usage)(FILE *),
                           const char **db_path) {
    if (vs_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'}, {NULL, 0, NULL, 0}};
    *db_path = "results.db";
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (c == 'd') *db_path = optarg;
        else return cli_option_error(verb, c, argv);
    }
    if (argc - optind != n_args) {
        usage(stderr);
        return 2;
    }
    return -1;
}
