/* interactions: interned string ids (string -> dense index, in order of first
 * appearance) and the (user, item) index pairs built on them: what the readers of
 * ingest.c and the generator of synth.c produce and the protocol (protocol.h) splits. */
#ifndef VS_INTERACTIONS_H
#define VS_INTERACTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"

/* A slot of the id map's hash table: an id of up to VS_IDMAP_INLINE bytes is held
 * whole (zero-padded), a longer one by its first VS_IDMAP_INLINE bytes, so that most
 * lookups read the slot alone (24 bytes). */
#define VS_IDMAP_INLINE 19
#define VS_IDMAP_LONG 255   /* len of a slot whose id is longer than VS_IDMAP_INLINE */
typedef struct vs_idmap_slot {
    int32_t index;   /* -1: empty */
    uint8_t len;
    char key[VS_IDMAP_INLINE];
} vs_idmap_slot;

/* Interned string ids: string -> dense index, in order of first appearance. */
typedef struct vs_idmap {
    int64_t n;
    uint64_t *offsets;   /* n+1 entries */
    char *bytes;
    size_t bytes_len, bytes_cap;
    int64_t offsets_cap;
    vs_idmap_slot *slots;   /* open-addressing hash table, at most half full */
    size_t n_slots;
} vs_idmap;

/* Returns the index of s (len bytes), adding it if new. */
int32_t vs_idmap_intern(vs_idmap *m, const char *s, size_t len);
/* Returns the index of s or -1. */
int32_t vs_idmap_find(const vs_idmap *m, const char *s, size_t len);
/* A view of the ids as a string table (valid until the map changes or is freed). */
vs_strtab vs_idmap_table(const vs_idmap *m);
void vs_idmap_free(vs_idmap *m);

typedef struct vs_interactions {
    int64_t n, cap;
    int32_t *user, *item;   /* indices into users / items */
    vs_idmap users, items;
} vs_interactions;

void vs_interactions_push(vs_interactions *x, int32_t user, int32_t item);
void vs_interactions_free(vs_interactions *x);

#endif
