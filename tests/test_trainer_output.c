/* test_trainer_output: how the scheduler reads a trainer's output (trainer_output.h):
 * lines split across reads, a last line without its newline, a line longer than
 * VS_LINE_MAX cut there (memory stays bounded) with the next line intact, tail entries
 * kept short, and every event checked before anything of it is used: an epoch that is
 * missing, negative, fractional, NaN-like or huge is BAD, as is a 'val' that is not
 * an object. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

#include "test.h"
#include "orchestrator/trainer_output.h"

typedef struct lines {
    int n;
    size_t len[8];
    char first[8][64];
} lines;

static void collect(void *ctx, const char *line) {
    lines *l = ctx;
    if (l->n < 8) {
        l->len[l->n] = strlen(line);
        snprintf(l->first[l->n], sizeof l->first[l->n], "%s", line);
    }
    l->n++;
}

static void check_splitting(void) {
    vs_line_reader r = {0};
    lines got = {0};
    vs_lines_feed(&r, "ab", 2, collect, &got);
    vs_lines_feed(&r, "c\nd\n\nef", 7, collect, &got);
    CHECK(got.n == 3 && !strcmp(got.first[0], "abc") && !strcmp(got.first[1], "d") && got.len[2] == 0);
    vs_lines_end(&r, collect, &got);
    CHECK(got.n == 4 && !strcmp(got.first[3], "ef"));
    vs_lines_end(&r, collect, &got);   /* nothing left */
    CHECK(got.n == 4);
    vs_line_reader_free(&r);
}

/* 3 MiB without a newline, through a pipe as the scheduler reads it, then "ok". */
static void check_overlong_line(void) {
    int p[2];
    if (pipe2(p, O_NONBLOCK)) exit(1);
    vs_line_reader r = {0};
    lines got = {0};
    char *chunk = malloc(65536);
    memset(chunk, 'x', 65536);
    size_t written = 0, want = 3u << 20, peak = 0;
    int fd = p[0];
    while (written < want) {
        ssize_t w = write(p[1], chunk, 65536);
        if (w > 0) written += (size_t)w;
        vs_read_lines(&fd, &r, collect, &got);
        if (r.pending.cap > peak) peak = r.pending.cap;
    }
    CHECK(write(p[1], "\n{\"event\":\"x\"}\nok", 17) == 17);
    close(p[1]);
    while (fd >= 0) vs_read_lines(&fd, &r, collect, &got);
    CHECK(got.n == 3);
    CHECK_MSG(got.len[0] == VS_LINE_MAX, "first line %zu bytes", got.len[0]);
    CHECK(!strcmp(got.first[1], "{\"event\":\"x\"}") && !strcmp(got.first[2], "ok"));
    CHECK_MSG(peak <= 2 * VS_LINE_MAX, "the pending line grew to %zu bytes", peak);
    vs_line_reader_free(&r);
    free(chunk);

    vs_output_tail t = {0};
    char *big = malloc(VS_LINE_MAX + 1);
    memset(big, 'y', VS_LINE_MAX);
    big[VS_LINE_MAX] = 0;
    for (int i = 0; i < VS_TAIL_LINES + 3; i++) vs_tail_add(&t, big);
    vs_tail_add(&t, "last");
    char *text = vs_tail_text(&t);
    CHECK(t.count == VS_TAIL_LINES);
    CHECK_MSG(strlen(text) <= VS_TAIL_LINES * (VS_TAIL_LINE_MAX + 4), "tail of %zu bytes", strlen(text));
    CHECK(strstr(text, "yyy...\n") && strstr(text, "\nlast\n"));
    free(text);
    free(big);
    vs_tail_free(&t);
}

static vs_event_kind kind_of(const char *line, double *value, int *epoch) {
    vs_trainer_event ev;
    vs_trainer_event_parse(line, "ndcg@100", &ev);
    vs_event_kind k = ev.kind;
    if (value) *value = ev.value;
    if (epoch) *epoch = ev.epoch;
    vs_trainer_event_free(&ev);
    return k;
}

static void check_events(void) {
    double v;
    int e;
    CHECK(kind_of("not json", NULL, NULL) == VS_EVENT_NONE);
    CHECK(kind_of("[1,2]", NULL, NULL) == VS_EVENT_NONE);
    CHECK(kind_of("{\"event\":3}", NULL, NULL) == VS_EVENT_NONE);
    CHECK(kind_of("{\"event\":\"checkpoint\"}", NULL, NULL) == VS_EVENT_OTHER);
    CHECK(kind_of("{\"event\":\"start\"}", NULL, NULL) == VS_EVENT_START);
    CHECK(kind_of("{\"event\":\"epoch\",\"epoch\":2,\"val\":{\"ndcg@100\":0.25}}", &v, &e) == VS_EVENT_EPOCH && e == 2 &&
          v == 0.25);
    CHECK(kind_of("{\"event\":\"epoch\",\"epoch\":3}", &v, &e) == VS_EVENT_EPOCH && e == 3 && isnan(v));
    static const char *const bad[] = {
        "{\"event\":\"epoch\"}",
        "{\"event\":\"epoch\",\"epoch\":-1}",
        "{\"event\":\"epoch\",\"epoch\":0}",
        "{\"event\":\"epoch\",\"epoch\":1.5}",
        "{\"event\":\"epoch\",\"epoch\":1e300}",
        "{\"event\":\"epoch\",\"epoch\":1e999}",
        "{\"event\":\"epoch\",\"epoch\":-1e999}",
        "{\"event\":\"epoch\",\"epoch\":1000001}",
        "{\"event\":\"epoch\",\"epoch\":\"2\"}",
        "{\"event\":\"epoch\",\"epoch\":2,\"val\":0.3}",
        "{\"event\":\"done\",\"val\":[0.3]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(kind_of(bad[i], NULL, NULL) == VS_EVENT_BAD, "%s", bad[i]);
    vs_trainer_event ev;
    vs_trainer_event_parse("{\"event\":\"epoch\",\"epoch\":-1}", "ndcg@100", &ev);
    CHECK_MSG(strstr(ev.problem, "'epoch'"), "problem: %s", ev.problem);
    vs_trainer_event_free(&ev);
    CHECK(kind_of("{\"event\":\"done\",\"val\":{\"ndcg@100\":1e999}}", &v, NULL) == VS_EVENT_DONE && isinf(v));
    CHECK(kind_of("{\"event\":\"done\",\"val\":{}}", &v, NULL) == VS_EVENT_DONE && isnan(v));
    vs_trainer_event_parse("{\"event\":\"error\",\"message\":\"disk\"}", "ndcg@100", &ev);
    CHECK(ev.kind == VS_EVENT_ERROR && !strcmp(ev.message, "disk"));
    vs_trainer_event_free(&ev);
}

int main(void) {
    check_splitting();
    check_overlong_line();
    check_events();
    return test_finish();
}
