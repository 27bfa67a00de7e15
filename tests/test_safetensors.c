/* test_safetensors: round trips through vs_st_write / vs_st_read, the writer's exact
 * bytes against the format written out by hand, hand-made files from other writers
 * (unpadded, misaligned), and corrupt files refused with messages, never a crash. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "common/pcg.h"
#include "trainer/model_io.h"
#include "trainer/safetensors.h"

static char tmp_dir[512];

static const char *tmp_path(const char *name) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    return path;
}

static void write_bytes(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(bytes, 1, n, f) != n)) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    fclose(f);
}

static unsigned char *read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)size + 1);
    *n = fread(buf, 1, (size_t)size, f);
    fclose(f);
    return buf;
}

/* A file as another writer might lay it out: header_len (normally strlen(header)),
 * the header text, then the data buffer. */
static void write_raw(const char *path, uint64_t header_len, const char *header,
                      const void *data, size_t data_len) {
    size_t hlen = strlen(header), total = 8 + hlen + data_len;
    unsigned char *buf = malloc(total + 1);
    for (int b = 0; b < 8; b++) buf[b] = (unsigned char)(header_len >> (8 * b));
    memcpy(buf + 8, header, hlen);
    if (data_len) memcpy(buf + 8 + hlen, data, data_len);
    write_bytes(path, buf, total);
    free(buf);
}

static int aligned_for(const vs_st_tensor *t) {
    return (uintptr_t)t->data % vs_dtype_size(t->dtype) == 0;
}

/* --------------------------------------------------------------- round trip */

static void test_round_trip(void) {
    float w[3][5];
    double bias[7];
    int64_t ids[2][2] = {{-1, 1LL << 40}, {7, INT64_MIN}};
    int32_t counts[3] = {-5, 0, 2147483647};
    uint8_t bytes[5] = {0, 1, 127, 128, 255};
    double scalar = -0.125;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++) w[i][j] = (float)(i * 10 + j) / 7.0f;
    for (int i = 0; i < 7; i++) bias[i] = 1.0 / (i + 1);

    /* U8 first and F32 before F64 so the writer must reorder data for alignment. */
    const vs_st_tensor tensors[] = {
        {"bytes", VS_U8, 1, {5}, bytes},
        {"encoder.w", VS_F32, 2, {3, 5}, w},
        {"bias", VS_F64, 1, {7}, bias},
        {"ids", VS_I64, 2, {2, 2}, ids},
        {"counts", VS_I32, 1, {3}, counts},
        {"empty", VS_F32, 2, {0, 4}, NULL},
        {"scalar", VS_F64, 0, {0}, &scalar},
    };
    const int n = (int)(sizeof tensors / sizeof tensors[0]);
    const char *const meta[][2] = {{"format", "vaesearch"},
                                   {"note", "quotes \" and \\ and\nnewline, caf\xc3\xa9"}};
    const char *path = tmp_path("round.safetensors");
    vs_error err = {{0}};
    CHECK_OK(vs_st_write(path, tensors, n, meta, 2, &err), &err);

    char tmp_name[1100];
    snprintf(tmp_name, sizeof tmp_name, "%s.tmp.%ld", path, (long)getpid());
    CHECK_MSG(access(tmp_name, F_OK) != 0, "temporary file %s left behind", tmp_name);

    vs_st_file f;
    CHECK_OK(vs_st_read(path, &f, &err), &err);
    if (!f.buf) return;
    CHECK(f.n_tensors == n);
    CHECK(f.n_meta == 2);
    for (int i = 0; i < n && i < f.n_tensors; i++) {
        const vs_st_tensor *want = &tensors[i];
        const vs_st_tensor *got = vs_st_find(&f, want->name);
        CHECK_MSG(got != NULL, "tensor %s missing", want->name);
        if (!got) continue;
        CHECK_MSG(strcmp(f.tensors[i].name, want->name) == 0, "order: %s at %d",
                  f.tensors[i].name, i);
        CHECK(got->dtype == want->dtype);
        CHECK(got->ndim == want->ndim);
        size_t bytes_n = vs_dtype_size(want->dtype);
        for (int d = 0; d < want->ndim; d++) {
            CHECK(got->shape[d] == want->shape[d]);
            bytes_n *= (size_t)want->shape[d];
        }
        CHECK_MSG(aligned_for(got), "tensor %s misaligned", want->name);
        if (bytes_n) CHECK_MSG(memcmp(got->data, want->data, bytes_n) == 0, "%s data", want->name);
    }
    const vs_st_tensor *wt = vs_st_find(&f, "encoder.w");
    if (wt) CHECK(((const float *)wt->data)[7] == w[1][2]);
    CHECK(vs_st_find(&f, "missing") == NULL);
    CHECK(vs_st_find(&f, "__metadata__") == NULL);
    CHECK(vs_st_meta(&f, "format") && strcmp(vs_st_meta(&f, "format"), "vaesearch") == 0);
    CHECK(vs_st_meta(&f, "note") && strcmp(vs_st_meta(&f, "note"), meta[1][1]) == 0);
    CHECK(vs_st_meta(&f, "absent") == NULL);

    /* File size: 8 + padded header + every tensor's bytes. */
    uint64_t header_len = 0;
    for (int b = 7; b >= 0; b--) header_len = (header_len << 8) | ((unsigned char *)f.buf)[b];
    CHECK(header_len % 8 == 0);
    size_t data_bytes = 5 + 3 * 5 * 4 + 7 * 8 + 4 * 8 + 3 * 4 + 0 + 8;
    CHECK(f.len == 8 + header_len + data_bytes);
    vs_st_free(&f);
    CHECK(f.buf == NULL && f.tensors == NULL && f.n_tensors == 0);
    vs_st_free(&f);   /* harmless twice */

    /* Overwriting replaces the file atomically; no tensors and no metadata is valid. */
    CHECK_OK(vs_st_write(path, NULL, 0, NULL, 0, &err), &err);
    CHECK_OK(vs_st_read(path, &f, &err), &err);
    CHECK(f.n_tensors == 0 && f.n_meta == 0 && f.len == 16);
    vs_st_free(&f);
}

/* --------------------------------------------------------------- exact bytes */

static void check_file_bytes(const char *path, const unsigned char *want, size_t want_len) {
    size_t got_len = 0;
    unsigned char *got = read_bytes(path, &got_len);
    CHECK_MSG(got && got_len == want_len, "%s: %zu bytes, want %zu", path, got_len, want_len);
    if (got && got_len == want_len) {
        for (size_t i = 0; i < want_len; i++) {
            if (got[i] != want[i]) {
                CHECK_MSG(0, "%s: byte %zu is 0x%02x, want 0x%02x", path, i, got[i], want[i]);
                break;
            }
        }
    }
    free(got);
}

static void test_exact_bytes(void) {
    vs_error err = {{0}};
    const float w[2] = {1.0f, -2.0f};
    const vs_st_tensor one[] = {{"w", VS_F32, 1, {2}, w}};
    const char *const meta[][2] = {{"k", "v"}};
    const char *path = tmp_path("exact1.safetensors");
    CHECK_OK(vs_st_write(path, one, 1, meta, 1, &err), &err);
    /* 79 bytes of JSON padded with one space to 80 = 0x50. */
    static const char header1[] =
        "{\"__metadata__\":{\"k\":\"v\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[0,8]}} ";
    unsigned char want1[8 + 80 + 8] = {0x50, 0, 0, 0, 0, 0, 0, 0};
    CHECK(strlen(header1) == 80);
    memcpy(want1 + 8, header1, 80);
    const unsigned char data1[8] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0};
    memcpy(want1 + 88, data1, 8);
    check_file_bytes(path, want1, sizeof want1);

    /* F32 "a" before F64 "b" in the header, but b's bytes come first in the data;
     * 108 bytes of JSON padded with four spaces to 112 = 0x70. */
    const float a = 0.5f;
    const double b = 3.0;
    const vs_st_tensor two[] = {{"a", VS_F32, 1, {1}, &a}, {"b", VS_F64, 1, {1}, &b}};
    path = tmp_path("exact2.safetensors");
    CHECK_OK(vs_st_write(path, two, 2, NULL, 0, &err), &err);
    static const char header2[] =
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
        "\"b\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}    ";
    unsigned char want2[8 + 112 + 12] = {0x70, 0, 0, 0, 0, 0, 0, 0};
    CHECK(strlen(header2) == 112);
    memcpy(want2 + 8, header2, 112);
    const unsigned char data2[12] = {0, 0, 0, 0, 0, 0, 0x08, 0x40,   /* 3.0 */
                                     0x00, 0x00, 0x00, 0x3f};       /* 0.5f */
    memcpy(want2 + 120, data2, 12);
    check_file_bytes(path, want2, sizeof want2);
}

/* --------------------------------------------------------------- foreign files */

static void test_foreign_layout(void) {
    /* Unpadded header, keys in another order, a U8 tensor first so the F32 after it
     * starts at an odd offset: the reader must hand out an aligned copy. */
    static const char header[] =
        "{\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[3,11]},"
        "\"x\":{\"shape\":[3],\"data_offsets\":[0,3],\"dtype\":\"U8\"},"
        "\"__metadata__\":{}}";
    const float y[2] = {1.5f, -7.25f};
    unsigned char data[11] = {9, 8, 7};
    memcpy(data + 3, y, sizeof y);
    const char *path = tmp_path("foreign.safetensors");
    write_raw(path, strlen(header), header, data, sizeof data);

    vs_st_file f;
    vs_error err = {{0}};
    CHECK_OK(vs_st_read(path, &f, &err), &err);
    if (!f.buf) return;
    const vs_st_tensor *ty = vs_st_find(&f, "y"), *tx = vs_st_find(&f, "x");
    CHECK(ty && tx && f.n_tensors == 2 && f.n_meta == 0);
    if (ty && tx) {
        CHECK(aligned_for(ty));
        CHECK(((const float *)ty->data)[0] == 1.5f && ((const float *)ty->data)[1] == -7.25f);
        CHECK(memcmp(tx->data, data, 3) == 0);
    }
    CHECK(f.len == 8 + strlen(header) + sizeof data);
    vs_st_free(&f);

    /* Padding with trailing whitespace and zero-length tensors sharing an offset. */
    static const char padded[] =
        "{\"e1\":{\"dtype\":\"I64\",\"shape\":[0],\"data_offsets\":[0,0]},"
        "\"e2\":{\"dtype\":\"F64\",\"shape\":[2,0],\"data_offsets\":[0,0]},"
        "\"s\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4]}}   \n   ";
    const int32_t s = -42;
    path = tmp_path("padded.safetensors");
    write_raw(path, strlen(padded), padded, &s, 4);
    CHECK_OK(vs_st_read(path, &f, &err), &err);
    const vs_st_tensor *ts = f.buf ? vs_st_find(&f, "s") : NULL;
    CHECK(ts && ts->ndim == 0 && *(const int32_t *)ts->data == -42);
    CHECK(f.n_tensors == 3);
    vs_st_free(&f);
}

/* --------------------------------------------------------------- corrupt files */

/* Reads a file that must be refused with a message naming the path and containing
 * `expect`. */
static void expect_refused(const char *path, const char *expect, int line) {
    vs_st_file f;
    vs_error err = {{0}};
    int rc = vs_st_read(path, &f, &err);
    CHECK_MSG(rc == -1, "line %d: %s was accepted", line, path);
    CHECK_MSG(f.buf == NULL && f.tensors == NULL && f.n_tensors == 0,
              "line %d: output not cleared on failure", line);
    CHECK_MSG(strstr(err.msg, path) != NULL, "line %d: message lacks the path: %s", line,
              err.msg);
    CHECK_MSG(strstr(err.msg, expect) != NULL, "line %d: message '%s' lacks '%s'", line,
              err.msg, expect);
    if (rc == 0) vs_st_free(&f);
}

#define REFUSED_RAW(name, header, data, data_len, expect)                        \
    do {                                                                         \
        const char *p_ = tmp_path(name);                                         \
        write_raw(p_, strlen(header), header, data, data_len);                   \
        expect_refused(p_, expect, __LINE__);                                    \
    } while (0)

static void test_corrupt(void) {
    unsigned char zeros[64] = {0};
    const char *path;

    path = tmp_path("empty.safetensors");
    write_bytes(path, "", 0);
    expect_refused(path, "not a safetensors file", __LINE__);
    path = tmp_path("short.safetensors");
    write_bytes(path, "\x02\0\0", 3);
    expect_refused(path, "too short", __LINE__);

    path = tmp_path("biglen.safetensors");
    write_raw(path, 1000, "{}", NULL, 0);
    expect_refused(path, "header length 1000 exceeds", __LINE__);
    write_raw(path, UINT64_MAX, "{}", NULL, 0);
    expect_refused(path, "exceeds", __LINE__);
    path = tmp_path("nolen.safetensors");
    write_raw(path, 0, "{}", NULL, 0);
    expect_refused(path, "not valid JSON", __LINE__);

    REFUSED_RAW("badjson.st", "{\"a\": {\"dtype\": ", NULL, 0, "not valid JSON");
    REFUSED_RAW("array.st", "[1, 2]", NULL, 0, "not a JSON object");
    REFUSED_RAW("trailing.st", "{}  x", NULL, 0, "bytes after its JSON");
    REFUSED_RAW("notobj.st", "{\"a\": 3}", NULL, 0, "tensor 'a': entry is not a JSON object");
    REFUSED_RAW("dtype.st", "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
                zeros, 4, "tensor 'a': unknown dtype 'F16'");
    REFUSED_RAW("nodtype.st", "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", zeros, 8,
                "tensor 'a': \"dtype\" is missing");
    REFUSED_RAW("noshape.st", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", zeros, 8,
                "\"shape\" is missing");
    REFUSED_RAW("fracshape.st",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,10]}}", zeros, 10,
                "shape entry 0");
    REFUSED_RAW("negshape.st",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", zeros, 8,
                "shape entry 0");
    REFUSED_RAW("fivedims.st",
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,1]}}",
                zeros, 1, "5 dimensions");
    REFUSED_RAW("hugeshape.st",
                "{\"a\":{\"dtype\":\"F64\",\"shape\":[4503599627370496,4503599627370496,16,16],"
                "\"data_offsets\":[0,8]}}", zeros, 8, "tensor 'a': shape is too large");
    REFUSED_RAW("range.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
                zeros, 12, "tensor 'a': data_offsets [0, 16] outside the 12-byte");
    REFUSED_RAW("reversed.st", "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}",
                zeros, 4, "outside");
    REFUSED_RAW("negoff.st", "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[-4,0]}}",
                zeros, 4, "\"data_offsets\" is not a pair");
    REFUSED_RAW("oneoff.st", "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4]}}",
                zeros, 4, "\"data_offsets\" is not a pair");
    REFUSED_RAW("mismatch.st",
                "{\"a\":{\"dtype\":\"F64\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", zeros, 24,
                "tensor 'a': shape needs 48 bytes of F64 but data_offsets [0, 24] span 24");
    REFUSED_RAW("overlap.st",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", zeros, 12,
                "tensor 'b': data_offsets [4, 12] overlap tensor 'a'");
    REFUSED_RAW("same.st",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}", zeros, 8,
                "overlap");
    REFUSED_RAW("gap.st",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", zeros, 12,
                "tensor 'b': data_offsets [8, 12] leave bytes [4, 8)");
    REFUSED_RAW("leadgap.st", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}",
                zeros, 4, "leave bytes [0, 2)");
    REFUSED_RAW("tail.st", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}",
                zeros, 6, "4 bytes after the last tensor");
    REFUSED_RAW("dup.st",
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", zeros, 2,
                "tensor 'a': name used twice");
    REFUSED_RAW("meta.st", "{\"__metadata__\":{\"k\":3}}", NULL, 0,
                "__metadata__ 'k': value is not a string");
    REFUSED_RAW("meta2.st", "{\"__metadata__\":[\"k\"]}", NULL, 0,
                "__metadata__ is not a JSON object");

    path = tmp_path("does-not-exist.safetensors");
    expect_refused(path, "cannot open", __LINE__);
    expect_refused(tmp_dir, "not a regular file", __LINE__);
}

/* Every truncation of a valid file is refused; random byte flips never crash. */
static void test_truncation_and_mutation(void) {
    const float w[6] = {1, 2, 3, 4, 5, 6};
    const int64_t ids[2] = {10, 20};
    const vs_st_tensor tensors[] = {{"w", VS_F32, 2, {2, 3}, w}, {"ids", VS_I64, 1, {2}, ids}};
    const char *const meta[][2] = {{"epoch", "3"}};
    const char *good = tmp_path("good.safetensors");
    vs_error err = {{0}};
    CHECK_OK(vs_st_write(good, tensors, 2, meta, 1, &err), &err);
    size_t len = 0;
    unsigned char *bytes = read_bytes(good, &len);
    if (!bytes) return;

    const char *bad = tmp_path("mutated.safetensors");
    int accepted_truncations = 0;
    for (size_t cut = 0; cut < len; cut++) {
        write_bytes(bad, bytes, cut);
        vs_st_file f;
        if (vs_st_read(bad, &f, &err) == 0) {
            accepted_truncations++;
            vs_st_free(&f);
        }
    }
    CHECK_MSG(accepted_truncations == 0, "%d truncations accepted", accepted_truncations);

    unsigned char *copy = malloc(len);
    int accepted = 0;
    for (int round = 0; round < 1500; round++) {
        vs_pcg32 g = vs_stream(7, VS_RNG_SYNTH, 4242, (uint64_t)round);
        memcpy(copy, bytes, len);
        int flips = 1 + (int)vs_pcg32_bounded(&g, 3);
        for (int k = 0; k < flips; k++)
            copy[vs_pcg32_bounded(&g, (uint32_t)len)] = (unsigned char)vs_pcg32_next(&g);
        write_bytes(bad, copy, len);
        vs_st_file f;
        if (vs_st_read(bad, &f, &err) == 0) {
            accepted++;   /* e.g. a flipped data byte: still a valid file */
            for (int t = 0; t < f.n_tensors; t++) CHECK(aligned_for(&f.tensors[t]));
            vs_st_free(&f);
        } else {
            CHECK(strstr(err.msg, bad) != NULL);
        }
    }
    CHECK(accepted > 0 && accepted < 1500);
    free(copy);
    free(bytes);
}

/* --------------------------------------------------------------- write errors */

static void test_write_errors(void) {
    vs_error err = {{0}};
    const float v[2] = {1, 2};
    char path[1100];
    snprintf(path, sizeof path, "%s/no-such-dir/x.safetensors", tmp_dir);
    const vs_st_tensor ok[] = {{"v", VS_F32, 1, {2}, v}};
    CHECK(vs_st_write(path, ok, 1, NULL, 0, &err) == -1);
    CHECK_MSG(strstr(err.msg, "no-such-dir") && strstr(err.msg, strerror(ENOENT)), "%s",
              err.msg);

    const char *p = tmp_path("bad-write.safetensors");
    const vs_st_tensor dup[] = {{"v", VS_F32, 1, {2}, v}, {"v", VS_F32, 1, {2}, v}};
    CHECK(vs_st_write(p, dup, 2, NULL, 0, &err) == -1 && strstr(err.msg, "used twice"));
    const vs_st_tensor neg[] = {{"v", VS_F32, 1, {-2}, v}};
    CHECK(vs_st_write(p, neg, 1, NULL, 0, &err) == -1 && strstr(err.msg, "invalid shape"));
    const vs_st_tensor deep[] = {{"v", VS_F32, 5, {1, 1, 1, 1}, v}};
    CHECK(vs_st_write(p, deep, 1, NULL, 0, &err) == -1 && strstr(err.msg, "'v'"));
    const vs_st_tensor reserved[] = {{"__metadata__", VS_F32, 1, {2}, v}};
    CHECK(vs_st_write(p, reserved, 1, NULL, 0, &err) == -1 && strstr(err.msg, "reserved"));
    const vs_st_tensor nodata[] = {{"v", VS_F32, 1, {2}, NULL}};
    CHECK(vs_st_write(p, nodata, 1, NULL, 0, &err) == -1 && strstr(err.msg, "no data"));
    const vs_st_tensor baddtype[] = {{"v", (vs_dtype)9, 1, {2}, v}};
    CHECK(vs_st_write(p, baddtype, 1, NULL, 0, &err) == -1 && strstr(err.msg, "dtype"));
    const char *const dup_meta[][2] = {{"k", "1"}, {"k", "2"}};
    CHECK(vs_st_write(p, ok, 1, dup_meta, 2, &err) == -1 && strstr(err.msg, "'k'"));
    CHECK(access(p, F_OK) != 0);   /* nothing written on refusal */
}

/* ---------------------------------------------------------- hostile files */

/* A link planted at the name the writer used to pick (<path>.tmp.<pid>) must not
 * redirect the write: the writer's temporary name is its own, made exclusively. */
static void test_planted_link(void) {
    vs_error err = {{0}};
    const float v[2] = {1, 2};
    const vs_st_tensor ok[] = {{"v", VS_F32, 1, {2}, v}};
    char path[1100], planted[1200], victim[1100];
    snprintf(path, sizeof path, "%s", tmp_path("linked.safetensors"));
    snprintf(victim, sizeof victim, "%s", tmp_path("victim.txt"));
    snprintf(planted, sizeof planted, "%s.tmp.%ld", path, (long)getpid());
    write_bytes(victim, "precious", 8);
    unlink(planted);
    CHECK(symlink(victim, planted) == 0);
    CHECK_OK(vs_st_write(path, ok, 1, NULL, 0, &err), &err);
    FILE *f = fopen(victim, "rb");
    char buf[16] = {0};
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    CHECK_MSG(n == 8 && !strcmp(buf, "precious"), "the victim now holds %zu bytes", n);
    vs_st_file r;
    CHECK_OK(vs_st_read(path, &r, &err), &err);
    if (!err.msg[0]) vs_st_free(&r);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
    unlink(planted);
}

/* A 300-byte model whose config asks for 6 hidden layers of 65536 is refused before
 * any memory is sized from the config (it took vaesearch recommend down). */
static void test_model_shape_before_memory(void) {
    vs_error err = {{0}};
    const int64_t offsets[3] = {0, 1, 2};
    const unsigned char ids[2] = {'a', 'b'};
    const vs_st_tensor t[] = {{"item_ids.offsets", VS_I64, 1, {3}, offsets}, {"item_ids.bytes", VS_U8, 1, {2}, ids}};
    const char *const meta[][2] = {
        {"format", "vaesearch-multvae"},
        {"config", "{\"hidden_dims\": [65536, 65536, 65536, 65536, 65536, 65536], \"latent_dim\": 65536}"}};
    const char *path = tmp_path("huge-config.safetensors");
    CHECK_OK(vs_st_write(path, t, 2, meta, 2, &err), &err);
    vs_model_file m;
    err.msg[0] = 0;
    CHECK(vs_model_load(path, &m, &err) == -1);
    CHECK_MSG(strstr(err.msg, "encoder.0.weight") && strstr(err.msg, "[2, 65536]"), "message: %s", err.msg);
}

int main(void) {
    const char *base = getenv("VS_TEST_TMP");
    snprintf(tmp_dir, sizeof tmp_dir, "%s", base && base[0] ? base : "/tmp/vs_test_safetensors");
    if (mkdir(tmp_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s: %s\n", tmp_dir, strerror(errno));
        return 1;
    }
    test_round_trip();
    test_exact_bytes();
    test_foreign_layout();
    test_corrupt();
    test_truncation_and_mutation();
    test_write_errors();
    test_planted_link();
    test_model_shape_before_memory();
    return test_finish();
}
