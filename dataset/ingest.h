/* ingest: reads (user, item[, rating]) interaction files into interned index pairs.
 * Formats: MovieLens ratings.csv (comma, header), ratings.dat ("::"), u.data (tab),
 * and plain two-column "user item" pairs (whitespace or comma; implicit, no rating).
 * Ids are kept as the strings found in the file, interned to dense indices in order
 * of first appearance. Rows with a rating <= min_rating are dropped here (the paper's
 * "rating > 3.5"); pairs without a rating are all kept. */
#ifndef VS_INGEST_H
#define VS_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "common/vs_error.h"

/* Interned string ids: string -> dense index, in order of first appearance. */
typedef struct vs_idmap {
    int64_t n;
    uint64_t *offsets;   /* n+1 entries */
    char *bytes;
    size_t bytes_len, bytes_cap;
    int64_t offsets_cap;
    int32_t *slots;      /* open-addressing hash table of indices, -1 = empty */
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

typedef enum vs_format {
    VS_FORMAT_AUTO = 0,
    VS_FORMAT_CSV,     /* ratings.csv: userId,movieId,rating,timestamp with a header */
    VS_FORMAT_DAT,     /* ratings.dat: UserID::MovieID::Rating::Timestamp */
    VS_FORMAT_TSV,     /* u.data: user \t item \t rating \t timestamp */
    VS_FORMAT_PAIRS,   /* user item (whitespace or comma), no rating */
} vs_format;

typedef struct vs_ingest_opts {
    vs_format format;     /* AUTO: decided from the first lines (docs/prepare.md) */
    double min_rating;    /* keep rating > min_rating; the paper's 3.5 by default */
} vs_ingest_opts;

typedef struct vs_ingest_stats {
    vs_format format;          /* the format used (after AUTO detection) */
    int64_t lines;             /* lines read, header and blank lines included */
    int64_t records;           /* interaction lines parsed */
    int64_t kept;              /* records kept by the rating filter */
} vs_ingest_stats;

void vs_ingest_opts_default(vs_ingest_opts *o);
const char *vs_format_name(vs_format f);
/* Parses "auto", "csv", "dat", "tsv", "pairs"; -1 if unknown. */
int vs_format_parse(const char *name, vs_format *out);

/* Reads path into out (which must be zeroed). A malformed line is an error naming
 * path:line and what is wrong with it. */
int vs_ingest_file(const char *path, const vs_ingest_opts *o, vs_interactions *out,
                   vs_ingest_stats *st, vs_error *err);

#endif
