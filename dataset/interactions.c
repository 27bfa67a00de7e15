/* interactions: the id map (an open-addressing hash table over one string table,
 * FNV-1a, at most half full) and the growing (user, item) pair arrays
 * (interactions.h).
 *
 * Each slot holds a short id itself (up to VS_IDMAP_INLINE bytes: MovieLens and
 * Netflix ids, MSD's song ids), or a longer one's first bytes, so that a lookup reads
 * one slot and not the string table: on Netflix's 100 M lines, whose customers come in
 * no order, following each probe into the string table was two thirds of the time. */
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

/* Whether the slot holds s (len bytes; padded: s zero-padded to VS_IDMAP_INLINE bytes
 * when it is that short): by the slot alone for a short id (a fixed-size compare, which
 * compilers inline); for a long one, its first bytes first, then the string table. */
static int slot_holds(const vs_idmap *m, const vs_idmap_slot *sl, const char *s, size_t len, const char *padded) {
    if (len <= VS_IDMAP_INLINE) return sl->len == len && memcmp(sl->key, padded, VS_IDMAP_INLINE) == 0;
    if (sl->len != VS_IDMAP_LONG || memcmp(sl->key, s, VS_IDMAP_INLINE) != 0) return 0;
    size_t ilen;
    const char *is = idmap_str(m, sl->index, &ilen);
    return ilen == len && memcmp(is, s, len) == 0;
}

/* The slot holding s, or the empty slot where it would go. */
static size_t idmap_probe(const vs_idmap *m, const char *s, size_t len, uint64_t h) {
    char padded[VS_IDMAP_INLINE] = {0};
    if (len <= VS_IDMAP_INLINE) memcpy(padded, s, len);
    size_t mask = m->n_slots - 1;
    size_t slot = (size_t)h & mask;
    for (;;) {
        const vs_idmap_slot *sl = &m->slots[slot];
        if (sl->index < 0 || slot_holds(m, sl, s, len, padded)) return slot;
        slot = (slot + 1) & mask;
    }
}

static void slot_set(vs_idmap_slot *sl, int32_t index, const char *s, size_t len) {
    sl->index = index;
    sl->len = len <= VS_IDMAP_INLINE ? (uint8_t)len : VS_IDMAP_LONG;
    memset(sl->key, 0, sizeof sl->key);
    memcpy(sl->key, s, len <= VS_IDMAP_INLINE ? len : VS_IDMAP_INLINE);
}

/* Doubles the table (or creates it) and reinserts every id. */
static void idmap_grow_slots(vs_idmap *m) {
    size_t n_slots = m->n_slots ? m->n_slots * 2 : 1024;
    free(m->slots);
    m->slots = vs_xmalloc(n_slots * sizeof *m->slots);
    for (size_t i = 0; i < n_slots; i++) m->slots[i].index = -1;
    m->n_slots = n_slots;
    for (int64_t i = 0; i < m->n; i++) {
        size_t len;
        const char *s = idmap_str(m, (int32_t)i, &len);
        slot_set(&m->slots[idmap_probe(m, s, len, fnv1a64(s, len))], (int32_t)i, s, len);
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
    if (m->slots[slot].index >= 0) return m->slots[slot].index;
    if (m->n >= INT32_MAX) return -1;   /* indices are int32 everywhere downstream */
    idmap_append(m, s, len);
    slot_set(&m->slots[slot], (int32_t)(m->n - 1), s, len);
    return (int32_t)(m->n - 1);
}

int32_t vs_idmap_find(const vs_idmap *m, const char *s, size_t len) {
    if (m->n_slots == 0) return -1;
    size_t slot = idmap_probe(m, s, len, fnv1a64(s, len));
    return m->slots[slot].index;
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
