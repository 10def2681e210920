/* One clip through the whole vision side of Apollo (apollo-model.md §3-§4):
 * every tower -> fusion onto token_output_shape -> projection -> Perceiver
 * resampler, giving the n_latents rows of LLM embeddings that replace the
 * clip's placeholders.  Activations are allocated per call and bounded by
 * one clip. */
#ifndef APOLLO_VISION_ENCODE_H
#define APOLLO_VISION_ENCODE_H

#include "backend.h"
#include "model/model.h"

#include <stdint.h>

/* What one clip needs and produces for a given checkpoint. */
typedef struct apollo__vision_geom {
    int64_t n_frames;          /* frames per clip (InternVideo2 num_frames; 4) */
    int64_t siglip_size;       /* SigLIP input side (384); 0 without a SigLIP tower */
    int64_t iv2_size;          /* InternVideo2 input side (224); 0 without one */
    int64_t grid[3];           /* token_output_shape (T, H, W) = (4, 27, 27) */
    int64_t n_tokens;          /* T*H*W (2916) */
    int64_t fused_width;       /* sum of the towers' hidden sizes (2560) */
    int64_t out_dim;           /* text_hidden_size D */
    int64_t n_latents;         /* num_output_tokens (rows of the output) */
} apollo__vision_geom;

/* Fills *g from the loaded model; APOLLO_E_CONFIG when the towers and the
 * token grid do not fit together. */
int apollo__vision_geometry(const apollo__model *m, apollo__vision_geom *g);

/* Stages reported to on_stage (tests, debugging):
 *   TOWER: tower `tower`'s selected features on its own grid, channels last,
 *          before any resize (SigLIP (T*729, C1); InternVideo2 (T*256, C2),
 *          CLS already dropped when select_patch_only);
 *   FUSED: (n_tokens, fused_width); PROJ: (n_tokens, D); OUT: (n_latents, D). */
enum {
    APOLLO__VSTAGE_TOWER = 0,
    APOLLO__VSTAGE_FUSED = 1,
    APOLLO__VSTAGE_PROJ = 2,
    APOLLO__VSTAGE_OUT = 3
};

typedef struct apollo__vision_hooks {
    /* Polled between encoder layers and between stages; non-zero aborts
     * with APOLLO_E_CANCELLED. */
    int (*should_abort)(void *user_data);
    /* x is only valid during the call. */
    void (*on_stage)(void *user_data, int32_t stage, int32_t tower, const float *x,
                     int64_t rows, int64_t cols);
    void *user_data;
} apollo__vision_hooks;

/* Encodes one clip.
 *   siglip_pixels: (n_frames, 3, siglip_size, siglip_size) float32,
 *                  normalised (x/255 - 0.5)/0.5; NULL when there is no SigLIP tower;
 *   iv2_pixels:    (3, n_frames, iv2_size, iv2_size) float32, normalised with
 *                  the ImageNet mean/std; NULL when there is no InternVideo2 tower;
 *   out:           (n_latents, D) float32;
 *   hooks:         may be NULL.
 * Returns APOLLO_OK, APOLLO_E_INVALID_ARG, APOLLO_E_CONFIG, APOLLO_E_NOMEM,
 * APOLLO_E_CANCELLED or a backend error; *out is unspecified on failure. */
int apollo__vision_encode_clip(const apollo__model *m, apollo__backend *be,
                               const float *siglip_pixels, const float *iv2_pixels, float *out,
                               const apollo__vision_hooks *hooks);

#endif
