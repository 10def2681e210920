#include "dtype.h"

static const struct {
    const char *name;
    apollo__dtype dt;
    size_t size;
} dtype_table[] = {
    {"F32", APOLLO__DT_F32, 4},   {"BF16", APOLLO__DT_BF16, 2}, {"F16", APOLLO__DT_F16, 2},
    {"F64", APOLLO__DT_F64, 8},   {"I64", APOLLO__DT_I64, 8},   {"I32", APOLLO__DT_I32, 4},
    {"I16", APOLLO__DT_I16, 2},   {"I8", APOLLO__DT_I8, 1},     {"U8", APOLLO__DT_U8, 1},
    {"U16", APOLLO__DT_U16, 2},   {"U32", APOLLO__DT_U32, 4},   {"U64", APOLLO__DT_U64, 8},
    {"BOOL", APOLLO__DT_BOOL, 1}, {"F8_E4M3", APOLLO__DT_F8_E4M3, 1},
    {"F8_E5M2", APOLLO__DT_F8_E5M2, 1}, {"Q8(row-scaled)", APOLLO__DT_Q8, 1},
};

apollo__dtype apollo__dtype_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof dtype_table / sizeof dtype_table[0]; i++)
        if (dtype_table[i].dt != APOLLO__DT_Q8 && strcmp(dtype_table[i].name, name) == 0)
            return dtype_table[i].dt;
    return APOLLO__DT_UNKNOWN;
}

const char *apollo__dtype_name(apollo__dtype dt)
{
    for (size_t i = 0; i < sizeof dtype_table / sizeof dtype_table[0]; i++)
        if (dtype_table[i].dt == dt)
            return dtype_table[i].name;
    return "UNKNOWN";
}

size_t apollo__dtype_size(apollo__dtype dt)
{
    for (size_t i = 0; i < sizeof dtype_table / sizeof dtype_table[0]; i++)
        if (dtype_table[i].dt == dt)
            return dtype_table[i].size;
    return 0;
}

int apollo__dtype_is_float_weight(apollo__dtype dt)
{
    return dt == APOLLO__DT_F32 || dt == APOLLO__DT_BF16 || dt == APOLLO__DT_F16;
}

float apollo__f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t u;
    float f;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: normalise */
            exp = 127 - 15 + 1;
            while (!(man & 0x400u)) {
                man <<= 1;
                exp--;
            }
            man &= 0x3ffu;
            u = sign | (exp << 23) | (man << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    memcpy(&f, &u, sizeof f);
    return f;
}

void apollo__to_f32(apollo__dtype dt, const void *src, float *dst, size_t n)
{
    const unsigned char *s = src;
    switch (dt) {
    case APOLLO__DT_F32:
        memcpy(dst, src, n * sizeof(float));
        break;
    case APOLLO__DT_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = apollo__bf16_to_f32(h);
        }
        break;
    case APOLLO__DT_F16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = apollo__f16_to_f32(h);
        }
        break;
    default:
        for (size_t i = 0; i < n; i++)
            dst[i] = 0.0f;
        break;
    }
}
