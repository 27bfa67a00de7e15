/* cli_util: what the vaesearch commands share for talking to the command line:
 * usage errors as `vaesearch <verb>: <message>`, getopt_long's complaints, option
 * values (integers, numbers, seeds, a count or a fraction) checked with messages
 * that name the option, a monotonic clock for the timings they report, and cJSON
 * helpers for the integers and seeds in their --json output. */
#ifndef VS_CLI_UTIL_H
#define VS_CLI_UTIL_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/vs_error.h"

/* Prints "vaesearch VERB: message" to stderr; returns status, for `return cli_error(...)`. */
int cli_error(const char *verb, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reports what getopt_long (opterr = 0, optstring starting with ':') returned as '?'
 * (unknown option) or ':' (missing value), in argv; returns the exit status 2. */
int cli_option_error(const char *verb, int opt, char **argv);

/* Option values. Each parses s, the value given to option opt (e.g. "--users"), and
 * returns 0, or -1 with a message naming opt and the value in err. */

/* A finite number in [lo, hi]. */
int cli_parse_double(const char *opt, const char *s, double lo, double hi, double *out, vs_error *err);
/* A decimal integer in [lo, hi]. */
int cli_parse_int64(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out, vs_error *err);
/* The same for an int; [lo, hi] must lie within int's range. */
int cli_parse_int(const char *opt, const char *s, int lo, int hi, int *out, vs_error *err);
/* An unsigned 64-bit integer; a minus sign is refused rather than wrapped. */
int cli_parse_seed(const char *opt, const char *s, uint64_t *out, vs_error *err);
/* A whole number of users >= 1, or a fraction of them in (0, 1). */
int cli_parse_user_count(const char *opt, const char *s, double *out, vs_error *err);

/* The output format, one convention for every command (README, "Output formats"):
 * --format text|json (top adds csv), and --json, the older spelling, the same as
 * --format json. Sets *json to 0 (text) or 1 (json); -1 with err naming --format. */
int cli_parse_text_or_json(const char *s, int *json, vs_error *err);

/* Seconds on a monotonic clock, for timing a command's steps. */
double cli_seconds(void);

/* Adds an integer member to a JSON object. */
void cli_json_add_int(cJSON *o, const char *key, int64_t v);
/* Adds a seed: a JSON number where that is exact (<= 2^53), else a decimal string. */
void cli_json_add_seed(cJSON *o, const char *key, uint64_t seed);
/* Prints o on one line to stdout and deletes it. */
void cli_json_print(cJSON *o);
/* Prints s as a CSV field to stdout, after a comma unless first: quoted (quotes doubled)
 * when it holds a comma, a quote or a line break. */
void cli_csv_field(const char *s, int first);

#endif
