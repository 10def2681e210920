/* Element types of weight tensors and their conversion to float32. */
#ifndef APOLLO_DTYPE_H
#define APOLLO_DTYPE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum {
    APOLLO__DT_UNKNOWN = 0,
    APOLLO__DT_F32,
    APOLLO__DT_BF16,
    APOLLO__DT_F16,
    /* Read for bookkeeping (sizes, parameter counts) but never computed on. */
    APOLLO__DT_F64,
    APOLLO__DT_I64,
    APOLLO__DT_I32,
    APOLLO__DT_I16,
    APOLLO__DT_I8,
    APOLLO__DT_U8,
    APOLLO__DT_U16,
    APOLLO__DT_U32,
    APOLLO__DT_U64,
    APOLLO__DT_BOOL,
    APOLLO__DT_F8_E4M3,
    APOLLO__DT_F8_E5M2,
    /* Never in a file: int8 weights made at ctx open (APOLLO_PRECISION_INT8),
     * one float32 scale per row in apollo__tensor.scale (lib/common/quant.h). */
    APOLLO__DT_Q8
} apollo__dtype;

/* safetensors dtype name -> enum (APOLLO__DT_UNKNOWN if not recognised;
 * never APOLLO__DT_Q8, which no file can declare). */
apollo__dtype apollo__dtype_from_name(const char *name);
const char *apollo__dtype_name(apollo__dtype dt);
size_t apollo__dtype_size(apollo__dtype dt);
/* True for the types the runtime computes with: F32, BF16, F16. */
int apollo__dtype_is_float_weight(apollo__dtype dt);

static inline float apollo__bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float apollo__f16_to_f32(uint16_t h);

/* Converts n elements of src (dtype dt, possibly unaligned) to float32.
 * Not for APOLLO__DT_Q8 (its scale lives in the tensor): see
 * apollo__tensor_row_to_f32 in quant.h. */
void apollo__to_f32(apollo__dtype dt, const void *src, float *dst, size_t n);

#endif
