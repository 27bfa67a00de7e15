/* test_strbuf: the growing string (common/strbuf.h) that exact JSON, search spaces and
 * the orchestrator's commands build text with: appends across many growths, printf
 * text longer than its stack buffer, bytes with NULs inside, reset, take and free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "common/strbuf.h"

int main(void) {
    /* nothing written: take gives an empty string of its own */
    vs_strbuf b = {0};
    char *s = vs_sb_take(&b);
    CHECK(s && s[0] == 0 && b.s == NULL && b.len == 0);
    free(s);

    /* 10000 appends, checked against the same text built by hand */
    char want[60000];
    size_t n = 0;
    for (int i = 0; i < 10000; i++) {
        char piece[16];
        int k = snprintf(piece, sizeof piece, "%d,", i);
        memcpy(want + n, piece, (size_t)k);
        n += (size_t)k;
        if (i % 2) vs_sb_puts(&b, piece);
        else vs_sb_printf(&b, "%d,", i);
    }
    want[n] = 0;
    CHECK(b.len == n && b.cap > b.len && strcmp(b.s, want) == 0);

    /* reset keeps the memory and empties the text */
    char *kept = b.s;
    vs_sb_reset(&b);
    CHECK(b.s == kept && b.len == 0 && b.s[0] == 0);

    /* printf text longer than the 256-byte stack buffer is written whole */
    char long_arg[1000];
    memset(long_arg, 'x', sizeof long_arg - 1);
    long_arg[sizeof long_arg - 1] = 0;
    vs_sb_printf(&b, "<%s|%d>", long_arg, 42);
    CHECK(b.len == 1 + 999 + 4);
    CHECK(b.s[0] == '<' && b.s[999] == 'x' && strcmp(b.s + 1000, "|42>") == 0);

    /* putn copies exactly n bytes, NULs included, and terminates */
    vs_sb_reset(&b);
    vs_sb_putn(&b, "ab\0cd", 5);
    vs_sb_putn(&b, "zzz", 0);
    CHECK(b.len == 5 && memcmp(b.s, "ab\0cd", 6) == 0);

    /* take hands over the text and leaves an empty buffer */
    s = vs_sb_take(&b);
    CHECK(s[0] == 'a' && b.s == NULL && b.len == 0 && b.cap == 0);
    free(s);
    vs_sb_puts(&b, "again");
    CHECK(strcmp(b.s, "again") == 0);
    vs_sb_free(&b);
    CHECK(b.s == NULL && b.len == 0 && b.cap == 0);
    return test_finish();
}
