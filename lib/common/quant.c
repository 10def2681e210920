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

float apollo__q8_quantize_row(apollo__dtype dt, const void *src, int64_t K, int8_t *dst)
{
    /* one instantiation per type, so the element load is not a branch */
    switch (dt) {
    case APOLLO__DT_BF16: return quantize_dt(APOLLO__DT_BF16, src, K, dst);
    case APOLLO__DT_F16: return quantize_dt(APOLLO__DT_F16, src, K, dst);
    default: return quantize_dt(APOLLO__DT_F32, src, K, dst);
    }
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
