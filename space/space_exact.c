/* space_exact: numbers and JSON text as the search space needs them exactly: the
 * shortest text that reads back as the same double (the canonical form is compared as
 * text), floats as Python writes them (Optuna compares distributions as its JSON), and
 * decimal arithmetic on the user's numbers, so that steps divide ranges and stepped
 * values land on their grid as they do in Optuna. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "space_internal.h"
#include "common/json_exact.h"
#include "common/strbuf.h"

/* The shortest significant digits that read back as v (v finite, not zero): digits
 * without a point, and the decimal exponent of the first digit (v = d.ddd x 10^exp10). */
static void shortest_digits(double v, char digits[20], int *exp10) {
    char text[40];
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(text, sizeof text, "%.*e", precision - 1, fabs(v));
        if (strtod(text, NULL) == fabs(v)) break;
    }
    int n = 0;
    const char *p = text;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0') n--;
    digits[n] = 0;
    *exp10 = atoi(p + 1);
}

/* Numbers and JSON text that read back exactly: json_exact.h. */
void space_format_exact(double v, char out[40]) { vs_json_number(v, out); }

/* A float as Python's repr() writes it (json.dumps uses repr): the shortest digits,
 * positional when the exponent is in [-5, 16), else d.ddde+XX; always a point or an exponent. */
void space_format_python_float(double v, char out[40]) {
    if (v == 0) {
        snprintf(out, 40, "%s", signbit(v) ? "-0.0" : "0.0");
        return;
    }
    char digits[20];
    int exp10;
    shortest_digits(v, digits, &exp10);
    int n = (int)strlen(digits), point = exp10 + 1;   /* digits before the decimal point */
    vs_strbuf b = {0};
    if (v < 0) vs_sb_puts(&b, "-");
    if (point > -4 && point <= 16) {
        if (point <= 0) {
            vs_sb_puts(&b, "0.");
            for (int i = 0; i < -point; i++) vs_sb_puts(&b, "0");
            vs_sb_puts(&b, digits);
        } else if (point < n) {
            vs_sb_putn(&b, digits, (size_t)point);
            vs_sb_puts(&b, ".");
            vs_sb_puts(&b, digits + point);
        } else {
            vs_sb_puts(&b, digits);
            for (int i = n; i < point; i++) vs_sb_puts(&b, "0");
            vs_sb_puts(&b, ".0");
        }
    } else {
        vs_sb_putn(&b, digits, 1);
        if (n > 1) {
            vs_sb_puts(&b, ".");
            vs_sb_puts(&b, digits + 1);
        }
        vs_sb_printf(&b, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    }
    snprintf(out, 40, "%s", b.s);
    vs_sb_free(&b);
}

/* An exact decimal, mant x 10^exp, from a double's shortest text: what Python's
 * Decimal(str(x)) holds, so step checks agree with Optuna's. */
typedef struct decimal {
    int64_t mant;
    int exp;
} decimal;

static decimal to_decimal(double v) {
    decimal d = {0, 0};
    if (v == 0) return d;
    char digits[20];
    int exp10;
    shortest_digits(v, digits, &exp10);
    for (const char *p = digits; *p; p++) d.mant = d.mant * 10 + (*p - '0');
    d.exp = exp10 - ((int)strlen(digits) - 1);
    if (v < 0) d.mant = -d.mant;
    return d;
}

__extension__ typedef __int128 wide_int;

/* m x 10^shift in *out; -1 when that would not fit (shift above 21 for 17-digit m). */
static int scale_up(int64_t m, int shift, wide_int *out) {
    if (shift > 21) return -1;
    wide_int w = m;
    for (int i = 0; i < shift; i++) w *= 10;
    *out = w;
    return 0;
}

/* How a stepped range [low, high] divides: 0 when high - low is a whole number of steps
 * (*points = steps + 1), 1 when not (*fixed_high = the high Optuna would take instead),
 * -1 when the step is too fine for the numbers to be compared exactly. */
int space_stepped_range(double low, double high, double step, int64_t *points, double *fixed_high) {
    decimal l = to_decimal(low), h = to_decimal(high), s = to_decimal(step);
    int e = l.exp < h.exp ? l.exp : h.exp;
    if (s.exp < e) e = s.exp;
    wide_int wl, wh, ws;
    if (scale_up(l.mant, l.exp - e, &wl) || scale_up(h.mant, h.exp - e, &wh) || scale_up(s.mant, s.exp - e, &ws))
        return -1;
    if (ws <= 0 || wh <= wl) return -1;
    wide_int steps = (wh - wl) / ws;
    if (steps > (wide_int)1 << 52) return -1;
    if ((wh - wl) % ws != 0) {
        if (fixed_high) {
            /* (steps x step + low) in decimal, printed and read back, as Optuna's float(Decimal). */
            wide_int top = steps * ws + wl;
            char text[64];
            int neg = top < 0, n = 0;
            char rev[48];
            wide_int t = neg ? -top : top;
            do {
                rev[n++] = (char)('0' + (int)(t % 10));
                t /= 10;
            } while (t > 0 && n < 45);
            int k = 0;
            if (neg) text[k++] = '-';
            while (n > 0) text[k++] = rev[--n];
            snprintf(text + k, sizeof text - (size_t)k, "e%d", e);
            *fixed_high = strtod(text, NULL);
        }
        return 1;
    }
    if (points) *points = (int64_t)steps + 1;
    return 0;
}

void space_print_json_string(vs_strbuf *b, const char *str) {
    char *t = vs_json_quote(str);
    vs_sb_puts(b, t);
    free(t);
}

void space_print_json_exact(vs_strbuf *b, const cJSON *item) {
    char *t = vs_json_print_exact(item);
    vs_sb_puts(b, t);
    free(t);
}

double vs_step_on_grid(double low, double step, double v) {
    if (!isfinite(low) || !isfinite(step) || !isfinite(v) || step <= 0) return v;
    double k = rint((v - low) / step);
    if (!(fabs(k) < 9e15)) return v;
    /* low + k x step in decimal, at the finer of the two exponents, printed and read back */
    decimal l = to_decimal(low), s = to_decimal(step);
    int e = l.exp < s.exp ? l.exp : s.exp;
    wide_int wl, ws;
    if (scale_up(l.mant, l.exp - e, &wl) || scale_up(s.mant, s.exp - e, &ws)) return v;
    wide_int x = wl + (wide_int)(int64_t)k * ws;
    char rev[48], text[64];
    int n = 0, neg = x < 0, j = 0;
    wide_int t = neg ? -x : x;
    do {
        rev[n++] = (char)('0' + (int)(t % 10));
        t /= 10;
    } while (t > 0 && n < 45);
    if (neg) text[j++] = '-';
    while (n > 0) text[j++] = rev[--n];
    snprintf(text + j, sizeof text - (size_t)j, "e%d", e);
    return strtod(text, NULL);
}
