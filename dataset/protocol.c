/* protocol: the paper's data preparation (Liang et al. 2018, section 4.1) turning
 * interned (user, item) pairs into the five CSR matrices of a vs_dataset; and the
 * paper's settings for each of its three datasets, by name.
 *
 * Every order and random draw is fixed by docs/prepare.md so that the split can be
 * re-implemented independently and reproduced bit for bit from (input, seed):
 * users are visited in intern order, shuffled by one PCG32 stream, and each
 * held-out user's targets come from that user's own stream.
 *
 * Sized for MovieLens-20M (20M pairs): rows are built with two counting sorts
 * (by item, then stably by user), so no comparison sort runs over all pairs. */
#include "protocol.h"
#include "common/json_exact.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/pcg.h"

void vs_protocol_opts_default(vs_protocol_opts *o) {
    o->min_item_users = 0;
    o->min_user_items = 5;
    o->heldout_users = 10000;
    o->target_fraction = 0.2;
    o->min_split_items = 5;
    o->seed = 98765;
}

/* The paper's three datasets (Table 1): MovieLens-20M and Netflix keep ratings of four
 * or more (> 3.5) and users with at least 5 movies; the Million Song Dataset keeps every
 * play count, songs with at least 200 listeners and users with at least 20 songs. */
static const struct {
    const char *name, *dataset;
    vs_values values;
    int min_item_users, min_user_items;
    double heldout_users;
} presets[] = {
    {"ml-20m", "MovieLens-20M", VS_VALUES_RATING, 0, 5, 10000},
    {"netflix", "the Netflix Prize", VS_VALUES_RATING, 0, 5, 40000},
    {"msd", "the Million Song Dataset", VS_VALUES_COUNT, 200, 20, 50000},
};
#define N_PRESETS (sizeof presets / sizeof presets[0])

const char *vs_protocol_preset_names(void) {
    static char names[128];
    if (!names[0])
        for (size_t i = 0; i < N_PRESETS; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", presets[i].name);
    return names;
}

int vs_protocol_preset_find(const char *name, vs_protocol_preset *out, vs_error *err) {
    for (size_t i = 0; i < N_PRESETS; i++) {
        if (!name || strcmp(name, presets[i].name) != 0) continue;
        memset(out, 0, sizeof *out);
        out->name = presets[i].name;
        out->dataset = presets[i].dataset;
        out->values = presets[i].values;
        out->min_rating = 3.5;
        vs_protocol_opts_default(&out->split);
        out->split.min_item_users = presets[i].min_item_users;
        out->split.min_user_items = presets[i].min_user_items;
        out->split.heldout_users = presets[i].heldout_users;
        return 0;
    }
    return vs_errorf(err, "unknown protocol '%s' (known: %s)", name ? name : "(null)", vs_protocol_preset_names());
}

/* Every user's distinct items, ascending by item intern index. */
typedef struct user_rows {
    int64_t n_users;
    int64_t *indptr;   /* n_users+1 */
    int32_t *items;
} user_rows;

/* Two stable counting sorts: pairs grouped by item, then by user, leave each user's
 * items in ascending order; adjacent equal items are then the duplicates. */
static void build_user_rows(const vs_interactions *in, user_rows *rows, int64_t *duplicates) {
    int64_t n = in->n, n_users = in->users.n, n_items = in->items.n;
    int64_t *item_start = vs_xcalloc((size_t)n_items + 1, sizeof *item_start);
    int32_t *users_by_item = vs_xmalloc((size_t)(n ? n : 1) * sizeof *users_by_item);
    for (int64_t k = 0; k < n; k++) item_start[in->item[k] + 1]++;
    for (int64_t i = 0; i < n_items; i++) item_start[i + 1] += item_start[i];
    int64_t *fill = vs_xmalloc((size_t)(n_items > n_users ? n_items : n_users) * sizeof *fill + sizeof *fill);
    memcpy(fill, item_start, (size_t)n_items * sizeof *fill);
    for (int64_t k = 0; k < n; k++) users_by_item[fill[in->item[k]]++] = in->user[k];

    rows->n_users = n_users;
    rows->indptr = vs_xcalloc((size_t)n_users + 1, sizeof *rows->indptr);
    rows->items = vs_xmalloc((size_t)(n ? n : 1) * sizeof *rows->items);
    for (int64_t k = 0; k < n; k++) rows->indptr[in->user[k] + 1]++;
    for (int64_t u = 0; u < n_users; u++) rows->indptr[u + 1] += rows->indptr[u];
    memcpy(fill, rows->indptr, (size_t)n_users * sizeof *fill);
    for (int64_t i = 0; i < n_items; i++)
        for (int64_t k = item_start[i]; k < item_start[i + 1]; k++)
            rows->items[fill[users_by_item[k]]++] = (int32_t)i;
    free(fill);
    free(users_by_item);
    free(item_start);

    /* Drop repeats in place, compacting the rows. */
    int64_t out = 0;
    for (int64_t u = 0; u < n_users; u++) {
        int64_t begin = rows->indptr[u], end = rows->indptr[u + 1];
        rows->indptr[u] = out;
        for (int64_t k = begin; k < end; k++)
            if (k == begin || rows->items[k] != rows->items[k - 1]) rows->items[out++] = rows->items[k];
    }
    rows->indptr[n_users] = out;
    *duplicates = n - out;
}

/* The item filter: items with fewer than min_item_users users (distinct, duplicates
 * being gone) leave every row; the rows are compacted in place. */
static void filter_items(user_rows *rows, int64_t n_items, int min_item_users, vs_protocol_stats *st) {
    int64_t nnz = rows->indptr[rows->n_users];
    int64_t *users_of = vs_xcalloc((size_t)n_items + 1, sizeof *users_of);
    for (int64_t k = 0; k < nnz; k++) users_of[rows->items[k]]++;
    st->item_filter_items = 0;
    for (int64_t i = 0; i < n_items; i++) st->item_filter_items += users_of[i] >= min_item_users;
    int64_t out = 0;
    for (int64_t u = 0; u < rows->n_users; u++) {
        int64_t begin = rows->indptr[u], end = rows->indptr[u + 1];
        rows->indptr[u] = out;
        for (int64_t k = begin; k < end; k++)
            if (users_of[rows->items[k]] >= min_item_users) rows->items[out++] = rows->items[k];
    }
    rows->indptr[rows->n_users] = out;
    st->item_filter_dropped = nnz - out;
    free(users_of);
}

/* Pairs built by hand (not by ingest) could point outside the id maps. */
static int check_interactions(const vs_interactions *in, vs_error *err) {
    for (int64_t k = 0; k < in->n; k++) {
        if (in->user[k] < 0 || in->user[k] >= in->users.n)
            return vs_errorf(err, "interaction %lld: user index %d is not in [0, %lld)", (long long)k,
                             in->user[k], (long long)in->users.n);
        if (in->item[k] < 0 || in->item[k] >= in->items.n)
            return vs_errorf(err, "interaction %lld: item index %d is not in [0, %lld)", (long long)k,
                             in->item[k], (long long)in->items.n);
    }
    return 0;
}

static int64_t row_len(const user_rows *r, int64_t u) { return r->indptr[u + 1] - r->indptr[u]; }

/* The number of users in each held-out split (docs/prepare.md). */
static int heldout_count(double heldout, int64_t kept_users, int min_user_items, int64_t *h,
                         vs_error *err) {
    if (!(heldout > 0) || !isfinite(heldout))
        return vs_errorf(err, "held-out users must be a count >= 1 or a fraction in (0, 1), not %g",
                         heldout);
    if (heldout >= 1) {
        if (heldout > 9e18) return vs_errorf(err, "held-out users %g is too large", heldout);
        *h = (int64_t)heldout;
    } else {
        *h = (int64_t)floor(heldout * (double)kept_users);
    }
    if (*h < 1)
        return vs_errorf(err, "held-out fraction %g of %lld users gives no held-out user (--heldout-users)",
                         heldout, (long long)kept_users);
    if (*h >= kept_users || 2 * *h >= kept_users)
        return vs_errorf(err,
                         "%lld validation and %lld test users need more than %lld users, but only "
                         "%lld users have >= %d items: hold out fewer (--heldout-users N, or a fraction such "
                         "as 0.1)",
                         (long long)*h, (long long)*h, (long long)(2 * *h), (long long)kept_users,
                         min_user_items);
    return 0;
}

/* Kept users in ascending intern order, then Fisher-Yates with the split stream. */
static int32_t *shuffled_users(const user_rows *rows, int min_user_items, int64_t kept_users,
                               uint64_t seed) {
    int32_t *order = vs_xmalloc((size_t)kept_users * sizeof *order);
    int64_t n = 0;
    for (int64_t u = 0; u < rows->n_users; u++)
        if (row_len(rows, u) >= min_user_items) order[n++] = (int32_t)u;
    vs_pcg32 g = vs_stream(seed, VS_RNG_SPLIT, 0, 0);
    for (int64_t i = n - 1; i >= 1; i--) {
        int64_t j = vs_pcg32_bounded(&g, (uint32_t)(i + 1));
        int32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    return order;
}

/* A CSR under construction; its arrays end up owned by the dataset. */
typedef struct csr_builder {
    int64_t rows, nnz, cap;
    int64_t *indptr;
    int32_t *indices;
} csr_builder;

static void csr_begin(csr_builder *b, int64_t rows, int64_t cap) {
    b->rows = 0;
    b->nnz = 0;
    b->cap = cap > 0 ? cap : 1;
    b->indptr = vs_xmalloc((size_t)(rows + 1) * sizeof *b->indptr);
    b->indptr[0] = 0;
    b->indices = vs_xmalloc((size_t)b->cap * sizeof *b->indices);
}

static void csr_push(csr_builder *b, int32_t col) { b->indices[b->nnz++] = col; }
static void csr_end_row(csr_builder *b) { b->indptr[++b->rows] = b->nnz; }

static vs_csr csr_finish(vs_dataset *ds, csr_builder *b, int64_t cols) {
    vs_csr m;
    m.rows = b->rows;
    m.cols = cols;
    m.indptr = vs_dataset_own(ds, b->indptr);
    m.indices = vs_dataset_own(ds, b->indices);
    return m;
}

/* Items of the training rows, renumbered in ascending intern order; -1 elsewhere. */
static int64_t index_train_items(const user_rows *rows, const int32_t *train_users,
                                 int64_t n_train, int64_t n_input_items, int32_t *new_index) {
    for (int64_t i = 0; i < n_input_items; i++) new_index[i] = -1;
    for (int64_t r = 0; r < n_train; r++) {
        int32_t u = train_users[r];
        for (int64_t k = rows->indptr[u]; k < rows->indptr[u + 1]; k++) new_index[rows->items[k]] = 0;
    }
    int64_t n_items = 0;
    for (int64_t i = 0; i < n_input_items; i++)
        if (new_index[i] == 0) new_index[i] = (int32_t)n_items++;
    return n_items;
}

static vs_csr build_train(vs_dataset *ds, const user_rows *rows, const int32_t *users,
                          int64_t n_users, const int32_t *new_index, int64_t n_items) {
    int64_t nnz = 0;
    for (int64_t r = 0; r < n_users; r++) nnz += row_len(rows, users[r]);
    csr_builder b;
    csr_begin(&b, n_users, nnz);
    for (int64_t r = 0; r < n_users; r++) {
        int32_t u = users[r];
        /* new_index is increasing, so the row stays sorted. */
        for (int64_t k = rows->indptr[u]; k < rows->indptr[u + 1]; k++)
            csr_push(&b, new_index[rows->items[k]]);
        csr_end_row(&b);
    }
    return csr_finish(ds, &b, n_items);
}

/* Scratch for splitting one held-out user's items. */
typedef struct split_scratch {
    int32_t *items;       /* the user's items restricted to training items */
    int32_t *positions;   /* permuted positions 0..n-1 */
    unsigned char *is_target;
} split_scratch;

/* Fold-in and target rows of one held-out split (validation or test). */
static void build_heldout(vs_dataset *ds, const user_rows *rows, const int32_t *users,
                          int64_t n_users, const int32_t *new_index, int64_t n_items,
                          const vs_protocol_opts *o, split_scratch *sc, vs_csr *fold_in,
                          vs_csr *targets, int64_t *dropped) {
    int64_t nnz = 0;
    for (int64_t r = 0; r < n_users; r++) nnz += row_len(rows, users[r]);
    csr_builder in_b, out_b;
    csr_begin(&in_b, n_users, nnz);
    csr_begin(&out_b, n_users, nnz);
    for (int64_t r = 0; r < n_users; r++) {
        int32_t u = users[r];
        int64_t n = 0;
        for (int64_t k = rows->indptr[u]; k < rows->indptr[u + 1]; k++) {
            int32_t ni = new_index[rows->items[k]];
            if (ni >= 0) sc->items[n++] = ni;
        }
        *dropped += row_len(rows, u) - n;
        memset(sc->is_target, 0, (size_t)n);
        if (n >= o->min_split_items) {
            int64_t t = (int64_t)floor(o->target_fraction * (double)n);
            for (int64_t i = 0; i < n; i++) sc->positions[i] = (int32_t)i;
            vs_pcg32 g = vs_stream(o->seed, VS_RNG_SPLIT, 1, (uint64_t)u);
            for (int64_t i = 0; i < t; i++) {   /* partial Fisher-Yates */
                int64_t j = i + vs_pcg32_bounded(&g, (uint32_t)(n - i));
                int32_t tmp = sc->positions[i];
                sc->positions[i] = sc->positions[j];
                sc->positions[j] = tmp;
            }
            for (int64_t i = 0; i < t; i++) sc->is_target[sc->positions[i]] = 1;
        }
        for (int64_t i = 0; i < n; i++) csr_push(sc->is_target[i] ? &out_b : &in_b, sc->items[i]);
        csr_end_row(&in_b);
        csr_end_row(&out_b);
    }
    *fold_in = csr_finish(ds, &in_b, n_items);
    *targets = csr_finish(ds, &out_b, n_items);
}

/* Copies ids[which[0..n)] into one table whose offsets and bytes are owned by ds. */
static vs_strtab pack_ids(vs_dataset *ds, const vs_idmap *ids, const int32_t *which, int64_t n) {
    vs_strtab src = vs_idmap_table(ids);
    uint64_t *offsets = vs_xmalloc((size_t)(n + 1) * sizeof *offsets);
    uint64_t total = 0;
    for (int64_t r = 0; r < n; r++) {
        int32_t i = which[r];
        total += src.offsets[i + 1] - src.offsets[i];
    }
    char *bytes = vs_xmalloc(total ? total : 1);
    offsets[0] = 0;
    for (int64_t r = 0; r < n; r++) {
        int32_t i = which[r];
        uint64_t len = src.offsets[i + 1] - src.offsets[i];
        memcpy(bytes + offsets[r], src.bytes + src.offsets[i], len);
        offsets[r + 1] = offsets[r] + len;
    }
    vs_strtab t;
    t.n = n;
    t.offsets = vs_dataset_own(ds, offsets);
    t.bytes = vs_dataset_own(ds, bytes);
    return t;
}

/* Parses meta_extra up front so a bad one fails before any work. */
static int parse_meta_extra(const char *meta_extra, cJSON **out, vs_error *err) {
    *out = NULL;
    if (!meta_extra) return 0;
    cJSON *extra = cJSON_Parse(meta_extra);
    if (!extra || !cJSON_IsObject(extra)) {
        cJSON_Delete(extra);
        return vs_errorf(err, "extra metadata is not a JSON object");
    }
    for (cJSON *m = extra->child; m; m = m->next) {
        if (!strcmp(m->string, "protocol") || !strcmp(m->string, "counts")) {
            vs_errorf(err, "extra metadata may not set the reserved key '%s'", m->string);
            cJSON_Delete(extra);   /* after the message: it frees m->string */
            return -1;
        }
    }
    *out = extra;
    return 0;
}

static void add_int(cJSON *o, const char *key, int64_t v) { cJSON_AddNumberToObject(o, key, (double)v); }

/* {extra members..., "protocol": {...}, "counts": {...}} */
static char *build_meta(cJSON *extra, const vs_protocol_opts *o, int64_t h,
                        const vs_protocol_stats *st, const vs_dataset *ds) {
    cJSON *root = extra ? extra : cJSON_CreateObject();
    cJSON *p = cJSON_AddObjectToObject(root, "protocol");
    add_int(p, "min_item_users", o->min_item_users);
    add_int(p, "min_user_items", o->min_user_items);
    add_int(p, "heldout_users", h);
    if (o->heldout_users < 1) cJSON_AddNumberToObject(p, "heldout_fraction", o->heldout_users);
    cJSON_AddNumberToObject(p, "target_fraction", o->target_fraction);
    add_int(p, "min_split_items", o->min_split_items);
    if (o->seed <= (1ULL << 53)) {
        cJSON_AddNumberToObject(p, "seed", (double)o->seed);
    } else {   /* JSON numbers are doubles to most readers: keep every bit */
        char buf[32];
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)o->seed);
        cJSON_AddStringToObject(p, "seed", buf);
    }
    cJSON *c = cJSON_AddObjectToObject(root, "counts");
    add_int(c, "input_users", st->input_users);
    add_int(c, "input_items", st->input_items);
    add_int(c, "input_interactions", st->input_interactions);
    add_int(c, "duplicates", st->duplicates);
    add_int(c, "item_filter_items", st->item_filter_items);
    add_int(c, "item_filter_dropped", st->item_filter_dropped);
    add_int(c, "kept_users", st->kept_users);
    add_int(c, "kept_items", st->kept_items);
    add_int(c, "kept_interactions", st->kept_interactions);
    add_int(c, "dropped_heldout_interactions", st->dropped_heldout_interactions);
    add_int(c, "items", ds->n_items);
    add_int(c, "train_users", ds->train.rows);
    add_int(c, "val_users", ds->val_in.rows);
    add_int(c, "test_users", ds->test_in.rows);
    char *json = vs_json_print_exact(root);
    cJSON_Delete(root);
    char *copy = vs_xstrdup(json);   /* cJSON may use its own allocator */
    cJSON_free(json);
    return copy;
}

int vs_protocol_split(const vs_interactions *in, const vs_protocol_opts *o,
                      const char *meta_extra, vs_dataset *out, vs_protocol_stats *st,
                      vs_error *err) {
    vs_protocol_opts defaults;
    vs_protocol_stats local_stats;
    if (!o) {
        vs_protocol_opts_default(&defaults);
        o = &defaults;
    }
    if (!st) st = &local_stats;
    memset(st, 0, sizeof *st);
    memset(out, 0, sizeof *out);
    if (o->min_item_users < 0) return vs_errorf(err, "min_item_users %d is negative", o->min_item_users);
    if (o->min_user_items < 0) return vs_errorf(err, "min_user_items %d is negative", o->min_user_items);
    if (o->min_split_items < 0) return vs_errorf(err, "min_split_items %d is negative", o->min_split_items);
    if (!(o->target_fraction >= 0 && o->target_fraction <= 1))
        return vs_errorf(err, "target fraction %g is not in [0, 1]", o->target_fraction);
    if (in->n == 0) return vs_errorf(err, "no interactions to split");
    if (check_interactions(in, err) < 0) return -1;
    cJSON *extra;
    if (parse_meta_extra(meta_extra, &extra, err) < 0) return -1;

    st->input_users = in->users.n;
    st->input_items = in->items.n;
    st->input_interactions = in->n;

    user_rows rows;
    build_user_rows(in, &rows, &st->duplicates);
    st->item_filter_items = in->items.n;   /* with no filter, every item passes */
    if (o->min_item_users > 0) filter_items(&rows, in->items.n, o->min_item_users, st);

    unsigned char *item_seen = vs_xcalloc((size_t)in->items.n + 1, 1);
    int64_t max_row = 0;
    for (int64_t u = 0; u < rows.n_users; u++) {
        int64_t len = row_len(&rows, u);
        if (len < o->min_user_items) continue;
        st->kept_users++;
        st->kept_interactions += len;
        if (len > max_row) max_row = len;
        for (int64_t k = rows.indptr[u]; k < rows.indptr[u + 1]; k++) {
            st->kept_items += !item_seen[rows.items[k]];
            item_seen[rows.items[k]] = 1;
        }
    }
    free(item_seen);

    int64_t h = 0;
    if (heldout_count(o->heldout_users, st->kept_users, o->min_user_items, &h, err) < 0) {
        cJSON_Delete(extra);
        free(rows.indptr);
        free(rows.items);
        return -1;
    }

    int32_t *order = shuffled_users(&rows, o->min_user_items, st->kept_users, o->seed);
    int64_t n_train = st->kept_users - 2 * h;
    const int32_t *train_users = order, *val_users = order + n_train, *test_users = val_users + h;

    int32_t *new_index = vs_xmalloc((size_t)(in->items.n + 1) * sizeof *new_index);
    int64_t n_items = index_train_items(&rows, train_users, n_train, in->items.n, new_index);
    int32_t *items_by_new_index = vs_xmalloc((size_t)(n_items + 1) * sizeof *items_by_new_index);
    for (int64_t i = 0; i < in->items.n; i++)
        if (new_index[i] >= 0) items_by_new_index[new_index[i]] = (int32_t)i;

    out->n_items = n_items;
    out->train = build_train(out, &rows, train_users, n_train, new_index, n_items);
    split_scratch sc;
    sc.items = vs_xmalloc((size_t)(max_row + 1) * sizeof *sc.items);
    sc.positions = vs_xmalloc((size_t)(max_row + 1) * sizeof *sc.positions);
    sc.is_target = vs_xmalloc((size_t)max_row + 1);
    build_heldout(out, &rows, val_users, h, new_index, n_items, o, &sc, &out->val_in,
                  &out->val_out, &st->dropped_heldout_interactions);
    build_heldout(out, &rows, test_users, h, new_index, n_items, o, &sc, &out->test_in,
                  &out->test_out, &st->dropped_heldout_interactions);

    out->item_ids = pack_ids(out, &in->items, items_by_new_index, n_items);
    out->train_user_ids = pack_ids(out, &in->users, train_users, n_train);
    out->val_user_ids = pack_ids(out, &in->users, val_users, h);
    out->test_user_ids = pack_ids(out, &in->users, test_users, h);
    out->meta_json = vs_dataset_own(out, build_meta(extra, o, h, st, out));

    free(sc.items);
    free(sc.positions);
    free(sc.is_target);
    free(items_by_new_index);
    free(new_index);
    free(order);
    free(rows.indptr);
    free(rows.items);
    return 0;
}
