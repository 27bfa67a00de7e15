/* space_diff: how two spaces differ, from their canonical forms: every member that
 * changed, as "parameters.lr.high: 0.01 -> 0.02", for the message that refuses a changed
 * space; and whether they differ in their budget alone (a sweep may grow or shrink). A
 * form stored by an older vaesearch is read in today's terms first. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "space_internal.h"
#include "common/strbuf.h"

/* A value in a difference: strings bare (tpe -> random), others as JSON. */
static void diff_value(vs_strbuf *b, const cJSON *v) {
    if (!v) vs_sb_puts(b, "(none)");
    else if (cJSON_IsString(v)) vs_sb_puts(b, v->valuestring);
    else space_print_json_exact(b, v);
}

static void diff_walk(vs_strbuf *b, const char *path, const cJSON *a, const cJSON *z) {
    if (a && z && cJSON_IsObject(a) && cJSON_IsObject(z)) {
        char sub[512];
        for (const cJSON *m = a->child; m; m = m->next) {
            space_join_path(sub, sizeof sub, path, m->string);
            diff_walk(b, sub, m, space_member(z, m->string));
        }
        for (const cJSON *m = z->child; m; m = m->next) {
            if (space_member(a, m->string)) continue;
            space_join_path(sub, sizeof sub, path, m->string);
            diff_walk(b, sub, NULL, m);
        }
        return;
    }
    if (a && z && cJSON_Compare(a, z, 1)) return;
    if (b->len) vs_sb_puts(b, "; ");
    vs_sb_printf(b, "%s: ", path[0] ? path : "space");
    diff_value(b, a);
    vs_sb_puts(b, " -> ");
    diff_value(b, z);
}

/* A canonical form as JSON, in today's terms: one stored before TPE had a "multivariate"
 * key was univariate, and reads as "multivariate": false, so that such a sweep goes on
 * with a space that says so, and a space that does not is refused for the change. */
static cJSON *parse_canonical(const char *text) {
    cJSON *c = cJSON_Parse(text);
    cJSON *sampler = cJSON_GetObjectItemCaseSensitive(c, "sampler");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(sampler, "kind");
    if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "tpe") &&
        !cJSON_GetObjectItemCaseSensitive(sampler, "multivariate"))
        cJSON_AddFalseToObject(sampler, "multivariate");
    return c;
}

/* Whether a canonical form is of a TPE sweep stored before "multivariate" existed. */
static int tpe_without_multivariate(const char *canonical) {
    cJSON *c = canonical ? cJSON_Parse(canonical) : NULL;
    const cJSON *sampler = cJSON_GetObjectItemCaseSensitive(c, "sampler");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(sampler, "kind");
    int older = cJSON_IsString(kind) && !strcmp(kind->valuestring, "tpe") &&
                !cJSON_GetObjectItemCaseSensitive(sampler, "multivariate");
    cJSON_Delete(c);
    return older;
}

int vs_space_keep_stored_defaults(vs_space *s, const char *stored_canonical) {
    if (s->sampler != VS_SAMPLER_TPE || s->tpe_multivariate_given || s->tpe_multivariate_kept ||
        !tpe_without_multivariate(stored_canonical))
        return 0;
    cJSON *ours = cJSON_Parse(s->canonical);   /* for the dataset as written */
    if (!ours) return 0;
    s->tpe_multivariate = VS_TPE_UNIVARIATE;
    s->tpe_multivariate_kept = 1;
    free(s->canonical);
    s->canonical = space_canonical_text(s, cJSON_GetObjectItemCaseSensitive(ours, "dataset"));
    cJSON_Delete(ours);
    return 1;
}

char *vs_space_diff(const char *canonical_a, const char *canonical_b) {
    if (!canonical_a || !canonical_b) {
        if (canonical_a == canonical_b) return NULL;
        return vs_xstrdup("space: one of the two spaces is missing");
    }
    cJSON *a = parse_canonical(canonical_a), *z = parse_canonical(canonical_b);
    vs_strbuf b = {0};
    if (!a || !z) {
        if (strcmp(canonical_a, canonical_b)) vs_sb_puts(&b, "space: the stored space is not valid JSON");
    } else {
        diff_walk(&b, "", a, z);
    }
    cJSON_Delete(a);
    cJSON_Delete(z);
    return b.len ? vs_sb_take(&b) : NULL;
}

int vs_space_budget_only_change(const char *canonical_a, const char *canonical_b) {
    cJSON *a = canonical_a ? parse_canonical(canonical_a) : NULL, *b = canonical_b ? parse_canonical(canonical_b) : NULL;
    int same = 0;
    if (a && b) {
        cJSON_DeleteItemFromObjectCaseSensitive(a, "budget");
        cJSON_DeleteItemFromObjectCaseSensitive(b, "budget");
        same = cJSON_Compare(a, b, 1);
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    return same;
}
