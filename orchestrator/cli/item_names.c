/* item_names: item ids to names from a CSV-like file (item_names.h): its separator and
 * whether it has a header found from its first lines, Latin-1 text read as such. */
#define _GNU_SOURCE
#include "item_names.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <strings.h>

#include "common/strbuf.h"

/* A CSV reader over the whole text: one record at a time, fields unquoted, split at sep
 * (",", "\t", "|" or "::"). */
typedef struct csv_reader {
    const char *p, *end;
    int line;           /* the line the next record starts on */
    const char *sep;
} csv_reader;

typedef struct csv_record {
    vs_strbuf *fields;
    int n, cap;
} csv_record;

static void record_clear(csv_record *r) {
    for (int i = 0; i < r->n; i++) vs_sb_free(&r->fields[i]);
    r->n = 0;
}

static vs_strbuf *record_add(csv_record *r) {
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 8;
        r->fields = vs_xrealloc(r->fields, sizeof *r->fields * (size_t)r->cap);
    }
    r->fields[r->n] = (vs_strbuf){0};
    vs_sb_puts(&r->fields[r->n], "");
    return &r->fields[r->n++];
}

/* The next record into r: 1, 0 at the end, -1 with err on an unclosed quote. */
static int csv_next(csv_reader *c, csv_record *r, const char *path, vs_error *err) {
    record_clear(r);
    if (c->p >= c->end) return 0;
    int start_line = c->line;
    vs_strbuf *f = record_add(r);
    while (c->p < c->end) {
        char ch = *c->p++;
        if (ch == '"' && f->len == 0) {   /* a quoted field: up to the lone closing quote */
            for (;;) {
                if (c->p >= c->end)
                    return vs_errorf(err, "%s:%d: a quoted field is not closed", path, start_line);
                char q = *c->p++;
                if (q == '"') {
                    if (c->p < c->end && *c->p == '"') c->p++, vs_sb_putn(f, "\"", 1);
                    else break;
                } else {
                    if (q == '\n') c->line++;
                    vs_sb_putn(f, &q, 1);
                }
            }
        } else if (ch == c->sep[0] && (!c->sep[1] || (c->p < c->end && *c->p == c->sep[1]))) {
            c->p += c->sep[1] != 0;
            f = record_add(r);
        } else if (ch == '\n') {
            c->line++;
            break;
        } else if (ch != '\r') {
            vs_sb_putn(f, &ch, 1);
        }
    }
    return 1;
}

static int column_named(const csv_record *h, const char *const *names) {
    for (int k = 0; names[k]; k++)
        for (int i = 0; i < h->n; i++)
            if (!strcasecmp(h->fields[i].s, names[k])) return i;
    return -1;
}

static char *read_all(const char *path, size_t *len, vs_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        vs_errorf(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    vs_strbuf b = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) vs_sb_putn(&b, chunk, got);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        vs_sb_free(&b);
        vs_errorf(err, "%s: cannot read it", path);
        return NULL;
    }
    *len = b.len;
    return b.s ? vs_sb_take(&b) : vs_xstrdup("");
}

/* Whether text is valid UTF-8 (no overlong forms, no surrogates). */
static int is_utf8(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + len > n) return 0;
        uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1Fu : len == 3 ? c & 0x0Fu : c & 0x07u;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (p[i + k] & 0x3Fu);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* Latin-1 text as UTF-8 (caller frees): MovieLens 100K's u.item is Latin-1. */
static char *latin1_to_utf8(const char *text, size_t len, size_t *out_len) {
    vs_strbuf b = {0};
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x80) vs_sb_putn(&b, (const char *)&c, 1);
        else {
            char two[2] = {(char)(0xC0 | c >> 6), (char)(0x80 | (c & 0x3F))};
            vs_sb_putn(&b, two, 2);
        }
    }
    *out_len = b.len;
    return b.s ? vs_sb_take(&b) : vs_xstrdup("");
}

/* The separator of the file's first lines: the one that splits the first record into
 * two fields or more and the most of the next ones into as many (a genres field such as
 * "Drama|Comedy" splits unevenly), each with an id, a first field free of the other
 * separators ("1|Cafe, The" is no id); ties go to the earlier in the list. NULL: none. */
static const char *find_separator(const char *p, const char *end, int *fields) {
    static const char *const seps[] = {",", "\t", "::", "|"};
    const char *best = NULL;
    int best_score = -1;
    csv_record r = {0};
    vs_error ignore;
    for (size_t k = 0; k < sizeof seps / sizeof seps[0]; k++) {
        csv_reader c = {p, end, 1, seps[k]};
        int first = 0, score = 0;
        const char *others = k == 0 ? "\t|:" : k == 1 ? ",|:" : k == 2 ? ",\t|" : ",\t:";
        for (int n = 0; n < 20 && csv_next(&c, &r, "", &ignore) > 0; n++) {
            if (r.n == 1 && r.fields[0].len == 0) continue;   /* a blank line */
            if (!first) first = r.n;
            score += r.n == first && !strpbrk(r.fields[0].s, others);
        }
        if (first >= 2 && score > best_score) best = seps[k], best_score = score, *fields = first;
    }
    record_clear(&r);
    free(r.fields);
    return best;
}

int item_names_load(const char *path, item_names *out, vs_error *err) {
    memset(out, 0, sizeof *out);
    size_t len = 0;
    char *text = read_all(path, &len, err);
    if (!text) return -1;
    size_t skip = len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3) ? 3 : 0;   /* a UTF-8 byte order mark */
    if (!is_utf8((const unsigned char *)text + skip, len - skip)) {
        char *utf8 = latin1_to_utf8(text, len, &len);
        free(text);
        text = utf8;
        out->latin1 = 1;
    }
    int fields = 0;
    const char *sep = find_separator(text + skip, text + len, &fields);
    csv_reader c = {text + skip, text + len, 1, sep ? sep : ","};
    csv_record r = {0};
    int rc = sep ? 1 : 0, cap = 0;
    if (len - skip == 0) rc = vs_errorf(err, "%s: empty: expected lines of an id and a name (e.g. movieId,title,genres)", path);
    else if (!sep)
        rc = vs_errorf(err, "%s:1: expected an id and a name column, separated by ',', a tab, '|' or '::'", path);
    static const char *const id_names[] = {"movieId", "itemId", "item_id", "item", "id", NULL};
    static const char *const name_names[] = {"title", "name", NULL};
    int id_col = 0, name_col = 1;
    if (rc > 0) {
        /* A header names a column as one of these; else the first line is an item. */
        rc = csv_next(&c, &r, path, err);
        id_col = column_named(&r, id_names);
        name_col = column_named(&r, name_names);
        out->has_header = rc > 0 && (id_col >= 0 || name_col >= 0);
        if (!out->has_header) {
            c = (csv_reader){text + skip, text + len, 1, sep};
            id_col = 0, name_col = 1;
            out->name_column = vs_xstrdup("name");
        } else {
            if (id_col < 0) id_col = name_col == 0 ? 1 : 0;
            if (name_col < 0) name_col = id_col == 1 ? 0 : 1;
            out->name_column = vs_xstrdup(r.fields[name_col].s);
        }
    }
    snprintf(out->separator, sizeof out->separator, "%s", sep ? sep : ",");
    while (rc > 0) {
        int line = c.line;
        rc = csv_next(&c, &r, path, err);
        if (rc <= 0) break;
        if (r.n == 1 && r.fields[0].len == 0) continue;   /* a blank line */
        if (r.n <= id_col || r.n <= name_col) {
            rc = vs_errorf(err, "%s:%d: %d field%s, the %s column is field %d", path, line, r.n, r.n == 1 ? "" : "s",
                           out->name_column, name_col + 1);
            break;
        }
        const vs_strbuf *id = &r.fields[id_col];
        int64_t before = out->ids.n;
        int32_t k = vs_idmap_intern(&out->ids, id->s, id->len);
        if (out->ids.n == before) continue;   /* a repeated id: the first name stays */
        if (k >= cap) out->names = vs_xrealloc(out->names, sizeof(char *) * (size_t)(cap = cap ? 2 * cap : 1024));
        out->names[k] = vs_xstrdup(r.fields[name_col].s);
    }
    record_clear(&r);
    free(r.fields);
    free(text);
    if (rc < 0) {
        item_names_free(out);
        return -1;
    }
    return 0;
}

const char *item_names_get(const item_names *t, const char *id, size_t len) {
    int32_t k = t->names ? vs_idmap_find(&t->ids, id, len) : -1;
    return k >= 0 ? t->names[k] : NULL;
}

void item_names_free(item_names *t) {
    for (int64_t i = 0; t->names && i < t->ids.n; i++) free(t->names[i]);
    free(t->names);
    free(t->name_column);
    vs_idmap_free(&t->ids);
    memset(t, 0, sizeof *t);
}
