/* Vectorised float32 transcendentals for the activations and the attention
 * softmax (issue #8: libm's scalar tanhf/expf were ~20 % of a SigLIP encode
 * in the profile).  Two implementations of the same formulas: AVX2 + FMA
 * (nn_vecmath_avx2.c, compiled through target attributes), chosen at run
 * time when the CPU has both, and a portable scalar one (nn_vecmath.c) that
 * uses libm's expf for exp and the constants below for the rest.  Accuracy
 * against double-precision libm is enforced by tests/unit/test_nn_vecmath.c
 * (measured maxima there and in bench/README.md):
 *
 *   exp   (AVX2) range reduction n = round(x / ln 2), r = x - n ln 2 (Cody-Waite),
 *         exp(r) = 1 + r + r^2 P5(r) (Cephes expf), times 2^n in two steps
 *         so that subnormal results round once; x > 88.72 -> +inf,
 *         x < -103.98 -> +0, NaN -> NaN.
 *   tanh  |x| < 0.625: x + x^3 P4(x^2) (no cancellation near 0);
 *         else sign(x) (1 - 2 / (exp(2|x|) + 1)).
 *   erf   |x| < 1: x + x Q6(x^2);  else sign(x) (1 - erfc(|x|)) with
 *         erfc(z) = exp(-z^2) S(u) / (z + 1),  u = 1 / (z + 1),  S a degree-9
 *         polynomial in u - 3/8 (fitted here, relative error 2e-8 on
 *         z in [0.5, 10.5]; constant term in two floats); z^2 and z + 1 are
 *         each split exactly into float + small remainder, and the
 *         remainders applied as a first-order correction, so that neither
 *         rounding reaches the result (the scalar code evaluates erfc in
 *         double instead).
 *
 * The activations are written so that no result comes from cancellation:
 *   gelu_tanh(x) = 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)),  u = sqrt(2/pi)(x + 0.044715 x^3)
 *   silu(x)      = x / (1 + exp(-x))
 *   (for v = 2u or x below -88.7, exp(-v) overflows and the result is +-0,
 *   where the exact value is below 1e-37 |x|); the rounding error of v
 *   (error-free products and sums) is applied through the derivative,
 *   result (1 + dv e / (1 + e)), e = exp(-v): x << 0 makes the result
 *   sensitive to v (relative error ~ |v| times v's);
 *   gelu_erf(x)  = x Phi(x),  t = x / sqrt(2),  Phi = 0.5 (1 + erf(t)) for -0.5 < t < 1,
 *                  0.5 erfc(-t) for t <= -0.5,  1 - 0.5 erfc(t) for t >= 1;
 *                  the rounding error of t (from an FMA) is applied to Phi
 *                  through Phi's derivative, as it is for z^2 in erfc.
 * (0.5 x (1 + tanh(u)) in float loses digits below x = -3 and all of them
 * by x = -5, where tanhf(u) rounds to -1; the forms above keep a relative
 * error of a few ulp there.)
 *
 * Every function takes y and x of n elements; y may equal x (in place).
 * Results do not depend on an element's position in the array (the AVX2
 * tails go through the same vector code with masked loads and stores). */
#ifndef APOLLO_NN_VECMATH_H
#define APOLLO_NN_VECMATH_H

#include <stddef.h>
#include <stdint.h>

/* Dispatching entry points (AVX2 + FMA when available and not disabled). */
void apollo__vexp(float *y, const float *x, size_t n);
void apollo__vtanh(float *y, const float *x, size_t n);
void apollo__verf(float *y, const float *x, size_t n);
void apollo__vgelu_tanh(float *y, const float *x, size_t n);
void apollo__vgelu_erf(float *y, const float *x, size_t n);
void apollo__vsilu(float *y, const float *x, size_t n);
/* In place: s[i] = exp(scale s[i] - m) / sum_j exp(scale s[j] - m),
 * m = max_j scale s[j]  (the attention softmax of one row of scores). */
void apollo__vsoftmax(float *s, int64_t n, float scale);

/* Tests: force the scalar code (1) or allow AVX2 again (0); returns the
 * previous setting.  Whether AVX2 + FMA code is in use right now: */
int apollo__vecmath_disable_simd(int disable);
int apollo__vecmath_uses_avx2(void);

/* The two implementations, for the tests. */
void apollo__vexp_scalar(float *y, const float *x, size_t n);
void apollo__vtanh_scalar(float *y, const float *x, size_t n);
void apollo__verf_scalar(float *y, const float *x, size_t n);
void apollo__vgelu_tanh_scalar(float *y, const float *x, size_t n);
void apollo__vgelu_erf_scalar(float *y, const float *x, size_t n);
void apollo__vsilu_scalar(float *y, const float *x, size_t n);
void apollo__vsoftmax_scalar(float *s, int64_t n, float scale);

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define APOLLO__VECMATH_HAVE_AVX2 1
void apollo__vexp_avx2(float *y, const float *x, size_t n);
void apollo__vtanh_avx2(float *y, const float *x, size_t n);
void apollo__verf_avx2(float *y, const float *x, size_t n);
void apollo__vgelu_tanh_avx2(float *y, const float *x, size_t n);
void apollo__vgelu_erf_avx2(float *y, const float *x, size_t n);
void apollo__vsilu_avx2(float *y, const float *x, size_t n);
void apollo__vsoftmax_avx2(float *s, int64_t n, float scale);
#else
#define APOLLO__VECMATH_HAVE_AVX2 0
#endif

/* ---- constants shared by both implementations ------------------------------ */

/* exp */
#define VM_EXP_HI 88.75f        /* exp(x) = +inf above (overflow starts at 88.7228) */
#define VM_EXP_LO (-104.0f)     /* exp(x) rounds to +0 below -103.97 */
#define VM_LOG2E 1.44269504088896341f
#define VM_LN2_HI 0.693359375f  /* 355/512: n * VM_LN2_HI is exact */
#define VM_LN2_LO (-2.12194440e-4f)
#define VM_EXP_P0 1.9875691500e-4f
#define VM_EXP_P1 1.3981999507e-3f
#define VM_EXP_P2 8.3334519073e-3f
#define VM_EXP_P3 4.1665795894e-2f
#define VM_EXP_P4 1.6666665459e-1f
#define VM_EXP_P5 5.0000001201e-1f

/* tanh, |x| < VM_TANH_SMALL */
#define VM_TANH_SMALL 0.625f
#define VM_TANH_P0 (-5.70498872745e-3f)
#define VM_TANH_P1 2.06390887954e-2f
#define VM_TANH_P2 (-5.37397155531e-2f)
#define VM_TANH_P3 1.33314422036e-1f
#define VM_TANH_P4 (-3.33332819422e-1f)

/* gelu_tanh: v = 2u = x (C1 + C2 x^2), each constant as float + float remainder */
#define VM_GELU_C1D 1.59576912160573071176          /* 2 sqrt(2/pi) */
#define VM_GELU_C2D (1.59576912160573071176 * 0.044715)
#define VM_GELU_C1 ((float)VM_GELU_C1D)
#define VM_GELU_C2 ((float)VM_GELU_C2D)
#define VM_GELU_C1_LO ((float)(VM_GELU_C1D - (double)VM_GELU_C1))
#define VM_GELU_C2_LO ((float)(VM_GELU_C2D - (double)VM_GELU_C2))

/* erf(x) = x + x Q(x^2), |x| < 1 (minimax fit of erf(x)/x = 1 + Q, relative error
 * 1.9e-9; the leading x is exact) */
#define VM_ERF_P0 1.28379165e-01f /* + 1: x + x Q(x^2) */
#define VM_ERF_P1 (-3.761262317e-01f)
#define VM_ERF_P2 1.128356163e-01f
#define VM_ERF_P3 (-2.685296217e-02f)
#define VM_ERF_P4 5.186866242e-03f
#define VM_ERF_P5 (-7.998259554e-04f)
#define VM_ERF_P6 7.816614182e-05f
/* erfc(z) = exp(-z^2) u S(u - 3/8), u = 1/(z + 1), z in [0.5, 10.5]
 * (fit of erfc(z) exp(z^2) (z + 1), relative error 2.1e-8); beyond
 * 10.5 exp(-z^2) is 0 */
#define VM_ERFC_U0 0.375f
#define VM_ERFC_S0 7.900999562e-01f
#define VM_ERFC_S0_LO ((float)(7.900999562e-01 - (double)VM_ERFC_S0)) /* S0 - (float)S0 */
#define VM_ERFC_S1 5.621843128e-01f
#define VM_ERFC_S2 (-2.971041997e-01f)
#define VM_ERFC_S3 (-3.540233662e-01f)
#define VM_ERFC_S4 5.371336196e-01f
#define VM_ERFC_S5 (-2.537312965e-02f)
#define VM_ERFC_S6 (-7.832728230e-01f)
#define VM_ERFC_S7 9.925947956e-01f
#define VM_ERFC_S8 3.991245429e-01f
#define VM_ERFC_S9 (-1.760430085e+00f)
#define VM_SQRT1_2 0.70710678118654752f
#define VM_SQRT1_2_LO ((float)(0.70710678118654752440 - (double)VM_SQRT1_2))
#define VM_2_SQRTPI 1.12837916709551257f /* 2 / sqrt(pi) */

#endif
