/* test_pcg: PCG32 against the reference generator's published output, jump-ahead,
 * the counter-based streams, and the distributions drawn from them. */
#include <stdint.h>

#include "common/pcg.h"
#include "test.h"

int main(void) {
    /* pcg32-demo (pcg-c-basic) seeds with (42, 54); its first six outputs: */
    static const uint32_t want[6] = {0xa15c02b7u, 0x7b47f409u, 0xba1d3330u, 0x83d2f293u, 0xbfa4784bu, 0xcbed606eu};
    vs_pcg32 g;
    vs_pcg32_seed(&g, 42u, 54u);
    for (int i = 0; i < 6; i++) CHECK_MSG(vs_pcg32_next(&g) == want[i], "output %d", i);

    /* advance(k) lands where k calls of next() do */
    for (uint64_t k = 0; k < 300; k += 37) {
        vs_pcg32 a, b;
        vs_pcg32_seed(&a, 1234, 77);
        b = a;
        for (uint64_t i = 0; i < k; i++) vs_pcg32_next(&a);
        vs_pcg32_advance(&b, k);
        CHECK(a.state == b.state && vs_pcg32_next(&a) == vs_pcg32_next(&b));
    }

    /* a stream's position-th value is the position-th output of the stream */
    vs_pcg32 s = vs_stream(5, VS_RNG_DROPOUT, 10, 3);
    for (uint64_t pos = 0; pos < 50; pos++)
        CHECK(vs_pcg32_next(&s) == vs_stream_at(5, VS_RNG_DROPOUT, 10, 3, pos));
    /* neighbouring keys give unrelated streams */
    int equal = 0;
    for (uint64_t b = 0; b < 64; b++)
        for (uint64_t pos = 0; pos < 16; pos++)
            equal += vs_stream_at(5, VS_RNG_DROPOUT, 10, b, pos) == vs_stream_at(5, VS_RNG_DROPOUT, 10, b + 1, pos);
    equal += vs_stream_at(5, VS_RNG_DROPOUT, 10, 3, 0) == vs_stream_at(5, VS_RNG_NOISE, 10, 3, 0);
    equal += vs_stream_at(5, VS_RNG_DROPOUT, 10, 3, 0) == vs_stream_at(6, VS_RNG_DROPOUT, 10, 3, 0);
    CHECK(equal == 0);

    /* bounded(): chi-square over 10 buckets; normal(): mean 0, variance 1 */
    vs_pcg32 u = vs_stream(1, 1, 1, 1);
    int counts[10] = {0};
    enum { N = 200000 };
    for (int i = 0; i < N; i++) counts[vs_pcg32_bounded(&u, 10)]++;
    double chi2 = 0;
    for (int i = 0; i < 10; i++) chi2 += (counts[i] - N / 10.0) * (counts[i] - N / 10.0) / (N / 10.0);
    CHECK_MSG(chi2 < 27.9, "chi2 %g (9 dof, p = 0.001)", chi2);
    double sum = 0, sum2 = 0;
    for (int i = 0; i < N; i++) {
        double z = vs_pcg32_normal(&u);
        sum += z, sum2 += z * z;
    }
    CHECK_NEAR(sum / N, 0.0, 0.01);
    CHECK_NEAR(sum2 / N, 1.0, 0.015);
    double lo = 1, hi = 0;
    for (int i = 0; i < 1000; i++) {
        double x = vs_pcg32_unit_double(&u);
        lo = x < lo ? x : lo, hi = x > hi ? x : hi;
    }
    CHECK(lo >= 0 && lo < 0.01 && hi < 1 && hi > 0.99);

    /* the dropout threshold keeps the right fraction */
    uint32_t thr = vs_keep_threshold(0.3f);
    int kept = 0;
    for (int i = 0; i < N; i++) kept += vs_pcg32_next(&u) < thr;
    CHECK_NEAR((double)kept / N, 0.3, 0.005);
    CHECK(vs_keep_threshold(1.0f) == 0xffffffffu);
    return test_finish();
}
