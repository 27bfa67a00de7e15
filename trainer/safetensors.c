/* safetensors.c: reading and writing the safetensors format
 * (https://github.com/huggingface/safetensors):
 *   8 bytes   N, the header length, little-endian unsigned
 *   N bytes   a JSON object: name -> {"dtype", "shape", "data_offsets": [begin, end]}
 *             plus an optional "__metadata__": {string: string}; padded with spaces
 *   the rest  the data buffer; offsets are relative to its start, and the tensors
 *             cover it exactly: contiguous, no gaps, no overlaps.
 * The writer pads the header to a multiple of 8 and lays tensors out by decreasing
 * element size, so every tensor starts aligned for its dtype. The reader keeps the
 * whole file in one 64-byte aligned block and hands out pointers into it; a tensor
 * that a foreign writer left misaligned is copied to an aligned tail of that block. */
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tempfile.h"

/* Data is written and read as the host lays it out. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host"
#endif

#define ST_MAX_HEADER 100000000u            /* the reference implementation's limit */
#define ST_MAX_JSON_INT 9007199254740992.0  /* 2^53: larger offsets lose precision */
#define ST_METADATA_KEY "__metadata__"

static const char *const dtype_names[] = {"F32", "F64", "I32", "I64", "U8"};
#define ST_N_DTYPES ((int)(sizeof dtype_names / sizeof dtype_names[0]))

size_t vs_dtype_size(vs_dtype t) {
    switch (t) {
    case VS_F32: return 4;
    case VS_F64: return 8;
    case VS_I32: return 4;
    case VS_I64: return 8;
    case VS_U8: return 1;
    }
    return 0;
}

static int dtype_from_name(const char *name, vs_dtype *out) {
    for (int i = 0; i < ST_N_DTYPES; i++) {
        if (strcmp(name, dtype_names[i]) == 0) {
            *out = (vs_dtype)i;
            return 0;
        }
    }
    return -1;
}

/* Bytes of a tensor of this dtype and shape; -1 when the shape is invalid or the
 * size overflows. */
static int tensor_nbytes(vs_dtype dtype, int ndim, const int64_t *shape, uint64_t *out) {
    uint64_t bytes = vs_dtype_size(dtype);
    if (bytes == 0 || ndim < 0 || ndim > VS_ST_MAX_DIMS) return -1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return -1;
        uint64_t extent = (uint64_t)shape[d];
        if (extent != 0 && bytes > UINT64_MAX / extent) return -1;
        bytes *= extent;
    }
    *out = bytes;
    return 0;
}

/* ================================================================= writing */

static int check_tensors_for_write(const vs_st_tensor *tensors, int n_tensors,
                                   uint64_t *nbytes, vs_error *err) {
    for (int i = 0; i < n_tensors; i++) {
        const vs_st_tensor *t = &tensors[i];
        if (!t->name || !t->name[0])
            return vs_errorf(err, "tensor %d has no name", i);
        if (strcmp(t->name, ST_METADATA_KEY) == 0)
            return vs_errorf(err, "tensor %d: the name '%s' is reserved", i, t->name);
        for (int j = 0; j < i; j++)
            if (strcmp(tensors[j].name, t->name) == 0)
                return vs_errorf(err, "tensor '%s': name used twice", t->name);
        if ((int)t->dtype < 0 || (int)t->dtype >= ST_N_DTYPES)
            return vs_errorf(err, "tensor '%s': unknown dtype %d", t->name, (int)t->dtype);
        if (tensor_nbytes(t->dtype, t->ndim, t->shape, &nbytes[i]) < 0)
            return vs_errorf(err, "tensor '%s': invalid shape (%d dimensions, at most %d, "
                             "each >= 0)", t->name, t->ndim, VS_ST_MAX_DIMS);
        if (nbytes[i] > 0 && !t->data)
            return vs_errorf(err, "tensor '%s': no data", t->name);
    }
    return 0;
}

static int check_meta_for_write(const char *const (*meta)[2], int n_meta, vs_error *err) {
    for (int i = 0; i < n_meta; i++) {
        if (!meta[i][0] || !meta[i][1])
            return vs_errorf(err, "metadata entry %d: key or value missing", i);
        for (int j = 0; j < i; j++)
            if (strcmp(meta[j][0], meta[i][0]) == 0)
                return vs_errorf(err, "metadata key '%s' used twice", meta[i][0]);
    }
    return 0;
}

/* Data order: by decreasing element size, ties kept in the caller's order. Each
 * size divides the larger ones, so every begin is a multiple of its dtype size. */
static void layout_order(const vs_st_tensor *tensors, int n_tensors, int *order) {
    int placed = 0;
    for (size_t size = 8; size >= 1; size /= 2)
        for (int i = 0; i < n_tensors; i++)
            if (vs_dtype_size(tensors[i].dtype) == size) order[placed++] = i;
}

/* Builds the header JSON text (unpadded); NULL only if cJSON runs out of memory. */
static char *header_json(const vs_st_tensor *tensors, int n_tensors, const uint64_t *begin,
                         const uint64_t *nbytes, const char *const (*meta)[2], int n_meta) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    int ok = 1;
    if (n_meta > 0) {
        cJSON *m = cJSON_AddObjectToObject(root, ST_METADATA_KEY);
        ok = m != NULL;
        for (int i = 0; ok && i < n_meta; i++)
            ok = cJSON_AddStringToObject(m, meta[i][0], meta[i][1]) != NULL;
    }
    for (int i = 0; ok && i < n_tensors; i++) {
        const vs_st_tensor *t = &tensors[i];
        cJSON *entry = cJSON_AddObjectToObject(root, t->name);
        cJSON *shape = entry ? cJSON_CreateArray() : NULL;
        cJSON *offsets = shape ? cJSON_CreateArray() : NULL;
        ok = entry && shape && offsets &&
             cJSON_AddStringToObject(entry, "dtype", dtype_names[t->dtype]) != NULL;
        if (shape) cJSON_AddItemToObject(entry, "shape", shape);
        if (offsets) cJSON_AddItemToObject(entry, "data_offsets", offsets);
        for (int d = 0; ok && d < t->ndim; d++)
            ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        ok = ok && cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)begin[i])) &&
             cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)(begin[i] + nbytes[i])));
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

static int write_all(FILE *f, const void *data, size_t n) {
    return n == 0 || fwrite(data, 1, n, f) == n ? 0 : -1;
}

/* Writes the file body to an open temporary file; -1 with errno set on failure. */
static int write_body(FILE *f, const char *json, size_t json_len, size_t padded_len,
                      const vs_st_tensor *tensors, const int *order, int n_tensors,
                      const uint64_t *nbytes) {
    unsigned char len_bytes[8];
    for (int b = 0; b < 8; b++) len_bytes[b] = (unsigned char)((uint64_t)padded_len >> (8 * b));
    static const char spaces[] = "        ";
    if (write_all(f, len_bytes, 8) < 0 || write_all(f, json, json_len) < 0 ||
        write_all(f, spaces, padded_len - json_len) < 0)
        return -1;
    for (int i = 0; i < n_tensors; i++) {
        int t = order[i];
        if (write_all(f, tensors[t].data, (size_t)nbytes[t]) < 0) return -1;
    }
    return 0;
}

/* Best effort: makes the rename itself durable. A failure here loses nothing. */
static void fsync_parent_dir(const char *path) {
    char *dir = vs_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (!slash) strcpy(dir, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Writes the temporary file, syncs it and renames it over path. */
static int write_atomically(const char *path, const char *json, size_t json_len,
                            size_t padded_len, const vs_st_tensor *tensors, const int *order,
                            int n_tensors, const uint64_t *nbytes, vs_error *err) {
    char *tmp = NULL;
    int fd = vs_tempfile_beside(path, &tmp, err);
    if (fd < 0) return -1;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        vs_errorf(err, "%s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return -1;
    }
    int rc = 0;
    if (write_body(f, json, json_len, padded_len, tensors, order, n_tensors, nbytes) < 0 ||
        fflush(f) != 0 || fsync(fileno(f)) != 0) {
        rc = vs_errorf(err, "%s: write failed: %s", tmp, strerror(errno));
        fclose(f);
    } else if (fclose(f) != 0) {
        rc = vs_errorf(err, "%s: close failed: %s", tmp, strerror(errno));
    } else if (rename(tmp, path) != 0) {
        rc = vs_errorf(err, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
    }
    if (rc < 0) unlink(tmp);
    else fsync_parent_dir(path);
    free(tmp);
    return rc;
}

int vs_st_write(const char *path, const vs_st_tensor *tensors, int n_tensors,
                const char *const (*meta)[2], int n_meta, vs_error *err) {
    if (n_tensors < 0 || (n_tensors > 0 && !tensors) || n_meta < 0 || (n_meta > 0 && !meta))
        return vs_errorf(err, "%s: invalid tensor or metadata list", path);

    uint64_t *nbytes = vs_xcalloc((size_t)n_tensors + 1, sizeof *nbytes);
    uint64_t *begin = vs_xcalloc((size_t)n_tensors + 1, sizeof *begin);
    int *order = vs_xcalloc((size_t)n_tensors + 1, sizeof *order);
    char *json = NULL;
    int rc = -1;

    if (check_tensors_for_write(tensors, n_tensors, nbytes, err) < 0 ||
        check_meta_for_write(meta, n_meta, err) < 0) {
        vs_error_prefix(err, "%s", path);
        goto done;
    }
    layout_order(tensors, n_tensors, order);
    uint64_t offset = 0;
    for (int i = 0; i < n_tensors; i++) {
        begin[order[i]] = offset;
        offset += nbytes[order[i]];
    }
    json = header_json(tensors, n_tensors, begin, nbytes, meta, n_meta);
    if (!json) {
        vs_errorf(err, "%s: cannot build the header: out of memory", path);
        goto done;
    }
    size_t json_len = strlen(json);
    size_t padded_len = (json_len + 7) / 8 * 8;
    rc = write_atomically(path, json, json_len, padded_len, tensors, order, n_tensors, nbytes,
                          err);
done:
    if (json) cJSON_free(json);
    free(order);
    free(begin);
    free(nbytes);
    return rc;
}

/* ================================================================= reading */

/* One tensor's header entry while the file is being validated. */
typedef struct st_entry {
    char *name;
    vs_dtype dtype;
    int ndim;
    int64_t shape[VS_ST_MAX_DIMS];
    uint64_t begin, end;
} st_entry;

/* A JSON number that is a non-negative integer exactly representable in a double. */
static int json_uint(const cJSON *item, uint64_t *out) {
    if (!cJSON_IsNumber(item)) return -1;
    double v = item->valuedouble;
    if (!(v >= 0.0) || v > ST_MAX_JSON_INT || v != (double)(uint64_t)v) return -1;
    *out = (uint64_t)v;
    return 0;
}

static int parse_shape(const cJSON *shape, st_entry *e, vs_error *err) {
    if (!cJSON_IsArray(shape)) return vs_errorf(err, "\"shape\" is missing or not an array");
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > VS_ST_MAX_DIMS)
        return vs_errorf(err, "shape has %d dimensions, at most %d supported", ndim,
                         VS_ST_MAX_DIMS);
    int d = 0;
    const cJSON *dim;
    cJSON_ArrayForEach(dim, shape) {
        uint64_t extent;
        if (json_uint(dim, &extent) < 0)
            return vs_errorf(err, "shape entry %d is not a non-negative integer", d);
        e->shape[d++] = (int64_t)extent;
    }
    e->ndim = ndim;
    return 0;
}

/* Parses one tensor entry; the caller prefixes errors with the tensor's name. */
static int parse_entry(const cJSON *item, uint64_t data_len, st_entry *e, vs_error *err) {
    if (!cJSON_IsObject(item)) return vs_errorf(err, "entry is not a JSON object");

    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    if (!cJSON_IsString(dtype)) return vs_errorf(err, "\"dtype\" is missing or not a string");
    if (dtype_from_name(dtype->valuestring, &e->dtype) < 0)
        return vs_errorf(err, "unknown dtype '%s' (supported: F32, F64, I32, I64, U8)",
                         dtype->valuestring);

    if (parse_shape(cJSON_GetObjectItemCaseSensitive(item, "shape"), e, err) < 0) return -1;

    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        json_uint(cJSON_GetArrayItem(offsets, 0), &e->begin) < 0 ||
        json_uint(cJSON_GetArrayItem(offsets, 1), &e->end) < 0)
        return vs_errorf(err, "\"data_offsets\" is not a pair of non-negative integers");
    if (e->begin > e->end || e->end > data_len)
        return vs_errorf(err, "data_offsets [%llu, %llu] outside the %llu-byte data buffer",
                         (unsigned long long)e->begin, (unsigned long long)e->end,
                         (unsigned long long)data_len);

    uint64_t expected;
    if (tensor_nbytes(e->dtype, e->ndim, e->shape, &expected) < 0)
        return vs_errorf(err, "shape is too large");
    if (expected != e->end - e->begin)
        return vs_errorf(err, "shape needs %llu bytes of %s but data_offsets [%llu, %llu] "
                         "span %llu", (unsigned long long)expected, dtype_names[e->dtype],
                         (unsigned long long)e->begin, (unsigned long long)e->end,
                         (unsigned long long)(e->end - e->begin));
    return 0;
}

static int parse_metadata(const cJSON *meta, vs_st_file *out, vs_error *err) {
    if (!cJSON_IsObject(meta)) return vs_errorf(err, "__metadata__ is not a JSON object");
    int n = cJSON_GetArraySize(meta);
    out->meta_keys = vs_xcalloc((size_t)n + 1, sizeof *out->meta_keys);
    out->meta_values = vs_xcalloc((size_t)n + 1, sizeof *out->meta_values);
    const cJSON *item;
    cJSON_ArrayForEach(item, meta) {
        if (!cJSON_IsString(item))
            return vs_errorf(err, "__metadata__ '%s': value is not a string", item->string);
        for (int j = 0; j < out->n_meta; j++)
            if (strcmp(out->meta_keys[j], item->string) == 0)
                return vs_errorf(err, "__metadata__ '%s': key used twice", item->string);
        out->meta_keys[out->n_meta] = vs_xstrdup(item->string);
        out->meta_values[out->n_meta] = vs_xstrdup(item->valuestring);
        out->n_meta++;
    }
    return 0;
}

/* Orders entries by (begin, end, position) so coverage can be checked in one pass;
 * zero-length tensors sort before a longer one sharing their begin. */
typedef struct st_span {
    uint64_t begin, end;
    int entry;
} st_span;

static int span_compare(const void *a, const void *b) {
    const st_span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return (x->entry > y->entry) - (x->entry < y->entry);
}

static int name_compare(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Tensors must tile the data buffer exactly: no gap, no overlap, nothing left over.
 * Also refuses a name used twice (JSON allows duplicate keys; the format does not). */
static int check_layout(const st_entry *entries, int n, uint64_t data_len, vs_error *err) {
    st_span *spans = vs_xcalloc((size_t)n + 1, sizeof *spans);
    char **names = vs_xcalloc((size_t)n + 1, sizeof *names);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        spans[i] = (st_span){entries[i].begin, entries[i].end, i};
        names[i] = entries[i].name;
    }
    qsort(names, (size_t)n, sizeof *names, name_compare);
    for (int i = 1; i < n && rc == 0; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            rc = vs_errorf(err, "tensor '%s': name used twice", names[i]);

    qsort(spans, (size_t)n, sizeof *spans, span_compare);
    uint64_t covered = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const st_entry *e = &entries[spans[i].entry];
        if (e->begin > covered)
            rc = vs_errorf(err, "tensor '%s': data_offsets [%llu, %llu] leave bytes [%llu, "
                           "%llu) of the data buffer to no tensor", e->name,
                           (unsigned long long)e->begin, (unsigned long long)e->end,
                           (unsigned long long)covered, (unsigned long long)e->begin);
        else if (e->begin < covered)
            rc = vs_errorf(err, "tensor '%s': data_offsets [%llu, %llu] overlap tensor '%s' "
                           "[%llu, %llu]", e->name, (unsigned long long)e->begin,
                           (unsigned long long)e->end, entries[spans[i - 1].entry].name,
                           (unsigned long long)entries[spans[i - 1].entry].begin,
                           (unsigned long long)entries[spans[i - 1].entry].end);
        covered = e->end;
    }
    if (rc == 0 && covered != data_len)
        rc = vs_errorf(err, "not a safetensors file (the data buffer has %llu bytes after "
                       "the last tensor)", (unsigned long long)(data_len - covered));
    free(names);
    free(spans);
    return rc;
}

/* Reads the whole file into a 64-byte aligned block. */
static int slurp(const char *path, void **buf, size_t *len, vs_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return vs_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int saved_errno = errno;
        fclose(f);
        return vs_errorf(err, "%s: cannot stat: %s", path, strerror(saved_errno));
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(f);
        return vs_errorf(err, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    unsigned char *data = vs_xalloc_aligned(size);
    errno = 0;
    size_t got = size ? fread(data, 1, size, f) : 0;
    int failed = got != size || ferror(f);
    int saved_errno = errno;
    fclose(f);
    if (failed) {
        free(data);
        return vs_errorf(err, "%s: read failed: %s", path,
                         got != size && !saved_errno ? "file shrank while reading"
                                                     : strerror(saved_errno));
    }
    *buf = data;
    *len = size;
    return 0;
}

/* Points out->tensors into the buffer. A tensor whose bytes are misaligned for its
 * dtype is copied into a 64-byte aligned tail appended to the same block, so the
 * caller can always read it through a typed pointer. */
static void place_tensors(vs_st_file *out, const st_entry *entries, size_t data_start) {
    size_t tail = 0;
    for (int i = 0; i < out->n_tensors; i++)
        if ((data_start + entries[i].begin) % vs_dtype_size(entries[i].dtype) != 0)
            tail += (size_t)((entries[i].end - entries[i].begin + 63) / 64 * 64);
    if (tail > 0) {
        size_t file_part = (out->len + 63) / 64 * 64;
        unsigned char *grown = vs_xalloc_aligned(file_part + tail);
        memcpy(grown, out->buf, out->len);
        free(out->buf);
        out->buf = grown;
        tail = file_part;   /* from here on: where the next copy goes */
    }
    unsigned char *base = out->buf;
    for (int i = 0; i < out->n_tensors; i++) {
        const st_entry *e = &entries[i];
        vs_st_tensor *t = &out->tensors[i];
        unsigned char *src = base + data_start + e->begin;
        t->name = out->tensor_names[i];
        t->dtype = e->dtype;
        t->ndim = e->ndim;
        memcpy(t->shape, e->shape, sizeof t->shape);
        if ((size_t)(src - base) % vs_dtype_size(e->dtype) != 0) {
            memcpy(base + tail, src, (size_t)(e->end - e->begin));
            src = base + tail;
            tail += (size_t)((e->end - e->begin + 63) / 64 * 64);
        }
        t->data = src;
    }
}

/* Validates the header and fills out's tensors and metadata; errors unprefixed. */
static int parse_header(vs_st_file *out, vs_error *err) {
    const unsigned char *bytes = out->buf;
    if (out->len < 8)
        return vs_errorf(err, "not a safetensors file (%zu bytes, too short for the 8-byte "
                         "header length)", out->len);
    uint64_t header_len = 0;
    for (int b = 7; b >= 0; b--) header_len = (header_len << 8) | bytes[b];
    if (header_len > out->len - 8)
        return vs_errorf(err, "not a safetensors file (header length %llu exceeds the %zu "
                         "bytes that follow it)", (unsigned long long)header_len, out->len - 8);
    if (header_len > ST_MAX_HEADER)
        return vs_errorf(err, "not a safetensors file (header length %llu over the %u-byte "
                         "limit)", (unsigned long long)header_len, ST_MAX_HEADER);

    const char *text = (const char *)bytes + 8, *parse_end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, (size_t)header_len, &parse_end, 0);
    if (!root) {
        /* On failure cJSON leaves parse_end at the error (not its racy global). */
        long where = parse_end && parse_end >= text ? (long)(parse_end - text) : 0;
        return vs_errorf(err, "not a safetensors file (header is not valid JSON, near byte "
                         "%ld)", where);
    }
    int rc = 0;
    for (const char *p = parse_end; rc == 0 && p && p < text + header_len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            rc = vs_errorf(err, "not a safetensors file (header has bytes after its JSON, "
                           "at byte %ld)", (long)(p - text));
    if (rc == 0 && !cJSON_IsObject(root))
        rc = vs_errorf(err, "not a safetensors file (header is not a JSON object)");
    if (rc < 0) {
        cJSON_Delete(root);
        return -1;
    }

    size_t data_start = 8 + (size_t)header_len;
    uint64_t data_len = out->len - data_start;
    int n_entries = cJSON_GetArraySize(root);
    st_entry *entries = vs_xcalloc((size_t)n_entries + 1, sizeof *entries);
    out->tensor_names = vs_xcalloc((size_t)n_entries + 1, sizeof *out->tensor_names);
    const cJSON *item;
    cJSON_ArrayForEach(item, root) {
        if (strcmp(item->string, ST_METADATA_KEY) == 0) {
            if (out->meta_keys) rc = vs_errorf(err, "__metadata__ appears twice");
            else rc = parse_metadata(item, out, err);
            if (rc < 0) break;
            continue;
        }
        st_entry *e = &entries[out->n_tensors];
        out->tensor_names[out->n_tensors] = e->name = vs_xstrdup(item->string);
        out->n_tensors++;   /* counted now so vs_st_free releases the name on error */
        if (parse_entry(item, data_len, e, err) < 0) {
            rc = vs_error_prefix(err, "tensor '%s'", e->name);
            break;
        }
    }
    cJSON_Delete(root);
    if (rc == 0) rc = check_layout(entries, out->n_tensors, data_len, err);
    if (rc == 0) {
        out->tensors = vs_xcalloc((size_t)out->n_tensors + 1, sizeof *out->tensors);
        place_tensors(out, entries, data_start);
    }
    free(entries);   /* names are owned by out->tensor_names */
    return rc;
}

int vs_st_read(const char *path, vs_st_file *out, vs_error *err) {
    memset(out, 0, sizeof *out);
    if (slurp(path, &out->buf, &out->len, err) < 0) return -1;
    if (parse_header(out, err) < 0) {
        vs_error_prefix(err, "%s", path);
        vs_st_free(out);
        return -1;
    }
    return 0;
}

const vs_st_tensor *vs_st_find(const vs_st_file *f, const char *name) {
    for (int i = 0; i < f->n_tensors; i++)
        if (f->tensors && strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

const char *vs_st_meta(const vs_st_file *f, const char *key) {
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta_keys[i], key) == 0) return f->meta_values[i];
    return NULL;
}

void vs_st_free(vs_st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->n_tensors; i++)
        if (f->tensor_names) free(f->tensor_names[i]);
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_values[i]);
    }
    free(f->tensor_names);
    free(f->tensors);
    free(f->meta_keys);
    free(f->meta_values);
    free(f->buf);
    memset(f, 0, sizeof *f);
}
