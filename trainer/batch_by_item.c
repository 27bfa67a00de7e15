/* batch_by_item: the CSC view of a batch (batch_by_item.h). */
#include "batch_by_item.h"

#include <stdlib.h>
#include <string.h>

#include "common/vs_error.h"

void vs_batch_by_item_build(vs_batch_by_item *g, int rows, const int64_t *ptr, const int32_t *idx, int n_items) {
    int64_t nnz = ptr[rows];
    if (n_items + 1 > g->cap_items) {
        g->cap_items = n_items + 1;
        g->count = vs_xrealloc(g->count, sizeof(int64_t) * (size_t)g->cap_items);
        g->item = vs_xrealloc(g->item, sizeof(int32_t) * (size_t)g->cap_items);
        g->group_ptr = vs_xrealloc(g->group_ptr, sizeof(int64_t) * (size_t)(g->cap_items + 1));
    }
    if (nnz > g->cap_nnz) {
        g->cap_nnz = nnz;
        g->row = vs_xrealloc(g->row, sizeof(int32_t) * (size_t)nnz);
        g->entry = vs_xrealloc(g->entry, sizeof(int64_t) * (size_t)nnz);
    }
    memset(g->count, 0, sizeof(int64_t) * (size_t)(n_items + 1));
    for (int64_t k = 0; k < nnz; k++) g->count[idx[k]]++;
    /* Items present, ascending, with their groups' starts; count[i] becomes item i's next
     * write position. */
    int groups = 0;
    int64_t at = 0;
    for (int i = 0; i < n_items; i++) {
        int64_t c = g->count[i];
        if (!c) continue;
        g->item[groups] = i;
        g->group_ptr[groups++] = at;
        g->count[i] = at;
        at += c;
    }
    g->group_ptr[groups] = at;
    g->n_groups = groups;
    for (int r = 0; r < rows; r++)
        for (int64_t k = ptr[r]; k < ptr[r + 1]; k++) {
            int64_t pos = g->count[idx[k]]++;
            g->row[pos] = r;
            g->entry[pos] = k;
        }
}

void vs_batch_by_item_free(vs_batch_by_item *g) {
    free(g->count), free(g->item), free(g->group_ptr), free(g->row), free(g->entry);
    memset(g, 0, sizeof *g);
}
