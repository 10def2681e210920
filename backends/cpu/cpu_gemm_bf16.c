/* Packed GEMM on weights used in place (prefill, encoders): M >= 16.
 *
 * Blocking (GotoBLAS style, sized for 48-64 KB L1 / 1 MB L2 per core):
 *   - x is packed once per call into micro-panels of MR rows
 *     ([M/MR][K][MR] f32, or [M/MR][K/2][MR][2] bf16 pairs);
 *   - a task owns NB = 64 output columns; for each block of KC k-values it
 *     packs its 64 x KC slice of W (bf16 -> f32 widening, exact; Q8 rows
 *     dequantized, q * scale; or bf16 pairs as stored) into a 64 KB stack
 *     buffer, then runs the micro-kernel over every MR-row strip of x.
 *     The weight is thus read once per call and never converted as a whole.
 *
 * Micro-kernels (accumulators in registers, B from L1, A broadcast):
 *   AVX2        6 x 16 f32 FMA
 *   AVX-512    12 x 32 f32 FMA
 *   AVX512-BF16 12 x 32 vdpbf16ps (x rounded to bf16: ~3 significant digits)
 *   scalar     bf16-pair reference kernel, only for tests (APOLLO__GEMM_BF16_EMULATE). */
#include "cpu_kernels.h"

#include "apollo.h"
#include "common/alloc.h"
#include "common/dtype.h"
#include "common/quant.h"
#include "common/status.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define APOLLO_X86 1
#endif

#define KC_F32 256
#define KC_BF16 512
#define MR_MAX 12
#define NR_MAX 32

static int64_t mr_of(int32_t isa, int bf16)
{
    if (bf16)
        return 12;
    return isa >= APOLLO__ISA_AVX512 ? 12 : 6;
}

static int64_t nr_of(int32_t isa, int bf16)
{
    if (bf16)
        return 32;
    return isa >= APOLLO__ISA_AVX512 ? 32 : 16;
}

int apollo__gemm_available(int32_t isa)
{
    return isa >= APOLLO__ISA_AVX2;
}

static uint16_t f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN stays NaN */
        return (uint16_t)((u >> 16) | 0x40);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* ---- packing -------------------------------------------------------------- */

int apollo__gemm_pack_a(int32_t isa, int bf16, const float *x, int64_t M, int64_t K,
                        apollo__gemm_apack *out)
{
    int64_t mr, n_strips;
    size_t bytes;
    memset(out, 0, sizeof *out);
    if (bf16 == 1 && isa < APOLLO__ISA_AVX512BF16)
        bf16 = 0;
    mr = mr_of(isa, bf16 != 0);
    n_strips = (M + mr - 1) / mr;
    out->isa = isa;
    out->bf16 = bf16;
    out->M = M;
    out->K = K;
    out->mr = mr;
    out->kp = bf16 ? (K + 1) & ~(int64_t)1 : K;
    if (apollo__mul_size((size_t)(n_strips * mr), (size_t)out->kp, &bytes) ||
        apollo__mul_size(bytes, bf16 ? 2 : 4, &bytes) ||
        !(out->data = apollo__malloc(bytes)))
        return apollo__fail(APOLLO_E_NOMEM, "matmul: out of memory packing %lld x %lld "
                            "activations", (long long)M, (long long)K);
    for (int64_t s = 0; s < n_strips; s++) {
        for (int64_t i = 0; i < mr; i++) {
            int64_t m = s * mr + i;
            const float *xr = m < M ? x + m * K : NULL;
            if (bf16) {
                uint16_t *p = (uint16_t *)out->data + (size_t)(s * out->kp * mr);
                for (int64_t k = 0; k < out->kp; k++) {
                    uint16_t v = xr && k < K ? f32_to_bf16(xr[k]) : 0;
                    p[((k >> 1) * mr + i) * 2 + (k & 1)] = v;
                }
            } else {
                float *p = (float *)out->data + (size_t)(s * out->kp * mr);
                for (int64_t k = 0; k < K; k++)
                    p[k * mr + i] = xr ? xr[k] : 0.0f;
            }
        }
    }
    return APOLLO_OK;
}

void apollo__gemm_apack_free(apollo__gemm_apack *a)
{
    apollo__free(a->data);
    a->data = NULL;
}

/* W[n0 + c, k0 + k] for c < nb, k < kc -> [nb/nr][kc][nr] f32 (zero padded).
 * Q8 weights enter the f32 micro-kernel dequantized: at M >= 16 the packing
 * is a small share of the work, and one kernel serves every weight type. */
static void pack_b_f32(const apollo__tensor *w, int64_t n0, int64_t nb, int64_t k0, int64_t kc,
                       int64_t nr, float *dst)
{
    const int64_t nb_pad = (nb + nr - 1) / nr * nr;
    float row[KC_F32];
    for (int64_t c = 0; c < nb_pad; c++) {
        float *d = dst + (c / nr) * kc * nr + (c % nr);
        if (c < nb)
            apollo__tensor_row_to_f32(w, n0 + c, k0, kc, row);
        else
            memset(row, 0, sizeof row);
        for (int64_t k = 0; k < kc; k++)
            d[k * nr] = row[k];
    }
}

/* bf16 weights -> [nb/nr][kc/2][nr][2] (kc even after padding; zero padded). */
static void pack_b_bf16(const apollo__tensor *w, int64_t n0, int64_t nb, int64_t k0, int64_t kc,
                        int64_t K, int64_t nr, uint16_t *dst)
{
    const int64_t nb_pad = (nb + nr - 1) / nr * nr, kp = (kc + 1) & ~(int64_t)1;
    for (int64_t c = 0; c < nb_pad; c++) {
        uint16_t *d = dst + (c / nr) * kp * nr + (c % nr) * 2;
        const unsigned char *src = c < nb ? apollo__tensor_row(w, n0 + c) : NULL;
        for (int64_t k = 0; k < kp; k++) {
            uint16_t v = 0;
            if (src && k0 + k < K)
                memcpy(&v, src + 2 * (size_t)(k0 + k), 2);
            d[(k >> 1) * nr * 2 + (k & 1)] = v;
        }
    }
}

/* ---- micro-kernels -------------------------------------------------------------
 * C[mr x nr] (+)= A-panel[kc][mr] . B-panel[kc][nr]; ldc in floats; load=0
 * overwrites C.  Always computes a full tile; callers handle edges. */

typedef void (*ukernel_fn)(const void *a, const void *b, int64_t kc, float *c, int64_t ldc,
                           int load);

/* Test-only reference for the bf16-pair layout (same math as vdpbf16ps up to
 * the order of the two products). */
static void ukernel_bf16_scalar(const void *av, const void *bv, int64_t kc, float *c,
                                int64_t ldc, int load)
{
    const uint16_t *a = av, *b = bv;
    const int64_t mr = 12, nr = 32, kp = (kc + 1) / 2;
    for (int64_t i = 0; i < mr; i++)
        for (int64_t j = 0; j < nr; j++) {
            float acc = load ? c[i * ldc + j] : 0.0f;
            for (int64_t p = 0; p < kp; p++) {
                const uint16_t *ap = a + (p * mr + i) * 2, *bp = b + (p * nr + j) * 2;
                acc += apollo__bf16_to_f32(ap[0]) * apollo__bf16_to_f32(bp[0]) +
                       apollo__bf16_to_f32(ap[1]) * apollo__bf16_to_f32(bp[1]);
            }
            c[i * ldc + j] = acc;
        }
}

#ifdef APOLLO_X86

__attribute__((target("avx2,fma"))) static void
ukernel_avx2_6x16(const void *av, const void *bv, int64_t kc, float *c, int64_t ldc, int load)
{
    const float *a = av, *b = bv;
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (load) {
        c00 = _mm256_loadu_ps(c + 0 * ldc), c01 = _mm256_loadu_ps(c + 0 * ldc + 8);
        c10 = _mm256_loadu_ps(c + 1 * ldc), c11 = _mm256_loadu_ps(c + 1 * ldc + 8);
        c20 = _mm256_loadu_ps(c + 2 * ldc), c21 = _mm256_loadu_ps(c + 2 * ldc + 8);
        c30 = _mm256_loadu_ps(c + 3 * ldc), c31 = _mm256_loadu_ps(c + 3 * ldc + 8);
        c40 = _mm256_loadu_ps(c + 4 * ldc), c41 = _mm256_loadu_ps(c + 4 * ldc + 8);
        c50 = _mm256_loadu_ps(c + 5 * ldc), c51 = _mm256_loadu_ps(c + 5 * ldc + 8);
    } else {
        c00 = c01 = c10 = c11 = c20 = c21 = _mm256_setzero_ps();
        c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++, a += 6, b += 16) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), t;
        t = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(t, b0, c00); c01 = _mm256_fmadd_ps(t, b1, c01);
        t = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(t, b0, c10); c11 = _mm256_fmadd_ps(t, b1, c11);
        t = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(t, b0, c20); c21 = _mm256_fmadd_ps(t, b1, c21);
        t = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(t, b0, c30); c31 = _mm256_fmadd_ps(t, b1, c31);
        t = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(t, b0, c40); c41 = _mm256_fmadd_ps(t, b1, c41);
        t = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(t, b0, c50); c51 = _mm256_fmadd_ps(t, b1, c51);
    }
    _mm256_storeu_ps(c + 0 * ldc, c00), _mm256_storeu_ps(c + 0 * ldc + 8, c01);
    _mm256_storeu_ps(c + 1 * ldc, c10), _mm256_storeu_ps(c + 1 * ldc + 8, c11);
    _mm256_storeu_ps(c + 2 * ldc, c20), _mm256_storeu_ps(c + 2 * ldc + 8, c21);
    _mm256_storeu_ps(c + 3 * ldc, c30), _mm256_storeu_ps(c + 3 * ldc + 8, c31);
    _mm256_storeu_ps(c + 4 * ldc, c40), _mm256_storeu_ps(c + 4 * ldc + 8, c41);
    _mm256_storeu_ps(c + 5 * ldc, c50), _mm256_storeu_ps(c + 5 * ldc + 8, c51);
}

#define T_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))

T_AVX512 static void ukernel_avx512_12x32(const void *av, const void *bv, int64_t kc, float *c,
                                          int64_t ldc, int load)
{
    const float *a = av, *b = bv;
    __m512 acc[12][2];
    for (int i = 0; i < 12; i++) {
        acc[i][0] = load ? _mm512_loadu_ps(c + i * ldc) : _mm512_setzero_ps();
        acc[i][1] = load ? _mm512_loadu_ps(c + i * ldc + 16) : _mm512_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++, a += 12, b += 32) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        for (int i = 0; i < 12; i++) {
            __m512 t = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(t, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(t, b1, acc[i][1]);
        }
    }
    for (int i = 0; i < 12; i++) {
        _mm512_storeu_ps(c + i * ldc, acc[i][0]);
        _mm512_storeu_ps(c + i * ldc + 16, acc[i][1]);
    }
}

#define T_BF16 __attribute__((target("avx512bf16,avx512f,avx512bw,avx512vl,avx2,fma")))

T_BF16 static void ukernel_bf16_12x32(const void *av, const void *bv, int64_t kc, float *c,
                                      int64_t ldc, int load)
{
    const int32_t *a = av; /* one bf16 pair per int32 */
    const uint16_t *b = bv;
    const int64_t kp = (kc + 1) / 2;
    __m512 acc[12][2];
    for (int i = 0; i < 12; i++) {
        acc[i][0] = load ? _mm512_loadu_ps(c + i * ldc) : _mm512_setzero_ps();
        acc[i][1] = load ? _mm512_loadu_ps(c + i * ldc + 16) : _mm512_setzero_ps();
    }
    for (int64_t p = 0; p < kp; p++, a += 12, b += 64) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 32);
        for (int i = 0; i < 12; i++) {
            __m512bh t = (__m512bh)_mm512_set1_epi32(a[i]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], t, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], t, b1);
        }
    }
    for (int i = 0; i < 12; i++) {
        _mm512_storeu_ps(c + i * ldc, acc[i][0]);
        _mm512_storeu_ps(c + i * ldc + 16, acc[i][1]);
    }
}

#endif /* APOLLO_X86 */

static ukernel_fn pick_kernel(const apollo__gemm_apack *a)
{
    if (a->bf16 == 2)
        return ukernel_bf16_scalar;
#ifdef APOLLO_X86
    if (a->bf16)
        return ukernel_bf16_12x32;
    if (a->isa >= APOLLO__ISA_AVX512)
        return ukernel_avx512_12x32;
    return ukernel_avx2_6x16;
#else
    return ukernel_bf16_scalar; /* unreachable: apollo__gemm_available() is false */
#endif
}

/* ---- driver --------------------------------------------------------------------- */

void apollo__gemm_cols(const apollo__gemm_apack *a, const apollo__tensor *w, const float *bias,
                       float *y, int64_t N, int64_t n0, int64_t n1)
{
    /* 64 KB either way: 64 x 256 f32 or 64 x 512 bf16 */
    _Alignas(64) unsigned char bpack[APOLLO__GEMM_NB * KC_F32 * sizeof(float)];
    _Alignas(64) float tile[MR_MAX * NR_MAX];
    const int bf16 = a->bf16 != 0;
    const int64_t mr = a->mr, nr = nr_of(a->isa, bf16), M = a->M, K = a->K;
    const int64_t kcmax = bf16 ? KC_BF16 : KC_F32, nb = n1 - n0;
    const int64_t n_strips = (M + mr - 1) / mr;
    const ukernel_fn kern = pick_kernel(a);

    for (int64_t k0 = 0; k0 < K; k0 += kcmax) {
        const int64_t kc = K - k0 < kcmax ? K - k0 : kcmax;
        const int64_t kcp = bf16 ? (kc + 1) & ~(int64_t)1 : kc; /* panel k extent */
        if (bf16)
            pack_b_bf16(w, n0, nb, k0, kc, K, nr, (uint16_t *)(void *)bpack);
        else
            pack_b_f32(w, n0, nb, k0, kc, nr, (float *)(void *)bpack);
        for (int64_t j = 0; j < nb; j += nr) {
            const int64_t nv = nb - j < nr ? nb - j : nr;
            const void *bp = bf16 ? (const void *)((const uint16_t *)(void *)bpack + j * kcp)
                                  : (const void *)((const float *)(void *)bpack + j * kcp);
            for (int64_t s = 0; s < n_strips; s++) {
                const int64_t m0 = s * mr, mv = M - m0 < mr ? M - m0 : mr;
                const void *ap = bf16 ? (const void *)((const uint16_t *)a->data +
                                                       (size_t)(s * a->kp * mr + k0 * mr))
                                      : (const void *)((const float *)a->data +
                                                       (size_t)(s * a->kp * mr + k0 * mr));
                float *c = y + m0 * N + n0 + j;
                if (mv == mr && nv == nr) {
                    kern(ap, bp, kc, c, N, k0 > 0);
                    continue;
                }
                if (k0 > 0)
                    for (int64_t i = 0; i < mr; i++)
                        for (int64_t q = 0; q < nr; q++)
                            tile[i * nr + q] = i < mv && q < nv ? c[i * N + q] : 0.0f;
                kern(ap, bp, kc, tile, nr, k0 > 0);
                for (int64_t i = 0; i < mv; i++)
                    memcpy(c + i * N, tile + i * nr, (size_t)nv * sizeof(float));
            }
        }
    }
    if (bias)
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = n0; n < n1; n++)
                y[m * N + n] += bias[n];
}
