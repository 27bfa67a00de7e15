/* vs_error: how vaesearch reports errors. Functions that can fail return 0 on
 * success and -1 on failure after writing a message into a caller's vs_error.
 * Callers add context (file, line, key) by prefixing with vs_error_prefix. */
#ifndef VS_ERROR_H
#define VS_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vs_error {
    char msg[1024];
} vs_error;

/* Sets the message (printf-style), one line: control characters become \xNN. Always
 * returns -1 so `return vs_errorf(...)` reads well. */
int vs_errorf(vs_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends "context: " to the message already set. Returns -1. */
int vs_error_prefix(vs_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Allocation that never returns NULL for a nonzero size: it aborts with a message,
 * because running out of memory mid-training has no useful recovery. */
void *vs_xmalloc(size_t n);
void *vs_xcalloc(size_t count, size_t size);
void *vs_xrealloc(void *p, size_t n);
/* 64-byte aligned, zeroed; free with free(). */
void *vs_xalloc_aligned(size_t n);
char *vs_xstrdup(const char *s);

#ifdef __cplusplus
}
#endif

#endif
