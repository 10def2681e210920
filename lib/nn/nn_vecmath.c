/* Scalar implementations of nn_vecmath.h (the formulas and constants of
 * the AVX2 code in nn_vecmath_avx2.c around libm's expf) and the run-time
 * dispatch. */
#include "nn_vecmath.h"

#include <float.h>
#include <math.h>
#include <stdatomic.h>

/* ---- scalar kernels ---------------------------------------------------------- */

/* libm's expf: correctly rounded or nearly so in current C libraries, and
 * faster than a scalar port of the vector polynomial (which the compilers
 * do not vectorise for the baseline ISA). */
static inline float exp1(float x)
{
    return expf(x);
}

static inline float tanh1(float x)
{
    float ax = fabsf(x), r;
    if (ax < VM_TANH_SMALL) {
        float z = ax * ax, p = VM_TANH_P0;
        p = p * z + VM_TANH_P1;
        p = p * z + VM_TANH_P2;
        p = p * z + VM_TANH_P3;
        p = p * z + VM_TANH_P4;
        r = (p * z) * ax + ax;
    } else {
        r = 1.0f - 2.0f / (exp1(2.0f * ax) + 1.0f);
    }
    return copysignf(r, x);
}

/* erf(x) / x - 1 for |x| < 1, as a polynomial in x^2 */
static inline float erf_poly(float x2)
{
    float p = VM_ERF_P6;
    p = p * x2 + VM_ERF_P5;
    p = p * x2 + VM_ERF_P4;
    p = p * x2 + VM_ERF_P3;
    p = p * x2 + VM_ERF_P2;
    p = p * x2 + VM_ERF_P1;
    p = p * x2 + VM_ERF_P0;
    return p;
}

/* erfc(z + dz) for z >= 0.5 (and up to +inf; NaN -> NaN), |dz| <= 2^-23 z:
 * the AVX2 formula evaluated in double (cheap here; no FMA needed for the
 * error-free splits of z^2 and z + 1) */
static inline float erfc_big(float z, float dz)
{
    double zd, d, w, s;
    if (z > 11.0f) { /* erfc is 0 in float well before */
        z = 11.0f;
        dz = 0.0f;
    }
    zd = z;
    d = zd + 1.0;
    w = 1.0 / d - VM_ERFC_U0;
    s = VM_ERFC_S9;
    s = s * w + VM_ERFC_S8;
    s = s * w + VM_ERFC_S7;
    s = s * w + VM_ERFC_S6;
    s = s * w + VM_ERFC_S5;
    s = s * w + VM_ERFC_S4;
    s = s * w + VM_ERFC_S3;
    s = s * w + VM_ERFC_S2;
    s = s * w + VM_ERFC_S1;
    s = (s * w + VM_ERFC_S0_LO) + VM_ERFC_S0;
    /* erfc(z + dz) = erfc(z) (1 - dz 2 / (sqrt(pi) erfc(z) exp(z^2)))
     *              = erfc(z) (1 - dz 2 / sqrt(pi) d / s) */
    return (float)(exp(-zd * zd) * s / d * (1.0 - (double)dz * VM_2_SQRTPI * d / s));
}

static inline float erf1(float x)
{
    float ax = fabsf(x), r;
    if (ax < 1.0f)
        r = ax * erf_poly(ax * ax) + ax;
    else
        r = 1.0f - erfc_big(ax, 0.0f);
    return copysignf(r, x);
}

/* x sigmoid(v) = x / (1 + exp(-v)): no cancellation for either sign of v;
 * for v < -88.7 exp(-v) overflows and the result is +-0 (|true value| <
 * 1e-37 |x|) */
static inline float x_sigmoid(float x, float v)
{
    return x / (1.0f + exp1(-v));
}

static inline float gelu_tanh1(float x)
{
    /* v in double (|error| ~2^-52 |v|), then v + dv with v in float */
    double xd = x, vd = xd * (VM_GELU_C1D + VM_GELU_C2D * xd * xd);
    float v = (float)vd, e, r, dv;
    if (!(fabsf(x) <= 1e6f)) /* |v| > 1e17: the result is x or +-0 */
        return x_sigmoid(x, x);
    dv = (float)(vd - (double)v);
    e = exp1(-v);
    r = x / (1.0f + e);
    /* d/dv x / (1 + e) = r e / (1 + e); e = inf: r = -0 */
    return isinf(e) ? r : r + r * (dv * (e / (1.0f + e)));
}

static inline float silu1(float x)
{
    return x_sigmoid(x, x);
}

static inline float gelu_erf1(float x)
{
    /* t + dt = x / sqrt(2) to ~2^-48 relative */
    float t = x * VM_SQRT1_2, phi;
    float dt = (float)((double)x * (double)VM_SQRT1_2 - (double)t) + x * VM_SQRT1_2_LO;
    if (!(fabsf(x) <= FLT_MAX)) /* inf - inf */
        dt = 0.0f;
    if (t > -0.5f && t < 1.0f) {
        /* Phi(t + dt) = Phi(t) + dt exp(-t^2) / sqrt(pi), exp(-t^2) ~ 1 - t^2 + t^4/2 - t^6/6
         * (the term is below an ulp of Phi, 10 % is plenty) */
        float h = 0.5f * t, t2 = t * t;
        float g = ((t2 * (-1.0f / 6) + 0.5f) * t2 - 1.0f) * t2 + 1.0f;
        phi = (h * erf_poly(t2) + (h + dt * (0.5f * VM_2_SQRTPI) * g)) + 0.5f;
    } else {
        float he = 0.5f * erfc_big(fabsf(t), t > 0 ? dt : -dt);
        phi = t > 0 ? 1.0f - he : he;
    }
    return x * phi;
}

#define SCALAR_LOOP(name, f)                                  \
    void name(float *y, const float *x, size_t n)             \
    {                                                         \
        for (size_t i = 0; i < n; i++)                        \
            y[i] = f(x[i]);                                   \
    }

SCALAR_LOOP(apollo__vexp_scalar, exp1)
SCALAR_LOOP(apollo__vtanh_scalar, tanh1)
SCALAR_LOOP(apollo__verf_scalar, erf1)
SCALAR_LOOP(apollo__vgelu_tanh_scalar, gelu_tanh1)
SCALAR_LOOP(apollo__vgelu_erf_scalar, gelu_erf1)
SCALAR_LOOP(apollo__vsilu_scalar, silu1)

void apollo__vsoftmax_scalar(float *s, int64_t n, float scale)
{
    float m = -INFINITY, sraw = 0, inv;
    double sum = 0; /* one float running sum over thousands of terms loses ~n/2 ulp */
    for (int64_t i = 0; i < n; i++)
        if (s[i] * scale > m) {
            m = s[i] * scale;
            sraw = s[i];
        }
    /* (s - sraw) scale: rounding errors relative to the argument of exp,
     * not to s scale (what the FMA does in the AVX2 code) */
    for (int64_t i = 0; i < n; i++) {
        s[i] = exp1(m == -INFINITY ? s[i] * scale - m : (s[i] - sraw) * scale);
        sum += s[i];
    }
    inv = sum > 0 ? (float)(1.0 / sum) : 0.0f;
    for (int64_t i = 0; i < n; i++)
        s[i] *= inv;
}

/* ---- dispatch ------------------------------------------------------------------ */

static _Atomic int simd_disabled;

int apollo__vecmath_disable_simd(int disable)
{
    return atomic_exchange(&simd_disabled, disable);
}

int apollo__vecmath_uses_avx2(void)
{
#if APOLLO__VECMATH_HAVE_AVX2
    /* -1: not probed yet */
    static _Atomic int have = -1;
    int h = atomic_load_explicit(&have, memory_order_relaxed);
    if (h < 0) {
        __builtin_cpu_init();
        h = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        atomic_store_explicit(&have, h, memory_order_relaxed);
    }
    return h && !atomic_load_explicit(&simd_disabled, memory_order_relaxed);
#else
    return 0;
#endif
}

#if APOLLO__VECMATH_HAVE_AVX2
#define DISPATCH(name, args, call_args)        \
    void name args                             \
    {                                          \
        if (apollo__vecmath_uses_avx2())       \
            name##_avx2 call_args;             \
        else                                   \
            name##_scalar call_args;           \
    }
#else
#define DISPATCH(name, args, call_args) \
    void name args                      \
    {                                   \
        name##_scalar call_args;        \
    }
#endif

DISPATCH(apollo__vexp, (float *y, const float *x, size_t n), (y, x, n))
DISPATCH(apollo__vtanh, (float *y, const float *x, size_t n), (y, x, n))
DISPATCH(apollo__verf, (float *y, const float *x, size_t n), (y, x, n))
DISPATCH(apollo__vgelu_tanh, (float *y, const float *x, size_t n), (y, x, n))
DISPATCH(apollo__vgelu_erf, (float *y, const float *x, size_t n), (y, x, n))
DISPATCH(apollo__vsilu, (float *y, const float *x, size_t n), (y, x, n))
DISPATCH(apollo__vsoftmax, (float *s, int64_t n, float scale), (s, n, scale))
