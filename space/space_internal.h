/* space_internal: what the search space's pieces share, and nothing outside space/ may
 * use: the context of a check (the text's name in messages, the trainer's keys), the
 * checks that name their JSON path, exact numbers and JSON text, and the functions one
 * concern needs from another's. */
#ifndef VS_SPACE_INTERNAL_H
#define VS_SPACE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "space.h"
#include "common/strbuf.h"
#include "common/vs_error.h"

#define MAX_EXACT_INT 9007199254740992.0 /* 2^53: integers beyond are not exact in a double */

/* ---- space_exact.c: exact numbers and JSON text ---- */

/* v as the shortest text that reads back as the same double (json_exact.h). */
void space_format_exact(double v, char out[40]);
/* v as Python's repr() writes a float (json.dumps uses repr). */
void space_format_python_float(double v, char out[40]);
/* How a stepped range [low, high] divides: 0 when high - low is a whole number of steps
 * (*points = steps + 1), 1 when not (*fixed_high = the high Optuna would take instead),
 * -1 when the step is too fine for the numbers to be compared exactly. */
int space_stepped_range(double low, double high, double step, int64_t *points, double *fixed_high);
void space_print_json_string(vs_strbuf *b, const char *str);
void space_print_json_exact(vs_strbuf *b, const cJSON *item);

/* ---- space_check.c: checking, each error with its JSON path ---- */

typedef struct parse_ctx {
    const char *source;     /* names the text in messages */
    vs_error *err;
    cJSON *trainer_keys;    /* the trainer's config with every key, in its order */
} parse_ctx;

/* Sets "source: path: message" in c->err; returns -1. */
int space_fail(parse_ctx *c, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* parent.key, or key at the top (cut to n). */
void space_join_path(char *out, size_t n, const char *parent, const char *key);
const cJSON *space_member(const cJSON *obj, const char *key);
/* Every member of obj is one of allowed (NULL-terminated) and appears once. */
int space_check_members(parse_ctx *c, const cJSON *obj, const char *path, const char *const *allowed,
                        const char *what);
/* The getters: an optional member key of obj (a NULL obj has none), checked, its path in
 * the error; when absent *out is def (get_object: NULL; get_bool: unchanged). */
int space_get_object(parse_ctx *c, const cJSON *obj, const char *path, const char *key, const cJSON **out);
int space_get_int(parse_ctx *c, const cJSON *obj, const char *path, const char *key, int64_t min, int64_t max,
                  int64_t def, int64_t *out);
int space_get_int32(parse_ctx *c, const cJSON *obj, const char *path, const char *key, int min, int max, int def,
                    int *out);
int space_get_number(parse_ctx *c, const cJSON *obj, const char *path, const char *key, double min,
                     int min_exclusive, double def, double *out);
int space_get_string(parse_ctx *c, const cJSON *obj, const char *path, const char *key, const char *def,
                     const char **out);
int space_get_bool(parse_ctx *c, const cJSON *obj, const char *path, const char *key, int *out);
/* Which of names[] (NULL-terminated) s is, or -1. */
int space_pick(const char *s, const char *const *names);

/* ---- space_check.c: checking against the trainer's config keys ---- */

const cJSON *space_trainer_key(parse_ctx *c, const char *name);
/* A name "key[i]" of element i of one of the trainer's list keys (hidden_dims): i, with
 * the key in key[0..n); else -1. */
int space_element_name(parse_ctx *c, const char *name, char *key, size_t n);
/* "key, key, ..." (caller frees). */
char *space_trainer_key_list(parse_ctx *c);
/* 0 when the trainer accepts value for key, else -1 with its complaint placed at path. */
int space_trainer_accepts(parse_ctx *c, const char *key, const cJSON *value, const char *path);
int space_trainer_accepts_number(parse_ctx *c, const char *key, double v, const char *path);
int space_trainer_accepts_inside(parse_ctx *c, const vs_param *p, double v, const char *path);

/* ---- space_params.c: the parameters ---- */

/* The "parameters" section into s->params, in name order. */
int space_parse_parameters(parse_ctx *c, const cJSON *root, vs_space *s);
/* The value of grid index k (0 <= k < its count) of a parameter that has a grid. */
double space_grid_value(const vs_param *p, int64_t k);
/* The number of values of p on a grid; 0 when it has none; -1 when too many to count. */
int64_t space_grid_points(const vs_param *p);

/* ---- space_conditions.c: conditional parameters ---- */

/* Each parameter's "when" and "else" (parameters: the section as written), then the
 * rules: known parents with finite values, no cycle, switches named by a condition,
 * a list key's elements present in order. */
int space_parse_conditions(parse_ctx *c, const cJSON *parameters, vs_space *s);

/* ---- space_canonical.c: the canonical form ---- */

/* The names of the sampler and pruner kinds, by their enum values (NULL-terminated). */
extern const char *const space_sampler_names[];
extern const char *const space_pruner_names[];

/* Every key with its value or default, in a fixed order; the dataset as written. */
char *space_canonical_text(const vs_space *s, const cJSON *dataset_as_written);

#endif
