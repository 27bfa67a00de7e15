/* strbuf: a growing, NUL-terminated string for text built piece by piece (exact JSON,
 * a search space's canonical form, lists of keys for messages, a trainer's output
 * lines), so no caller sizes a buffer by hand or truncates. Start from {0}, append,
 * then vs_sb_take() the text or vs_sb_free() it. Appends cannot fail: memory comes
 * from vs_xrealloc, which aborts when there is none. */
#ifndef VS_STRBUF_H
#define VS_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* s is NULL until the first append, then always NUL-terminated at s[len]. */
typedef struct vs_strbuf {
    char *s;
    size_t len, cap;
} vs_strbuf;

/* Appends n bytes of s (which need not be NUL-terminated). */
void vs_sb_putn(vs_strbuf *b, const char *s, size_t n);
/* Appends the string s. */
void vs_sb_puts(vs_strbuf *b, const char *s);
/* Appends printf-style text, however long. */
void vs_sb_printf(vs_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vs_sb_vprintf(vs_strbuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Empties b but keeps its memory, for building the next piece of text in it. */
void vs_sb_reset(vs_strbuf *b);
/* The text built so far, owned by the caller ("" when nothing was written); b is empty after. */
char *vs_sb_take(vs_strbuf *b);
/* Frees the text; b is empty after. */
void vs_sb_free(vs_strbuf *b);

#ifdef __cplusplus
}
#endif

#endif
