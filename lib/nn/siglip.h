/* The SigLIP vision tower as Apollo uses it (apollo-model.md §3.1): a
 * Conv2d patch embedding (kernel = stride = patch, "valid", with bias),
 * learned position embeddings, pre-LayerNorm encoder layers with
 * tanh-GELU MLPs, stopped after cfg.n_layers_run layers
 * (mm_vision_select_layer).  post_layernorm and the pooling head are never
 * applied.  There is no CLS token. */
#ifndef APOLLO_SIGLIP_H
#define APOLLO_SIGLIP_H

#include "backend.h"
#include "model/model.h"

#include <stdint.h>

/* Polled between layers; non-zero aborts the call with APOLLO_E_CANCELLED. */
typedef int (*apollo__abort_fn)(void *user_data);

/* Tokens per frame: (image_size / patch_size)^2 (729 for SO400M/14@384). */
int64_t apollo__siglip_n_tokens(const apollo__tower_config *c);

/* Encodes n_frames independent frames.
 *   pixels: (n_frames, 3, S, S) float32, already normalised, S = image_size;
 *   out:    (n_frames, N, D) float32, N = apollo__siglip_n_tokens(), token
 *           index row * (S/p) + col, D = hidden_size.
 * The frames go through each layer's matrix products together (one weight
 * pass per layer); attention stays within a frame.  Workspace is allocated
 * per call and freed before it returns.
 * Returns APOLLO_OK, APOLLO_E_INVALID_ARG, APOLLO_E_CONFIG (not a SigLIP
 * tower), APOLLO_E_NOMEM, APOLLO_E_CANCELLED or a backend error. */
int apollo__siglip_forward(const apollo__tower *t, apollo__backend *be, const float *pixels,
                           int64_t n_frames, float *out, apollo__abort_fn should_abort,
                           void *abort_ud);

#endif
