/* Minimal test harness shared by tests/unit and tests/api: CHECK macros that
 * count failures instead of aborting, so one run reports every mismatch.
 * A test program returns test_finish() from main(). */
#ifndef APOLLO_TESTUTIL_H
#define APOLLO_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int test_n_failed;
static int test_n_checks;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        test_n_checks++;                                                             \
        if (!(cond)) {                                                               \
            test_n_failed++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_MSG(cond, ...)                                                         \
    do {                                                                             \
        test_n_checks++;                                                             \
        if (!(cond)) {                                                               \
            test_n_failed++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
        }                                                                            \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                             \
    do {                                                                               \
        long long va_ = (long long)(a), vb_ = (long long)(b);                          \
        CHECK_MSG(va_ == vb_, "%s = %lld, expected %s = %lld", #a, va_, #b, vb_);      \
    } while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                                \
    do {                                                                               \
        const char *h_ = (hay);                                                        \
        CHECK_MSG(h_ && strstr(h_, (needle)) != NULL, "'%s' does not contain '%s'",    \
                  h_ ? h_ : "(null)", (needle));                                       \
    } while (0)

/* Root of tests/fixtures, compiled in by CMake. */
#ifndef APOLLO_TEST_FIXTURES
#define APOLLO_TEST_FIXTURES "tests/fixtures"
#endif

static inline int test_finish(const char *name)
{
    if (test_n_failed) {
        fprintf(stderr, "%s: %d of %d checks failed\n", name, test_n_failed, test_n_checks);
        return 1;
    }
    printf("%s: all %d checks passed\n", name, test_n_checks);
    return 0;
}

/* max|a-b| / max|b|: the "relative" tolerance used against reference tensors. */
static inline double test_rel_err(const float *a, const float *b, size_t n)
{
    double maxdiff = 0, maxref = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        double r = fabs((double)b[i]);
        if (d > maxdiff || d != d)
            maxdiff = d != d ? INFINITY : d;
        if (r > maxref)
            maxref = r;
    }
    return maxref > 0 ? maxdiff / maxref : maxdiff;
}

#endif
