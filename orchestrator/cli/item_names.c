/* item_names: item ids to names from a CSV file (item_names.h). */
#define _GNU_SOURCE
#include "item_names.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strbuf.h"

/* A CSV reader over the whole text: one record at a time, fields unquoted. */
typedef struct csv_reader {
    const char *p, *end;
    int line;           /* the line the next record starts on */
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
        } else if (ch == ',') {
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

int item_names_load(const char *path, item_names *out, vs_error *err) {
    memset(out, 0, sizeof *out);
    size_t len = 0;
    char *text = read_all(path, &len, err);
    if (!text) return -1;
    csv_reader c = {text, text + len, 1};
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) c.p += 3;   /* a UTF-8 byte order mark */
    csv_record r = {0};
    int rc = csv_next(&c, &r, path, err), cap = 0;
    if (rc == 0) rc = vs_errorf(err, "%s: empty: expected a header line (e.g. movieId,title,genres)", path);
    if (rc > 0 && r.n < 2) rc = vs_errorf(err, "%s:1: expected an id and a name column, found %d column", path, r.n);
    static const char *const id_names[] = {"movieId", "itemId", "item_id", "item", "id", NULL};
    static const char *const name_names[] = {"title", "name", NULL};
    int id_col = 0, name_col = 1;
    if (rc > 0) {
        id_col = column_named(&r, id_names);
        name_col = column_named(&r, name_names);
        if (id_col < 0) id_col = name_col == 0 ? 1 : 0;
        if (name_col < 0) name_col = id_col == 1 ? 0 : 1;
        out->name_column = vs_xstrdup(r.fields[name_col].s);
    }
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
