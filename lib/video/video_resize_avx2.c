/* AVX2 versions of the two passes of Pillow's bicubic resize
 * (video_resize.c), bit-identical to the scalar code: the same 22-bit
 * integer coefficients, the same 32-bit integer sums (vpmulld/vpaddd wrap
 * exactly like the scalar int32 arithmetic), the same floor + clamp.
 * Compiled for AVX2 through function attributes and chosen at run time, so
 * the library still runs on x86-64 CPUs without AVX2. */
#include "video_resize_simd.h"

#if APOLLO__RESIZE_HAVE_AVX2

#include <immintrin.h>
#include <string.h>

#define PIL_PRECISION_BITS (32 - 8 - 2)

#define AVX2 __attribute__((target("avx2")))

/* Four int32 sums (R, G, B, -) -> clamp(sum >> 22, 0, 255) -> 3 bytes. */
static AVX2 inline void store_rgb(__m128i s, uint8_t *out)
{
    __m128i v = _mm_srai_epi32(s, PIL_PRECISION_BITS);
    uint32_t px;
    v = _mm_packs_epi32(v, v);
    v = _mm_packus_epi16(v, v);
    px = (uint32_t)_mm_cvtsi128_si32(v);
    memcpy(out, &px, 3);
}

AVX2 void apollo__pil_hrow_avx2(const uint8_t *in, const int32_t *bounds, const int32_t *kexp,
                                int32_t n_groups, int32_t x0, int32_t x1, uint8_t *out)
{
    /* RGB RGB RGB RGB (12 bytes) -> RGB0 RGB0 RGB0 RGB0 */
    const __m128i to_rgb0 = _mm_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1);
    const __m128i half = _mm_set1_epi32(1 << (PIL_PRECISION_BITS - 1));

    for (int32_t xx = x0; xx < x1; xx++) {
        int32_t xmin = bounds[2 * xx], n = bounds[2 * xx + 1];
        int32_t groups = (n + 3) / 4;
        const int32_t *k = kexp + (size_t)xx * n_groups * 16;
        const uint8_t *p = in + (size_t)xmin * 3;
        __m256i acc = _mm256_setzero_si256();
        __m128i s;
        for (int32_t g = 0; g < groups; g++) {
            __m128i raw = _mm_loadu_si128((const __m128i *)(p + 12 * g));
            __m128i px = _mm_shuffle_epi8(raw, to_rgb0);
            __m256i a = _mm256_cvtepu8_epi32(px);                     /* taps 4g, 4g+1 */
            __m256i b = _mm256_cvtepu8_epi32(_mm_srli_si128(px, 8)); /* taps 4g+2, 4g+3 */
            acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(a, _mm256_loadu_si256((const __m256i *)(k + 16 * g))));
            acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(b, _mm256_loadu_si256((const __m256i *)(k + 16 * g + 8))));
        }
        s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        store_rgb(_mm_add_epi32(s, half), out + (size_t)xx * 3);
    }
}

int32_t apollo__pil_hrow_avx2_end(int32_t in_w, const int32_t *bounds, int32_t dw)
{
    /* first output pixel whose last 16-byte load would leave the row (only
     * the last few near the right edge); the scalar code does the rest */
    size_t in_bytes = (size_t)in_w * 3;
    for (int32_t xx = 0; xx < dw; xx++) {
        int32_t xmin = bounds[2 * xx], groups = (bounds[2 * xx + 1] + 3) / 4;
        if ((size_t)xmin * 3 + (size_t)(groups - 1) * 12 + 16 > in_bytes)
            return xx;
    }
    return dw;
}

/* 32 sums -> 32 clamped bytes in order. */
static AVX2 inline void store32(__m256i a, __m256i b, __m256i c, __m256i d, uint8_t *out)
{
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    __m256i ab = _mm256_packs_epi32(_mm256_srai_epi32(a, PIL_PRECISION_BITS),
                                    _mm256_srai_epi32(b, PIL_PRECISION_BITS));
    __m256i cd = _mm256_packs_epi32(_mm256_srai_epi32(c, PIL_PRECISION_BITS),
                                    _mm256_srai_epi32(d, PIL_PRECISION_BITS));
    __m256i u = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(ab, cd), order);
    _mm256_storeu_si256((__m256i *)out, u);
}

static AVX2 inline __m256i load8(const uint8_t *p)
{
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
}

AVX2 int32_t apollo__pil_vrow_avx2(const uint8_t *base, size_t stride, const int32_t *k, int32_t n,
                                   int32_t w3, uint8_t *out)
{
    const __m256i half = _mm256_set1_epi32(1 << (PIL_PRECISION_BITS - 1));
    int32_t x = 0;
    for (; x + 32 <= w3; x += 32) {
        __m256i a = half, b = half, c = half, d = half;
        for (int32_t y = 0; y < n; y++) {
            const uint8_t *p = base + (size_t)y * stride + x;
            __m256i kv = _mm256_set1_epi32(k[y]);
            a = _mm256_add_epi32(a, _mm256_mullo_epi32(load8(p), kv));
            b = _mm256_add_epi32(b, _mm256_mullo_epi32(load8(p + 8), kv));
            c = _mm256_add_epi32(c, _mm256_mullo_epi32(load8(p + 16), kv));
            d = _mm256_add_epi32(d, _mm256_mullo_epi32(load8(p + 24), kv));
        }
        store32(a, b, c, d, out + x);
    }
    return x; /* the caller finishes the row */
}

#endif
