/* Deterministic test data: a small LCG and float -> bf16/f16 rounding
 * (round to nearest even), for weight tensors in kernel tests. */
#ifndef APOLLO_TESTRAND_H
#define APOLLO_TESTRAND_H

#include <stdint.h>
#include <string.h>

/* Uniform in [-1, 1). */
static inline float test_frand(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)((*state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static inline uint16_t test_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

/* For values in the f16 normal range; smaller magnitudes flush to zero. */
static inline uint16_t test_to_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u;
    int32_t exp = (int32_t)((u >> 23) & 0xff) - 127 + 15;
    uint32_t man = u & 0x7fffffu;
    if (exp <= 0)
        return (uint16_t)sign;
    return (uint16_t)(sign | ((uint32_t)exp << 10) | ((man + 0x1000u) >> 13));
}

/* n random weights in [-1, 1) stored as F32, BF16 or F16 (dtype_size 4 or
 * 2; is_bf16 picks between the two 16-bit formats) at dst, which may be
 * unaligned like the data of a safetensors file. */
static inline void test_fill_weights(uint32_t *state, unsigned char *dst, int64_t n,
                                     int dtype_size, int is_bf16)
{
    for (int64_t i = 0; i < n; i++) {
        float v = test_frand(state);
        if (dtype_size == 4) {
            memcpy(dst + i * 4, &v, 4);
        } else {
            uint16_t h = is_bf16 ? test_to_bf16(v) : test_to_f16(v);
            memcpy(dst + i * 2, &h, 2);
        }
    }
}

#endif
