/* json_exact: exact JSON printing (see json_exact.h). */
#include "json_exact.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

#define MAX_EXACT_INT 9007199254740992.0 /* 2^53: integers beyond are not exact in a double */

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
static void print_json_string(vs_strbuf *b, const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    vs_sb_puts(b, "\"");
    while (*p) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            char esc[3] = {'\\', (char)c, 0};
            vs_sb_puts(b, esc);
            p++;
        } else if (c >= 0x20 && c < 0x7f) {
            vs_sb_putn(b, (const char *)p, 1);
            p++;
        } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
            vs_sb_puts(b, c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : c == '\b' ? "\\b" : "\\f");
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
                vs_sb_printf(b, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
            } else {
                vs_sb_printf(b, "\\u%04x", cp);
            }
        }
    }
    vs_sb_puts(b, "\"");
}

/* Compact JSON with exact numbers: "[600,200]", {"a":1}. */
static void print_json_exact(vs_strbuf *b, const cJSON *item) {
    char num[40];
    if (cJSON_IsNumber(item)) {
        vs_json_number(item->valuedouble, num);
        vs_sb_puts(b, num);
    } else if (cJSON_IsString(item)) {
        print_json_string(b, item->valuestring);
    } else if (cJSON_IsTrue(item)) {
        vs_sb_puts(b, "true");
    } else if (cJSON_IsFalse(item)) {
        vs_sb_puts(b, "false");
    } else if (cJSON_IsArray(item) || cJSON_IsObject(item)) {
        int object = cJSON_IsObject(item);
        vs_sb_puts(b, object ? "{" : "[");
        for (const cJSON *e = item->child; e; e = e->next) {
            if (e != item->child) vs_sb_puts(b, ",");
            if (object) {
                print_json_string(b, e->string);
                vs_sb_puts(b, ":");
            }
            print_json_exact(b, e);
        }
        vs_sb_puts(b, object ? "}" : "]");
    } else {
        vs_sb_puts(b, "null");
    }
}

char *vs_json_quote(const char *s) {
    vs_strbuf b = {0};
    print_json_string(&b, s);
    return vs_sb_take(&b);
}

char *vs_json_print_exact(const cJSON *item) {
    vs_strbuf b = {0};
    print_json_exact(&b, item);
    return vs_sb_take(&b);
}
