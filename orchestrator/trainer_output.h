/* trainer_output: a trainer's output as the scheduler reads it: whole lines from a
 * non-blocking pipe, and the last lines kept to explain a failure. */
#ifndef VS_TRAINER_OUTPUT_H
#define VS_TRAINER_OUTPUT_H

#include "common/strbuf.h"

#define VS_TAIL_LINES 20

/* The last VS_TAIL_LINES lines, oldest first. Start from {0}. */
typedef struct vs_output_tail {
    char *lines[VS_TAIL_LINES];
    int count;
} vs_output_tail;

void vs_tail_add(vs_output_tail *t, const char *line);
/* The lines joined, each ending in a newline (caller frees). */
char *vs_tail_text(const vs_output_tail *t);
void vs_tail_free(vs_output_tail *t);

/* Reads what *fd has now, calling on_line for each whole line (without its newline);
 * the part after the last newline waits in pending. At end of file (or a read error) a
 * last line without its newline is passed on too, *fd is closed and set to -1, and the
 * result is 1; otherwise 0. */
int vs_read_lines(int *fd, vs_strbuf *pending, void (*on_line)(void *ctx, const char *line), void *ctx);

#endif
