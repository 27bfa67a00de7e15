/* space_check: the checks the search space is read with. Each names the JSON path of
 * what it refuses ("space.json: parameters.lr.low: must be > 0 for a log-uniform"):
 * the members an object takes, typed members with their ranges and defaults, and
 * values against the trainer's own config keys (vs_config_apply_json on a scratch
 * config), so that a space cannot ask for a trial the trainer would refuse. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "space_internal.h"
#include "common/strbuf.h"
#include "trainer/config.h"

int space_fail(parse_ctx *c, const char *path, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vs_errorf(c->err, "%s: %s: %s", c->source, path, msg);
}

/* Appends s to out (size n, *used so far), cutting what does not fit: a path only labels
 * a message. */
static void append_cut(char *out, size_t n, size_t *used, const char *s) {
    size_t len = strlen(s);
    if (*used + len >= n) len = n - 1 - *used;
    memcpy(out + *used, s, len);
    *used += len;
    out[*used] = 0;
}

/* parent.key, or key at the top. */
void space_join_path(char *out, size_t n, const char *parent, const char *key) {
    size_t used = 0;
    out[0] = 0;
    append_cut(out, n, &used, parent);
    if (parent[0]) append_cut(out, n, &used, ".");
    append_cut(out, n, &used, key);
}

const cJSON *space_member(const cJSON *obj, const char *key) { return cJSON_GetObjectItemCaseSensitive(obj, key); }

/* Every member of obj is one of `allowed` (NULL-terminated) and appears once. `what`
 * names the object in the message ("a median pruner takes: ..."). */
int space_check_members(parse_ctx *c, const cJSON *obj, const char *path, const char *const *allowed,
                        const char *what) {
    char sub[512];
    for (const cJSON *m = obj->child; m; m = m->next) {
        space_join_path(sub, sizeof sub, path, m->string);
        int known = 0;
        for (const char *const *a = allowed; *a && !known; a++) known = !strcmp(*a, m->string);
        if (!known) {
            vs_strbuf list = {0};
            for (const char *const *a = allowed; *a; a++) vs_sb_printf(&list, "%s%s", a == allowed ? "" : ", ", *a);
            space_fail(c, sub, "unknown key (%s takes: %s)", what, list.s ? list.s : "nothing");
            vs_sb_free(&list);
            return -1;
        }
        for (const cJSON *e = obj->child; e != m; e = e->next)
            if (!strcmp(e->string, m->string)) return space_fail(c, sub, "appears twice");
    }
    return 0;
}

/* An optional object member; *out stays NULL when absent. */
int space_get_object(parse_ctx *c, const cJSON *obj, const char *path, const char *key, const cJSON **out) {
    char sub[512];
    space_join_path(sub, sizeof sub, path, key);
    *out = space_member(obj, key);
    if (*out && !cJSON_IsObject(*out)) return space_fail(c, sub, "expected a JSON object");
    return 0;
}

int space_get_int(parse_ctx *c, const cJSON *obj, const char *path, const char *key, int64_t min, int64_t max,
                  int64_t def, int64_t *out) {
    char sub[512];
    space_join_path(sub, sizeof sub, path, key);
    const cJSON *m = space_member(obj, key);
    if (!m) {
        *out = def;
        return 0;
    }
    double v = m->valuedouble;
    if (!cJSON_IsNumber(m) || v != floor(v) || v < (double)min)
        return space_fail(c, sub, "expected an integer >= %lld", (long long)min);
    if (v > (double)max) return space_fail(c, sub, "must be at most %lld", (long long)max);
    *out = (int64_t)v;
    return 0;
}

int space_get_int32(parse_ctx *c, const cJSON *obj, const char *path, const char *key, int min, int max, int def,
                    int *out) {
    int64_t v;
    if (space_get_int(c, obj, path, key, min, max, def, &v)) return -1;
    *out = (int)v;
    return 0;
}

/* A finite number >= min (> min when min_exclusive). */
int space_get_number(parse_ctx *c, const cJSON *obj, const char *path, const char *key, double min,
                     int min_exclusive, double def, double *out) {
    char sub[512];
    space_join_path(sub, sizeof sub, path, key);
    const cJSON *m = space_member(obj, key);
    if (!m) {
        *out = def;
        return 0;
    }
    double v = m->valuedouble;
    if (!cJSON_IsNumber(m) || !isfinite(v) || (min_exclusive ? !(v > min) : !(v >= min)))
        return space_fail(c, sub, "expected a number %s %g", min_exclusive ? ">" : ">=", min);
    *out = v;
    return 0;
}

/* An optional string member; *out stays def when absent. */
int space_get_string(parse_ctx *c, const cJSON *obj, const char *path, const char *key, const char *def,
                     const char **out) {
    char sub[512];
    space_join_path(sub, sizeof sub, path, key);
    const cJSON *m = space_member(obj, key);
    *out = def;
    if (!m) return 0;
    if (!cJSON_IsString(m) || !m->valuestring[0]) return space_fail(c, sub, "expected a non-empty string");
    *out = m->valuestring;
    return 0;
}

int space_get_bool(parse_ctx *c, const cJSON *obj, const char *path, const char *key, int *out) {
    char sub[512];
    space_join_path(sub, sizeof sub, path, key);
    const cJSON *m = space_member(obj, key);
    if (!m) return 0;
    if (!cJSON_IsBool(m)) return space_fail(c, sub, "expected true or false");
    *out = cJSON_IsTrue(m);
    return 0;
}

/* Which of names[] s is (its index), or -1. */
int space_pick(const char *s, const char *const *names) {
    for (int i = 0; names[i]; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

const cJSON *space_trainer_key(parse_ctx *c, const char *name) { return space_member(c->trainer_keys, name); }

char *space_trainer_key_list(parse_ctx *c) {
    vs_strbuf b = {0};
    for (const cJSON *k = c->trainer_keys->child; k; k = k->next)
        vs_sb_printf(&b, "%s%s", k == c->trainer_keys->child ? "" : ", ", k->string);
    return vs_sb_take(&b);
}

/* Whether the trainer accepts value for key (vs_config_apply_json on a scratch config),
 * its complaint moved onto path: "key 'hidden_dims[1]': expected an integer" becomes
 * "path[1]: expected an integer". */
int space_element_name(parse_ctx *c, const char *name, char *key, size_t n) {
    const char *open = strchr(name, '[');
    size_t len = strlen(name);
    if (!open || open == name || name[len - 1] != ']' || (size_t)(open - name) >= n) return -1;
    const char *digits = open + 1, *end = name + len - 1;
    if (digits == end || end - digits > 4 || (*digits == '0' && end - digits > 1)) return -1;
    int index = 0;
    for (const char *d = digits; d < end; d++) {
        if (*d < '0' || *d > '9') return -1;
        index = index * 10 + (*d - '0');
    }
    memcpy(key, name, (size_t)(open - name));
    key[open - name] = 0;
    return cJSON_IsArray(space_trainer_key(c, key)) ? index : -1;
}

/* The trainer's verdict on value for key, its complaint moved onto path; the complaint's
 * path below the key loses its first `skip` characters (an element checked as [value]
 * names "[0]", which is the element itself). */
static int trainer_accepts(parse_ctx *c, const char *key, const cJSON *value, const char *path, size_t skip) {
    static const char marker[] = "<space-check>";   /* printable: messages escape control characters */
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddItemToObject(obj, key, cJSON_Duplicate(value, 1));
    vs_config scratch;
    vs_config_default(&scratch);
    vs_error e;
    int rc = vs_config_apply_json(&scratch, obj, marker, &e);
    cJSON_Delete(obj);
    if (rc == 0) return 0;
    const char *msg = e.msg;
    if (!strncmp(msg, marker, sizeof marker - 1) && !strncmp(msg + sizeof marker - 1, ": ", 2)) msg += sizeof marker + 1;
    size_t key_len = strlen(key);
    if (!strncmp(msg, "key '", 5) && !strncmp(msg + 5, key, key_len)) {
        const char *suffix = msg + 5 + key_len, *end = strstr(suffix, "': ");
        if (end && (size_t)(end - suffix) >= skip) {
            suffix += skip;
            char sub[600];
            snprintf(sub, sizeof sub, "%s%.*s", path, (int)(end - suffix), suffix);
            return space_fail(c, sub, "%s", end + 3);
        }
    }
    return space_fail(c, path, "%s", msg);
}

int space_trainer_accepts(parse_ctx *c, const char *key, const cJSON *value, const char *path) {
    char list_key[256];
    if (space_element_name(c, key, list_key, sizeof list_key) < 0) return trainer_accepts(c, key, value, path, 0);
    cJSON *list = cJSON_CreateArray();   /* an element: as the one element of a list */
    cJSON_AddItemToArray(list, cJSON_Duplicate(value, 1));
    int rc = trainer_accepts(c, list_key, list, path, 3);
    cJSON_Delete(list);
    return rc;
}

int space_trainer_accepts_number(parse_ctx *c, const char *key, double v, const char *path) {
    cJSON *n = cJSON_CreateNumber(v);
    int rc = space_trainer_accepts(c, key, n, path);
    cJSON_Delete(n);
    return rc;
}

/* A value inside a range the trainer must accept too: the trainer's ranges are intervals,
 * but some keys take integers only, which a float range would break. */
int space_trainer_accepts_inside(parse_ctx *c, const vs_param *p, double v, const char *path) {
    if (space_trainer_accepts_number(c, p->name, v, path) == 0) return 0;
    int integers = strstr(c->err->msg, "expected an integer") != NULL;
    char num[40];
    space_format_exact(v, num);
    if (integers) return space_fail(c, path, "'%s' takes integers in the trainer: use \"type\": \"int\"", p->name);
    return space_fail(c, path, "the trainer refuses %s, a value inside the range", num);
}
