/* Accuracy of the vectorised float32 transcendentals (lib/nn/nn_vecmath.h)
 * against double-precision libm, for the scalar and (when the CPU has it)
 * the AVX2 + FMA implementation:
 *
 *   - inputs: every 1031st float bit pattern over the whole finite range
 *     (both signs; ~4.4 million per function; APOLLO_TEST_VECMATH_STRIDE=N
 *     takes every Nth instead: N = 37 runs ~1 minute), 2 x 8192 consecutive
 *     floats around each switch point of the algorithms (0.5, 0.625, 1, the
 *     gelu_erf thresholds, the exp overflow / subnormal / underflow points,
 *     ...), and the special values 0, -0, subnormals, FLT_MIN, FLT_MAX,
 *     +-inf, NaN;
 *   - error: in ulps of the double reference (the float spacing at |ref|;
 *     2^-149 for subnormal results), the maxima found are printed:
 *       exp, tanh, erf:            <= 2 ulp, subnormal results included;
 *       silu, gelu_tanh, gelu_erf: <= 4 ulp, results below 2^-100 counted in
 *         ulps of 2^-100 (a product with a subnormal exp(-v) carries its
 *         rounding, and exp(-v) overflows to give +-0 for v < -88.7);
 *     special values as PyTorch gives them: exp(-inf) = 0, tanh/erf(+-0) =
 *     +-0, tanh/erf(+-inf) = +-1, silu/gelu(+inf) = inf, silu/gelu(-inf) =
 *     NaN, NaN -> NaN;
 *   - the AVX2 results do not depend on where an element sits (masked tails);
 *   - the softmax against a double softmax on rows of 1..70, 729 and 2049
 *     scores: |error| <= 16 x 2^-24 p (1 + |arg|) per probability p, arg the
 *     argument of its exp (rounded to float, as in the previous code);
 *   - apollo__gelu_tanh / gelu_erf / silu (lib/nn/nn_ops.h) are the
 *     dispatched functions, and apollo__vecmath_disable_simd selects the
 *     scalar ones. */
#include "nn/nn_ops.h"
#include "nn/nn_vecmath.h"
#include "testrand.h"
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef void (*vfn)(float *y, const float *x, size_t n);

/* standard normal (Box-Muller on the test LCG) */
static double rnorm(uint32_t *st)
{
    double u1 = ((double)test_frand(st) + 1.0) * 0.5 + 1e-9, u2 = (double)test_frand(st);
    return sqrt(-2.0 * log(u1)) * cos(M_PI * u2);
}

static float f_of(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static uint32_t b_of(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

typedef struct fcase {
    const char *name;
    vfn scalar, avx2; /* avx2: NULL without AVX2 + FMA */
    double (*ref)(double x);
    double bound; /* ulps */
    double floor; /* results below count in ulps of this; 0: none */
} fcase;

/* ---- double references -------------------------------------------------- */

static double ref_exp(double x) { return exp(x); }
static double ref_tanh(double x) { return tanh(x); }
static double ref_erf(double x) { return erf(x); }

static const double k_gelu = 0.79788456080286535588; /* sqrt(2/pi) */

/* 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)) (no cancellation in double either) */
static double ref_gelu_tanh(double x)
{
    double u = k_gelu * (x + 0.044715 * x * x * x);
    return x / (1.0 + exp(-2.0 * u));
}

static double ref_silu(double x) { return x / (1.0 + exp(-x)); }

static double ref_gelu_erf(double x) { return x * 0.5 * erfc(-x * M_SQRT1_2); }

/* ---- error measure --------------------------------------------------------- */

/* spacing of floats at |r| (2^-149 for subnormals) */
static double ulp_at(double r)
{
    int e;
    r = fabs(r);
    if (r < FLT_MIN)
        return 0x1p-149;
    if (r > FLT_MAX)
        r = FLT_MAX;
    frexp(r, &e); /* r = m 2^e, m in [0.5, 1) */
    return ldexp(1.0, e - 24);
}

typedef struct stat {
    double max_err, at_x;
    long n, bad;
} stat;

/* error of got against ref(x) in ulps; INFINITY for a wrong special value */
static double err_of(const fcase *c, float x, float got)
{
    double r = c->ref((double)x), rf = (double)(float)r;
    if (isnan(r))
        return isnan(got) ? 0 : INFINITY;
    if (isnan(got))
        return INFINITY;
    /* an exact zero (x = +-0, exp(-inf)) has the reference's sign; an
     * activation's underflow to +-0 may have either */
    if (r == 0 && got == 0 && !signbit(got) != !signbit(r) && !(c->floor > 0 && x != 0))
        return INFINITY;
    if (isinf(rf)) {
        /* rounds to inf: inf or the largest float are fine */
        if (isinf(got) && !signbit(got) == !signbit(rf))
            return 0;
        if (isinf(r))
            return INFINITY;
    }
    if (isinf(got))
        return INFINITY;
    return fabs((double)got - r) / ulp_at(fabs(r) < c->floor ? c->floor : r);
}

#define BATCH 65536

static float xs[BATCH], ys[BATCH], yv[BATCH];

static void run_batch(const fcase *c, size_t n, stat *st_s, stat *st_v)
{
    c->scalar(ys, xs, n);
#if APOLLO__VECMATH_HAVE_AVX2
    if (c->avx2)
        c->avx2(yv, xs, n);
#endif
    for (size_t i = 0; i < n; i++) {
        for (int path = 0; path < 2; path++) {
            stat *st = path ? st_v : st_s;
            float got = path ? yv[i] : ys[i];
            double e;
            if (path && !c->avx2)
                continue;
            e = err_of(c, xs[i], got);
            st->n++;
            if (e > st->max_err) {
                st->max_err = e;
                st->at_x = xs[i];
            }
            if (!(e <= c->bound)) {
                if (st->bad++ < 5)
                    fprintf(stderr, "%s %s: x = %.9g (0x%08x): got %.9g, ref %.17g, %.2f ulp\n",
                            c->name, path ? "avx2" : "scalar", xs[i],
                            (unsigned)b_of(xs[i]), got, c->ref((double)xs[i]), e);
            }
        }
    }
}

static void sweep(const fcase *c, const float *points, size_t n_points)
{
    stat st_s = {0}, st_v = {0};
    size_t n = 0;
    /* APOLLO_TEST_VECMATH_STRIDE=1: every float (minutes per function) */
    const char *env = getenv("APOLLO_TEST_VECMATH_STRIDE");
    uint64_t stride = env && atol(env) > 0 ? (uint64_t)atol(env) : 1031;
    /* 1. strided over all finite floats, both signs */
    for (int sign = 0; sign < 2; sign++)
        for (uint64_t b = 0; b < 0x7f800000u; b += stride) {
            xs[n++] = f_of((uint32_t)b | (sign ? 0x80000000u : 0));
            if (n == BATCH) {
                run_batch(c, n, &st_s, &st_v);
                n = 0;
            }
        }
    /* 2. consecutive floats around the switch points */
    for (size_t p = 0; p < n_points; p++) {
        uint32_t b0 = b_of(points[p]) & 0x7fffffffu;
        for (int sign = 0; sign < 2; sign++)
            for (int64_t d = -4096; d < 4096; d++) {
                int64_t b = (int64_t)b0 + d;
                if (b < 0 || b >= 0x7f800000)
                    continue;
                xs[n++] = f_of((uint32_t)b | (sign ? 0x80000000u : 0));
                if (n == BATCH) {
                    run_batch(c, n, &st_s, &st_v);
                    n = 0;
                }
            }
    }
    /* 3. special values */
    {
        const float sp[] = {0.0f, -0.0f, 0x1p-149f, -0x1p-149f, 0x1p-140f, -0x1p-130f, FLT_MIN,
                            -FLT_MIN, 1e-30f, -1e-30f, 1e-7f, -1e-7f, 1.0f, -1.0f, FLT_MAX,
                            -FLT_MAX, INFINITY, -INFINITY, NAN, -NAN};
        for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++)
            xs[n++] = sp[i];
    }
    run_batch(c, n, &st_s, &st_v);

    for (int path = 0; path < 2; path++) {
        const stat *st = path ? &st_v : &st_s;
        if (path && !c->avx2)
            break;
        printf("%-9s %-6s: max %.3f ulp at x = %.9g; %ld points\n", c->name,
               path ? "avx2" : "scalar", st->max_err, st->at_x, st->n);
    }
    CHECK_MSG(st_s.bad == 0, "%s scalar: %ld points over %.1f", c->name, st_s.bad, c->bound);
    CHECK_MSG(st_v.bad == 0, "%s avx2: %ld points over %.1f", c->name, st_v.bad, c->bound);
}

#if APOLLO__VECMATH_HAVE_AVX2
/* Every element of a tail (or of a short array) gives what the full-vector
 * loop gives for the same value. */
static void tails_equal(const fcase *c)
{
    static float in[64], full[64], part[64];
    int bad = 0;
    uint32_t st = 12345;
    for (int i = 0; i < 64; i++)
        in[i] = (float)(rnorm(&st) * 4.0);
    c->avx2(full, in, 64);
    for (size_t off = 0; off < 16; off++)
        for (size_t len = 0; off + len <= 64 && len < 40; len++) {
            for (int i = 0; i < 64; i++)
                part[i] = -12345.0f;
            c->avx2(part + off, in + off, len);
            for (size_t i = 0; i < 64; i++) {
                int inside = i >= off && i < off + len;
                if (inside ? memcmp(&part[i], &full[i], 4) != 0 : part[i] != -12345.0f)
                    bad++;
            }
        }
    CHECK_MSG(bad == 0, "%s avx2: %d elements differ between tail and full vectors", c->name, bad);
}
#endif

static void check_softmax(void)
{
    static float s[4096], s2[4096];
    static double d[4096];
    const int64_t lens[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 70, 729, 2049};
    uint32_t st = 777;
    double worst[2] = {0, 0};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (int rep = 0; rep < 4; rep++) {
            int64_t n = lens[li];
            float scale = rep == 3 ? 1.0f : 0.125f * (float)(rep + 1);
            double m = -INFINITY, sum = 0;
            for (int64_t i = 0; i < n; i++) {
                s[i] = (float)(rnorm(&st) * (rep == 2 ? 40.0 : 8.0));
                if ((double)s[i] * scale > m)
                    m = (double)s[i] * scale;
            }
            for (int64_t i = 0; i < n; i++)
                sum += (d[i] = exp((double)s[i] * scale - m));
            for (int path = 0; path < 2; path++) {
                memcpy(s2, s, (size_t)n * sizeof(float));
                if (path == 0)
                    apollo__vsoftmax_scalar(s2, n, scale);
#if APOLLO__VECMATH_HAVE_AVX2
                else if (apollo__vecmath_uses_avx2())
                    apollo__vsoftmax_avx2(s2, n, scale);
#endif
                else
                    continue;
                for (int64_t i = 0; i < n; i++) {
                    /* units: 2^-24 p (1 + |scale s - m|): the argument of exp is
                     * rounded to float (|error| <= 2^-24 |arg|) */
                    double p = d[i] / sum, arg = fabs((double)s[i] * scale - m);
                    double e = fabs(s2[i] - p) / (0x1p-24 * p * (1.0 + arg) + 0x1p-140);
                    if (e > worst[path])
                        worst[path] = e;
                }
            }
        }
    printf("softmax: max error %.3f (scalar), %.3f (avx2) x 2^-24 p (1 + |arg|)\n", worst[0],
           worst[1]);
    CHECK_MSG(worst[0] <= 16, "softmax scalar: %.3f", worst[0]);
    CHECK_MSG(worst[1] <= 16, "softmax avx2: %.3f", worst[1]);

    /* n = 0 touches nothing */
    s[0] = 3.0f;
    apollo__vsoftmax(s, 0, 1.0f);
    CHECK(s[0] == 3.0f);
    s[0] = -50.0f;
    apollo__vsoftmax(s, 1, 1.0f);
    CHECK(s[0] == 1.0f);
}

/* nn_ops.h's in-place activations are the dispatched ones, and
 * apollo__vecmath_disable_simd switches them to the scalar code */
static void check_nn_ops(void)
{
    float a[100], b[100];
    uint32_t st = 99;
    void (*ops[3])(float *, size_t) = {apollo__gelu_tanh, apollo__gelu_erf, apollo__silu};
    vfn vops[3] = {apollo__vgelu_tanh_scalar, apollo__vgelu_erf_scalar, apollo__vsilu_scalar};
#if APOLLO__VECMATH_HAVE_AVX2
    vfn aops[3] = {apollo__vgelu_tanh_avx2, apollo__vgelu_erf_avx2, apollo__vsilu_avx2};
#endif
    for (int scalar = 1; scalar >= 0; scalar--) {
        int avx2;
        apollo__vecmath_disable_simd(scalar);
        avx2 = apollo__vecmath_uses_avx2();
        CHECK(!(scalar && avx2));
        for (int k = 0; k < 3; k++) {
            for (int i = 0; i < 100; i++)
                a[i] = (float)(rnorm(&st) * 3.0);
#if APOLLO__VECMATH_HAVE_AVX2
            (avx2 ? aops : vops)[k](b, a, 100);
#else
            vops[k](b, a, 100);
#endif
            ops[k](a, 100);
            CHECK_MSG(memcmp(a, b, sizeof a) == 0, "nn_ops activation %d (%s)", k,
                      avx2 ? "avx2" : "scalar");
        }
    }
}

int main(void)
{
#if APOLLO__VECMATH_HAVE_AVX2
#define AV(f) (apollo__vecmath_uses_avx2() ? f : NULL)
#else
#define AV(f) NULL
#endif
    const fcase cases[] = {
        {"exp", apollo__vexp_scalar, AV(apollo__vexp_avx2), ref_exp, 2.0, 0},
        {"tanh", apollo__vtanh_scalar, AV(apollo__vtanh_avx2), ref_tanh, 2.0, 0},
        {"erf", apollo__verf_scalar, AV(apollo__verf_avx2), ref_erf, 2.0, 0},
        {"silu", apollo__vsilu_scalar, AV(apollo__vsilu_avx2), ref_silu, 4.0, 0x1p-100},
        {"gelu_tanh", apollo__vgelu_tanh_scalar, AV(apollo__vgelu_tanh_avx2), ref_gelu_tanh, 4.0,
         0x1p-100},
        {"gelu_erf", apollo__vgelu_erf_scalar, AV(apollo__vgelu_erf_avx2), ref_gelu_erf, 4.0,
         0x1p-100},
    };
    const float points[] = {0.5f,       0.625f,      1.0f,       2.0f,        0.70710678f,
                            1.41421356f, 88.7228394f, 87.3365479f, 103.972076f, 104.0f,
                            88.75f,     11.0f,       15.556349f, 10.5f,       44.3614197f};

    printf("AVX2 + FMA path: %s\n", apollo__vecmath_uses_avx2() ? "yes" : "no (scalar only)");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sweep(&cases[i], points, sizeof points / sizeof points[0]);
#if APOLLO__VECMATH_HAVE_AVX2
        if (cases[i].avx2)
            tails_equal(&cases[i]);
#endif
    }
    check_softmax();
    check_nn_ops();
    return test_finish("test_nn_vecmath");
}
