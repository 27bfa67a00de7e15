/* strbuf: growing strings (see strbuf.h). */
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vs_error.h"

void vs_sb_putn(vs_strbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        b->s = vs_xrealloc(b->s, cap);
        b->cap = cap;
    }
    if (n) memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

void vs_sb_puts(vs_strbuf *b, const char *s) { vs_sb_putn(b, s, strlen(s)); }

void vs_sb_vprintf(vs_strbuf *b, const char *fmt, va_list ap) {
    /* Most pieces are short: format on the stack, and a second time only when not. */
    char small[256];
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n >= 0 && (size_t)n < sizeof small) {
        vs_sb_putn(b, small, (size_t)n);
    } else if (n >= 0) {
        char *big = vs_xmalloc((size_t)n + 1);
        vsnprintf(big, (size_t)n + 1, fmt, again);
        vs_sb_putn(b, big, (size_t)n);
        free(big);
    }
    va_end(again);
}

void vs_sb_printf(vs_strbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vs_sb_vprintf(b, fmt, ap);
    va_end(ap);
}

void vs_sb_reset(vs_strbuf *b) {
    b->len = 0;
    if (b->s) b->s[0] = 0;
}

char *vs_sb_take(vs_strbuf *b) {
    if (!b->s) return vs_xstrdup("");
    char *s = b->s;
    b->s = NULL;
    b->len = b->cap = 0;
    return s;
}

void vs_sb_free(vs_strbuf *b) {
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}
