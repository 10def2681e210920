/* Element-wise and attention kernels shared by every model in lib/nn.
 * Plain C loops first; matrix products go through the backend
 * (backends/backend.h).  All activations are float32, row-major. */
#ifndef APOLLO_NN_OPS_H
#define APOLLO_NN_OPS_H

#include "common/threadpool.h"

#include <stddef.h>
#include <stdint.h>

/* out[r] = (x[r] - mean) / sqrt(var + eps) * w + b  (w/b may be NULL). out may be x. */
void apollo__layernorm(float *out, const float *x, int64_t rows, int64_t dim, const float *w,
                       const float *b, float eps);

/* out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * w  (w may be NULL). out may be x. */
void apollo__rmsnorm(float *out, const float *x, int64_t rows, int64_t dim, const float *w,
                     float eps);

void apollo__gelu_tanh(float *x, size_t n); /* PyTorch gelu(approximate="tanh") */
void apollo__gelu_erf(float *x, size_t n);  /* exact GELU, nn.GELU() */
void apollo__silu(float *x, size_t n);
void apollo__relu(float *x, size_t n);

/* fn(x, n) (an element-wise activation above) split across the pool in
 * chunks: the transcendental calls are a noticeable share of a layer. */
void apollo__act_parallel(apollo__pool *pool, void (*fn)(float *x, size_t n), float *x, size_t n);

/* y[i] += x[i] */
void apollo__add(float *y, const float *x, size_t n);
/* y[r][c] += x[r][c] * g[c] (LayerScale-style residual) */
void apollo__add_scaled_rows(float *y, const float *x, const float *g, int64_t rows, int64_t dim);
/* x[r][c] += b[c] */
void apollo__add_bias_rows(float *x, const float *b, int64_t rows, int64_t dim);
/* x[r][c] *= g[c] */
void apollo__mul_rows(float *x, const float *g, int64_t rows, int64_t dim);

/* Multi-head attention with grouped KV heads, softmax in float32:
 *   out[i, h] = softmax_j(scale * q[i, h] . k[j, kh]) v[j, kh],  kh = h / (H / KH)
 * q: n_q rows of stride ldq holding H heads of head_dim; k, v: n_k rows
 * (strides ldk, ldv) holding KH heads; out: n_q rows of stride ldo.
 * causal: query i sits at absolute position q_pos0 + i and sees keys
 * j <= q_pos0 + i (keys are positions 0..n_k-1).  Never forms the full
 * n_q x n_k score matrix.  Returns APOLLO_OK or APOLLO_E_NOMEM. */
int apollo__attention(apollo__pool *pool, const float *q, int64_t ldq, const float *k,
                      int64_t ldk, const float *v, int64_t ldv, float *out, int64_t ldo,
                      int64_t n_q, int64_t n_k, int64_t n_heads, int64_t n_kv_heads,
                      int64_t head_dim, float scale, int causal, int64_t q_pos0);

#endif
