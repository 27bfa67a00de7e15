/* batch_by_item: a batch's sparse input grouped by item (a CSC view of its CSR rows),
 * for the first layer's weight gradient dW1[i,:] = sum over the rows r holding item i of
 * val[r,i] * dy[r,:]. Grouped so, each dW1 row is written once, by one thread or
 * thread block, without atomics, and its terms are added in row order: the very order
 * of the row-by-row loop, so the result is the same to the bit, and deterministic on
 * the GPU too. Built by a counting sort in O(nnz + items). */
#ifndef VS_BATCH_BY_ITEM_H
#define VS_BATCH_BY_ITEM_H

#include <stdint.h>

typedef struct vs_batch_by_item {
    int n_groups;          /* distinct items in the batch */
    int32_t *item;         /* n_groups: the items, ascending */
    int64_t *group_ptr;    /* n_groups + 1: group g is entries group_ptr[g] .. group_ptr[g+1] */
    int32_t *row;          /* nnz: the entry's row in the batch, ascending within a group */
    int64_t *entry;        /* nnz: the entry's position in the CSR (its value is val[entry]) */
    int64_t cap_nnz;
    int cap_items;
    int64_t *count;        /* cap_items scratch: per-item counts, then write positions */
} vs_batch_by_item;

/* Groups the CSR (rows, ptr, idx; items in [0, n_items)) by item. g starts as {0} and
 * keeps its memory between calls; vs_batch_by_item_free releases it. */
void vs_batch_by_item_build(vs_batch_by_item *g, int rows, const int64_t *ptr, const int32_t *idx, int n_items);
void vs_batch_by_item_free(vs_batch_by_item *g);

#endif
