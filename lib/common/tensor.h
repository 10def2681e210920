/* A read-only view of a weight tensor (usually inside a memory-mapped
 * safetensors file).  Row-major; for a Linear weight shape = [out, in]. */
#ifndef APOLLO_TENSOR_H
#define APOLLO_TENSOR_H

#include "dtype.h"

#include <stdint.h>

#define APOLLO__MAX_DIMS 6

typedef struct apollo__tensor {
    apollo__dtype dtype;
    int32_t n_dims;
    int64_t shape[APOLLO__MAX_DIMS];
    const void *data; /* not necessarily aligned to the element size */
    const float *f32; /* float32 copy for small parameters (norms, biases,
                         embeddings tables of the vision side), else NULL */
    const float *scale; /* APOLLO__DT_Q8: shape[0] row scales (w = q * scale), else NULL */
} apollo__tensor;

static inline int64_t apollo__tensor_numel(const apollo__tensor *t)
{
    int64_t n = 1;
    for (int32_t i = 0; i < t->n_dims; i++)
        n *= t->shape[i];
    return n;
}

/* Pointer to row r of a 2-D (or flattened leading-dims) tensor. */
static inline const void *apollo__tensor_row(const apollo__tensor *t, int64_t r)
{
    int64_t cols = t->shape[t->n_dims - 1];
    return (const unsigned char *)t->data + (size_t)(r * cols) * apollo__dtype_size(t->dtype);
}

#endif
