/* dataset: the prepared-dataset binary file (.vsds) that every other part reads.
 * It holds the paper's split as CSR matrices over one item index space:
 *   train           training users x items
 *   val_in, val_out validation users: fold-in items (model input) and target items
 *   test_in, test_out test users, likewise
 * plus the maps from internal indices back to the original user and item ids, and
 * a JSON metadata string (source, protocol settings, counts).
 * The file format is specified in docs/dataset-format.md; files are mmap'ed, every
 * section is checksummed (CRC-32 as zlib computes it) and every CSR is validated on
 * open, so a truncated, corrupt or foreign file is refused with a message. */
#ifndef VS_DATASET_H
#define VS_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "common/vs_error.h"

/* Rows of a binary (implicit-feedback) matrix. Within a row, indices are strictly
 * increasing and < cols. indptr has rows+1 entries, indptr[0] == 0. */
typedef struct vs_csr {
    int64_t rows, cols;
    const int64_t *indptr;
    const int32_t *indices;
} vs_csr;

static inline int64_t vs_csr_nnz(const vs_csr *m) { return m->rows ? m->indptr[m->rows] : 0; }

/* A table of n strings: string i is bytes[offsets[i] .. offsets[i+1]) (not NUL-terminated);
 * offsets has n+1 entries. */
typedef struct vs_strtab {
    int64_t n;
    const uint64_t *offsets;
    const char *bytes;
} vs_strtab;

typedef struct vs_dataset {
    int64_t n_items;
    vs_csr train, val_in, val_out, test_in, test_out;
    vs_strtab item_ids;        /* n_items original item ids */
    vs_strtab train_user_ids;  /* train.rows original user ids */
    vs_strtab val_user_ids;    /* val_in.rows */
    vs_strtab test_user_ids;   /* test_in.rows */
    const char *meta_json;     /* NUL-terminated JSON object */
    uint32_t fingerprint;      /* read from a file: the CRC-32 of its sections' checksums but the metadata's,
                                  so the same split with the same ids (prepared again, copied, moved) has the
                                  same one; 0 otherwise */
    /* Storage: either a mapping of a file, or heap blocks owned by this struct. */
    void *map;
    size_t map_len;
    void *owned[32];
    int n_owned;
} vs_dataset;

/* Opens and validates a dataset file (mmap). On error nothing is left open and err
 * names the path and what is wrong. */
int vs_dataset_open(vs_dataset *ds, const char *path, vs_error *err);
/* Writes ds (whatever its arrays point to) to path atomically (temp file + rename). */
int vs_dataset_write(const vs_dataset *ds, const char *path, vs_error *err);
/* Releases the mapping or the owned blocks, then zeroes ds. */
void vs_dataset_close(vs_dataset *ds);
/* Hands a heap block to ds so vs_dataset_close frees it; returns p. */
void *vs_dataset_own(vs_dataset *ds, void *p);

/* Checks a CSR's structure (used on open and by tests): indptr monotone from 0,
 * indices in range and strictly increasing per row. `what` names it in the message. */
int vs_csr_validate(const vs_csr *m, const char *what, vs_error *err);

/* Summary counts, as `vaesearch dataset info` and `prepare` print them. */
typedef struct vs_dataset_stats {
    int64_t users, items, interactions;  /* over all five matrices */
    double sparsity;                     /* interactions / (users * items) */
    int64_t train_users, train_interactions;
    int64_t val_users, val_in_interactions, val_out_interactions;
    int64_t test_users, test_in_interactions, test_out_interactions;
} vs_dataset_stats;

void vs_dataset_stats_compute(const vs_dataset *ds, vs_dataset_stats *st);

#endif
