/* interactions: the id map (an open-addressing hash table over one string table,
 * FNV-1a, at most half full) and the growing (user, item) pair arrays
 * (interactions.h). */
#include "interactions.h"

#include <stdlib.h>
#include <string.h>

#include "common/vs_error.h"

/* ---------------------------------------------------------------- id map */

static uint64_t fnv1a64(const char *s, size_t len) {
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    /* FNV's low bits mix poorly for short keys that differ in the last byte;
     * fold the high half in since the slot is taken from the low bits. */
    return h ^ (h >> 32);
}

static const char *idmap_str(const vs_idmap *m, int32_t i, size_t *len) {
    *len = (size_t)(m->offsets[i + 1] - m->offsets[i]);
    return m->bytes + m->offsets[i];
}

/* The slot holding s, or the empty slot where it would go. */
static size_t idmap_probe(const vs_idmap *m, const char *s, size_t len, uint64_t h) {
    size_t mask = m->n_slots - 1;
    size_t slot = (size_t)h & mask;
    for (;;) {
        int32_t idx = m->slots[slot];
        if (idx < 0) return slot;
        size_t ilen;
        const char *is = idmap_str(m, idx, &ilen);
        if (ilen == len && memcmp(is, s, len) == 0) return slot;
        slot = (slot + 1) & mask;
    }
}

/* Doubles the table (or creates it) and reinserts every id. */
static void idmap_grow_slots(vs_idmap *m) {
    size_t n_slots = m->n_slots ? m->n_slots * 2 : 1024;
    free(m->slots);
    m->slots = vs_xmalloc(n_slots * sizeof *m->slots);
    memset(m->slots, 0xff, n_slots * sizeof *m->slots);   /* all -1 */
    m->n_slots = n_slots;
    for (int64_t i = 0; i < m->n; i++) {
        size_t len;
        const char *s = idmap_str(m, (int32_t)i, &len);
        size_t slot = idmap_probe(m, s, len, fnv1a64(s, len));
        m->slots[slot] = (int32_t)i;
    }
}

/* Appends s to the string table as id number m->n. */
static void idmap_append(vs_idmap *m, const char *s, size_t len) {
    if (m->n + 2 > m->offsets_cap) {
        m->offsets_cap = m->offsets_cap ? m->offsets_cap * 2 : 1024;
        m->offsets = vs_xrealloc(m->offsets, (size_t)m->offsets_cap * sizeof *m->offsets);
        if (m->n == 0) m->offsets[0] = 0;
    }
    if (m->bytes_len + len > m->bytes_cap) {
        size_t cap = m->bytes_cap ? m->bytes_cap : 4096;
        while (cap < m->bytes_len + len) cap *= 2;
        m->bytes = vs_xrealloc(m->bytes, cap);
        m->bytes_cap = cap;
    }
    if (len) memcpy(m->bytes + m->bytes_len, s, len);
    m->bytes_len += len;
    m->offsets[m->n + 1] = m->bytes_len;
    m->n++;
}

int32_t vs_idmap_intern(vs_idmap *m, const char *s, size_t len) {
    /* Keep the load at or under one half so probe runs stay short. */
    if ((size_t)(m->n + 1) * 2 > m->n_slots) idmap_grow_slots(m);
    uint64_t h = fnv1a64(s, len);
    size_t slot = idmap_probe(m, s, len, h);
    if (m->slots[slot] >= 0) return m->slots[slot];
    if (m->n >= INT32_MAX) return -1;   /* indices are int32 everywhere downstream */
    idmap_append(m, s, len);
    m->slots[slot] = (int32_t)(m->n - 1);
    return (int32_t)(m->n - 1);
}

int32_t vs_idmap_find(const vs_idmap *m, const char *s, size_t len) {
    if (m->n_slots == 0) return -1;
    size_t slot = idmap_probe(m, s, len, fnv1a64(s, len));
    return m->slots[slot];
}

vs_strtab vs_idmap_table(const vs_idmap *m) {
    static const uint64_t empty_offsets[1] = {0};
    vs_strtab t;
    t.n = m->n;
    t.offsets = m->n ? m->offsets : empty_offsets;
    t.bytes = m->bytes ? m->bytes : "";
    return t;
}

void vs_idmap_free(vs_idmap *m) {
    free(m->offsets);
    free(m->bytes);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ---------------------------------------------------------- interactions */

void vs_interactions_push(vs_interactions *x, int32_t user, int32_t item) {
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 4096;
        x->user = vs_xrealloc(x->user, (size_t)x->cap * sizeof *x->user);
        x->item = vs_xrealloc(x->item, (size_t)x->cap * sizeof *x->item);
    }
    x->user[x->n] = user;
    x->item[x->n] = item;
    x->n++;
}

void vs_interactions_free(vs_interactions *x) {
    free(x->user);
    free(x->item);
    vs_idmap_free(&x->users);
    vs_idmap_free(&x->items);
    memset(x, 0, sizeof *x);
}
