/* AVX2 + FMA implementations of nn_vecmath.h, 8 floats at a time, compiled
 * through function attributes (the library still runs on x86-64 CPUs
 * without AVX2: nn_vecmath.c only calls these after checking the CPU).
 * Same formulas and constants as the scalar code; both branches of a
 * piecewise function are computed and blended per lane.  The error-free
 * transformations (two-sum, FMA residuals) need IEEE arithmetic as written:
 * no -ffast-math / -fassociative-math for this file. */
#include "nn_vecmath.h"

#if APOLLO__VECMATH_HAVE_AVX2

#include <float.h>
#include <immintrin.h>
#include <math.h>

#define VMT __attribute__((target("avx2,fma")))

static VMT inline __m256 sign_mask(void)
{
    return _mm256_set1_ps(-0.0f);
}

static VMT inline __m256 v_abs(__m256 x)
{
    return _mm256_andnot_ps(sign_mask(), x);
}

/* exp(x) = (1 + q) s1 s2: returns q, |q| < 0.42, and the two power-of-two
 * factors (see the scalar notes in nn_vecmath.h) */
static VMT inline __m256 v_exp_q(__m256 x, __m256 *s1, __m256 *s2)
{
    __m256 n, r, p;
    __m256i ni, n1, n2;
    /* max/min return their second operand when either is NaN: NaN stays */
    x = _mm256_min_ps(_mm256_set1_ps(VM_EXP_HI), _mm256_max_ps(_mm256_set1_ps(VM_EXP_LO), x));
    n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(VM_LOG2E)),
                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(VM_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(VM_LN2_LO), r);
    p = _mm256_set1_ps(VM_EXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(VM_EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(VM_EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(VM_EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(VM_EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(VM_EXP_P5));
    /* 2^n as 2^n1 2^n2, n1, n2 in [-76, 65]: both normal, so that
     * ((1 + q) 2^n1) is exact and a subnormal result rounds once; NaN
     * lanes: any factors, q is NaN */
    ni = _mm256_cvtps_epi32(n);
    n1 = _mm256_srai_epi32(ni, 1);
    n2 = _mm256_sub_epi32(ni, n1);
    *s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    *s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    return _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
}

static VMT inline __m256 v_exp(__m256 x)
{
    __m256 s1, s2, q = v_exp_q(x, &s1, &s2);
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_add_ps(q, _mm256_set1_ps(1.0f)), s1), s2);
}

static VMT inline __m256 v_tanh(__m256 x)
{
    __m256 ax = v_abs(x), sign = _mm256_and_ps(x, sign_mask());
    __m256 z = _mm256_mul_ps(ax, ax), p, small, big, one = _mm256_set1_ps(1.0f);
    p = _mm256_set1_ps(VM_TANH_P0);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(VM_TANH_P1));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(VM_TANH_P2));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(VM_TANH_P3));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(VM_TANH_P4));
    small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), ax, ax);
    big = v_exp(_mm256_add_ps(ax, ax));
    big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(big, one)));
    /* NaN compares false: takes big, which is NaN */
    return _mm256_or_ps(
        _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(VM_TANH_SMALL), _CMP_LT_OQ)),
        sign);
}

static VMT inline __m256 v_erf_poly(__m256 x2)
{
    __m256 p = _mm256_set1_ps(VM_ERF_P6);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(VM_ERF_P5));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(VM_ERF_P4));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(VM_ERF_P3));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(VM_ERF_P2));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(VM_ERF_P1));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(VM_ERF_P0));
    return p;
}

/* erfc(z + dz), z >= 0.5 or +inf or NaN, |dz| <= 2^-23 z (see the scalar
 * erfc_big).  The exp(-z^2) = (1 + q) 2^n and S = S0 + (S - S0) products are
 * merged into one rounding, S (1 + q) = S0 + ((S - S0) + q S), and the 2^n
 * applied last. */
static VMT inline __m256 v_erfc_big(__m256 z, __m256 dz)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 hi, lo, d, dl, u, w, t, sr, q, s1, s2, p, c;
    dz = _mm256_and_ps(dz, _mm256_cmp_ps(z, _mm256_set1_ps(11.0f), _CMP_LE_OQ));
    z = _mm256_min_ps(_mm256_set1_ps(11.0f), z);
    hi = _mm256_mul_ps(z, z);
    lo = _mm256_fmsub_ps(z, z, hi); /* z^2 = hi + lo exactly */
    d = _mm256_add_ps(z, one);
    dl = _mm256_sub_ps(z, _mm256_sub_ps(d, one)); /* z + 1 = d + dl exactly */
    u = _mm256_div_ps(one, d);
    w = _mm256_sub_ps(u, _mm256_set1_ps(VM_ERFC_U0));
    t = _mm256_set1_ps(VM_ERFC_S9);
    t = _mm256_fmadd_ps(t, w, _mm256_set1_ps(VM_ERFC_S8));
    t = _mm256_fmadd_ps(t, w, _mm256_set1_ps(VM_ERFC_S7));
    t = _mm256_fmadd_ps(t, w, _mm256_set1_ps(VM_ERFC_S6));
    t = _mm256_fmadd_ps(t, w, _mm256_set1_ps(VM_ERFC_S5));
    t = _mm256_fmadd_ps(t, w, _mm256_set1_ps(VM_ERFC_S4));
    t = _mm256_fmadd_ps(t, w, _mm256_set1_ps(VM_ERFC_S3));
    t = _mm256_fmadd_ps(t, w, _mm256_set1_ps(VM_ERFC_S2));
    t = _mm256_fmadd_ps(t, w, _mm256_set1_ps(VM_ERFC_S1));
    sr = _mm256_fmadd_ps(t, w, _mm256_set1_ps(VM_ERFC_S0_LO)); /* S - S0 */
    q = v_exp_q(_mm256_xor_ps(hi, sign_mask()), &s1, &s2);
    p = _mm256_fmadd_ps(q, _mm256_add_ps(sr, _mm256_set1_ps(VM_ERFC_S0)), sr);
    p = _mm256_div_ps(_mm256_add_ps(p, _mm256_set1_ps(VM_ERFC_S0)), d);
    /* p (1 - lo - dl / d - dz 2 / sqrt(pi) d / S); 1 / S to 12 bits is plenty */
    c = _mm256_fmadd_ps(_mm256_mul_ps(dz, _mm256_set1_ps(VM_2_SQRTPI)),
                        _mm256_mul_ps(d, _mm256_rcp_ps(_mm256_add_ps(sr, _mm256_set1_ps(VM_ERFC_S0)))),
                        _mm256_fmadd_ps(dl, u, lo));
    p = _mm256_fnmadd_ps(p, c, p);
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

static VMT inline __m256 v_erf(__m256 x)
{
    __m256 ax = v_abs(x), sign = _mm256_and_ps(x, sign_mask());
    __m256 small = _mm256_fmadd_ps(ax, v_erf_poly(_mm256_mul_ps(ax, ax)), ax);
    __m256 big = _mm256_sub_ps(_mm256_set1_ps(1.0f), v_erfc_big(ax, _mm256_setzero_ps()));
    return _mm256_or_ps(
        _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(1.0f), _CMP_LT_OQ)), sign);
}

/* x sigmoid(v) = x / (1 + exp(-v)) */
static VMT inline __m256 v_x_sigmoid(__m256 x, __m256 v)
{
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), v_exp(_mm256_xor_ps(v, sign_mask()))));
}

static VMT inline __m256 v_gelu_tanh(__m256 x)
{
    const __m256 one = _mm256_set1_ps(1.0f), c1 = _mm256_set1_ps(VM_GELU_C1),
                 c2 = _mm256_set1_ps(VM_GELU_C2);
    __m256 x2, x2l, p, pl, w, wb, wl, v, vl, e, den, r, corr;
    /* v + vl = x (C1 + C2 x^2) to ~2^-45 relative: error-free x^2 and C2 x^2
     * (FMA), Knuth's two-sum for + C1, the constants' remainders */
    x2 = _mm256_mul_ps(x, x);
    x2l = _mm256_fmsub_ps(x, x, x2);
    p = _mm256_mul_ps(c2, x2);
    pl = _mm256_fmsub_ps(c2, x2, p);
    w = _mm256_add_ps(p, c1);
    wb = _mm256_sub_ps(w, p);
    wl = _mm256_add_ps(_mm256_sub_ps(p, _mm256_sub_ps(w, wb)), _mm256_sub_ps(c1, wb));
    wl = _mm256_add_ps(wl, _mm256_fmadd_ps(c2, x2l, pl));
    wl = _mm256_add_ps(wl, _mm256_fmadd_ps(_mm256_set1_ps(VM_GELU_C2_LO), x2,
                                           _mm256_set1_ps(VM_GELU_C1_LO)));
    v = _mm256_mul_ps(x, w);
    vl = _mm256_fmadd_ps(x, wl, _mm256_fmsub_ps(x, w, v));
    e = v_exp(_mm256_xor_ps(v, sign_mask()));
    den = _mm256_add_ps(one, e);
    r = _mm256_div_ps(x, den);
    /* r (1 + vl e / (1 + e)); 1 / (1 + e) to 12 bits is plenty.  Lanes
     * where that is NaN (e = inf; |x| huge: inf - inf; r = +-inf) keep r */
    corr = _mm256_mul_ps(vl, _mm256_mul_ps(e, _mm256_rcp_ps(den)));
    corr = _mm256_fmadd_ps(r, corr, r);
    return _mm256_blendv_ps(corr, r, _mm256_cmp_ps(corr, corr, _CMP_UNORD_Q));
}

static VMT inline __m256 v_silu(__m256 x)
{
    return v_x_sigmoid(x, x);
}

static VMT inline __m256 v_gelu_erf(__m256 x)
{
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    const __m256 c = _mm256_set1_ps(VM_SQRT1_2);
    __m256 t = _mm256_mul_ps(x, c);
    /* t + dt = x / sqrt(2) to ~2^-48 relative */
    __m256 dt = _mm256_fmadd_ps(x, _mm256_set1_ps(VM_SQRT1_2_LO), _mm256_fmsub_ps(x, c, t));
    dt = _mm256_and_ps(dt, _mm256_cmp_ps(v_abs(x), _mm256_set1_ps(FLT_MAX), _CMP_LE_OQ));
    __m256 t2 = _mm256_mul_ps(t, t), h = _mm256_mul_ps(half, t), g, ph_small, he, ph_big, small;
    __m256 tpos = _mm256_cmp_ps(t, _mm256_setzero_ps(), _CMP_GT_OQ);
    /* Phi(t + dt) = Phi(t) + dt exp(-t^2) / sqrt(pi), exp(-t^2) ~ 1 - t^2 + t^4/2 - t^6/6 */
    g = _mm256_fmadd_ps(t2, _mm256_set1_ps(-1.0f / 6), half);
    g = _mm256_fmsub_ps(g, t2, one);
    g = _mm256_fmadd_ps(g, t2, one);
    ph_small = _mm256_fmadd_ps(_mm256_mul_ps(dt, _mm256_set1_ps(0.5f * VM_2_SQRTPI)), g, h);
    ph_small = _mm256_add_ps(_mm256_fmadd_ps(h, v_erf_poly(t2), ph_small), half);
    he = _mm256_mul_ps(half, v_erfc_big(v_abs(t), _mm256_blendv_ps(_mm256_xor_ps(dt, sign_mask()), dt, tpos)));
    ph_big = _mm256_blendv_ps(he, _mm256_sub_ps(one, he), tpos);
    small = _mm256_and_ps(_mm256_cmp_ps(t, _mm256_set1_ps(-0.5f), _CMP_GT_OQ),
                          _mm256_cmp_ps(t, one, _CMP_LT_OQ));
    return _mm256_mul_ps(x, _mm256_blendv_ps(ph_big, ph_small, small));
}

/* lanes [0, rem) of a tail, 0 < rem < 8 */
static VMT inline __m256i tail_mask(size_t rem)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)rem),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#define AVX2_LOOP(name, f)                                                   \
    VMT void name(float *y, const float *x, size_t n)                        \
    {                                                                        \
        size_t i = 0;                                                        \
        for (; i + 8 <= n; i += 8)                                           \
            _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i)));              \
        if (i < n) {                                                         \
            __m256i m = tail_mask(n - i);                                    \
            _mm256_maskstore_ps(y + i, m, f(_mm256_maskload_ps(x + i, m)));  \
        }                                                                    \
    }

AVX2_LOOP(apollo__vexp_avx2, v_exp)
AVX2_LOOP(apollo__vtanh_avx2, v_tanh)
AVX2_LOOP(apollo__verf_avx2, v_erf)
AVX2_LOOP(apollo__vgelu_tanh_avx2, v_gelu_tanh)
AVX2_LOOP(apollo__vgelu_erf_avx2, v_gelu_erf)
AVX2_LOOP(apollo__vsilu_avx2, v_silu)

static VMT inline float hmax(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static VMT inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

VMT void apollo__vsoftmax_avx2(float *s, int64_t n, float scale)
{
    const __m256 vs = _mm256_set1_ps(scale), ninf = _mm256_set1_ps(-INFINITY);
    __m256 vmax = ninf, vsum = _mm256_setzero_ps(), vm, vinv;
    int64_t i, n8;
    __m256i m;
    float sum;

    if (n <= 0)
        return;
    n8 = n & ~(int64_t)7;
    m = tail_mask((size_t)(n - n8));
    for (i = 0; i < n8; i += 8)
        vmax = _mm256_max_ps(vmax, _mm256_mul_ps(_mm256_loadu_ps(s + i), vs));
    if (n8 < n)
        vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(ninf,
                                                     _mm256_mul_ps(_mm256_maskload_ps(s + n8, m), vs),
                                                     _mm256_castsi256_ps(m)));
    vm = _mm256_set1_ps(hmax(vmax));
    for (i = 0; i < n8; i += 8) {
        __m256 e = v_exp(_mm256_fmsub_ps(_mm256_loadu_ps(s + i), vs, vm));
        _mm256_storeu_ps(s + i, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    if (n8 < n) {
        __m256 e = v_exp(_mm256_fmsub_ps(_mm256_maskload_ps(s + n8, m), vs, vm));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(m));
        _mm256_maskstore_ps(s + n8, m, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    sum = hsum(vsum);
    vinv = _mm256_set1_ps(sum > 0 ? 1.0f / sum : 0.0f);
    for (i = 0; i < n8; i += 8)
        _mm256_storeu_ps(s + i, _mm256_mul_ps(_mm256_loadu_ps(s + i), vinv));
    if (n8 < n)
        _mm256_maskstore_ps(s + n8, m, _mm256_mul_ps(_mm256_maskload_ps(s + n8, m), vinv));
}

#endif
