/* trainer_output: a trainer's output as the scheduler reads it: whole lines from a
 * non-blocking pipe (each cut at VS_LINE_MAX bytes, so a trainer cannot make the
 * scheduler buffer without limit), the last lines kept to explain a failure, and each
 * stdout line read as an event and checked before anything of it is recorded. The
 * fuzz target fuzz/fuzz_trainer_output.c drives these very functions. */
#ifndef VS_TRAINER_OUTPUT_H
#define VS_TRAINER_OUTPUT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "common/strbuf.h"

#define VS_TAIL_LINES 20
/* A line longer than this is cut here; the rest of it, up to its newline, is dropped. */
#define VS_LINE_MAX (1 << 20)
/* A tail entry keeps at most this many bytes of its line. */
#define VS_TAIL_LINE_MAX 1024
/* The largest epoch number an event may carry (the results database's limit too). */
#define VS_EVENT_MAX_EPOCH 1000000

/* The last VS_TAIL_LINES lines, oldest first. Start from {0}. */
typedef struct vs_output_tail {
    char *lines[VS_TAIL_LINES];
    int count;
} vs_output_tail;

/* Keeps the first VS_TAIL_LINE_MAX bytes of line (marked "..." when cut). */
void vs_tail_add(vs_output_tail *t, const char *line);
/* The lines joined, each ending in a newline (caller frees). */
char *vs_tail_text(const vs_output_tail *t);
void vs_tail_free(vs_output_tail *t);

/* A line being read: its bytes so far, and whether it passed VS_LINE_MAX (the rest of
 * it is dropped up to its newline). Start from {0}. */
typedef struct vs_line_reader {
    vs_strbuf pending;
    int overlong;
} vs_line_reader;

typedef void (*vs_on_line)(void *ctx, const char *line);

/* Splits data into lines, calling on_line for each whole one (without its newline, at
 * most VS_LINE_MAX bytes); the part after the last newline waits in r. */
void vs_lines_feed(vs_line_reader *r, const char *data, size_t n, vs_on_line on_line, void *ctx);
/* At end of output: passes on a last line that had no newline. */
void vs_lines_end(vs_line_reader *r, vs_on_line on_line, void *ctx);
void vs_line_reader_free(vs_line_reader *r);

/* Reads what *fd has now through vs_lines_feed. At end of file (or a read error) a
 * last line without its newline is passed on too, *fd is closed and set to -1, and the
 * result is 1; otherwise 0. */
int vs_read_lines(int *fd, vs_line_reader *r, vs_on_line on_line, void *ctx);

/* What a trainer's stdout line says. NONE: not JSON, or no "event" string (kept in the
 * tail only); OTHER: an event the scheduler does not act on; BAD: an event it acts on
 * that does not hold what it must (problem says what), the trainer's fault. */
typedef enum vs_event_kind {
    VS_EVENT_NONE,
    VS_EVENT_START,
    VS_EVENT_EPOCH,
    VS_EVENT_DONE,
    VS_EVENT_ERROR,
    VS_EVENT_OTHER,
    VS_EVENT_BAD
} vs_event_kind;

typedef struct vs_trainer_event {
    vs_event_kind kind;
    cJSON *json;           /* the parsed line, or NULL (NONE); freed by vs_trainer_event_free */
    int epoch;             /* EPOCH: an integer in [1, VS_EVENT_MAX_EPOCH] */
    int has_val;           /* EPOCH: evaluated (a "val" object) */
    double value;          /* EPOCH with val, DONE: val.<metric>; NaN when missing or not a number */
    const char *message;   /* ERROR: the message (inside json) */
    char problem[200];     /* BAD: what is wrong */
} vs_trainer_event;

/* Reads line as an event of a trial whose objective is metric (e.g. "ndcg@100"). */
void vs_trainer_event_parse(const char *line, const char *metric, vs_trainer_event *ev);
void vs_trainer_event_free(vs_trainer_event *ev);

#endif
