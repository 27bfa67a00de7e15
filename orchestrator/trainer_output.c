/* trainer_output: line reading and the output tail (trainer_output.h). */
#include "trainer_output.h"

#include <errno.h>
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
    t->lines[t->count++] = vs_xstrdup(line);
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

static void line_done(vs_strbuf *pending, void (*on_line)(void *, const char *), void *ctx) {
    on_line(ctx, pending->s ? pending->s : "");
    vs_sb_reset(pending);
}

int vs_read_lines(int *fd, vs_strbuf *pending, void (*on_line)(void *ctx, const char *line), void *ctx) {
    char chunk[65536];
    for (;;) {
        ssize_t got = read(*fd, chunk, sizeof chunk);
        if (got < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            got = 0;
        }
        if (got == 0) {
            if (pending->len) line_done(pending, on_line, ctx);   /* a last line without its newline */
            close(*fd);
            *fd = -1;
            return 1;
        }
        for (const char *p = chunk, *stop = chunk + got; p < stop;) {
            const char *newline = memchr(p, '\n', (size_t)(stop - p));
            vs_sb_putn(pending, p, (size_t)((newline ? newline : stop) - p));
            if (!newline) break;
            p = newline + 1;
            line_done(pending, on_line, ctx);
        }
    }
}
