/* test_dataset: the .vsds file format (dataset/dataset.c, docs/dataset-format.md).
 * A small dataset is built by hand, written, reopened and compared array by array;
 * the bytes on disk are checked against the documented layout by an independent
 * parser here; then damaged files (truncated, flipped bytes, foreign files, tampered
 * tables with valid checksums, malformed structure written through vs_dataset_write)
 * must all be refused with a telling message and without crashing. Finally the
 * `vaesearch dataset` command is run on the file, when the binary is available. */
#define _POSIX_C_SOURCE 200809L   /* fork, popen, pread under strict C11 */
#include <errno.h>
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "test.h"
#include "common/pcg.h"
#include "dataset/dataset.h"

/* ---- The hand-built sample ---- */

#define N_ITEMS 6
static const char *ITEM_IDS[N_ITEMS] = {"i0", "apple", "b,c", "q\"x", "line\nbreak", "caf\xc3\xa9"};
static const char *TRAIN_USERS[3] = {"u1", "u2", "u3"};
static const char *VAL_USERS[2] = {"v1", "v2"};
static const char *TEST_USERS[2] = {"t1", "t,2"};

static const int64_t TRAIN_PTR[4] = {0, 3, 5, 9};
static const int32_t TRAIN_IDX[9] = {0, 2, 5, 1, 3, 0, 1, 4, 5};
static const int64_t VAL_IN_PTR[3] = {0, 2, 5};
static const int32_t VAL_IN_IDX[5] = {0, 1, 2, 3, 4};
static const int64_t VAL_OUT_PTR[3] = {0, 1, 1};   /* the second user has no targets */
static const int32_t VAL_OUT_IDX[1] = {5};
static const int64_t TEST_IN_PTR[3] = {0, 2, 3};
static const int32_t TEST_IN_IDX[3] = {1, 2, 0};
static const int64_t TEST_OUT_PTR[3] = {0, 1, 2};
static const int32_t TEST_OUT_IDX[2] = {3, 5};
static const char *META = "{\"source\":\"hand\",\"protocol\":{\"seed\":7,\"target_fraction\":0.2}}";

/* Builds a string table in heap blocks that ds owns (exercises vs_dataset_own). */
static vs_strtab make_strtab(vs_dataset *ds, const char **strs, int64_t n) {
    uint64_t *off = vs_dataset_own(ds, vs_xmalloc((size_t)(n + 1) * sizeof *off));
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) total += strlen(strs[i]);
    char *bytes = vs_dataset_own(ds, vs_xmalloc(total + 1));
    off[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        size_t len = strlen(strs[i]);
        memcpy(bytes + off[i], strs[i], len);
        off[i + 1] = off[i] + len;
    }
    return (vs_strtab){n, off, bytes};
}

static vs_csr csr(int64_t rows, const int64_t *ptr, const int32_t *idx) {
    return (vs_csr){rows, N_ITEMS, ptr, idx};
}

static void make_sample(vs_dataset *ds) {
    memset(ds, 0, sizeof *ds);
    ds->n_items = N_ITEMS;
    ds->train = csr(3, TRAIN_PTR, TRAIN_IDX);
    ds->val_in = csr(2, VAL_IN_PTR, VAL_IN_IDX);
    ds->val_out = csr(2, VAL_OUT_PTR, VAL_OUT_IDX);
    ds->test_in = csr(2, TEST_IN_PTR, TEST_IN_IDX);
    ds->test_out = csr(2, TEST_OUT_PTR, TEST_OUT_IDX);
    ds->item_ids = make_strtab(ds, ITEM_IDS, N_ITEMS);
    ds->train_user_ids = make_strtab(ds, TRAIN_USERS, 3);
    ds->val_user_ids = make_strtab(ds, VAL_USERS, 2);
    ds->test_user_ids = make_strtab(ds, TEST_USERS, 2);
    ds->meta_json = META;
}

/* ---- Small file helpers ---- */

static char tmpdir[4096];

static const char *tmp_path(const char *name) {
    static char paths[8][4200];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", tmpdir, name);
    return p;
}

static unsigned char *read_whole(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = vs_xmalloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[*len] = 0;
    return buf;
}

static void write_whole(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    if (len) fwrite(data, 1, len, f);
    fclose(f);
}

static uint32_t rd32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const unsigned char *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> 8 * i); }
static void wr64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> 8 * i); }

/* Opens bytes written to a scratch file; expects refusal with `want` in the message
 * (and the path, since every message must name the file). */
static void expect_refused(const unsigned char *bytes, size_t len, const char *want, const char *label) {
    const char *path = tmp_path("damaged.vsds");
    write_whole(path, bytes, len);
    vs_dataset ds;
    vs_error err = {{0}};
    int rc = vs_dataset_open(&ds, path, &err);
    CHECK_MSG(rc == -1, "%s: opened although damaged", label);
    if (rc == 0) {
        vs_dataset_close(&ds);
        return;
    }
    CHECK_MSG(strstr(err.msg, want) != NULL, "%s: message '%s' lacks '%s'", label, err.msg, want);
    CHECK_MSG(strstr(err.msg, path) != NULL, "%s: message '%s' lacks the path", label, err.msg);
    CHECK_MSG(ds.map == NULL && ds.n_owned == 0, "%s: something left open", label);
}

/* Writes ds and expects open to refuse it: the checksums are right, the content not. */
static void expect_written_refused(const vs_dataset *ds, const char *want, const char *label) {
    const char *path = tmp_path("malformed.vsds");
    vs_error err = {{0}};
    CHECK_OK(vs_dataset_write(ds, path, &err), &err);
    vs_dataset back;
    int rc = vs_dataset_open(&back, path, &err);
    CHECK_MSG(rc == -1, "%s: malformed dataset opened", label);
    if (rc == 0) {
        vs_dataset_close(&back);
        return;
    }
    CHECK_MSG(strstr(err.msg, want) != NULL, "%s: message '%s' lacks '%s'", label, err.msg, want);
}

/* ---- The format as documented, parsed independently of dataset.c ---- */

#define HDR 64
#define ENTRY 40

struct doc_section { uint32_t id, dtype, crc; uint64_t count, offset, length; };

static uint32_t doc_header_crc(const unsigned char *buf) {
    uint32_t header_size = rd32(buf + 12);   /* callers make sure it lies within the buffer */
    unsigned char *copy = vs_xmalloc(header_size);
    memcpy(copy, buf, header_size);
    memset(copy + 28, 0, 4);
    uint32_t crc = (uint32_t)crc32(0, copy, header_size);
    free(copy);
    return crc;
}

static struct doc_section doc_entry(const unsigned char *buf, uint32_t s) {
    const unsigned char *e = buf + HDR + s * ENTRY;
    return (struct doc_section){rd32(e), rd32(e + 4), rd32(e + 32), rd64(e + 8), rd64(e + 16), rd64(e + 24)};
}

static int doc_find(const unsigned char *buf, uint32_t id, struct doc_section *out) {
    for (uint32_t s = 0; s < rd32(buf + 24); s++) {
        *out = doc_entry(buf, s);
        if (out->id == id) return (int)s;
    }
    return -1;
}

/* Recomputes every section CRC and the header CRC, so tampering reaches the
 * structural checks behind the checksums. */
static void reseal(unsigned char *buf, size_t len) {
    /* Tampered counts and sizes may point anywhere: touch only what lies in buf. */
    uint32_t n = rd32(buf + 24);
    if (n > (len - HDR) / ENTRY) n = (uint32_t)((len - HDR) / ENTRY);
    for (uint32_t s = 0; s < n; s++) {
        struct doc_section d = doc_entry(buf, s);
        if (d.offset <= len && d.length <= len - d.offset)
            wr32(buf + HDR + s * ENTRY + 32, (uint32_t)crc32(0, buf + d.offset, (uInt)d.length));
    }
    uint32_t header_size = rd32(buf + 12);
    if (header_size >= 32 && header_size <= len) wr32(buf + 28, doc_header_crc(buf));
}

static void check_layout(const unsigned char *buf, size_t len) {
    CHECK(memcmp(buf, "VSDSET\0\0", 8) == 0);
    CHECK(rd32(buf + 8) == 1);
    CHECK(rd32(buf + 24) == 19);
    CHECK(rd32(buf + 12) == HDR + 19 * ENTRY);
    CHECK(rd64(buf + 16) == N_ITEMS);
    CHECK(rd64(buf + 32) == len);
    CHECK(len % 64 == 0);
    CHECK(rd32(buf + 28) == doc_header_crc(buf));
    static const uint32_t dtypes[20] = {0, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 3, 4, 3, 4, 3, 4, 3, 4, 4};
    for (uint32_t s = 0; s < 19; s++) {
        struct doc_section d = doc_entry(buf, s);
        CHECK(d.id == s + 1);
        CHECK(d.dtype == dtypes[d.id]);
        CHECK(d.offset % 64 == 0 && d.offset >= HDR + 19 * ENTRY);
        CHECK(d.offset + d.length <= len);
        CHECK(d.crc == (uint32_t)crc32(0, buf + d.offset, (uInt)d.length));
    }
    struct doc_section d;
    CHECK(doc_find(buf, 2, &d) >= 0 && d.count == 9 && d.length == 36);
    CHECK(memcmp(buf + d.offset, TRAIN_IDX, 36) == 0);
    CHECK(doc_find(buf, 1, &d) >= 0 && d.count == 4 && memcmp(buf + d.offset, TRAIN_PTR, 32) == 0);
    CHECK(doc_find(buf, 12, &d) >= 0 && memcmp(buf + d.offset, "i0appleb,c", 10) == 0);
    CHECK(doc_find(buf, 19, &d) >= 0 && d.length == strlen(META) && memcmp(buf + d.offset, META, d.length) == 0);
    /* The zlib CRC the document promises. */
    CHECK(crc32(0, (const unsigned char *)"123456789", 9) == 0xCBF43926u);
}

/* ---- Round trip ---- */

static void check_csr_equal(const vs_csr *got, int64_t rows, const int64_t *ptr, const int32_t *idx, const char *what) {
    CHECK_MSG(got->rows == rows && got->cols == N_ITEMS, "%s: %" PRId64 "x%" PRId64, what, got->rows, got->cols);
    if (got->rows != rows) return;
    CHECK_MSG(memcmp(got->indptr, ptr, (size_t)(rows + 1) * 8) == 0, "%s indptr", what);
    CHECK_MSG(memcmp(got->indices, idx, (size_t)ptr[rows] * 4) == 0, "%s indices", what);
    CHECK_MSG((uintptr_t)got->indptr % 64 == 0 && (uintptr_t)got->indices % 64 == 0, "%s alignment", what);
}

static void check_strtab_equal(const vs_strtab *t, const char **strs, int64_t n, const char *what) {
    CHECK_MSG(t->n == n, "%s: %" PRId64 " strings", what, t->n);
    if (t->n != n) return;
    for (int64_t i = 0; i < n; i++) {
        size_t len = (size_t)(t->offsets[i + 1] - t->offsets[i]);
        CHECK_MSG(len == strlen(strs[i]) && memcmp(t->bytes + t->offsets[i], strs[i], len) == 0,
                  "%s[%" PRId64 "] differs", what, i);
    }
    CHECK_MSG((uintptr_t)t->offsets % 64 == 0, "%s alignment", what);
}

static int count_tmp_leftovers(void) {
    DIR *d = opendir(tmpdir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (strstr(e->d_name, ".tmp.")) n++;
    if (d) closedir(d);
    return n;
}

static void test_round_trip(const char *good) {
    vs_dataset ds;
    vs_error err = {{0}};
    make_sample(&ds);
    CHECK(ds.n_owned == 8);
    /* Written twice: the second write must replace the first atomically. */
    CHECK_OK(vs_dataset_write(&ds, good, &err), &err);
    CHECK_OK(vs_dataset_write(&ds, good, &err), &err);
    CHECK(count_tmp_leftovers() == 0);
    vs_dataset_close(&ds);
    CHECK(ds.n_owned == 0 && ds.meta_json == NULL && ds.train.indptr == NULL);

    vs_dataset back;
    CHECK_OK(vs_dataset_open(&back, good, &err), &err);
    if (!back.map) return;
    CHECK(back.n_items == N_ITEMS);
    check_csr_equal(&back.train, 3, TRAIN_PTR, TRAIN_IDX, "train");
    check_csr_equal(&back.val_in, 2, VAL_IN_PTR, VAL_IN_IDX, "val_in");
    check_csr_equal(&back.val_out, 2, VAL_OUT_PTR, VAL_OUT_IDX, "val_out");
    check_csr_equal(&back.test_in, 2, TEST_IN_PTR, TEST_IN_IDX, "test_in");
    check_csr_equal(&back.test_out, 2, TEST_OUT_PTR, TEST_OUT_IDX, "test_out");
    check_strtab_equal(&back.item_ids, ITEM_IDS, N_ITEMS, "item_ids");
    check_strtab_equal(&back.train_user_ids, TRAIN_USERS, 3, "train_user_ids");
    check_strtab_equal(&back.val_user_ids, VAL_USERS, 2, "val_user_ids");
    check_strtab_equal(&back.test_user_ids, TEST_USERS, 2, "test_user_ids");
    CHECK(back.meta_json && strcmp(back.meta_json, META) == 0);

    /* Counts by hand: 3 + 2 + 2 users; 9 + 5 + 1 + 3 + 2 interactions over 7 x 6 cells. */
    vs_dataset_stats st;
    vs_dataset_stats_compute(&back, &st);
    CHECK(st.users == 7 && st.items == 6 && st.interactions == 20);
    CHECK_NEAR(st.sparsity, 20.0 / 42.0, 1e-15);
    CHECK(st.train_users == 3 && st.train_interactions == 9);
    CHECK(st.val_users == 2 && st.val_in_interactions == 5 && st.val_out_interactions == 1);
    CHECK(st.test_users == 2 && st.test_in_interactions == 3 && st.test_out_interactions == 2);
    vs_dataset_close(&back);
    CHECK(back.map == NULL && back.n_items == 0);

    size_t len;
    unsigned char *buf = read_whole(good, &len);
    check_layout(buf, len);
    free(buf);
}

/* The fingerprint: the same split with other metadata (prepared again from another
 * path) has the same one; another split (one interaction moved), another. */
static void test_fingerprint(const char *good) {
    vs_dataset ds, a, b, c;
    vs_error err = {{0}};
    make_sample(&ds);
    ds.meta_json = "{\"source\": \"/elsewhere/ratings.csv\"}";
    const char *other_meta = tmp_path("meta.vsds"), *other_data = tmp_path("data.vsds");
    CHECK_OK(vs_dataset_write(&ds, other_meta, &err), &err);
    int32_t idx[9];
    memcpy(idx, TRAIN_IDX, sizeof idx);
    idx[7] = 3;   /* the third user's item 4 is item 3 instead: {0, 1, 3, 5} */
    ds.train.indices = idx;
    CHECK_OK(vs_dataset_write(&ds, other_data, &err), &err);
    vs_dataset_close(&ds);
    CHECK_OK(vs_dataset_open(&a, good, &err), &err);
    CHECK_OK(vs_dataset_open(&b, other_meta, &err), &err);
    CHECK_OK(vs_dataset_open(&c, other_data, &err), &err);
    CHECK(a.fingerprint != 0 && a.fingerprint == b.fingerprint);
    CHECK(c.fingerprint != a.fingerprint);
    vs_dataset_close(&a);
    vs_dataset_close(&b);
    vs_dataset_close(&c);
}

/* Empty matrices and tables may come with NULL arrays; they still round-trip. */
/* A link planted at the name the writer used to pick (<path>.tmp.<pid>) must not
 * redirect the write: the temporary file is made exclusively under a name of its own. */
static void test_planted_link(void) {
    vs_dataset ds;
    memset(&ds, 0, sizeof ds);
    char path[4200], victim[4200], planted[4300];
    snprintf(path, sizeof path, "%s", tmp_path("linked.vsds"));
    snprintf(victim, sizeof victim, "%s", tmp_path("victim.txt"));
    snprintf(planted, sizeof planted, "%s.tmp.%ld", path, (long)getpid());
    write_whole(victim, "precious", 8);
    unlink(planted);
    CHECK(symlink(victim, planted) == 0);
    vs_error err = {{0}};
    CHECK_OK(vs_dataset_write(&ds, path, &err), &err);
    size_t len = 0;
    unsigned char *back = read_whole(victim, &len);
    CHECK_MSG(back && len == 8 && !memcmp(back, "precious", 8), "the victim now holds %zu bytes", len);
    free(back);
    vs_dataset opened;
    CHECK_OK(vs_dataset_open(&opened, path, &err), &err);
    if (!err.msg[0]) vs_dataset_close(&opened);
    unlink(planted);
}

static void test_empty_parts(void) {
    vs_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n_items = 0;
    const char *path = tmp_path("empty.vsds");
    vs_error err = {{0}};
    CHECK_OK(vs_dataset_write(&ds, path, &err), &err);
    vs_dataset back;
    CHECK_OK(vs_dataset_open(&back, path, &err), &err);
    CHECK(back.train.rows == 0 && back.item_ids.n == 0 && back.meta_json && !strcmp(back.meta_json, "{}"));
    vs_dataset_stats st;
    vs_dataset_stats_compute(&back, &st);
    CHECK(st.users == 0 && st.interactions == 0 && st.sparsity == 0.0);
    vs_dataset_close(&back);
}

/* ---- Damaged files ---- */

static void test_truncated(const unsigned char *good, size_t len) {
    size_t header_size = HDR + 19 * ENTRY;
    size_t cuts[] = {0, 1, 7, 8, 40, 63, 64, 100, header_size - 1, header_size, header_size + 70,
                     len / 2, len - 64, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char label[64];
        snprintf(label, sizeof label, "truncated to %zu bytes", cuts[i]);
        expect_refused(good, cuts[i], "truncated", label);
    }
    /* The message states both sizes. */
    const char *path = tmp_path("cut.vsds");
    write_whole(path, good, len - 1);
    vs_dataset ds;
    vs_error err = {{0}};
    char want[128];
    snprintf(want, sizeof want, "file has %zu bytes, header says %zu", len - 1, len);
    CHECK(vs_dataset_open(&ds, path, &err) == -1);
    CHECK_MSG(strstr(err.msg, want), "'%s' lacks '%s'", err.msg, want);
}

static void test_flipped_and_foreign(const unsigned char *good, size_t len) {
    unsigned char *buf = vs_xmalloc(len + 64);
    struct doc_section d;

    memcpy(buf, good, len);
    doc_find(buf, 2, &d);
    buf[d.offset + 5] ^= 0x10;
    expect_refused(buf, len, "section 'train.indices' checksum mismatch", "flip in train.indices");

    memcpy(buf, good, len);
    doc_find(buf, 19, &d);
    buf[d.offset + 3] ^= 0x01;
    expect_refused(buf, len, "'meta.json' checksum mismatch", "flip in meta.json");

    memcpy(buf, good, len);
    buf[HDR + 3 * ENTRY + 17] ^= 0x40;   /* an offset in the table */
    expect_refused(buf, len, "header checksum mismatch", "flip in the table");

    memcpy(buf, good, len);
    buf[0] = 'X';
    expect_refused(buf, len, "not a vaesearch dataset (bad magic)", "bad magic");

    memcpy(buf, good, len);
    wr32(buf + 8, 2);
    expect_refused(buf, len, "unsupported format version 2", "version 2");

    memcpy(buf, good, len);
    memset(buf + len, 0, 64);
    expect_refused(buf, len + 64, "trailing data", "appended bytes");

    const char *csv = "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0,1260759179\n";
    expect_refused((const unsigned char *)csv, strlen(csv), "bad magic", "a ratings CSV");
    expect_refused((const unsigned char *)"1,2\n", 4, "bad magic", "a short CSV");

    /* Every single-byte flip: refused if the byte is checksummed (header, table or a
     * section), never a crash; flips in the zero padding are harmless. */
    int refused_ok = 1, accepted_bad = 0;
    uint32_t header_size = rd32(good + 12);
    const char *path = tmp_path("flip.vsds");
    for (size_t p = 0; p < len; p++) {
        memcpy(buf, good, len);
        buf[p] ^= 0x5a;
        write_whole(path, buf, len);
        int covered = p < header_size;
        for (uint32_t s = 0; s < 19; s++) {
            struct doc_section e = doc_entry(good, s);
            if (p >= e.offset && p < e.offset + e.length) covered = 1;
        }
        vs_dataset ds;
        vs_error err = {{0}};
        int rc = vs_dataset_open(&ds, path, &err);
        if (rc == 0) {
            if (covered) accepted_bad++;
            vs_dataset_close(&ds);
        } else if (!strstr(err.msg, path)) {
            refused_ok = 0;
        }
    }
    CHECK_MSG(accepted_bad == 0, "%d checksummed bytes flipped without refusal", accepted_bad);
    CHECK(refused_ok);
    free(buf);
}

/* Tampering behind valid checksums: the table's sizes and offsets must be checked
 * with overflow-safe arithmetic. */
static void test_tampered_table(const unsigned char *good, size_t len) {
    unsigned char *buf = vs_xmalloc(len);
    unsigned char *e3 = buf + HDR + 2 * ENTRY;   /* val_in.indptr's entry */

    memcpy(buf, good, len);
    wr64(e3 + 16, UINT64_MAX - 63);   /* offset + length wraps around */
    reseal(buf, len);
    expect_refused(buf, len, "outside the file", "offset near 2^64");

    memcpy(buf, good, len);
    wr64(e3 + 24, UINT64_MAX - 63);   /* a valid offset, and a length that wraps the sum */
    wr64(e3 + 8, (UINT64_MAX - 63) / 8);
    reseal(buf, len);
    expect_refused(buf, len, "outside the file", "length near 2^64");

    memcpy(buf, good, len);
    wr64(e3 + 16, len);
    wr64(e3 + 24, 8);
    wr64(e3 + 8, 1);
    reseal(buf, len);
    expect_refused(buf, len, "outside the file", "section past the end");

    memcpy(buf, good, len);
    wr64(e3 + 8, UINT64_MAX / 4);   /* count * 8 overflows */
    reseal(buf, len);
    expect_refused(buf, len, "do not make", "count overflow");

    memcpy(buf, good, len);
    wr64(e3 + 16, rd64(e3 + 16) + 8);
    reseal(buf, len);
    expect_refused(buf, len, "aligned", "unaligned offset");

    memcpy(buf, good, len);
    wr64(e3 + 16, 0);   /* pointing into the header */
    reseal(buf, len);
    expect_refused(buf, len, "outside the file", "section over the header");

    memcpy(buf, good, len);
    wr32(e3 + 4, 1);
    reseal(buf, len);
    expect_refused(buf, len, "dtype", "wrong dtype");

    memcpy(buf, good, len);
    wr32(e3 + 4, 9);
    reseal(buf, len);
    expect_refused(buf, len, "unknown dtype", "unknown dtype");

    memcpy(buf, good, len);
    wr32(e3, 1);   /* val_in.indptr claims to be train.indptr */
    reseal(buf, len);
    expect_refused(buf, len, "twice", "duplicate section");

    memcpy(buf, good, len);
    wr32(e3, 77);   /* an unknown id is ignored, so val_in.indptr goes missing */
    reseal(buf, len);
    expect_refused(buf, len, "missing section 'val_in.indptr'", "missing section");

    memcpy(buf, good, len);
    wr64(buf + 16, 5);
    reseal(buf, len);
    expect_refused(buf, len, "item_ids", "n_items disagrees with item_ids");

    memcpy(buf, good, len);
    wr64(buf + 16, (uint64_t)-3);
    reseal(buf, len);
    expect_refused(buf, len, "n_items", "negative n_items");

    memcpy(buf, good, len);
    wr32(buf + 24, 2000);
    reseal(buf, len);
    expect_refused(buf, len, "header size", "too many sections");

    /* Content edits with resealed checksums. */
    struct doc_section d;
    memcpy(buf, good, len);
    doc_find(buf, 1, &d);
    wr64(buf + d.offset + 3 * 8, 8);   /* train indptr ends before its 9 indices */
    reseal(buf, len);
    expect_refused(buf, len, "indptr ends at 8", "indptr end vs indices count");

    memcpy(buf, good, len);
    wr64(buf + d.offset + 3 * 8, (uint64_t)INT64_MAX);
    reseal(buf, len);
    expect_refused(buf, len, "indptr ends at", "huge indptr end");

    memcpy(buf, good, len);
    doc_find(buf, 11, &d);
    wr64(buf + d.offset + 6 * 8, 1000);   /* item_ids offsets end beyond the bytes */
    reseal(buf, len);
    expect_refused(buf, len, "item_ids: offsets end at 1000", "strtab end");

    memcpy(buf, good, len);
    wr64(buf + d.offset + 2 * 8, 1);   /* offsets go 2, 1, ... */
    wr64(buf + d.offset + 1 * 8, 2);
    reseal(buf, len);
    expect_refused(buf, len, "item_ids: offsets decrease", "strtab order");

    memcpy(buf, good, len);
    doc_find(buf, 19, &d);
    buf[d.offset] = '[';
    reseal(buf, len);
    expect_refused(buf, len, "JSON", "broken metadata");

    memcpy(buf, good, len);
    buf[d.offset + 2] = 0;
    reseal(buf, len);
    expect_refused(buf, len, "NUL", "NUL in metadata");

    /* Random edits of the header and table, resealed: refusals only, no crash. */
    vs_pcg32 g = vs_stream(12345, VS_RNG_SYNTH, 77, 0);
    uint32_t header_size = rd32(good + 12);
    const char *path = tmp_path("fuzz.vsds");
    int opened = 0;
    for (int trial = 0; trial < 600; trial++) {
        memcpy(buf, good, len);
        int edits = 1 + (int)vs_pcg32_bounded(&g, 3);
        for (int k = 0; k < edits; k++) {
            uint32_t p = 8 + vs_pcg32_bounded(&g, header_size - 8);
            buf[p] = (unsigned char)vs_pcg32_next(&g);
        }
        reseal(buf, len);
        write_whole(path, buf, len);
        vs_dataset ds;
        vs_error err = {{0}};
        if (vs_dataset_open(&ds, path, &err) == 0) {
            opened++;   /* e.g. a reserved byte: what opened must still be sound */
            CHECK(vs_csr_validate(&ds.train, "train", &err) == 0);
            vs_dataset_close(&ds);
        }
    }
    CHECK(opened < 600);
    free(buf);
}

/* Structure errors written through vs_dataset_write: checksums right, content wrong. */
static void test_malformed_written(void) {
    vs_dataset ds;
    make_sample(&ds);
    int32_t bad_idx[9];
    int64_t bad_ptr[4];

    memcpy(bad_idx, TRAIN_IDX, sizeof bad_idx);
    bad_idx[4] = N_ITEMS;
    ds.train.indices = bad_idx;
    expect_written_refused(&ds, "train: row 1 has index 6 out of range [0, 6)", "index out of range");

    bad_idx[4] = -1;
    expect_written_refused(&ds, "out of range", "negative index");

    memcpy(bad_idx, TRAIN_IDX, sizeof bad_idx);
    bad_idx[1] = 0;   /* row 0: 0, 0, 5 */
    expect_written_refused(&ds, "train: row 0 indices not strictly increasing", "duplicate index");
    bad_idx[1] = 5;
    bad_idx[2] = 2;   /* row 0: 0, 5, 2 */
    expect_written_refused(&ds, "not strictly increasing", "unsorted row");
    ds.train.indices = TRAIN_IDX;

    int64_t decreasing[4] = {0, 6, 4, 9};
    ds.train.indptr = decreasing;
    expect_written_refused(&ds, "train: indptr decreases at row 1", "decreasing indptr");
    memcpy(bad_ptr, (int64_t[]){2, 3, 5, 9}, sizeof bad_ptr);
    ds.train.indptr = bad_ptr;
    expect_written_refused(&ds, "train: indptr[0] is 2", "indptr[0] != 0");
    ds.train.indptr = TRAIN_PTR;

    ds.val_out.rows = 1;   /* one row fewer than val_user_ids */
    expect_written_refused(&ds, "val_out has 1 rows but val_user_ids has 2", "val_out rows");
    ds.val_out.rows = 2;

    ds.test_user_ids.n = 1;
    expect_written_refused(&ds, "test_in", "test users");
    ds.test_user_ids.n = 2;

    ds.item_ids.n = 5;
    expect_written_refused(&ds, "item_ids", "item count");
    ds.item_ids.n = N_ITEMS;

    ds.meta_json = "{\"a\": 1";
    expect_written_refused(&ds, "not valid JSON", "unterminated JSON");
    ds.meta_json = "[1, 2]";
    expect_written_refused(&ds, "not a JSON object", "JSON array");
    ds.meta_json = "{} trailing";
    expect_written_refused(&ds, "JSON", "trailing garbage after JSON");
    ds.meta_json = META;

    /* And the writer itself refuses what it cannot size, naming the path. */
    vs_error err = {{0}};
    ds.train.indptr = NULL;
    CHECK(vs_dataset_write(&ds, tmp_path("never.vsds"), &err) == -1);
    CHECK_MSG(strstr(err.msg, "never.vsds") && strstr(err.msg, "train"), "%s", err.msg);
    ds.train.indptr = decreasing;
    decreasing[3] = -4;
    CHECK(vs_dataset_write(&ds, tmp_path("never.vsds"), &err) == -1);
    ds.train.indptr = TRAIN_PTR;
    CHECK(access(tmp_path("never.vsds"), F_OK) != 0);

    const char *nodir = "/nonexistent-vs-dir/x.vsds";
    CHECK(vs_dataset_write(&ds, nodir, &err) == -1);
    CHECK_MSG(strstr(err.msg, nodir) && strstr(err.msg, strerror(ENOENT)), "%s", err.msg);
    vs_dataset_close(&ds);
}

static void test_open_errors(void) {
    vs_dataset ds;
    vs_error err = {{0}};
    const char *missing = tmp_path("no-such-file.vsds");
    CHECK(vs_dataset_open(&ds, missing, &err) == -1);
    CHECK_MSG(strstr(err.msg, missing) && strstr(err.msg, strerror(ENOENT)), "%s", err.msg);
    CHECK(vs_dataset_open(&ds, tmpdir, &err) == -1);
    CHECK_MSG(strstr(err.msg, "not a regular file"), "%s", err.msg);
}

/* ---- vs_csr_validate ---- */

static int validate(int64_t rows, int64_t cols, const int64_t *ptr, const int32_t *idx, const char *want) {
    vs_csr m = {rows, cols, ptr, idx};
    vs_error err = {{0}};
    int rc = vs_csr_validate(&m, "m", &err);
    if (want && (rc != -1 || !strstr(err.msg, want))) {
        fprintf(stderr, "validate: wanted '%s', got rc %d '%s'\n", want, rc, err.msg);
        return 0;
    }
    return want ? 1 : rc == 0;
}

static void test_csr_validate(void) {
    CHECK(validate(3, 6, TRAIN_PTR, TRAIN_IDX, NULL));
    CHECK(validate(0, 6, NULL, NULL, NULL));
    CHECK(validate(2, 0, (int64_t[]){0, 0, 0}, NULL, NULL));   /* empty rows, no items */
    CHECK(validate(1, 3, (int64_t[]){0, 3}, (int32_t[]){0, 1, 2}, NULL));
    CHECK(validate(1, 3, (int64_t[]){1, 3}, (int32_t[]){0, 1, 2}, "m: indptr[0] is 1, must be 0"));
    CHECK(validate(2, 3, (int64_t[]){0, 2, 1}, (int32_t[]){0, 1}, "m: indptr decreases at row 1 (2 then 1)"));
    CHECK(validate(1, 3, (int64_t[]){0, 2}, (int32_t[]){0, 3}, "m: row 0 has index 3 out of range [0, 3)"));
    CHECK(validate(1, 3, (int64_t[]){0, 1}, (int32_t[]){-2}, "index -2 out of range"));
    CHECK(validate(2, 3, (int64_t[]){0, 1, 3}, (int32_t[]){2, 1, 1}, "m: row 1 indices not strictly increasing (1 then 1)"));
    CHECK(validate(1, 3, (int64_t[]){0, 2}, (int32_t[]){2, 1}, "not strictly increasing (2 then 1)"));
    /* A row boundary resets the ordering: 2 then 0 across rows is fine. */
    CHECK(validate(2, 3, (int64_t[]){0, 1, 2}, (int32_t[]){2, 0}, NULL));
    CHECK(validate(-1, 3, NULL, NULL, "negative row count"));
    CHECK(validate(2, 3, NULL, NULL, "no indptr"));
    CHECK(validate(1, 3, (int64_t[]){0, 2}, NULL, "no indices"));
}

/* More than 32 owned blocks is a programming error: the process aborts. */
static void test_own_limit(void) {
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) _exit(3);   /* the abort message is expected */
        vs_dataset ds;
        memset(&ds, 0, sizeof ds);
        for (int i = 0; i < 33; i++) vs_dataset_own(&ds, vs_xmalloc(8));
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);

    vs_dataset ds;
    memset(&ds, 0, sizeof ds);
    CHECK(vs_dataset_own(&ds, NULL) == NULL && ds.n_owned == 0);
    for (int i = 0; i < 32; i++) vs_dataset_own(&ds, vs_xmalloc(8));
    CHECK(ds.n_owned == 32);
    vs_dataset_close(&ds);
    CHECK(ds.n_owned == 0);
}

/* ---- The `vaesearch dataset` command on the sample (ids with commas, quotes and a
 * newline must come out RFC 4180-quoted) ---- */

static char *run_capture(const char *cmd, int *status) {
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *out = vs_xmalloc(cap);
    while (n + 1 < cap) {
        size_t got = fread(out + n, 1, cap - 1 - n, p);
        if (got == 0) break;
        n += got;
    }
    out[n] = 0;
    *status = pclose(p);
    return out;
}

static void check_file_is(const char *path, const char *want) {
    size_t len;
    unsigned char *got = read_whole(path, &len);
    CHECK_MSG(got && len == strlen(want) && memcmp(got, want, len) == 0, "%s is\n%s\nwanted\n%s", path,
              got ? (char *)got : "(missing)", want);
    free(got);
}

static void test_cli(const char *good) {
    const char *bin = getenv("VAESEARCH");
    if (!bin || access(bin, X_OK) != 0) {
        printf("VAESEARCH not set or not executable: CLI checks skipped\n");
        return;
    }
    char cmd[8192];
    int status;
    const char *out_dir = tmp_path("export/nested");
    snprintf(cmd, sizeof cmd, "'%s' dataset export '%s' '%s'", bin, good, out_dir);
    char *out = run_capture(cmd, &status);
    CHECK_MSG(status == 0, "export exit status %d: %s", status, out);
    CHECK(out && strstr(out, "train.csv"));
    free(out);
    char path[4400];
    snprintf(path, sizeof path, "%s/items.csv", out_dir);
    check_file_is(path, "index,item\n0,i0\n1,apple\n2,\"b,c\"\n3,\"q\"\"x\"\n4,\"line\nbreak\"\n5,caf\xc3\xa9\n");
    snprintf(path, sizeof path, "%s/train.csv", out_dir);
    check_file_is(path, "user,item\nu1,i0\nu1,\"b,c\"\nu1,caf\xc3\xa9\nu2,apple\nu2,\"q\"\"x\"\n"
                        "u3,i0\nu3,apple\nu3,\"line\nbreak\"\nu3,caf\xc3\xa9\n");
    snprintf(path, sizeof path, "%s/validation_targets.csv", out_dir);
    check_file_is(path, "user,item\nv1,caf\xc3\xa9\n");
    snprintf(path, sizeof path, "%s/test_fold_in.csv", out_dir);
    check_file_is(path, "user,item\nt1,apple\nt1,\"b,c\"\n\"t,2\",i0\n");
    snprintf(path, sizeof path, "%s/users.csv", out_dir);
    check_file_is(path, "split,index,user\ntrain,0,u1\ntrain,1,u2\ntrain,2,u3\nvalidation,0,v1\n"
                        "validation,1,v2\ntest,0,t1\ntest,1,\"t,2\"\n");

    snprintf(cmd, sizeof cmd, "'%s' dataset info '%s' --json", bin, good);
    out = run_capture(cmd, &status);
    CHECK_MSG(status == 0, "info --json exit status %d", status);
    CHECK_MSG(out && strstr(out, "\"interactions\":20") && strstr(out, "\"users\":7") &&
              strstr(out, "\"source\":\"hand\""), "info --json printed %s", out);
    free(out);

    snprintf(cmd, sizeof cmd, "'%s' dataset info '%s'", bin, good);
    out = run_capture(cmd, &status);
    CHECK_MSG(status == 0, "info exit status %d", status);
    CHECK_MSG(out && strstr(out, "interactions") && strstr(out, " 20\n") && strstr(out, "hand"),
              "info printed %s", out);
    free(out);
}

int main(void) {
    const char *base = getenv("VS_TEST_TMP");
    snprintf(tmpdir, sizeof tmpdir, "%s", base && *base ? base : "/tmp/vs_test_dataset");
    mkdir(tmpdir, 0777);

    /* Its own buffer: tmp_path's are reused. */
    static char good[4200];
    snprintf(good, sizeof good, "%s/good.vsds", tmpdir);
    test_round_trip(good);
    test_fingerprint(good);
    test_empty_parts();
    test_planted_link();
    size_t len = 0;
    unsigned char *bytes = read_whole(good, &len);
    CHECK(bytes != NULL && len > 0);
    if (bytes) {
        test_truncated(bytes, len);
        test_flipped_and_foreign(bytes, len);
        test_tampered_table(bytes, len);
        free(bytes);
    }
    test_malformed_written();
    test_open_errors();
    test_csr_validate();
    test_own_limit();
    test_cli(good);
    return test_finish();
}
