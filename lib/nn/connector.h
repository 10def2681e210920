/* Apollo's mm_connector (apollo-model.md §4): the projection
 * ("mlpNx_gelu": N Linear layers with exact GELU between them) applied to
 * every fused token, then the Idefics2-style Perceiver resampler that turns
 * the projected context into n_latents tokens. */
#ifndef APOLLO_CONNECTOR_H
#define APOLLO_CONNECTOR_H

#include "backend.h"
#include "model/model.h"

#include <stdint.h>

/* Polled between resampler layers; non-zero aborts with APOLLO_E_CANCELLED. */
typedef int (*apollo__abort_fn)(void *user_data);

/* x (n, vision_hidden_size) -> out (n, text_hidden_size), float32.
 * x and out must not overlap.  Returns APOLLO_OK, APOLLO_E_INVALID_ARG,
 * APOLLO_E_NOMEM or a backend error. */
int apollo__connector_project(const apollo__connector *cn, apollo__backend *be, const float *x,
                              int64_t n, float *out);

/* The Perceiver resampler: context (n_ctx, D) -> out (n_latents, D), D =
 * text_hidden_size.  Per layer: weighted LayerNorms (eps 1e-5, times
 * wheight) of latents and context, GQA cross-attention of the latents over
 * [context; latents] (no biases, scale 1/sqrt(head_dim)), residual, gated MLP
 * act(gate) * up -> down with hidden_act, residual; then the final weighted
 * norm.  Returns APOLLO_OK, APOLLO_E_INVALID_ARG, APOLLO_E_CONFIG (unknown
 * hidden_act), APOLLO_E_NOMEM, APOLLO_E_CANCELLED or a backend error. */
int apollo__connector_resample(const apollo__connector *cn, apollo__backend *be,
                               const float *ctx, int64_t n_ctx, float *out,
                               apollo__abort_fn should_abort, void *abort_ud);

#endif
