/* dataset.c: reads and writes the prepared-dataset file (.vsds).
 *
 * The layout is specified in docs/dataset-format.md. In short: a 64-byte header,
 * a table of 40-byte section entries, then the sections, each at a 64-byte aligned
 * offset. Every section and the header+table carry a CRC-32 (zlib's). A file is
 * mmap'ed read-only and the arrays point straight into the mapping, so a reader
 * must trust nothing in it: every size, offset and index is checked before use,
 * with overflow-safe arithmetic, and a bad file is refused with a message. */
#define _POSIX_C_SOURCE 200809L   /* pread, mmap, fsync, O_CLOEXEC under strict C11 */
#include "dataset.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/tempfile.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "dataset.c maps little-endian arrays directly; big-endian hosts are not supported"
#endif

/* ---- Format constants (docs/dataset-format.md) ---- */

static const unsigned char DS_MAGIC[8] = {'V', 'S', 'D', 'S', 'E', 'T', 0, 0};
#define DS_VERSION 1u
#define DS_HEADER_BYTES 64u      /* fixed part */
#define DS_ENTRY_BYTES 40u       /* one section table entry */
#define DS_ALIGN 64u
#define DS_MAX_SECTIONS 1024u    /* far above what any version needs; bounds the table */

/* Header field offsets. */
#define H_VERSION 8
#define H_HEADER_SIZE 12
#define H_N_ITEMS 16
#define H_N_SECTIONS 24
#define H_HEADER_CRC 28
#define H_FILE_SIZE 32

/* Section entry field offsets. */
#define E_ID 0
#define E_DTYPE 4
#define E_COUNT 8
#define E_OFFSET 16
#define E_LENGTH 24
#define E_CRC 32

enum ds_dtype { DT_INT32 = 1, DT_INT64 = 2, DT_UINT64 = 3, DT_BYTES = 4 };

static uint64_t dtype_size(uint32_t dtype) {
    switch (dtype) {
    case DT_INT32: return 4;
    case DT_INT64: return 8;
    case DT_UINT64: return 8;
    case DT_BYTES: return 1;
    default: return 0;
    }
}

/* Section ids: the five CSRs (indptr, indices), the four string tables (offsets,
 * bytes), then the metadata. The id order is also the order they are written in. */
enum ds_section {
    S_TRAIN_INDPTR = 1, S_TRAIN_INDICES,
    S_VAL_IN_INDPTR, S_VAL_IN_INDICES,
    S_VAL_OUT_INDPTR, S_VAL_OUT_INDICES,
    S_TEST_IN_INDPTR, S_TEST_IN_INDICES,
    S_TEST_OUT_INDPTR, S_TEST_OUT_INDICES,
    S_ITEM_IDS_OFFSETS, S_ITEM_IDS_BYTES,
    S_TRAIN_USERS_OFFSETS, S_TRAIN_USERS_BYTES,
    S_VAL_USERS_OFFSETS, S_VAL_USERS_BYTES,
    S_TEST_USERS_OFFSETS, S_TEST_USERS_BYTES,
    S_META_JSON,
    S_COUNT = S_META_JSON   /* ids run 1..S_COUNT */
};

static const struct section_spec {
    const char *name;
    uint32_t dtype;
} SPECS[S_COUNT + 1] = {
    [S_TRAIN_INDPTR] = {"train.indptr", DT_INT64},
    [S_TRAIN_INDICES] = {"train.indices", DT_INT32},
    [S_VAL_IN_INDPTR] = {"val_in.indptr", DT_INT64},
    [S_VAL_IN_INDICES] = {"val_in.indices", DT_INT32},
    [S_VAL_OUT_INDPTR] = {"val_out.indptr", DT_INT64},
    [S_VAL_OUT_INDICES] = {"val_out.indices", DT_INT32},
    [S_TEST_IN_INDPTR] = {"test_in.indptr", DT_INT64},
    [S_TEST_IN_INDICES] = {"test_in.indices", DT_INT32},
    [S_TEST_OUT_INDPTR] = {"test_out.indptr", DT_INT64},
    [S_TEST_OUT_INDICES] = {"test_out.indices", DT_INT32},
    [S_ITEM_IDS_OFFSETS] = {"item_ids.offsets", DT_UINT64},
    [S_ITEM_IDS_BYTES] = {"item_ids.bytes", DT_BYTES},
    [S_TRAIN_USERS_OFFSETS] = {"train_user_ids.offsets", DT_UINT64},
    [S_TRAIN_USERS_BYTES] = {"train_user_ids.bytes", DT_BYTES},
    [S_VAL_USERS_OFFSETS] = {"val_user_ids.offsets", DT_UINT64},
    [S_VAL_USERS_BYTES] = {"val_user_ids.bytes", DT_BYTES},
    [S_TEST_USERS_OFFSETS] = {"test_user_ids.offsets", DT_UINT64},
    [S_TEST_USERS_BYTES] = {"test_user_ids.bytes", DT_BYTES},
    [S_META_JSON] = {"meta.json", DT_BYTES},
};

/* The CSRs and string tables in section order, so both directions walk one list. */
static const char *const CSR_NAMES[5] = {"train", "val_in", "val_out", "test_in", "test_out"};
static const char *const STRTAB_NAMES[4] = {"item_ids", "train_user_ids", "val_user_ids",
                                            "test_user_ids"};

static vs_csr *csr_slot(vs_dataset *ds, int k) {
    vs_csr *all[5] = {&ds->train, &ds->val_in, &ds->val_out, &ds->test_in, &ds->test_out};
    return all[k];
}

static vs_strtab *strtab_slot(vs_dataset *ds, int k) {
    vs_strtab *all[4] = {&ds->item_ids, &ds->train_user_ids, &ds->val_user_ids,
                         &ds->test_user_ids};
    return all[k];
}

/* ---- Little-endian field access (explicit, so the header never depends on struct
 * layout or alignment) ---- */

static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p) {
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* zlib's crc32 takes a uInt length; feed large buffers in pieces. */
static uint32_t crc32_of(const void *data, uint64_t len) {
    const unsigned char *p = data;
    uLong crc = crc32(0L, Z_NULL, 0);
    while (len > 0) {
        uInt piece = len > (1u << 30) ? (1u << 30) : (uInt)len;
        crc = crc32(crc, p, piece);
        p += piece;
        len -= piece;
    }
    return (uint32_t)crc;
}

/* CRC of header + table with the header_crc field taken as zero. */
static uint32_t header_crc_of(const unsigned char *hdr, uint64_t header_size) {
    unsigned char zero[4] = {0, 0, 0, 0};
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, hdr, H_HEADER_CRC);
    crc = crc32(crc, zero, 4);
    crc = crc32(crc, hdr + H_HEADER_CRC + 4, (uInt)(header_size - H_HEADER_CRC - 4));
    return (uint32_t)crc;
}

static uint64_t align_up(uint64_t x) { return (x + DS_ALIGN - 1) / DS_ALIGN * DS_ALIGN; }

/* ---- Ownership ---- */

void *vs_dataset_own(vs_dataset *ds, void *p) {
    if (!p) return NULL;
    int cap = (int)(sizeof ds->owned / sizeof ds->owned[0]);
    if (ds->n_owned >= cap) {
        fprintf(stderr, "vaesearch: vs_dataset_own: more than %d blocks registered\n", cap);
        abort();
    }
    ds->owned[ds->n_owned++] = p;
    return p;
}

void vs_dataset_close(vs_dataset *ds) {
    if (!ds) return;
    if (ds->map) munmap(ds->map, ds->map_len);
    for (int i = 0; i < ds->n_owned; i++) free(ds->owned[i]);
    memset(ds, 0, sizeof *ds);
}

/* ---- Structure checks ---- */

int vs_csr_validate(const vs_csr *m, const char *what, vs_error *err) {
    if (m->rows < 0) return vs_errorf(err, "%s: negative row count %" PRId64, what, m->rows);
    if (m->cols < 0) return vs_errorf(err, "%s: negative column count %" PRId64, what, m->cols);
    if (m->rows == 0) return 0;
    if (!m->indptr) return vs_errorf(err, "%s: %" PRId64 " rows but no indptr", what, m->rows);
    if (m->indptr[0] != 0)
        return vs_errorf(err, "%s: indptr[0] is %" PRId64 ", must be 0", what, m->indptr[0]);
    /* indptr first, completely, so the index pass below never reads past nnz. */
    for (int64_t r = 0; r < m->rows; r++)
        if (m->indptr[r + 1] < m->indptr[r])
            return vs_errorf(err, "%s: indptr decreases at row %" PRId64 " (%" PRId64 " then %" PRId64 ")",
                             what, r, m->indptr[r], m->indptr[r + 1]);
    if (m->indptr[m->rows] > 0 && !m->indices)
        return vs_errorf(err, "%s: %" PRId64 " entries but no indices", what, m->indptr[m->rows]);
    for (int64_t r = 0; r < m->rows; r++) {
        for (int64_t k = m->indptr[r]; k < m->indptr[r + 1]; k++) {
            int32_t j = m->indices[k];
            if (j < 0 || j >= m->cols)
                return vs_errorf(err, "%s: row %" PRId64 " has index %" PRId32 " out of range [0, %" PRId64 ")",
                                 what, r, j, m->cols);
            if (k > m->indptr[r] && j <= m->indices[k - 1])
                return vs_errorf(err, "%s: row %" PRId64 " indices not strictly increasing (%" PRId32 " then %" PRId32 ")",
                                 what, r, m->indices[k - 1], j);
        }
    }
    return 0;
}

static int strtab_validate(const vs_strtab *t, uint64_t bytes_len, const char *what, vs_error *err) {
    if (t->offsets[0] != 0)
        return vs_errorf(err, "%s: offsets[0] is %" PRIu64 ", must be 0", what, t->offsets[0]);
    for (int64_t i = 0; i < t->n; i++)
        if (t->offsets[i + 1] < t->offsets[i])
            return vs_errorf(err, "%s: offsets decrease at string %" PRId64, what, i);
    if (t->offsets[t->n] != bytes_len)
        return vs_errorf(err, "%s: offsets end at %" PRIu64 " but the bytes section has %" PRIu64 " bytes",
                         what, t->offsets[t->n], bytes_len);
    return 0;
}

/* ---- Reading ---- */

/* One section as found in the table, after its bounds and checksum were checked. */
struct found_section {
    int present;
    uint64_t count, length;
    const unsigned char *data;
    uint32_t crc;
};

static int read_section_table(const unsigned char *base, uint64_t file_size, uint64_t header_size,
                              uint32_t n_sections, struct found_section *found, vs_error *err) {
    for (uint32_t s = 0; s < n_sections; s++) {
        const unsigned char *e = base + DS_HEADER_BYTES + (uint64_t)s * DS_ENTRY_BYTES;
        uint32_t id = get_u32(e + E_ID), dtype = get_u32(e + E_DTYPE);
        uint64_t count = get_u64(e + E_COUNT), offset = get_u64(e + E_OFFSET);
        uint64_t length = get_u64(e + E_LENGTH);
        uint32_t crc = get_u32(e + E_CRC);
        int known = id >= 1 && id <= S_COUNT;
        char label[64];
        if (known) snprintf(label, sizeof label, "'%s'", SPECS[id].name);
        else snprintf(label, sizeof label, "%" PRIu32 " (unknown id %" PRIu32 ")", s, id);

        uint64_t esize = dtype_size(dtype);
        if (esize == 0)
            return vs_errorf(err, "corrupt: section %s has unknown dtype %" PRIu32, label, dtype);
        if (known && dtype != SPECS[id].dtype)
            return vs_errorf(err, "corrupt: section %s has dtype %" PRIu32 ", expected %" PRIu32,
                             label, dtype, SPECS[id].dtype);
        if (count > UINT64_MAX / esize || count * esize != length)
            return vs_errorf(err, "corrupt: section %s: %" PRIu64 " elements of %" PRIu64 " bytes do not make %" PRIu64 " bytes",
                             label, count, esize, length);
        if (offset % DS_ALIGN != 0)
            return vs_errorf(err, "corrupt: section %s offset %" PRIu64 " is not %u-byte aligned",
                             label, offset, DS_ALIGN);
        /* Written as two comparisons so offset + length can never wrap. */
        if (offset < header_size || offset > file_size || length > file_size - offset)
            return vs_errorf(err, "corrupt: section %s (offset %" PRIu64 ", %" PRIu64 " bytes) lies outside the file (%" PRIu64 " bytes)",
                             label, offset, length, file_size);
        if (crc32_of(base + offset, length) != crc)
            return vs_errorf(err, "corrupt: section %s checksum mismatch", label);
        if (!known) continue;   /* a later minor addition: checked, then ignored */
        if (found[id].present)
            return vs_errorf(err, "corrupt: section %s appears twice in the table", label);
        found[id] = (struct found_section){1, count, length, base + offset, crc};
    }
    for (int id = 1; id <= S_COUNT; id++)
        if (!found[id].present) return vs_errorf(err, "corrupt: missing section '%s'", SPECS[id].name);
    return 0;
}

static int attach_csr(vs_csr *m, const char *what, const struct found_section *indptr,
                      const struct found_section *indices, int64_t n_items, vs_error *err) {
    if (indptr->count < 1)
        return vs_errorf(err, "%s: indptr is empty (it needs rows+1 entries)", what);
    m->rows = (int64_t)(indptr->count - 1);
    m->cols = n_items;
    m->indptr = (const int64_t *)indptr->data;
    m->indices = (const int32_t *)indices->data;
    /* Checked before vs_csr_validate so that walking the rows stays inside the section. */
    int64_t last = m->indptr[m->rows];
    if (last < 0 || (uint64_t)last != indices->count)
        return vs_errorf(err, "%s: indptr ends at %" PRId64 " but the indices section has %" PRIu64 " entries",
                         what, last, indices->count);
    return 0;
}

static int attach_strtab(vs_strtab *t, const char *what, const struct found_section *offsets,
                         const struct found_section *bytes, vs_error *err) {
    if (offsets->count < 1)
        return vs_errorf(err, "%s: offsets section is empty (it needs n+1 entries)", what);
    t->n = (int64_t)(offsets->count - 1);
    t->offsets = (const uint64_t *)offsets->data;
    t->bytes = (const char *)bytes->data;
    return strtab_validate(t, bytes->length, what, err);
}

static int check_rows(int64_t got, int64_t want, const char *what, const char *against, vs_error *err) {
    if (got == want) return 0;
    return vs_errorf(err, "inconsistent: %s has %" PRId64 " rows but %s has %" PRId64,
                     what, got, against, want);
}

/* The metadata is copied out so that meta_json is NUL-terminated whatever the file holds. */
static int attach_meta(vs_dataset *ds, const struct found_section *meta, vs_error *err) {
    if (memchr(meta->data, 0, meta->length))
        return vs_errorf(err, "metadata contains a NUL byte");
    char *copy = vs_dataset_own(ds, vs_xmalloc(meta->length + 1));
    memcpy(copy, meta->data, meta->length);
    copy[meta->length] = '\0';
    ds->meta_json = copy;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(copy, &end, 1);
    int is_object = root && cJSON_IsObject(root);
    cJSON_Delete(root);
    if (!root) return vs_errorf(err, "metadata is not valid JSON (near byte %td)", end ? end - copy : 0);
    if (!is_object) return vs_errorf(err, "metadata is not a JSON object");
    return 0;
}

/* Interprets a mapped file; ds->map is already set so vs_dataset_close cleans up. */
static int parse_dataset(vs_dataset *ds, const unsigned char *base, uint64_t size, vs_error *err) {
    if (memcmp(base, DS_MAGIC, sizeof DS_MAGIC) != 0)
        return vs_errorf(err, "not a vaesearch dataset (bad magic)");
    uint32_t version = get_u32(base + H_VERSION);
    if (version != DS_VERSION)
        return vs_errorf(err, "unsupported format version %" PRIu32 " (this build reads version %u)",
                         version, DS_VERSION);
    uint32_t header_size = get_u32(base + H_HEADER_SIZE);
    uint32_t n_sections = get_u32(base + H_N_SECTIONS);
    uint64_t declared_size = get_u64(base + H_FILE_SIZE);
    if (n_sections > DS_MAX_SECTIONS || header_size != DS_HEADER_BYTES + n_sections * DS_ENTRY_BYTES)
        return vs_errorf(err, "corrupt header: header size %" PRIu32 " does not match %" PRIu32 " sections",
                         header_size, n_sections);
    if (header_size > size)
        return vs_errorf(err, "truncated: file has %" PRIu64 " bytes, header says %" PRIu64,
                         size, declared_size);
    if (header_crc_of(base, header_size) != get_u32(base + H_HEADER_CRC))
        return vs_errorf(err, "corrupt: header checksum mismatch");
    if (declared_size > size)
        return vs_errorf(err, "truncated: file has %" PRIu64 " bytes, header says %" PRIu64,
                         size, declared_size);
    if (declared_size < size)
        return vs_errorf(err, "trailing data: file has %" PRIu64 " bytes, header says %" PRIu64,
                         size, declared_size);
    int64_t n_items = (int64_t)get_u64(base + H_N_ITEMS);
    if (n_items < 0 || n_items > INT32_MAX)
        return vs_errorf(err, "corrupt header: n_items %" PRId64 " out of range", n_items);
    ds->n_items = n_items;

    struct found_section found[S_COUNT + 1];
    memset(found, 0, sizeof found);
    if (read_section_table(base, size, header_size, n_sections, found, err)) return -1;
    /* What the data is, apart from its metadata (the source path, say): the checksums of
     * the other sections, which the table holds already. */
    unsigned char crcs[4 * S_COUNT];
    for (int id = 1; id < S_META_JSON; id++) put_u32(crcs + 4 * (id - 1), found[id].crc);
    ds->fingerprint = crc32_of(crcs, 4 * (uint64_t)(S_META_JSON - 1));

    for (int k = 0; k < 5; k++)
        if (attach_csr(csr_slot(ds, k), CSR_NAMES[k], &found[S_TRAIN_INDPTR + 2 * k],
                       &found[S_TRAIN_INDICES + 2 * k], n_items, err))
            return -1;
    for (int k = 0; k < 4; k++)
        if (attach_strtab(strtab_slot(ds, k), STRTAB_NAMES[k], &found[S_ITEM_IDS_OFFSETS + 2 * k],
                          &found[S_ITEM_IDS_BYTES + 2 * k], err))
            return -1;

    if (check_rows(ds->item_ids.n, n_items, "item_ids", "the header's n_items", err) ||
        check_rows(ds->train.rows, ds->train_user_ids.n, "train", "train_user_ids", err) ||
        check_rows(ds->val_in.rows, ds->val_user_ids.n, "val_in", "val_user_ids", err) ||
        check_rows(ds->val_out.rows, ds->val_user_ids.n, "val_out", "val_user_ids", err) ||
        check_rows(ds->test_in.rows, ds->test_user_ids.n, "test_in", "test_user_ids", err) ||
        check_rows(ds->test_out.rows, ds->test_user_ids.n, "test_out", "test_user_ids", err))
        return -1;

    for (int k = 0; k < 5; k++)
        if (vs_csr_validate(csr_slot(ds, k), CSR_NAMES[k], err)) return -1;
    return attach_meta(ds, &found[S_META_JSON], err);
}

/* A file shorter than the fixed header: say "truncated" if what is there looks like
 * the start of a dataset (an empty file included), "bad magic" otherwise. */
static int refuse_short_file(int fd, const char *path, uint64_t size, vs_error *err) {
    unsigned char head[sizeof DS_MAGIC];
    size_t want = size < sizeof head ? (size_t)size : sizeof head;
    ssize_t got = want ? pread(fd, head, want, 0) : 0;
    if (got < 0) return vs_errorf(err, "%s: cannot read: %s", path, strerror(errno));
    if (memcmp(head, DS_MAGIC, (size_t)got) != 0)
        return vs_errorf(err, "%s: not a vaesearch dataset (bad magic)", path);
    return vs_errorf(err, "%s: truncated: file has %" PRIu64 " bytes, the header alone needs %u",
                     path, size, DS_HEADER_BYTES);
}

int vs_dataset_open(vs_dataset *ds, const char *path, vs_error *err) {
    memset(ds, 0, sizeof *ds);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return vs_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return vs_errorf(err, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return vs_errorf(err, "%s: not a regular file", path);
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < DS_HEADER_BYTES) {
        int rc = refuse_short_file(fd, path, size, err);
        close(fd);
        return rc;
    }
    if (size > SIZE_MAX) {
        close(fd);
        return vs_errorf(err, "%s: file too large to map (%" PRIu64 " bytes)", path, size);
    }
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd);   /* the mapping keeps the file */
    if (map == MAP_FAILED) return vs_errorf(err, "%s: cannot mmap: %s", path, strerror(map_errno));

    vs_dataset tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.map = map;
    tmp.map_len = (size_t)size;
    if (parse_dataset(&tmp, map, size, err)) {
        vs_dataset_close(&tmp);
        return vs_error_prefix(err, "%s", path);
    }
    *ds = tmp;
    return 0;
}

/* ---- Writing ---- */

/* What one section will hold: a pointer into the caller's arrays and its size. */
struct out_section {
    const void *data;
    uint64_t count, length, offset;
    uint32_t crc;
};

/* An empty matrix or table may come with NULL arrays; it still has its one zero. */
static const int64_t ZERO_I64 = 0;
static const uint64_t ZERO_U64 = 0;

static int plan_csr(const vs_csr *m, const char *what, struct out_section *indptr,
                    struct out_section *indices, vs_error *err) {
    if (m->rows < 0 || m->rows > INT64_MAX / 8 - 1)
        return vs_errorf(err, "%s: bad row count %" PRId64, what, m->rows);
    if (m->rows > 0 && !m->indptr) return vs_errorf(err, "%s: %" PRId64 " rows but no indptr", what, m->rows);
    int64_t nnz = vs_csr_nnz(m);
    if (nnz < 0 || nnz > INT64_MAX / 8)
        return vs_errorf(err, "%s: indptr ends at %" PRId64 ", not a valid entry count", what, nnz);
    if (nnz > 0 && !m->indices) return vs_errorf(err, "%s: %" PRId64 " entries but no indices", what, nnz);
    indptr->data = m->rows > 0 ? (const void *)m->indptr : (const void *)&ZERO_I64;
    indptr->count = (uint64_t)m->rows + 1;
    indptr->length = indptr->count * 8;
    indices->data = m->indices;
    indices->count = (uint64_t)nnz;
    indices->length = indices->count * 4;
    return 0;
}

static int plan_strtab(const vs_strtab *t, const char *what, struct out_section *offsets,
                       struct out_section *bytes, vs_error *err) {
    if (t->n < 0 || t->n > INT64_MAX / 8 - 1) return vs_errorf(err, "%s: bad count %" PRId64, what, t->n);
    if (t->n > 0 && !t->offsets) return vs_errorf(err, "%s: %" PRId64 " strings but no offsets", what, t->n);
    uint64_t len = t->n > 0 ? t->offsets[t->n] : 0;
    if (len > (uint64_t)INT64_MAX) return vs_errorf(err, "%s: byte length %" PRIu64 " too large", what, len);
    if (len > 0 && !t->bytes) return vs_errorf(err, "%s: %" PRIu64 " bytes but no byte array", what, len);
    offsets->data = t->n > 0 ? (const void *)t->offsets : (const void *)&ZERO_U64;
    offsets->count = (uint64_t)t->n + 1;
    offsets->length = offsets->count * 8;
    bytes->data = t->bytes;
    bytes->count = bytes->length = len;
    return 0;
}

/* Fills sections[1..S_COUNT] from ds. No structural validation: the reader does that,
 * and tests rely on being able to write a well-sealed but malformed file. */
static int plan_sections(const vs_dataset *ds, struct out_section *sec, vs_error *err) {
    if (ds->n_items < 0 || ds->n_items > INT32_MAX)
        return vs_errorf(err, "n_items %" PRId64 " out of range", ds->n_items);
    vs_dataset *mut = (vs_dataset *)ds;   /* only to reuse the slot helpers; nothing is written */
    for (int k = 0; k < 5; k++)
        if (plan_csr(csr_slot(mut, k), CSR_NAMES[k], &sec[S_TRAIN_INDPTR + 2 * k],
                     &sec[S_TRAIN_INDICES + 2 * k], err))
            return -1;
    for (int k = 0; k < 4; k++)
        if (plan_strtab(strtab_slot(mut, k), STRTAB_NAMES[k], &sec[S_ITEM_IDS_OFFSETS + 2 * k],
                        &sec[S_ITEM_IDS_BYTES + 2 * k], err))
            return -1;
    const char *meta = ds->meta_json ? ds->meta_json : "{}";
    sec[S_META_JSON].data = meta;
    sec[S_META_JSON].count = sec[S_META_JSON].length = strlen(meta);
    return 0;
}

/* Lays the sections out after the table and builds header + table; returns file size. */
static uint64_t build_header(const vs_dataset *ds, struct out_section *sec, unsigned char *hdr,
                             uint32_t header_size) {
    uint64_t pos = align_up(header_size);
    for (int id = 1; id <= S_COUNT; id++) {
        sec[id].offset = pos;
        sec[id].crc = crc32_of(sec[id].data, sec[id].length);
        pos = align_up(pos + sec[id].length);
    }
    memset(hdr, 0, header_size);
    memcpy(hdr, DS_MAGIC, sizeof DS_MAGIC);
    put_u32(hdr + H_VERSION, DS_VERSION);
    put_u32(hdr + H_HEADER_SIZE, header_size);
    put_u64(hdr + H_N_ITEMS, (uint64_t)ds->n_items);
    put_u32(hdr + H_N_SECTIONS, S_COUNT);
    put_u64(hdr + H_FILE_SIZE, pos);
    for (int id = 1; id <= S_COUNT; id++) {
        unsigned char *e = hdr + DS_HEADER_BYTES + (uint64_t)(id - 1) * DS_ENTRY_BYTES;
        put_u32(e + E_ID, (uint32_t)id);
        put_u32(e + E_DTYPE, SPECS[id].dtype);
        put_u64(e + E_COUNT, sec[id].count);
        put_u64(e + E_OFFSET, sec[id].offset);
        put_u64(e + E_LENGTH, sec[id].length);
        put_u32(e + E_CRC, sec[id].crc);
    }
    put_u32(hdr + H_HEADER_CRC, header_crc_of(hdr, header_size));
    return pos;
}

static int write_all(int fd, const void *data, uint64_t len) {
    const char *p = data;
    while (len > 0) {
        size_t piece = len > (1u << 30) ? (1u << 30) : (size_t)len;
        ssize_t n = write(fd, p, piece);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (uint64_t)n;
    }
    return 0;
}

static int write_padding(int fd, uint64_t pos) {
    static const char zeros[DS_ALIGN];
    uint64_t pad = align_up(pos) - pos;
    return pad ? write_all(fd, zeros, pad) : 0;
}

static int write_body(int fd, const unsigned char *hdr, uint32_t header_size,
                      const struct out_section *sec) {
    if (write_all(fd, hdr, header_size) || write_padding(fd, header_size)) return -1;
    for (int id = 1; id <= S_COUNT; id++) {
        if (write_all(fd, sec[id].data, sec[id].length)) return -1;
        if (write_padding(fd, sec[id].offset + sec[id].length)) return -1;
    }
    return 0;
}

/* After the rename, the directory entry must reach the disk too. Best effort: some
 * file systems refuse fsync on directories, and the data itself is already safe. */
static void fsync_parent_dir(const char *path) {
    char *copy = vs_xstrdup(path);
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(copy);
}

int vs_dataset_write(const vs_dataset *ds, const char *path, vs_error *err) {
    struct out_section sec[S_COUNT + 1];
    memset(sec, 0, sizeof sec);
    if (plan_sections(ds, sec, err)) return vs_error_prefix(err, "%s: cannot write dataset", path);
    uint32_t header_size = DS_HEADER_BYTES + S_COUNT * DS_ENTRY_BYTES;
    unsigned char hdr[DS_HEADER_BYTES + S_COUNT * DS_ENTRY_BYTES];
    build_header(ds, sec, hdr, header_size);

    char *tmp = NULL;
    int fd = vs_tempfile_beside(path, &tmp, err);
    if (fd < 0) return -1;
    const char *step = NULL;
    if (write_body(fd, hdr, header_size, sec)) step = "write";
    else if (fsync(fd)) step = "fsync";
    int e = errno;
    if (close(fd) && !step) {
        step = "close";
        e = errno;
    }
    if (!step && rename(tmp, path)) {
        step = "rename";
        e = errno;
    }
    if (step) {
        unlink(tmp);
        vs_errorf(err, "%s: %s failed: %s", path, step, strerror(e));
        free(tmp);
        return -1;
    }
    free(tmp);
    fsync_parent_dir(path);
    return 0;
}

/* ---- Statistics ---- */

void vs_dataset_stats_compute(const vs_dataset *ds, vs_dataset_stats *st) {
    memset(st, 0, sizeof *st);
    st->train_users = ds->train.rows;
    st->train_interactions = vs_csr_nnz(&ds->train);
    st->val_users = ds->val_in.rows;
    st->val_in_interactions = vs_csr_nnz(&ds->val_in);
    st->val_out_interactions = vs_csr_nnz(&ds->val_out);
    st->test_users = ds->test_in.rows;
    st->test_in_interactions = vs_csr_nnz(&ds->test_in);
    st->test_out_interactions = vs_csr_nnz(&ds->test_out);
    st->users = st->train_users + st->val_users + st->test_users;
    st->items = ds->n_items;
    st->interactions = st->train_interactions + st->val_in_interactions + st->val_out_interactions +
                       st->test_in_interactions + st->test_out_interactions;
    double cells = (double)st->users * (double)st->items;
    st->sparsity = cells > 0 ? (double)st->interactions / cells : 0.0;
}
