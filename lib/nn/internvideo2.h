/* The InternVideo2 backbone as Apollo uses it (apollo-model.md §3.2): a
 * Conv3d patch embedding (kernel = stride = (tubelet, p, p), with bias),
 * flattened t-major / row / col, a CLS token prepended, the video position
 * table added, then pre-RMSNorm blocks (no qkv bias, RMSNorm q/k over the
 * full width, LayerScale, exact-GELU MLP) stopped after cfg.n_layers_run
 * blocks (40 + mm_vision_select_layer).  No final norm; the attention pool
 * and the CLIP distillation heads are never computed. */
#ifndef APOLLO_INTERNVIDEO2_H
#define APOLLO_INTERNVIDEO2_H

#include "backend.h"
#include "model/model.h"

#include <stdint.h>

/* Polled between blocks; non-zero aborts with APOLLO_E_CANCELLED. */
typedef int (*apollo__abort_fn)(void *user_data);

/* Temporal slots (num_frames / tubelet_size) and spatial side (image / patch)
 * of the token grid; tokens = 1 + t_slots * side^2 (CLS first). */
int64_t apollo__iv2_t_slots(const apollo__tower_config *c);
int64_t apollo__iv2_side(const apollo__tower_config *c);
int64_t apollo__iv2_n_tokens(const apollo__tower_config *c);

/* Encodes one clip.
 *   pixels: (3, num_frames, S, S) float32, already normalised, S = image_size;
 *   out:    (n_tokens, D) float32: row 0 is the CLS token, then row
 *           1 + t*side^2 + r*side + c for grid cell (t, r, c).
 * Returns APOLLO_OK, APOLLO_E_INVALID_ARG, APOLLO_E_CONFIG, APOLLO_E_NOMEM,
 * APOLLO_E_CANCELLED or a backend error. */
int apollo__iv2_forward(const apollo__tower *t, apollo__backend *be, const float *pixels,
                        float *out, apollo__abort_fn should_abort, void *abort_ud);

#endif
