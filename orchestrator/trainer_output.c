/* trainer_output: line reading, the output tail and event checking (trainer_output.h). */
#include "trainer_output.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/vs_error.h"

void vs_tail_add(vs_output_tail *t, const char *line) {
    if (t->count == VS_TAIL_LINES) {
        free(t->lines[0]);
        memmove(t->lines, t->lines + 1, sizeof(char *) * (VS_TAIL_LINES - 1));
        t->count--;
    }
    size_t len = strnlen(line, VS_TAIL_LINE_MAX + 1);
    if (len <= VS_TAIL_LINE_MAX) {
        t->lines[t->count++] = vs_xstrdup(line);
        return;
    }
    char *kept = vs_xmalloc(VS_TAIL_LINE_MAX + 4);
    memcpy(kept, line, VS_TAIL_LINE_MAX);
    memcpy(kept + VS_TAIL_LINE_MAX, "...", 4);
    t->lines[t->count++] = kept;
}

char *vs_tail_text(const vs_output_tail *t) {
    vs_strbuf b = {0};
    for (int i = 0; i < t->count; i++) {
        vs_sb_puts(&b, t->lines[i]);
        vs_sb_puts(&b, "\n");
    }
    return vs_sb_take(&b);
}

void vs_tail_free(vs_output_tail *t) {
    for (int i = 0; i < t->count; i++) free(t->lines[i]);
    memset(t, 0, sizeof *t);
}

static void line_done(vs_line_reader *r, vs_on_line on_line, void *ctx) {
    on_line(ctx, r->pending.s ? r->pending.s : "");
    vs_sb_reset(&r->pending);
    r->overlong = 0;
}

void vs_lines_feed(vs_line_reader *r, const char *data, size_t n, vs_on_line on_line, void *ctx) {
    for (const char *p = data, *stop = data + n; p < stop;) {
        const char *newline = memchr(p, '\n', (size_t)(stop - p));
        size_t take = (size_t)((newline ? newline : stop) - p);
        if (r->pending.len + take > VS_LINE_MAX) {
            take = VS_LINE_MAX - r->pending.len;
            r->overlong = 1;
        }
        if (take) vs_sb_putn(&r->pending, p, take);
        if (!newline) break;
        p = newline + 1;
        line_done(r, on_line, ctx);
    }
}

void vs_lines_end(vs_line_reader *r, vs_on_line on_line, void *ctx) {
    if (r->pending.len || r->overlong) line_done(r, on_line, ctx);
}

void vs_line_reader_free(vs_line_reader *r) {
    vs_sb_free(&r->pending);
    r->overlong = 0;
}

int vs_read_lines(int *fd, vs_line_reader *r, vs_on_line on_line, void *ctx) {
    char chunk[65536];
    for (;;) {
        ssize_t got = read(*fd, chunk, sizeof chunk);
        if (got < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            got = 0;
        }
        if (got == 0) {
            vs_lines_end(r, on_line, ctx);   /* a last line without its newline */
            close(*fd);
            *fd = -1;
            return 1;
        }
        vs_lines_feed(r, chunk, (size_t)got, on_line, ctx);
    }
}

/* ---- events ---- */

static double member_number(const cJSON *o, const char *key) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(j) ? j->valuedouble : NAN;
}

static void bad(vs_trainer_event *ev, const char *fmt, const char *kind) {
    ev->kind = VS_EVENT_BAD;
    snprintf(ev->problem, sizeof ev->problem, fmt, kind);
}

/* The metric of a "val" member: absent or not an object is no evaluation. */
static int read_val(vs_trainer_event *ev, const char *metric, const char *kind) {
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(ev->json, "val");
    if (!val) return 0;
    if (!cJSON_IsObject(val)) {
        bad(ev, "%s event whose 'val' is not an object", kind);
        return -1;
    }
    ev->has_val = 1;
    ev->value = metric ? member_number(val, metric) : NAN;
    return 0;
}

void vs_trainer_event_parse(const char *line, const char *metric, vs_trainer_event *ev) {
    memset(ev, 0, sizeof *ev);
    ev->value = NAN;
    ev->json = cJSON_Parse(line);
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(ev->json, "event");
    if (!cJSON_IsObject(ev->json) || !cJSON_IsString(kind)) return;   /* NONE: not an event */
    const char *k = kind->valuestring;
    if (!strcmp(k, "start")) {
        ev->kind = VS_EVENT_START;
    } else if (!strcmp(k, "epoch")) {
        ev->kind = VS_EVENT_EPOCH;
        /* Checked as a double first: converting NaN or 1e300 to int is undefined. */
        double e = member_number(ev->json, "epoch");
        if (!isfinite(e) || e != floor(e) || e < 1 || e > VS_EVENT_MAX_EPOCH) {
            bad(ev, "%s event without a valid 'epoch' (an integer from 1 to 1000000)", k);
            return;
        }
        ev->epoch = (int)e;
        read_val(ev, metric, k);
    } else if (!strcmp(k, "done")) {
        ev->kind = VS_EVENT_DONE;
        read_val(ev, metric, k);
    } else if (!strcmp(k, "error")) {
        ev->kind = VS_EVENT_ERROR;
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(ev->json, "message");
        ev->message = cJSON_IsString(m) ? m->valuestring : "error";
    } else {
        ev->kind = VS_EVENT_OTHER;
    }
}

void vs_trainer_event_free(vs_trainer_event *ev) {
    cJSON_Delete(ev->json);
    memset(ev, 0, sizeof *ev);
}
