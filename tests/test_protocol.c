/* test_protocol: the paper's split (dataset/protocol.c) on a random ratings file
 * generated here. Everything expected is computed in this file by plain code over a
 * users x items table of the generated records (no library helpers): the filters'
 * counts (the item filter before the user filter, and that the other order would give
 * other counts on this file), the train / validation / test users, the item set, and
 * each held-out user's fold-in and target items, re-deriving the draws from
 * docs/prepare.md. The named protocols (the paper's three datasets) are checked too. */
#include <stdint.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "test.h"
#include "common/pcg.h"
#include "dataset/ingest.h"
#include "dataset/protocol.h"

#define N_USERS 400
#define N_ITEMS 300
#define MAX_RECORDS 40000

/* The generated file and what it implies, computed directly. */
typedef struct truth {
    int n_records;
    int rec_user[MAX_RECORDS], rec_item[MAX_RECORDS], rec_half_stars[MAX_RECORDS];
    unsigned char seen[N_USERS][N_ITEMS];  /* a rating > 3.5 exists */
    int kept_records;
    int user_first[N_USERS], item_first[N_ITEMS];   /* first appearance among kept records, or -1 */
    /* After the item filter (set_item_filter): */
    int min_item_users;
    int users_of[N_ITEMS];                 /* distinct users of each item, before it */
    unsigned char has[N_USERS][N_ITEMS];   /* seen, and the item passed */
    int degree[N_USERS];
} truth;

static truth T;
static char csv_path[1024];

static void user_name(int k, char *buf, size_t n) { snprintf(buf, n, "user%d", k); }
static void item_name(int j, char *buf, size_t n) { snprintf(buf, n, "m%d", j); }

/* Some users with under 5 items, duplicates, items skewed so that rare ones are often
 * seen only by held-out users, records in random order. */
static void generate(void) {
    vs_pcg32 g = vs_stream(2024, VS_RNG_SYNTH, 77, 0);
    int n = 0;
    for (int k = 0; k < N_USERS; k++) {
        int count = k % 8 == 0 ? (int)vs_pcg32_bounded(&g, 9) : 5 + (int)vs_pcg32_bounded(&g, 70);
        for (int c = 0; c < count; c++) {
            int j = (int)vs_pcg32_bounded(&g, vs_pcg32_bounded(&g, N_ITEMS) + 1);
            if (c > 0 && vs_pcg32_bounded(&g, 20) == 0) j = T.rec_item[n - 1];   /* a repeat */
            T.rec_user[n] = k;
            T.rec_item[n] = j;
            T.rec_half_stars[n] = 1 + (int)vs_pcg32_bounded(&g, 10);   /* 0.5 .. 5.0 */
            n++;
        }
    }
    T.n_records = n;
    for (int i = n - 1; i >= 1; i--) {
        int j = (int)vs_pcg32_bounded(&g, (uint32_t)i + 1);
        int u = T.rec_user[i], it = T.rec_item[i], r = T.rec_half_stars[i];
        T.rec_user[i] = T.rec_user[j], T.rec_item[i] = T.rec_item[j], T.rec_half_stars[i] = T.rec_half_stars[j];
        T.rec_user[j] = u, T.rec_item[j] = it, T.rec_half_stars[j] = r;
    }

    FILE *f = fopen(csv_path, "w");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", csv_path);
        exit(1);
    }
    fprintf(f, "userId,movieId,rating,timestamp\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "user%d,m%d,%.1f,%d\n", T.rec_user[i], T.rec_item[i], T.rec_half_stars[i] * 0.5,
                1000000 + i);
    fclose(f);

    int next_user = 0, next_item = 0;
    for (int k = 0; k < N_USERS; k++) T.user_first[k] = -1;
    for (int j = 0; j < N_ITEMS; j++) T.item_first[j] = -1;
    for (int i = 0; i < n; i++) {
        if (T.rec_half_stars[i] * 0.5 <= 3.5) continue;
        int k = T.rec_user[i], j = T.rec_item[i];
        T.kept_records++;
        if (T.user_first[k] < 0) T.user_first[k] = next_user++;
        if (T.item_first[j] < 0) T.item_first[j] = next_item++;
        T.seen[k][j] = 1;
    }
}

/* The item filter, applied to the table: items with fewer than min_item_users
 * distinct users are gone from every user (0: none is). */
static void set_item_filter(int min_item_users) {
    T.min_item_users = min_item_users;
    for (int j = 0; j < N_ITEMS; j++) {
        T.users_of[j] = 0;
        for (int k = 0; k < N_USERS; k++) T.users_of[j] += T.seen[k][j];
    }
    for (int k = 0; k < N_USERS; k++) {
        T.degree[k] = 0;
        for (int j = 0; j < N_ITEMS; j++) {
            T.has[k][j] = T.seen[k][j] && T.users_of[j] >= min_item_users;
            T.degree[k] += T.has[k][j];
        }
    }
}

/* The user number behind a table entry ("user%d"), or -1. */
static int user_of(const vs_strtab *t, int64_t r) {
    char buf[32];
    size_t len = (size_t)(t->offsets[r + 1] - t->offsets[r]);
    if (len == 0 || len >= sizeof buf) return -1;
    memcpy(buf, t->bytes + t->offsets[r], len);
    buf[len] = '\0';
    int k;
    char extra;
    if (sscanf(buf, "user%d%c", &k, &extra) != 1 || k < 0 || k >= N_USERS) return -1;
    return k;
}

static int item_of(const vs_strtab *t, int64_t i) {
    char buf[32];
    size_t len = (size_t)(t->offsets[i + 1] - t->offsets[i]);
    if (len == 0 || len >= sizeof buf) return -1;
    memcpy(buf, t->bytes + t->offsets[i], len);
    buf[len] = '\0';
    int j;
    char extra;
    if (sscanf(buf, "m%d%c", &j, &extra) != 1 || j < 0 || j >= N_ITEMS) return -1;
    return j;
}

static int run_split(const vs_protocol_opts *o, const char *extra, vs_dataset *ds,
                     vs_protocol_stats *st) {
    vs_interactions x;
    vs_ingest_stats ist;
    vs_error err = {{0}};
    vs_ingest_opts io;
    vs_ingest_opts_default(&io);
    if (vs_ingest_file(csv_path, &io, &x, &ist, &err) < 0) {
        fprintf(stderr, "ingest: %s\n", err.msg);
        return -1;
    }
    int rc = vs_protocol_split(&x, o, extra, ds, st, &err);
    if (rc < 0) fprintf(stderr, "split: %s\n", err.msg);
    vs_interactions_free(&x);
    return rc;
}

/* The kept users in first-appearance order, shuffled as docs/prepare.md says. */
static int expected_order(uint64_t seed, int min_user_items, int *order) {
    int n = 0;
    for (int pos = 0; pos < N_USERS; pos++)
        for (int k = 0; k < N_USERS; k++)
            if (T.user_first[k] == pos && T.degree[k] >= min_user_items) order[n++] = k;
    vs_pcg32 g = vs_stream(seed, VS_RNG_SPLIT, 0, 0);
    for (int i = n - 1; i >= 1; i--) {
        int j = (int)vs_pcg32_bounded(&g, (uint32_t)i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    return n;
}

static int row_has(const vs_csr *m, int64_t r, int32_t col) {
    for (int64_t k = m->indptr[r]; k < m->indptr[r + 1]; k++)
        if (m->indices[k] == col) return 1;
    return 0;
}

/* Held-out rows of one split against the spec, user by user. */
static void check_heldout(const vs_protocol_opts *o, const int *users, int64_t h, const vs_csr *in,
                          const vs_csr *out, const vs_strtab *ids, const int *new_to_item,
                          int64_t n_items, int64_t *dropped, int64_t *with_targets) {
    int ok_users = 1, ok_rows = 1, ok_partition = 1, ok_count = 1;
    for (int64_t r = 0; r < h; r++) {
        int k = users[r];
        ok_users &= user_of(ids, r) == k;
        int restricted[N_ITEMS], n = 0;
        for (int64_t i = 0; i < n_items; i++)
            if (T.has[k][new_to_item[i]]) restricted[n++] = (int)i;
        *dropped += T.degree[k] - n;
        unsigned char target[N_ITEMS] = {0};
        int t = 0;
        if (n >= o->min_split_items) {
            t = (int)floor(o->target_fraction * n);
            int pos[N_ITEMS];
            for (int i = 0; i < n; i++) pos[i] = i;
            vs_pcg32 g = vs_stream(o->seed, VS_RNG_SPLIT, 1, (uint64_t)T.user_first[k]);
            for (int i = 0; i < t; i++) {
                int j = i + (int)vs_pcg32_bounded(&g, (uint32_t)(n - i));
                int tmp = pos[i];
                pos[i] = pos[j];
                pos[j] = tmp;
            }
            for (int i = 0; i < t; i++) target[pos[i]] = 1;
            *with_targets += t > 0;
        }
        /* Exactly the expected rows, in order... */
        int64_t a = in->indptr[r], b = out->indptr[r];
        for (int i = 0; i < n; i++) {
            if (target[i]) ok_rows &= b < out->indptr[r + 1] && out->indices[b++] == restricted[i];
            else ok_rows &= a < in->indptr[r + 1] && in->indices[a++] == restricted[i];
        }
        ok_rows &= a == in->indptr[r + 1] && b == out->indptr[r + 1];
        /* ...and the properties stated plainly: fold-in and targets partition the
         * user's training-item set, with floor(f*n) targets. */
        int64_t n_in = in->indptr[r + 1] - in->indptr[r], n_out = out->indptr[r + 1] - out->indptr[r];
        ok_count &= n_out == (n >= o->min_split_items ? (int64_t)floor(o->target_fraction * n) : 0);
        ok_partition &= n_in + n_out == n;
        for (int i = 0; i < n; i++)
            ok_partition &= row_has(in, r, restricted[i]) != row_has(out, r, restricted[i]);
    }
    CHECK(ok_users);
    CHECK(ok_rows);
    CHECK(ok_partition);
    CHECK(ok_count);
}

/* The whole dataset against the expectation computed from T. */
static void check_split(const vs_protocol_opts *o, int64_t h, const vs_dataset *ds,
                        const vs_protocol_stats *st) {
    vs_error err = {{0}};
    int distinct = 0, input_users = 0, input_items = 0, kept_users = 0, kept_items = 0;
    int kept_interactions = 0, filter_items = 0, filter_dropped = 0;
    unsigned char item_kept[N_ITEMS] = {0};
    for (int k = 0; k < N_USERS; k++) {
        int seen = 0;
        for (int j = 0; j < N_ITEMS; j++) seen += T.seen[k][j];
        distinct += seen;
        input_users += seen > 0;
        filter_dropped += seen - T.degree[k];
        if (T.degree[k] < o->min_user_items) continue;
        kept_users++;
        kept_interactions += T.degree[k];
        for (int j = 0; j < N_ITEMS; j++) item_kept[j] |= T.has[k][j];
    }
    for (int j = 0; j < N_ITEMS; j++) {
        kept_items += item_kept[j];
        input_items += T.item_first[j] >= 0;
        filter_items += T.item_first[j] >= 0 && T.users_of[j] >= T.min_item_users;
    }
    CHECK(st->input_interactions == T.kept_records);
    CHECK(st->item_filter_items == filter_items && st->item_filter_dropped == filter_dropped);
    CHECK(st->duplicates == T.kept_records - distinct);
    CHECK(st->input_users == input_users && st->input_items == input_items);
    CHECK(st->kept_users == kept_users);
    CHECK(st->kept_items == kept_items);
    CHECK(st->kept_interactions == kept_interactions);

    CHECK(ds->train.rows + ds->val_in.rows + ds->test_in.rows == kept_users);
    CHECK(ds->val_in.rows == h && ds->val_out.rows == h && ds->test_in.rows == h && ds->test_out.rows == h);
    CHECK(ds->train_user_ids.n == ds->train.rows && ds->val_user_ids.n == h && ds->test_user_ids.n == h);
    const vs_csr *all[5] = {&ds->train, &ds->val_in, &ds->val_out, &ds->test_in, &ds->test_out};
    for (int m = 0; m < 5; m++) {
        CHECK_OK(vs_csr_validate(all[m], "csr", &err), &err);
        CHECK(all[m]->cols == ds->n_items);
    }

    int order[N_USERS];
    int n = expected_order(o->seed, o->min_user_items, order);
    CHECK(n == kept_users);
    int64_t n_train = n - 2 * h;
    int ok = 1;
    for (int64_t r = 0; r < n_train && r < ds->train.rows; r++) ok &= user_of(&ds->train_user_ids, r) == order[r];
    CHECK_MSG(ok, "train users differ from the spec's shuffle");

    /* Items: those of training users, in first-appearance order. */
    unsigned char in_train[N_ITEMS] = {0};
    for (int64_t r = 0; r < n_train; r++)
        for (int j = 0; j < N_ITEMS; j++) in_train[j] |= T.has[order[r]][j];
    int new_to_item[N_ITEMS], n_items = 0;
    for (int pos = 0; pos < N_ITEMS; pos++)
        for (int j = 0; j < N_ITEMS; j++)
            if (T.item_first[j] == pos && in_train[j]) new_to_item[n_items++] = j;
    CHECK(ds->n_items == n_items && ds->item_ids.n == n_items);
    ok = 1;
    for (int i = 0; i < n_items && i < ds->item_ids.n; i++) ok &= item_of(&ds->item_ids, i) == new_to_item[i];
    CHECK_MSG(ok, "item ids differ");
    if (ds->n_items != n_items) return;

    /* Train rows: exactly the user's items, ascending by new index. */
    ok = 1;
    for (int64_t r = 0; r < n_train; r++) {
        int64_t k = ds->train.indptr[r];
        for (int i = 0; i < n_items; i++)
            if (T.has[order[r]][new_to_item[i]]) ok &= k < ds->train.indptr[r + 1] && ds->train.indices[k++] == i;
        ok &= k == ds->train.indptr[r + 1];
    }
    CHECK_MSG(ok, "train rows differ");

    int64_t dropped = 0, with_targets = 0;
    check_heldout(o, order + n_train, h, &ds->val_in, &ds->val_out, &ds->val_user_ids, new_to_item,
                  n_items, &dropped, &with_targets);
    check_heldout(o, order + n_train + h, h, &ds->test_in, &ds->test_out, &ds->test_user_ids,
                  new_to_item, n_items, &dropped, &with_targets);
    CHECK(st->dropped_heldout_interactions == dropped);
    CHECK(with_targets > 0);
}

/* A few users looked up by their original id, their items compared by original id. */
static void check_by_original_ids(const vs_dataset *ds) {
    const vs_strtab *tables[3] = {&ds->train_user_ids, &ds->val_user_ids, &ds->test_user_ids};
    const vs_csr *rows[3][2] = {{&ds->train, NULL}, {&ds->val_in, &ds->val_out}, {&ds->test_in, &ds->test_out}};
    int checked = 0;
    for (int s = 0; s < 3; s++) {
        for (int64_t r = 0; r < tables[s]->n && r < 3; r++) {
            char want[32];
            int k = user_of(tables[s], r);
            user_name(k, want, sizeof want);
            CHECK(tables[s]->offsets[r + 1] - tables[s]->offsets[r] == strlen(want));
            /* Every listed item is one the user rated above 3.5 in the file. */
            for (int part = 0; part < 2 && rows[s][part]; part++) {
                const vs_csr *m = rows[s][part];
                for (int64_t q = m->indptr[r]; q < m->indptr[r + 1]; q++) {
                    int j = item_of(&ds->item_ids, m->indices[q]);
                    int found = 0;
                    for (int i = 0; i < T.n_records; i++)
                        found |= T.rec_user[i] == k && T.rec_item[i] == j && T.rec_half_stars[i] > 7;
                    char name[32];
                    item_name(j, name, sizeof name);
                    CHECK_MSG(found, "%s has %s in split %d, not in the file", want, name, s);
                }
            }
            checked++;
        }
    }
    CHECK(checked == 9);
}

static int same_csr(const vs_csr *a, const vs_csr *b) {
    return a->rows == b->rows && a->cols == b->cols &&
           !memcmp(a->indptr, b->indptr, (size_t)(a->rows + 1) * sizeof *a->indptr) &&
           !memcmp(a->indices, b->indices, (size_t)vs_csr_nnz(a) * sizeof *a->indices);
}

static int same_strtab(const vs_strtab *a, const vs_strtab *b) {
    return a->n == b->n && !memcmp(a->offsets, b->offsets, (size_t)(a->n + 1) * sizeof *a->offsets) &&
           !memcmp(a->bytes, b->bytes, a->offsets[a->n]);
}

static int same_dataset(const vs_dataset *a, const vs_dataset *b) {
    return a->n_items == b->n_items && same_csr(&a->train, &b->train) && same_csr(&a->val_in, &b->val_in) &&
           same_csr(&a->val_out, &b->val_out) && same_csr(&a->test_in, &b->test_in) &&
           same_csr(&a->test_out, &b->test_out) && same_strtab(&a->item_ids, &b->item_ids) &&
           same_strtab(&a->train_user_ids, &b->train_user_ids) &&
           same_strtab(&a->val_user_ids, &b->val_user_ids) &&
           same_strtab(&a->test_user_ids, &b->test_user_ids) && !strcmp(a->meta_json, b->meta_json);
}

static double json_number(const cJSON *root, const char *obj, const char *key) {
    const cJSON *o = obj ? cJSON_GetObjectItemCaseSensitive(root, obj) : root;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void test_defaults(void) {
    vs_protocol_opts o;
    vs_protocol_opts_default(&o);
    CHECK(o.min_item_users == 0);
    CHECK(o.min_user_items == 5 && o.heldout_users == 10000 && o.min_split_items == 5);
    CHECK(o.target_fraction == 0.2 && o.seed == 98765);
}

static void test_split_and_determinism(void) {
    vs_protocol_opts o;
    vs_protocol_opts_default(&o);
    o.heldout_users = 40;
    vs_dataset a, b, c;
    vs_protocol_stats st;
    CHECK(run_split(&o, "{\"source\":\"gen.csv\",\"min_rating\":3.5}", &a, &st) == 0);
    check_split(&o, 40, &a, &st);
    check_by_original_ids(&a);

    cJSON *meta = cJSON_Parse(a.meta_json);
    CHECK(meta != NULL);
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(meta, "source");
    CHECK(cJSON_IsString(src) && !strcmp(src->valuestring, "gen.csv"));
    CHECK(json_number(meta, NULL, "min_rating") == 3.5);
    CHECK(json_number(meta, "protocol", "heldout_users") == 40);
    CHECK(json_number(meta, "protocol", "seed") == 98765);
    CHECK(json_number(meta, "protocol", "min_user_items") == 5);
    CHECK(json_number(meta, "protocol", "target_fraction") == 0.2);
    CHECK(json_number(meta, "counts", "kept_users") == st.kept_users);
    CHECK(json_number(meta, "counts", "duplicates") == st.duplicates);
    cJSON_Delete(meta);

    /* Same seed: identical arrays. Another seed: another split, still to spec. */
    vs_protocol_stats st2;
    CHECK(run_split(&o, "{\"source\":\"gen.csv\",\"min_rating\":3.5}", &b, &st2) == 0);
    CHECK(same_dataset(&a, &b));
    o.seed = 98766;
    CHECK(run_split(&o, "{\"source\":\"gen.csv\",\"min_rating\":3.5}", &c, &st2) == 0);
    CHECK(!same_strtab(&a.train_user_ids, &c.train_user_ids));
    CHECK(!same_strtab(&a.test_user_ids, &c.test_user_ids));
    check_split(&o, 40, &c, &st2);
    vs_dataset_close(&a);
    vs_dataset_close(&b);
    vs_dataset_close(&c);
}

/* Fraction of users; a high min_split_items so some held-out users get no targets;
 * another target fraction. */
static void test_options(void) {
    vs_protocol_opts o;
    vs_protocol_opts_default(&o);
    o.heldout_users = 0.15;
    o.min_split_items = 12;
    o.target_fraction = 0.35;
    o.seed = 7;
    vs_dataset ds;
    vs_protocol_stats st;
    CHECK(run_split(&o, NULL, &ds, &st) == 0);
    int64_t h = (int64_t)floor(0.15 * (double)st.kept_users);
    CHECK(h > 1 && ds.val_in.rows == h);
    check_split(&o, h, &ds, &st);
    int empty_targets = 0;
    for (int64_t r = 0; r < ds.val_out.rows; r++) empty_targets += ds.val_out.indptr[r + 1] == ds.val_out.indptr[r];
    CHECK(empty_targets > 0);
    vs_dataset_close(&ds);
}

/* Items first, then users, once each (docs/prepare.md): the whole split checked to spec
 * with the item filter; every kept user then has the minimum of items, while some
 * kept item may fall below its minimum once users are dropped. The other order gives
 * other counts on this file, so the check tells the orders apart. */
static void test_item_filter(void) {
    const int min_item_users = 12, min_user_items = 8;
    set_item_filter(min_item_users);
    vs_protocol_opts o;
    vs_protocol_opts_default(&o);
    o.min_item_users = min_item_users;
    o.min_user_items = min_user_items;
    o.heldout_users = 30;
    vs_dataset ds;
    vs_protocol_stats st;
    CHECK(run_split(&o, NULL, &ds, &st) == 0);
    check_split(&o, 30, &ds, &st);
    CHECK(st.item_filter_dropped > 0 && st.item_filter_items < st.input_items);

    int every_user_has_minimum = 1;
    for (int64_t r = 0; r < ds.train.rows; r++)
        every_user_has_minimum &= ds.train.indptr[r + 1] - ds.train.indptr[r] >= min_user_items;
    CHECK(every_user_has_minimum);

    /* Users first, then items, computed plainly: another count of users or interactions. */
    int users_first_users = 0, users_first_interactions = 0;
    int users_of_kept[N_ITEMS] = {0};
    unsigned char user_kept[N_USERS] = {0};
    for (int k = 0; k < N_USERS; k++) {
        int seen = 0;
        for (int j = 0; j < N_ITEMS; j++) seen += T.seen[k][j];
        user_kept[k] = seen >= min_user_items;
        users_first_users += user_kept[k];
        for (int j = 0; j < N_ITEMS; j++) users_of_kept[j] += user_kept[k] && T.seen[k][j];
    }
    int below_minimum_after = 0;
    for (int k = 0; k < N_USERS; k++) {
        int left = 0;
        for (int j = 0; j < N_ITEMS; j++) left += user_kept[k] && T.seen[k][j] && users_of_kept[j] >= min_item_users;
        users_first_interactions += left;
        below_minimum_after += user_kept[k] && left < min_user_items;
    }
    CHECK_MSG(users_first_users != st.kept_users || users_first_interactions != st.kept_interactions,
              "both orders give %lld users, %lld interactions: the file does not tell them apart",
              (long long)st.kept_users, (long long)st.kept_interactions);
    CHECK(below_minimum_after > 0);   /* what users first would have left */

    cJSON *meta = cJSON_Parse(ds.meta_json);
    CHECK(json_number(meta, "protocol", "min_item_users") == min_item_users);
    CHECK(json_number(meta, "counts", "item_filter_items") == st.item_filter_items);
    CHECK(json_number(meta, "counts", "item_filter_dropped") == st.item_filter_dropped);
    cJSON_Delete(meta);
    vs_dataset_close(&ds);

    o.min_item_users = -1;
    vs_error err = {{0}};
    vs_interactions x;
    CHECK_OK(vs_ingest_file(csv_path, NULL, &x, NULL, &err), &err);
    CHECK(vs_protocol_split(&x, &o, NULL, &ds, &st, &err) == -1);
    CHECK_MSG(strstr(err.msg, "min_item_users") != NULL, "%s", err.msg);
    vs_interactions_free(&x);
    set_item_filter(0);
}

/* The paper's settings by name (section 4.1, Table 1). */
static void test_presets(void) {
    vs_protocol_preset p;
    vs_error err = {{0}};
    CHECK_OK(vs_protocol_preset_find("ml-20m", &p, &err), &err);
    CHECK(p.values == VS_VALUES_RATING && p.min_rating == 3.5 && p.split.min_item_users == 0 &&
          p.split.min_user_items == 5 && p.split.heldout_users == 10000);
    CHECK_OK(vs_protocol_preset_find("netflix", &p, &err), &err);
    CHECK(p.values == VS_VALUES_RATING && p.min_rating == 3.5 && p.split.min_item_users == 0 &&
          p.split.min_user_items == 5 && p.split.heldout_users == 40000);
    CHECK_OK(vs_protocol_preset_find("msd", &p, &err), &err);
    CHECK(p.values == VS_VALUES_COUNT && p.split.min_item_users == 200 && p.split.min_user_items == 20 &&
          p.split.heldout_users == 50000);
    /* the rest is the protocol's defaults */
    CHECK(p.split.target_fraction == 0.2 && p.split.min_split_items == 5 && p.split.seed == 98765);
    CHECK(vs_protocol_preset_find("ml20m", &p, &err) == -1);
    CHECK_MSG(strstr(err.msg, "'ml20m'") && strstr(err.msg, "ml-20m, netflix, msd"), "%s", err.msg);
}

static void test_errors(void) {
    vs_interactions x;
    vs_ingest_stats ist;
    vs_error err = {{0}};
    CHECK_OK(vs_ingest_file(csv_path, NULL, &x, &ist, &err), &err);
    vs_protocol_opts o;
    vs_protocol_opts_default(&o);
    vs_dataset ds;
    vs_protocol_stats st;

    /* The default 10000 held-out users are far more than the file has. */
    CHECK(vs_protocol_split(&x, &o, NULL, &ds, &st, &err) == -1);
    CHECK_MSG(strstr(err.msg, "10000") && strstr(err.msg, "users"), "%s", err.msg);
    CHECK(ds.n_owned == 0);
    o.heldout_users = (double)(st.kept_users / 2);   /* 2h == kept users leaves no train user */
    CHECK(vs_protocol_split(&x, &o, NULL, &ds, &st, &err) == -1);
    o.heldout_users = 0.001;   /* floor(0.001 * ~350) == 0 */
    CHECK(vs_protocol_split(&x, &o, NULL, &ds, &st, &err) == -1);
    CHECK_MSG(strstr(err.msg, "no held-out user") != NULL, "%s", err.msg);
    o.heldout_users = 0;
    CHECK(vs_protocol_split(&x, &o, NULL, &ds, &st, &err) == -1);
    o.heldout_users = 10;
    CHECK(vs_protocol_split(&x, &o, "[1, 2]", &ds, &st, &err) == -1);
    CHECK_MSG(strstr(err.msg, "JSON object") != NULL, "%s", err.msg);
    CHECK(vs_protocol_split(&x, &o, "{\"counts\": 1}", &ds, &st, &err) == -1);
    CHECK(vs_protocol_split(&x, &o, "{\"source\": ", &ds, &st, &err) == -1);
    CHECK(ds.n_owned == 0);
    CHECK_OK(vs_protocol_split(&x, &o, "{}", &ds, &st, &err), &err);
    vs_dataset_close(&ds);
    vs_interactions_free(&x);
}

int main(void) {
    const char *t = getenv("VS_TEST_TMP");
    char dir[900];
    snprintf(dir, sizeof dir, "%s", t && *t ? t : "/tmp/vs_test_protocol");
    mkdir(dir, 0755);
    snprintf(csv_path, sizeof csv_path, "%s/generated_ratings.csv", dir);
    generate();
    set_item_filter(0);

    test_defaults();
    test_split_and_determinism();
    test_options();
    test_item_filter();
    test_presets();
    test_errors();
    return test_finish();
}
