/* json_exact: exact JSON printing (see json_exact.h). */
#include "json_exact.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vs_error.h"

#define MAX_EXACT_INT 9007199254740992.0 /* 2^53: integers beyond are not exact in a double */

typedef struct strbuf {
    char *s;
    size_t len, cap;
} strbuf;

static void sb_putn(strbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        b->s = vs_xrealloc(b->s, cap);
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void sb_puts(strbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf *b, const char *fmt, ...) {
    char small[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof small) sb_putn(b, small, (size_t)n);
}

static char *sb_take(strbuf *b) { return b->s ? b->s : vs_xstrdup(""); }

/* A number as JSON text that reads back exactly: integers as integers, others with the
 * fewest digits (cJSON's printer may drop the last bit). */
void vs_json_number(double v, char out[40]) {
    if (!isfinite(v)) {
        snprintf(out, 40, "null");   /* JSON has no infinities; values are checked before */
        return;
    }
    if (v == floor(v) && fabs(v) <= MAX_EXACT_INT) {
        snprintf(out, 40, "%.0f", v == 0 ? 0.0 : v);
        return;
    }
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(out, 40, "%.*g", precision, v);
        if (strtod(out, NULL) == v) return;
    }
}

/* A JSON string as Python's json.dumps writes it (ensure_ascii): non-ASCII as \uXXXX. */
static void print_json_string(strbuf *b, const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    sb_puts(b, "\"");
    while (*p) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            char esc[3] = {'\\', (char)c, 0};
            sb_puts(b, esc);
            p++;
        } else if (c >= 0x20 && c < 0x7f) {
            sb_putn(b, (const char *)p, 1);
            p++;
        } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
            sb_puts(b, c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : c == '\b' ? "\\b" : "\\f");
            p++;
        } else {
            /* Decode one UTF-8 sequence; a malformed byte is written as that code point. */
            unsigned cp = c, extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
            if (extra) {
                cp = c & (0x3f >> extra);
                unsigned i;
                for (i = 1; i <= extra && (p[i] & 0xc0) == 0x80; i++) cp = (cp << 6) | (p[i] & 0x3f);
                if (i <= extra) extra = 0, cp = c;
            }
            p += 1 + extra;
            if (cp >= 0x10000) {
                cp -= 0x10000;
                sb_printf(b, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
            } else {
                sb_printf(b, "\\u%04x", cp);
            }
        }
    }
    sb_puts(b, "\"");
}

/* Compact JSON with exact numbers: "[600,200]", {"a":1}. */
static void print_json_exact(strbuf *b, const cJSON *item) {
    char num[40];
    if (cJSON_IsNumber(item)) {
        vs_json_number(item->valuedouble, num);
        sb_puts(b, num);
    } else if (cJSON_IsString(item)) {
        print_json_string(b, item->valuestring);
    } else if (cJSON_IsTrue(item)) {
        sb_puts(b, "true");
    } else if (cJSON_IsFalse(item)) {
        sb_puts(b, "false");
    } else if (cJSON_IsArray(item) || cJSON_IsObject(item)) {
        int object = cJSON_IsObject(item);
        sb_puts(b, object ? "{" : "[");
        for (const cJSON *e = item->child; e; e = e->next) {
            if (e != item->child) sb_puts(b, ",");
            if (object) {
                print_json_string(b, e->string);
                sb_puts(b, ":");
            }
            print_json_exact(b, e);
        }
        sb_puts(b, object ? "}" : "]");
    } else {
        sb_puts(b, "null");
    }
}

char *vs_json_quote(const char *s) {
    strbuf b = {0};
    print_json_string(&b, s);
    return sb_take(&b);
}

char *vs_json_print_exact(const cJSON *item) {
    strbuf b = {0};
    print_json_exact(&b, item);
    return sb_take(&b);
}
