/* fuzz_trainer_output: a trainer's output as `vaesearch run` takes it in, through the
 * scheduler's own functions (orchestrator/trainer_output.h): bytes arriving in reads of
 * any size, split into lines (each cut at 1 MiB), kept in the 20-line tail, and each
 * read as an event and checked. The first byte sets the read size (1 to 256 bytes). */
#include <stdint.h>
#include <stdlib.h>

#include "orchestrator/trainer_output.h"

typedef struct seen {
    vs_output_tail tail;
    int epochs, bad;
} seen;

static void take_line(void *ctx, const char *line) {
    seen *s = ctx;
    vs_tail_add(&s->tail, line);
    vs_trainer_event ev;
    vs_trainer_event_parse(line, "ndcg@100", &ev);
    if (ev.kind == VS_EVENT_EPOCH) {
        /* What the scheduler relies on once an event is accepted. */
        if (ev.epoch < 1 || ev.epoch > VS_EVENT_MAX_EPOCH) __builtin_trap();
        s->epochs++;
    }
    if (ev.kind == VS_EVENT_ERROR && !ev.message) __builtin_trap();
    s->bad += ev.kind == VS_EVENT_BAD;
    vs_trainer_event_free(&ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t step = (size_t)data[0] + 1;
    seen s = {0};
    vs_line_reader r = {0};
    for (size_t at = 1; at < size; at += step) {
        size_t n = size - at < step ? size - at : step;
        vs_lines_feed(&r, (const char *)data + at, n, take_line, &s);
        if (r.pending.len > VS_LINE_MAX) __builtin_trap();
    }
    vs_lines_end(&r, take_line, &s);
    char *text = vs_tail_text(&s.tail);
    if (s.tail.count > VS_TAIL_LINES) __builtin_trap();
    free(text);
    vs_tail_free(&s.tail);
    vs_line_reader_free(&r);
    return 0;
}
