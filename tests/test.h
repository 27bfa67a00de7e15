/* test.h: the minimal harness the C tests share. CHECK records a failure with its
 * file and line and goes on; test_finish prints "N passed, N failed" and returns the
 * exit status (a test that cannot run, e.g. without a GPU, exits 77: skipped). */
#ifndef VS_TEST_H
#define VS_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_passed, test_failed;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (cond) test_passed++;                                                    \
        else {                                                                      \
            test_failed++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

#define CHECK_MSG(cond, ...)                                                 \
    do {                                                                     \
        if (cond) test_passed++;                                             \
        else {                                                               \
            test_failed++;                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                        \
    do {                                                                             \
        double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);               \
        if (fabs(a_ - b_) <= t_) test_passed++;                                      \
        else {                                                                       \
            test_failed++;                                                           \
            fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.10g, %s = %.10g, tol %g\n", \
                    __FILE__, __LINE__, #a, a_, #b, b_, t_);                         \
        }                                                                            \
    } while (0)

/* Fails the test when a call returning 0/-1 with a vs_error fails. */
#define CHECK_OK(call, errp)                                                           \
    do {                                                                               \
        if ((call) == 0) test_passed++;                                                \
        else {                                                                         \
            test_failed++;                                                             \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, (errp)->msg); \
        }                                                                              \
    } while (0)

static inline int test_finish(void) {
    printf("%d passed, %d failed\n", test_passed, test_failed);
    return test_failed ? 1 : 0;
}

#endif
