/* Int8 weights with one float32 scale per row (APOLLO__DT_Q8), the weight
 * format of APOLLO_PRECISION_INT8.
 *
 * A row w[0..K) is stored as q[k] = round(w[k] / s) (round to nearest, ties
 * to even) with s = max_k |w[k]| / 127, so |q| <= 127 and |w - q s| <= s/2:
 * symmetric, no zero point (the weights of a trained Linear are centred),
 * and one scale per output row lets a kernel apply it once per dot product
 * (y[n] = s[n] * sum_k x[k] q[n,k]).  An all-zero row has s = 0, q = 0. */
#ifndef APOLLO_QUANT_H
#define APOLLO_QUANT_H

#include "dtype.h"
#include "tensor.h"

#include <stdint.h>

/* Quantizes K elements of src (dtype dt: F32, BF16 or F16, possibly
 * unaligned) into dst and returns the row's scale.  AVX2 for BF16 where the
 * CPU has it; _scalar is the plain loop (same results; for tests). */
float apollo__q8_quantize_row(apollo__dtype dt, const void *src, int64_t K, int8_t *dst);
float apollo__q8_quantize_row_scalar(apollo__dtype dt, const void *src, int64_t K, int8_t *dst);

/* Elements [k0, k0 + n) of row r of a 2-D weight, as float32: exact for
 * F32/BF16/F16, q * scale (rounded to float) for Q8. */
void apollo__tensor_row_to_f32(const apollo__tensor *t, int64_t r, int64_t k0, int64_t n,
                               float *dst);

#endif
