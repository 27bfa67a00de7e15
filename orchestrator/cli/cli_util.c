/* cli_util: option values, usage errors, timing and JSON output shared by the
 * vaesearch commands (cli_util.h says what each does). */
#define _POSIX_C_SOURCE 200809L

#include "cli_util.h"
#include "common/json_exact.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cli_error(const char *verb, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "vaesearch %s: ", verb);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return status;
}

int cli_option_error(const char *verb, int opt, char **argv) {
    if (opt == ':') return cli_error(verb, 2, "option '%s' needs a value", argv[optind - 1]);
    /* optopt is set for an unknown short option, 0 for an unknown long one */
    if (optopt) return cli_error(verb, 2, "unknown option '-%c'; see 'vaesearch %s --help'", optopt, verb);
    return cli_error(verb, 2, "unknown option '%s'; see 'vaesearch %s --help'", argv[optind - 1], verb);
}

int cli_parse_double(const char *opt, const char *s, double lo, double hi, double *out, vs_error *err) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
        return vs_errorf(err, "%s: '%s' is not a finite number", opt, s);
    if (v < lo || v > hi) return vs_errorf(err, "%s: %s is out of range [%g, %g]", opt, s, lo, hi);
    *out = v;
    return 0;
}

int cli_parse_int64(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out, vs_error *err) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE)
        return vs_errorf(err, "%s: '%s' is not an integer", opt, s);
    if (v < lo || v > hi)
        return vs_errorf(err, "%s: %s is out of range [%lld, %lld]", opt, s, (long long)lo, (long long)hi);
    *out = v;
    return 0;
}

int cli_parse_int(const char *opt, const char *s, int lo, int hi, int *out, vs_error *err) {
    int64_t v;
    if (cli_parse_int64(opt, s, lo, hi, &v, err)) return -1;
    *out = (int)v;
    return 0;
}

int cli_parse_seed(const char *opt, const char *s, uint64_t *out, vs_error *err) {
    const char *p = s;
    while (*p == ' ') p++;
    char *end = NULL;
    errno = 0;
    /* strtoull would quietly wrap "-1" to 2^64-1 */
    unsigned long long v = *p == '-' ? 0 : strtoull(p, &end, 10);
    if (*p == '-' || end == p || *end != '\0' || errno == ERANGE)
        return vs_errorf(err, "%s: '%s' is not an unsigned 64-bit integer", opt, s);
    *out = v;
    return 0;
}

int cli_parse_user_count(const char *opt, const char *s, double *out, vs_error *err) {
    double v;
    if (cli_parse_double(opt, s, -HUGE_VAL, HUGE_VAL, &v, err)) return -1;
    if ((v >= 1 && v == floor(v)) || (v > 0 && v < 1)) {
        *out = v;
        return 0;
    }
    return vs_errorf(err, "%s: '%s' must be a whole number of users >= 1 or a fraction in (0, 1)", opt, s);
}

double cli_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void cli_json_add_int(cJSON *o, const char *key, int64_t v) { cJSON_AddNumberToObject(o, key, (double)v); }

void cli_json_add_seed(cJSON *o, const char *key, uint64_t seed) {
    if (seed <= (1ULL << 53)) {
        cJSON_AddNumberToObject(o, key, (double)seed);
        return;
    }
    char text[32];   /* JSON numbers are doubles to most readers: keep every bit */
    snprintf(text, sizeof text, "%llu", (unsigned long long)seed);
    cJSON_AddStringToObject(o, key, text);
}

void cli_json_print(cJSON *o) {
    char *text = vs_json_print_exact(o);
    printf("%s\n", text);
    cJSON_free(text);
    cJSON_Delete(o);
}

void cli_csv_field(const char *s, int first) {
    if (!first) putchar(',');
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"') putchar('"');
        putchar(*s);
    }
    putchar('"');
}

int cli_parse_text_or_json(const char *s, int *json, vs_error *err) {
    if (!strcmp(s, "text") || !strcmp(s, "json")) {
        *json = !strcmp(s, "json");
        return 0;
    }
    return vs_errorf(err, "--format: '%s' is not text or json", s);
}
