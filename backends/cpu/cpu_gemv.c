/* GEMV on weights used in place (decode: M = 1, and small M).
 *
 * Decode reads every weight once per token, so the kernel's only job is to
 * keep the memory system busy: it walks 4 weight rows at a time, widens
 * bf16/f16 to f32 in registers (exact) and accumulates x . w in f32 with FMA,
 * for up to 2 (AVX2) or 4 (AVX-512) rows of x per pass over the weights; the
 * AVX2 kernels prefetch the next 4-row block in software where rows are too
 * short for the hardware prefetchers (see gemv_avx2_dt, and gemv_q8_x1).
 * The result differs from a double-precision reference only by f32
 * summation order (relative error ~1e-6 for K of a few thousand).
 * Q8 weights (APOLLO_PRECISION_INT8) are widened from int8 the same way and
 * scaled once per output. */
#include "cpu_kernels.h"

#include "common/dtype.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define APOLLO_X86 1
#endif

/* ---- scalar ------------------------------------------------------------------- */

static float load_w(const unsigned char *row, apollo__dtype dt, int64_t k)
{
    if (dt == APOLLO__DT_F32) {
        float f;
        memcpy(&f, row + 4 * k, 4);
        return f;
    } else {
        uint16_t h;
        memcpy(&h, row + 2 * k, 2);
        return dt == APOLLO__DT_BF16 ? apollo__bf16_to_f32(h) : apollo__f16_to_f32(h);
    }
}

static void gemv_scalar(const float *x, int64_t M, int64_t K, const apollo__tensor *w,
                        const float *bias, float *y, int64_t N, int64_t n0, int64_t n1)
{
    for (int64_t n = n0; n < n1; n++) {
        const unsigned char *row = apollo__tensor_row(w, n);
        for (int64_t m = 0; m < M; m++) {
            const float *xm = x + m * K;
            float acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += xm[k] * load_w(row, w->dtype, k);
            y[m * N + n] = acc + (bias ? bias[n] : 0.0f);
        }
    }
}

/* Q8 rows: the row's scale is applied once to the f32 sum of x * q (q exact
 * in f32), which is the dot product with the dequantized row q * scale. */
static void gemv_scalar_q8(const float *x, int64_t M, int64_t K, const apollo__tensor *w,
                           const float *bias, float *y, int64_t N, int64_t n0, int64_t n1)
{
    for (int64_t n = n0; n < n1; n++) {
        const int8_t *row = apollo__tensor_row(w, n);
        for (int64_t m = 0; m < M; m++) {
            const float *xm = x + m * K;
            float acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += xm[k] * (float)row[k];
            y[m * N + n] = acc * w->scale[n] + (bias ? bias[n] : 0.0f);
        }
    }
}

#ifdef APOLLO_X86

/* ---- AVX2 --------------------------------------------------------------------- */

#define T_AVX2 __attribute__((target("avx2,fma,f16c")))

T_AVX2 static inline __m256 ld8(const unsigned char *p, apollo__dtype dt)
{
    if (dt == APOLLO__DT_F32)
        return _mm256_loadu_ps((const float *)(const void *)p);
    __m128i h = _mm_loadu_si128((const __m128i *)(const void *)p);
    if (dt == APOLLO__DT_F16)
        return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

T_AVX2 static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Weight rows are short in decode: 3 KB of bf16 for the 1.5B model's
 * K = 1536, 4 KB for K = 2048, i.e. each row ends within a page or two.  The
 * hardware prefetchers follow each of the 4 row streams within its page and
 * barely ramp up before the row ends: 1536-long bf16 rows were read ~15 %
 * slower than long ones (M = 1), and ~35 % slower at M = 4, where the
 * second pass over a block left the memory idle.  So, like the Q8 kernel
 * below, for rows of at most GEMV_PF_MAX_ROW bytes the kernel prefetches the
 * next 4-row block (contiguous: 4 K weights) into L2 while it consumes the
 * current one, one 64-byte line per 64 bytes of weight consumed, so the next
 * block's lines arrive one block ahead; the passes for rows 2.. of x (M > 2)
 * repeat the prefetches, which then hit in L2.  Longer rows are left to the
 * hardware prefetchers: there the same prefetch cost 5-14 % at M = 1 for
 * rows of 8 KB and more, 0-6 % at 7 KB.
 * Accumulators are named variables (one per x row and weight row, k in
 * ascending steps of 8, reduced with hsum8, then the tail k in order), so
 * the summation order of every output is that of a plain loop over 8 lanes,
 * whatever M and the prefetch. */
#define GEMV_PF_MAX_ROW 4096
#define GEMV_DT_ES(dt) ((dt) == APOLLO__DT_F32 ? (size_t)4 : (size_t)2)

T_AVX2 __attribute__((always_inline)) static inline void gemv_prefetch_step(apollo__dtype dt, int pf,
                                                                          const char *p)
{
    if (!pf)
        return;
    _mm_prefetch(p, _MM_HINT_T1);
    if (dt == APOLLO__DT_F32) /* 128 bytes of f32 weight per step */
        _mm_prefetch(p + 64, _MM_HINT_T1);
}

/* One row of x against 4 weight rows; next: the block to prefetch (if pf). */
T_AVX2 __attribute__((always_inline)) static inline void
gemv_dt_x1(apollo__dtype dt, int pf, const float *x0, int64_t K, const unsigned char *const r[4],
           const char *next, float s0[4])
{
    const size_t es = GEMV_DT_ES(dt);
    const unsigned char *r0 = r[0], *r1 = r[1], *r2 = r[2], *r3 = r[3];
    const int64_t K8 = K & ~(int64_t)7;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t k = 0; k < K8; k += 8) {
        const size_t o = es * (size_t)k;
        __m256 v = _mm256_loadu_ps(x0 + k);
        gemv_prefetch_step(dt, pf, next + 4 * o);
        a0 = _mm256_fmadd_ps(ld8(r0 + o, dt), v, a0);
        a1 = _mm256_fmadd_ps(ld8(r1 + o, dt), v, a1);
        a2 = _mm256_fmadd_ps(ld8(r2 + o, dt), v, a2);
        a3 = _mm256_fmadd_ps(ld8(r3 + o, dt), v, a3);
    }
    s0[0] = hsum8(a0), s0[1] = hsum8(a1), s0[2] = hsum8(a2), s0[3] = hsum8(a3);
    for (int64_t k = K8; k < K; k++)
        for (int i = 0; i < 4; i++)
            s0[i] += x0[k] * load_w(r[i], dt, k);
}

/* Two rows of x against 4 weight rows (each weight widened once). */
T_AVX2 __attribute__((always_inline)) static inline void
gemv_dt_x2(apollo__dtype dt, int pf, const float *x0, const float *x1, int64_t K,
           const unsigned char *const r[4], const char *next, float s0[4], float s1[4])
{
    const size_t es = GEMV_DT_ES(dt);
    const unsigned char *r0 = r[0], *r1 = r[1], *r2 = r[2], *r3 = r[3];
    const int64_t K8 = K & ~(int64_t)7;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    for (int64_t k = 0; k < K8; k += 8) {
        const size_t o = es * (size_t)k;
        __m256 v0 = _mm256_loadu_ps(x0 + k), v1 = _mm256_loadu_ps(x1 + k);
        gemv_prefetch_step(dt, pf, next + 4 * o);
        __m256 w0 = ld8(r0 + o, dt), w1 = ld8(r1 + o, dt), w2 = ld8(r2 + o, dt), w3 = ld8(r3 + o, dt);
        a0 = _mm256_fmadd_ps(w0, v0, a0);
        a1 = _mm256_fmadd_ps(w1, v0, a1);
        a2 = _mm256_fmadd_ps(w2, v0, a2);
        a3 = _mm256_fmadd_ps(w3, v0, a3);
        b0 = _mm256_fmadd_ps(w0, v1, b0);
        b1 = _mm256_fmadd_ps(w1, v1, b1);
        b2 = _mm256_fmadd_ps(w2, v1, b2);
        b3 = _mm256_fmadd_ps(w3, v1, b3);
    }
    s0[0] = hsum8(a0), s0[1] = hsum8(a1), s0[2] = hsum8(a2), s0[3] = hsum8(a3);
    s1[0] = hsum8(b0), s1[1] = hsum8(b1), s1[2] = hsum8(b2), s1[3] = hsum8(b3);
    for (int64_t k = K8; k < K; k++)
        for (int i = 0; i < 4; i++) {
            float wv = load_w(r[i], dt, k);
            s0[i] += x0[k] * wv;
            s1[i] += x1[k] * wv;
        }
}

T_AVX2 __attribute__((always_inline)) static inline void
gemv_avx2_dt_pf(apollo__dtype dt, int pf, const float *x, int64_t M, int64_t K,
                const apollo__tensor *w, const float *bias, float *y, int64_t N, int64_t n0,
                int64_t n1)
{
    for (int64_t n = n0; n < n1; n += 4) {
        const int64_t nr = n1 - n < 4 ? n1 - n : 4;
        const unsigned char *r[4];
        for (int64_t i = 0; i < 4; i++)
            r[i] = apollo__tensor_row(w, n + (i < nr ? i : nr - 1));
        /* rows are contiguous: the next block starts 4 rows on (prefetching
         * past the task's or the tensor's end is harmless) */
        const char *next = (const char *)r[0] + 4 * GEMV_DT_ES(dt) * (size_t)K;
        for (int64_t m0 = 0; m0 < M; m0 += 2) {
            const int two = M - m0 >= 2;
            const float *x0 = x + m0 * K;
            float s0[4], s1[4];
            if (two)
                gemv_dt_x2(dt, pf, x0, x0 + K, K, r, next, s0, s1);
            else
                gemv_dt_x1(dt, pf, x0, K, r, next, s0);
            for (int64_t i = 0; i < nr; i++) {
                float b = bias ? bias[n + i] : 0.0f;
                y[m0 * N + n + i] = s0[i] + b;
                if (two)
                    y[(m0 + 1) * N + n + i] = s1[i] + b;
            }
        }
    }
}

T_AVX2 __attribute__((always_inline)) static inline void
gemv_avx2_dt(apollo__dtype dt, const float *x, int64_t M, int64_t K, const apollo__tensor *w,
             const float *bias, float *y, int64_t N, int64_t n0, int64_t n1)
{
    if (GEMV_DT_ES(dt) * (size_t)K <= GEMV_PF_MAX_ROW)
        gemv_avx2_dt_pf(dt, 1, x, M, K, w, bias, y, N, n0, n1);
    else
        gemv_avx2_dt_pf(dt, 0, x, M, K, w, bias, y, N, n0, n1);
}

T_AVX2 static void gemv_avx2(const float *x, int64_t M, int64_t K, const apollo__tensor *w,
                             const float *bias, float *y, int64_t N, int64_t n0, int64_t n1)
{
    switch (w->dtype) {
    case APOLLO__DT_BF16: gemv_avx2_dt(APOLLO__DT_BF16, x, M, K, w, bias, y, N, n0, n1); break;
    case APOLLO__DT_F16: gemv_avx2_dt(APOLLO__DT_F16, x, M, K, w, bias, y, N, n0, n1); break;
    default: gemv_avx2_dt(APOLLO__DT_F32, x, M, K, w, bias, y, N, n0, n1); break;
    }
}

/* Q8 rows.  Decode is bound by the bytes read, so the int8 rows halve its
 * time against bf16 as long as widening stays cheaper than the load: one
 * vpmovsxbd (with its load folded) and one vcvtdq2ps per 8 weights, then the
 * same FMA as above; the scale multiplies the finished sum.  One or two rows
 * of x per pass over 4 weight rows; with one row of x two sets of
 * accumulators (16 k per step) hide the FMA latency.
 * Int8 rows are short (1.5 KB for the 1.5B model's K = 1536, half a page):
 * the hardware prefetchers, which follow each row as a stream within its
 * page, never ramp up, and this kernel read only ~6 GB/s where bf16 reads
 * ~11 on the same machine.  So the kernel prefetches the next 4-row block
 * (contiguous, 4 K bytes) into L2, one line per 64 bytes consumed: ~10-11
 * GB/s at every K.  The AVX-512 level uses this kernel too (memory-bound). */
T_AVX2 static inline __m256 ldq8(const int8_t *p)
{
    __m128i b = _mm_loadl_epi64((const __m128i *)(const void *)p);
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
}

/* Accumulators are named variables, not arrays: GCC keeps arrays of __m256
 * on the stack (a load and a store per FMA), which made this kernel
 * compute-bound at half the bf16 kernel's weights per second. */
T_AVX2 static void gemv_q8_x1(const float *x0, int64_t K, const int8_t *const r[4], float s0[4])
{
    const int8_t *r0 = r[0], *r1 = r[1], *r2 = r[2], *r3 = r[3];
    const char *next = (const char *)r0 + 4 * K;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
        __m256 v0 = _mm256_loadu_ps(x0 + k), v1 = _mm256_loadu_ps(x0 + k + 8);
        _mm_prefetch(next + 4 * k, _MM_HINT_T1);
        a0 = _mm256_fmadd_ps(ldq8(r0 + k), v0, a0);
        a1 = _mm256_fmadd_ps(ldq8(r1 + k), v0, a1);
        a2 = _mm256_fmadd_ps(ldq8(r2 + k), v0, a2);
        a3 = _mm256_fmadd_ps(ldq8(r3 + k), v0, a3);
        b0 = _mm256_fmadd_ps(ldq8(r0 + k + 8), v1, b0);
        b1 = _mm256_fmadd_ps(ldq8(r1 + k + 8), v1, b1);
        b2 = _mm256_fmadd_ps(ldq8(r2 + k + 8), v1, b2);
        b3 = _mm256_fmadd_ps(ldq8(r3 + k + 8), v1, b3);
    }
    if (k + 8 <= K) {
        __m256 v0 = _mm256_loadu_ps(x0 + k);
        a0 = _mm256_fmadd_ps(ldq8(r0 + k), v0, a0);
        a1 = _mm256_fmadd_ps(ldq8(r1 + k), v0, a1);
        a2 = _mm256_fmadd_ps(ldq8(r2 + k), v0, a2);
        a3 = _mm256_fmadd_ps(ldq8(r3 + k), v0, a3);
        k += 8;
    }
    s0[0] = hsum8(_mm256_add_ps(a0, b0));
    s0[1] = hsum8(_mm256_add_ps(a1, b1));
    s0[2] = hsum8(_mm256_add_ps(a2, b2));
    s0[3] = hsum8(_mm256_add_ps(a3, b3));
    for (; k < K; k++) {
        s0[0] += x0[k] * (float)r0[k];
        s0[1] += x0[k] * (float)r1[k];
        s0[2] += x0[k] * (float)r2[k];
        s0[3] += x0[k] * (float)r3[k];
    }
}

T_AVX2 static void gemv_q8_x2(const float *x0, const float *x1, int64_t K,
                              const int8_t *const r[4], float s0[4], float s1[4])
{
    const int8_t *r0 = r[0], *r1 = r[1], *r2 = r[2], *r3 = r[3];
    const char *next = (const char *)r0 + 4 * K;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 v0 = _mm256_loadu_ps(x0 + k), v1 = _mm256_loadu_ps(x1 + k);
        _mm_prefetch(next + 4 * k, _MM_HINT_T1);
        __m256 w0 = ldq8(r0 + k), w1 = ldq8(r1 + k), w2 = ldq8(r2 + k), w3 = ldq8(r3 + k);
        a0 = _mm256_fmadd_ps(w0, v0, a0);
        a1 = _mm256_fmadd_ps(w1, v0, a1);
        a2 = _mm256_fmadd_ps(w2, v0, a2);
        a3 = _mm256_fmadd_ps(w3, v0, a3);
        b0 = _mm256_fmadd_ps(w0, v1, b0);
        b1 = _mm256_fmadd_ps(w1, v1, b1);
        b2 = _mm256_fmadd_ps(w2, v1, b2);
        b3 = _mm256_fmadd_ps(w3, v1, b3);
    }
    s0[0] = hsum8(a0), s0[1] = hsum8(a1), s0[2] = hsum8(a2), s0[3] = hsum8(a3);
    s1[0] = hsum8(b0), s1[1] = hsum8(b1), s1[2] = hsum8(b2), s1[3] = hsum8(b3);
    for (; k < K; k++)
        for (int i = 0; i < 4; i++) {
            s0[i] += x0[k] * (float)r[i][k];
            s1[i] += x1[k] * (float)r[i][k];
        }
}

T_AVX2 static void gemv_avx2_q8(const float *x, int64_t M, int64_t K, const apollo__tensor *w,
                                const float *bias, float *y, int64_t N, int64_t n0, int64_t n1)
{
    for (int64_t n = n0; n < n1; n += 4) {
        const int64_t nr = n1 - n < 4 ? n1 - n : 4;
        const int8_t *r[4];
        for (int64_t i = 0; i < 4; i++)
            r[i] = apollo__tensor_row(w, n + (i < nr ? i : nr - 1));
        for (int64_t m0 = 0; m0 < M; m0 += 2) {
            const int two = M - m0 >= 2;
            const float *x0 = x + m0 * K, *x1 = two ? x0 + K : x0;
            float s0[4], s1[4];
            if (two)
                gemv_q8_x2(x0, x1, K, r, s0, s1);
            else
                gemv_q8_x1(x0, K, r, s0);
            for (int64_t i = 0; i < nr; i++) {
                float b = bias ? bias[n + i] : 0.0f, sc = w->scale[n + i];
                y[m0 * N + n + i] = s0[i] * sc + b;
                if (two)
                    y[(m0 + 1) * N + n + i] = s1[i] * sc + b;
            }
        }
    }
}

/* ---- AVX-512 ------------------------------------------------------------------ */

#define T_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

T_AVX512 static inline __m512 ld16(const unsigned char *p, apollo__dtype dt, __mmask16 mk)
{
    if (dt == APOLLO__DT_F32)
        return _mm512_maskz_loadu_ps(mk, p);
    __m256i h = _mm256_maskz_loadu_epi16(mk, p);
    if (dt == APOLLO__DT_F16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* MB rows of x (1..4) against 4 weight rows. */
T_AVX512 __attribute__((always_inline)) static inline void
gemv512_block(apollo__dtype dt, const float *x, int64_t mb, int64_t K,
              const unsigned char *const r[4], size_t es, float out[4][4])
{
    __m512 acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            acc[i][j] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k += 16) {
        __mmask16 mk = K - k >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (K - k)) - 1);
        __m512 w0 = ld16(r[0] + es * (size_t)k, dt, mk), w1 = ld16(r[1] + es * (size_t)k, dt, mk);
        __m512 w2 = ld16(r[2] + es * (size_t)k, dt, mk), w3 = ld16(r[3] + es * (size_t)k, dt, mk);
        for (int64_t m = 0; m < mb; m++) {
            __m512 v = _mm512_maskz_loadu_ps(mk, x + m * K + k);
            acc[m][0] = _mm512_fmadd_ps(w0, v, acc[m][0]);
            acc[m][1] = _mm512_fmadd_ps(w1, v, acc[m][1]);
            acc[m][2] = _mm512_fmadd_ps(w2, v, acc[m][2]);
            acc[m][3] = _mm512_fmadd_ps(w3, v, acc[m][3]);
        }
    }
    for (int64_t m = 0; m < mb; m++)
        for (int j = 0; j < 4; j++)
            out[m][j] = _mm512_reduce_add_ps(acc[m][j]);
}

T_AVX512 __attribute__((always_inline)) static inline void
gemv_avx512_dt(apollo__dtype dt, const float *x, int64_t M, int64_t K, const apollo__tensor *w,
               const float *bias, float *y, int64_t N, int64_t n0, int64_t n1)
{
    const size_t es = apollo__dtype_size(dt);
    for (int64_t n = n0; n < n1; n += 4) {
        const int64_t nr = n1 - n < 4 ? n1 - n : 4;
        const unsigned char *r[4];
        for (int64_t i = 0; i < 4; i++)
            r[i] = apollo__tensor_row(w, n + (i < nr ? i : nr - 1));
        for (int64_t m0 = 0; m0 < M; m0 += 4) {
            int64_t mb = M - m0 < 4 ? M - m0 : 4;
            float s[4][4];
            /* constant trip counts let the compiler keep acc in registers */
            switch (mb) {
            case 1: gemv512_block(dt, x + m0 * K, 1, K, r, es, s); break;
            case 2: gemv512_block(dt, x + m0 * K, 2, K, r, es, s); break;
            case 3: gemv512_block(dt, x + m0 * K, 3, K, r, es, s); break;
            default: gemv512_block(dt, x + m0 * K, 4, K, r, es, s); break;
            }
            for (int64_t m = 0; m < mb; m++)
                for (int64_t i = 0; i < nr; i++)
                    y[(m0 + m) * N + n + i] = s[m][i] + (bias ? bias[n + i] : 0.0f);
        }
    }
}

T_AVX512 static void gemv_avx512(const float *x, int64_t M, int64_t K, const apollo__tensor *w,
                                 const float *bias, float *y, int64_t N, int64_t n0, int64_t n1)
{
    switch (w->dtype) {
    case APOLLO__DT_BF16: gemv_avx512_dt(APOLLO__DT_BF16, x, M, K, w, bias, y, N, n0, n1); break;
    case APOLLO__DT_F16: gemv_avx512_dt(APOLLO__DT_F16, x, M, K, w, bias, y, N, n0, n1); break;
    default: gemv_avx512_dt(APOLLO__DT_F32, x, M, K, w, bias, y, N, n0, n1); break;
    }
}

#endif /* APOLLO_X86 */

void apollo__gemv_rows(int32_t isa, const float *x, int64_t M, int64_t K,
                       const apollo__tensor *w, const float *bias, float *y, int64_t N,
                       int64_t n0, int64_t n1)
{
    if (w->dtype == APOLLO__DT_Q8) {
#ifdef APOLLO_X86
        if (isa >= APOLLO__ISA_AVX2) {
            gemv_avx2_q8(x, M, K, w, bias, y, N, n0, n1);
            return;
        }
#endif
        gemv_scalar_q8(x, M, K, w, bias, y, N, n0, n1);
        return;
    }
#ifdef APOLLO_X86
    if (isa >= APOLLO__ISA_AVX512) {
        gemv_avx512(x, M, K, w, bias, y, N, n0, n1);
        return;
    }
    if (isa >= APOLLO__ISA_AVX2) {
        gemv_avx2(x, M, K, w, bias, y, N, n0, n1);
        return;
    }
#else
    (void)isa;
#endif
    gemv_scalar(x, M, K, w, bias, y, N, n0, n1);
}
