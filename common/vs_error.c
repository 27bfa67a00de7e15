/* vs_error: error messages with context, and checked allocation. */
#include "vs_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A message is one line of text: control characters (from a damaged file, a hostile
 * trainer) are written as \xNN, so that printing a message cannot move the cursor,
 * change colours or forge lines. Idempotent: the escapes hold no control character. */
static void escape_controls(vs_error *err) {
    char out[sizeof err->msg];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)err->msg; *p && o + 1 < sizeof out; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            if (o + 5 >= sizeof out) break;
            snprintf(out + o, 5, "\\x%02x", *p);
            o += 4;
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o] = 0;
    memcpy(err->msg, out, o + 1);
}

int vs_errorf(vs_error *err, const char *fmt, ...) {
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    escape_controls(err);
    return -1;
}

int vs_error_prefix(vs_error *err, const char *fmt, ...) {
    if (!err) return -1;
    char prefix[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* A message longer than the buffer is cut; that is the intended behaviour. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
#pragma GCC diagnostic pop
    escape_controls(err);
    return -1;
}

static void out_of_memory(size_t n) {
    fprintf(stderr, "vaesearch: out of memory allocating %zu bytes\n", n);
    abort();
}

void *vs_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) out_of_memory(n);
    return p;
}

void *vs_xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) out_of_memory(count * size);
    return p;
}

void *vs_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) out_of_memory(n);
    return q;
}

void *vs_xalloc_aligned(size_t n) {
    size_t rounded = (n + 63) / 64 * 64;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) out_of_memory(n);
    memset(p, 0, rounded ? rounded : 64);
    return p;
}

char *vs_xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = vs_xmalloc(n);
    memcpy(p, s, n);
    return p;
}
