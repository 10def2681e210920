#include "quant.h"

#include <math.h>
#include <string.h>

static inline float elem_f32(apollo__dtype dt, const unsigned char *p, int64_t k)
{
    uint16_t h;
    if (dt == APOLLO__DT_F32) {
        float f;
        memcpy(&f, p + 4 * k, 4);
        return f;
    }
    memcpy(&h, p + 2 * k, 2);
    return dt == APOLLO__DT_BF16 ? apollo__bf16_to_f32(h) : apollo__f16_to_f32(h);
}

/* Two passes over the source row (max, then round) instead of a float32
 * copy: the row (<= 36 KB of bf16 for the largest Linear) stays in cache
 * between them, and no scratch buffer is needed on the pool's threads. */
static inline float quantize_dt(apollo__dtype dt, const unsigned char *src, int64_t K,
                                int8_t *dst)
{
    float amax = 0.0f, scale, inv;
    for (int64_t k = 0; k < K; k++) {
        float a = fabsf(elem_f32(dt, src, k));
        amax = a > amax ? a : amax; /* a NaN is skipped (the row then keeps finite values) */
    }
    if (!(amax > 0.0f) || !isfinite(amax)) {
        /* all zero, or an infinity: nothing sensible to scale; keep zeros
         * rather than poison every output of the row with NaN */
        memset(dst, 0, (size_t)K);
        return 0.0f;
    }
    scale = amax / 127.0f;
    inv = 127.0f / amax;
    for (int64_t k = 0; k < K; k++) {
        float v = elem_f32(dt, src, k) * inv;
        /* lrintf rounds to nearest even in the default mode; the clamp only
         * matters for v = +-127.00001 from the rounding of inv */
        long q = isnan(v) ? 0 : lrintf(v);
        dst[k] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
    }
    return scale;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define T_AVX2 __attribute__((target("avx2")))

T_AVX2 static inline __m256 bf16x8(const unsigned char *p)
{
    __m128i h = _mm_loadu_si128((const __m128i *)(const void *)p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* The bf16 rows of the published checkpoints, 8 at a time; the same result
 * as quantize_dt bit for bit: max_ps(new, acc) skips a NaN like the scalar
 * compare, cvtps2dq rounds to nearest even like lrintf, NaN -> 0, and the
 * clamp to +-127 comes before the saturating packs. */
T_AVX2 static float quantize_bf16_avx2(const unsigned char *src, int64_t K, int8_t *dst)
{
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const int64_t K8 = K & ~(int64_t)7;
    __m256 m = _mm256_setzero_ps();
    float amax, scale, inv, lanes[8];
    for (int64_t k = 0; k < K8; k += 8)
        m = _mm256_max_ps(_mm256_and_ps(bf16x8(src + 2 * k), absmask), m);
    _mm256_storeu_ps(lanes, m);
    amax = 0.0f;
    for (int i = 0; i < 8; i++)
        amax = lanes[i] > amax ? lanes[i] : amax;
    for (int64_t k = K8; k < K; k++) {
        float a = fabsf(elem_f32(APOLLO__DT_BF16, src, k));
        amax = a > amax ? a : amax;
    }
    if (!(amax > 0.0f) || !isfinite(amax)) {
        memset(dst, 0, (size_t)K);
        return 0.0f;
    }
    scale = amax / 127.0f;
    inv = 127.0f / amax;
    {
        const __m256 vinv = _mm256_set1_ps(inv);
        const __m256i hi = _mm256_set1_epi32(127), lo = _mm256_set1_epi32(-127);
        for (int64_t k = 0; k < K8; k += 8) {
            __m256 v = _mm256_mul_ps(bf16x8(src + 2 * k), vinv);
            __m256i q = _mm256_cvtps_epi32(v);
            q = _mm256_and_si256(q, _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_ORD_Q)));
            q = _mm256_max_epi32(_mm256_min_epi32(q, hi), lo);
            __m128i q16 =
                _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
            _mm_storel_epi64((__m128i *)(void *)(dst + k), _mm_packs_epi16(q16, q16));
        }
    }
    for (int64_t k = K8; k < K; k++) {
        float v = elem_f32(APOLLO__DT_BF16, src, k) * inv;
        long q = isnan(v) ? 0 : lrintf(v);
        dst[k] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
    }
    return scale;
}
#endif

float apollo__q8_quantize_row_scalar(apollo__dtype dt, const void *src, int64_t K, int8_t *dst)
{
    /* one instantiation per type, so the element load is not a branch */
    switch (dt) {
    case APOLLO__DT_BF16: return quantize_dt(APOLLO__DT_BF16, src, K, dst);
    case APOLLO__DT_F16: return quantize_dt(APOLLO__DT_F16, src, K, dst);
    default: return quantize_dt(APOLLO__DT_F32, src, K, dst);
    }
}

float apollo__q8_quantize_row(apollo__dtype dt, const void *src, int64_t K, int8_t *dst)
{
#if defined(__x86_64__) || defined(__i386__)
    /* ~8x the scalar loop: quantizing a 7B model's LLM at open is then
     * bound by reading the checkpoint, not by this loop */
    if (dt == APOLLO__DT_BF16 && __builtin_cpu_supports("avx2"))
        return quantize_bf16_avx2(src, K, dst);
#endif
    return apollo__q8_quantize_row_scalar(dt, src, K, dst);
}

void apollo__tensor_row_to_f32(const apollo__tensor *t, int64_t r, int64_t k0, int64_t n,
                               float *dst)
{
    const unsigned char *row = apollo__tensor_row(t, r);
    if (t->dtype == APOLLO__DT_Q8) {
        const int8_t *q = (const int8_t *)row + k0;
        const float s = t->scale[r];
        for (int64_t k = 0; k < n; k++)
            dst[k] = (float)q[k] * s;
        return;
    }
    apollo__to_f32(t->dtype, row + (size_t)k0 * apollo__dtype_size(t->dtype), dst, (size_t)n);
}
