/* config: trial hyperparameters; one table describes every key (type, range, default
 * comes from vs_config_default) so parsing, validation and printing agree. */
#include "config.h"

#include "common/json_exact.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KEY_DOUBLE, KEY_INT, KEY_INT64, KEY_U64, KEY_INT_LIST, KEY_PRECISION } key_type;

typedef struct {
    const char *name;
    key_type type;
    size_t offset;
    double min, max;       /* allowed range (inclusive unless the flags say otherwise) */
    int min_exclusive, max_exclusive;
} key_spec;

#define OFF(field) offsetof(vs_config, field)
static const key_spec keys[] = {
    {"lr", KEY_DOUBLE, OFF(lr), 0, 10, 1, 0},
    {"beta1", KEY_DOUBLE, OFF(beta1), 0, 1, 0, 1},
    {"beta2", KEY_DOUBLE, OFF(beta2), 0, 1, 0, 1},
    {"adam_eps", KEY_DOUBLE, OFF(adam_eps), 0, 1, 1, 0},
    {"batch_size", KEY_INT, OFF(batch_size), 1, 1 << 20, 0, 0},
    {"epochs", KEY_INT, OFF(epochs), 1, 1000000, 0, 0},
    {"keep_prob", KEY_DOUBLE, OFF(keep_prob), 0, 1, 1, 0},
    {"total_anneal_steps", KEY_INT64, OFF(total_anneal_steps), 0, 1e15, 0, 0},
    {"anneal_cap", KEY_DOUBLE, OFF(anneal_cap), 0, 1e6, 0, 0},
    {"lambda", KEY_DOUBLE, OFF(lambda), 0, 1e6, 0, 0},
    {"hidden_dims", KEY_INT_LIST, OFF(hidden_dims), 1, 1 << 16, 0, 0},
    {"latent_dim", KEY_INT, OFF(latent_dim), 1, 1 << 16, 0, 0},
    {"seed", KEY_U64, OFF(seed), 0, 18446744073709551615.0, 0, 0},
    {"eval_every", KEY_INT, OFF(eval_every), 1, 1000000, 0, 0},
    {"checkpoint_every", KEY_INT, OFF(checkpoint_every), 0, 1000000, 0, 0},
    {"eval_batch_size", KEY_INT, OFF(eval_batch_size), 1, 1 << 20, 0, 0},
    {"precision", KEY_PRECISION, OFF(precision), 0, 0, 0, 0},
    {"loss_scale", KEY_DOUBLE, OFF(loss_scale), 0, 3.4e38, 1, 0},
    {"loss_scale_growth_interval", KEY_INT, OFF(loss_scale_growth_interval), 1, 1 << 30, 0, 0},
    {"loss_scale_growth", KEY_DOUBLE, OFF(loss_scale_growth), 1, 1e6, 0, 0},
    {"loss_scale_backoff", KEY_DOUBLE, OFF(loss_scale_backoff), 0, 1, 1, 1},
    {"item_pad", KEY_INT, OFF(item_pad), 1, 4096, 0, 0},
};

static const char *const precision_names[] = {"fp32", "tf32", "fp16", "bf16"};

const char *vs_precision_name(vs_precision p) {
    return (unsigned)p < 4 ? precision_names[p] : "?";
}
#define N_KEYS (sizeof keys / sizeof keys[0])

void vs_config_default(vs_config *c) {
    memset(c, 0, sizeof *c);
    c->lr = 1e-3;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->adam_eps = 1e-8;
    c->batch_size = 500;
    c->epochs = 200;
    c->keep_prob = 0.5;
    c->total_anneal_steps = 200000;
    c->anneal_cap = 0.2;
    c->lambda = 0.0;
    c->n_hidden = 1;
    c->hidden_dims[0] = 600;
    c->latent_dim = 200;
    c->seed = 98765;
    c->eval_every = 1;
    c->checkpoint_every = 10;
    c->eval_batch_size = 2000;
    c->precision = VS_FP32;
    c->loss_scale = 65536.0;
    c->loss_scale_growth_interval = 2000;
    c->loss_scale_growth = 2.0;
    c->loss_scale_backoff = 0.5;
    c->item_pad = 1;
}

static const key_spec *find_key(const char *name) {
    for (size_t i = 0; i < N_KEYS; i++)
        if (!strcmp(keys[i].name, name)) return &keys[i];
    return NULL;
}

static int check_range(const key_spec *k, double v, const char *source, vs_error *err) {
    int low = k->min_exclusive ? !(v > k->min) : !(v >= k->min);
    int high = k->max_exclusive ? !(v < k->max) : !(v <= k->max);
    if (low || high || isnan(v))
        return vs_errorf(err, "%s: key '%s': value %.17g out of range %s%g, %g%s", source, k->name, v,
                         k->min_exclusive ? "(" : "[", k->min, k->max, k->max_exclusive ? ")" : "]");
    return 0;
}

static int is_integral(double v) { return isfinite(v) && v == floor(v); }

static int apply_number(vs_config *c, const key_spec *k, const cJSON *item, const char *source, vs_error *err) {
    if (!cJSON_IsNumber(item))
        return vs_errorf(err, "%s: key '%s': expected a number", source, k->name);
    double v = item->valuedouble;
    if (k->type != KEY_DOUBLE && !is_integral(v))
        return vs_errorf(err, "%s: key '%s': expected an integer, got %.17g", source, k->name, v);
    if (check_range(k, v, source, err)) return -1;
    char *p = (char *)c + k->offset;
    switch (k->type) {
    case KEY_DOUBLE: *(double *)p = v; break;
    case KEY_INT: *(int *)p = (int)v; break;
    case KEY_INT64: *(int64_t *)p = (int64_t)v; break;
    case KEY_U64:
        /* Seeds above 2^53 cannot round-trip through a JSON double: refuse them. */
        if (v > 9007199254740992.0)
            return vs_errorf(err, "%s: key '%s': must be at most 2^53", source, k->name);
        *(uint64_t *)p = (uint64_t)v;
        break;
    default: break;
    }
    return 0;
}

static int apply_key(vs_config *c, const key_spec *k, const cJSON *item, const char *source, vs_error *err) {
    if (k->type == KEY_PRECISION) {
        for (int i = 0; cJSON_IsString(item) && i < 4; i++)
            if (!strcmp(item->valuestring, precision_names[i])) {
                c->precision = (vs_precision)i;
                return 0;
            }
        return vs_errorf(err, "%s: key '%s': expected \"fp32\", \"tf32\", \"fp16\" or \"bf16\"", source, k->name);
    }
    if (k->type != KEY_INT_LIST) return apply_number(c, k, item, source, err);
    if (!cJSON_IsArray(item))
        return vs_errorf(err, "%s: key '%s': expected a list of integers, e.g. [600]", source, k->name);
    int n = cJSON_GetArraySize(item);
    if (n > VS_MAX_HIDDEN)
        return vs_errorf(err, "%s: key '%s': at most %d hidden layers", source, k->name, VS_MAX_HIDDEN);
    int dims[VS_MAX_HIDDEN];
    for (int i = 0; i < n; i++) {
        const cJSON *e = cJSON_GetArrayItem(item, i);
        if (!cJSON_IsNumber(e) || !is_integral(e->valuedouble))
            return vs_errorf(err, "%s: key '%s[%d]': expected an integer", source, k->name, i);
        if (e->valuedouble < k->min || e->valuedouble > k->max)
            return vs_errorf(err, "%s: key '%s[%d]': value %g out of range [%g, %g]", source, k->name, i,
                             e->valuedouble, k->min, k->max);
        dims[i] = (int)e->valuedouble;
    }
    c->n_hidden = n;
    memcpy(c->hidden_dims, dims, sizeof(int) * (size_t)n);
    return 0;
}

static const char *skip_space(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

static void list_keys(char *buf, size_t n) {
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < N_KEYS && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? ", " : "", keys[i].name);
}

int vs_config_apply_json(vs_config *c, const cJSON *obj, const char *source, vs_error *err) {
    if (!cJSON_IsObject(obj)) return vs_errorf(err, "%s: expected a JSON object of config keys", source);
    for (const cJSON *item = obj->child; item; item = item->next) {
        const key_spec *k = find_key(item->string);
        if (!k) {
            char known[512];
            list_keys(known, sizeof known);
            return vs_errorf(err, "%s: unknown key '%s' (known keys: %s)", source, item->string, known);
        }
        if (apply_key(c, k, item, source, err)) return -1;
    }
    return 0;
}

int vs_config_set(vs_config *c, const char *assignment, vs_error *err) {
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return vs_errorf(err, "--set '%s': expected key=value", assignment);
    size_t klen = (size_t)(eq - assignment);
    char key[64];
    if (klen >= sizeof key) return vs_errorf(err, "--set: key too long");
    memcpy(key, assignment, klen);
    key[klen] = 0;
    const char *value = eq + 1;
    /* A bare list "600,300" is accepted for lists, as shells make brackets awkward. */
    char wrapped[512];
    const key_spec *k = find_key(key);
    if (k && k->type == KEY_INT_LIST && value[0] != '[') {
        snprintf(wrapped, sizeof wrapped, "[%s]", value);
        value = wrapped;
    }
    const char *end = NULL;
    cJSON *parsed = cJSON_ParseWithOpts(value, &end, 0);
    if (parsed && *skip_space(end)) {   /* cJSON stops after one value: "0.005,xyz" is not 0.005 */
        cJSON_Delete(parsed);
        return vs_errorf(err, "--set: key '%s': unexpected text after the value: '%s'", key, skip_space(end));
    }
    if (!parsed && k && k->type == KEY_PRECISION) parsed = cJSON_CreateString(value);   /* --set precision=bf16 */
    if (!parsed) {
        if (!k) return vs_errorf(err, "--set: unknown key '%s'", key);
        return vs_errorf(err, "--set: key '%s': cannot parse value '%s'", key, eq + 1);
    }
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddItemToObject(obj, key, parsed);
    int rc = vs_config_apply_json(c, obj, "--set", err);
    cJSON_Delete(obj);
    return rc;
}

int vs_config_load_file(vs_config *c, const char *path, vs_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return vs_errorf(err, "%s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (len < 0 || len > (1 << 24)) {
        fclose(f);
        return vs_errorf(err, "%s: not a config file (size %ld)", path, len);
    }
    char *buf = vs_xmalloc((size_t)len + 1);
    size_t got = fread(buf, 1, (size_t)len, f);
    fclose(f);
    buf[got] = 0;
    const char *end = NULL;
    cJSON *obj = cJSON_ParseWithOpts(buf, &end, 0);
    if (!obj) {
        const char *at = cJSON_GetErrorPtr();
        int line = 1;
        for (const char *p = buf; at && p < at && *p; p++) line += *p == '\n';
        free(buf);
        return vs_errorf(err, "%s:%d: invalid JSON", path, line);
    }
    const char *rest = skip_space(end);
    if (*rest) {   /* '{"epochs":1} {"epochs":50}' is two objects, not one */
        int line = 1;
        for (const char *p = buf; p < rest; p++) line += *p == '\n';
        free(buf);
        cJSON_Delete(obj);
        return vs_errorf(err, "%s:%d: unexpected text after the config object", path, line);
    }
    free(buf);
    int rc = vs_config_apply_json(c, obj, path, err);
    cJSON_Delete(obj);
    return rc;
}

int vs_config_validate(const vs_config *c, vs_error *err) {
    if (c->n_hidden < 0 || c->n_hidden > VS_MAX_HIDDEN)
        return vs_errorf(err, "config: key 'hidden_dims': at most %d layers", VS_MAX_HIDDEN);
    return 0;
}

cJSON *vs_config_to_json(const vs_config *c) {
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < N_KEYS; i++) {
        const key_spec *k = &keys[i];
        const char *p = (const char *)c + k->offset;
        switch (k->type) {
        case KEY_DOUBLE: cJSON_AddNumberToObject(o, k->name, *(const double *)p); break;
        case KEY_INT: cJSON_AddNumberToObject(o, k->name, *(const int *)p); break;
        case KEY_INT64: cJSON_AddNumberToObject(o, k->name, (double)*(const int64_t *)p); break;
        case KEY_U64: cJSON_AddNumberToObject(o, k->name, (double)*(const uint64_t *)p); break;
        case KEY_INT_LIST: cJSON_AddItemToObject(o, k->name, cJSON_CreateIntArray(c->hidden_dims, c->n_hidden)); break;
        case KEY_PRECISION: cJSON_AddStringToObject(o, k->name, vs_precision_name(c->precision)); break;
        }
    }
    return o;
}

char *vs_config_to_text(const vs_config *c) {
    cJSON *j = vs_config_to_json(c);
    char *text = vs_json_print_exact(j);
    cJSON_Delete(j);
    return text;
}

double vs_config_beta(const vs_config *c, int64_t step) {
    if (c->total_anneal_steps <= 0) return c->anneal_cap;   /* no annealing: the cap from the start */
    double b = (double)step / (double)c->total_anneal_steps;
    return b < c->anneal_cap ? b : c->anneal_cap;
}
