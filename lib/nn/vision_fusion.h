/* Fusing the towers' feature grids (apollo-model.md §3.3): every tower's
 * (T, H, W, C) grid is brought to the common token_output_shape with
 * F.interpolate(mode="trilinear", align_corners=False) when it differs,
 * the channels are concatenated in tower order and the grid is flattened
 * t*H*W + row*W + col. */
#ifndef APOLLO_VISION_FUSION_H
#define APOLLO_VISION_FUSION_H

#include <stdint.h>

/* Trilinear resize of a channels-last grid src (T, H, W, C) to
 * (T2, H2, W2, C), align_corners=False, with PyTorch's source-index rule in
 * float32: scale = in/out, src = max(scale*(dst + 0.5) - 0.5, 0),
 * i0 = floor(src), i1 = min(i0 + 1, in - 1), w1 = src - i0, w0 = 1 - w1;
 * an axis whose size does not change is copied.  Output cell
 * (t, r, c) goes to dst + ((t*H2 + r)*W2 + c) * ld_dst, C floats, so the
 * result can be written straight into a column range of a wider matrix. */
void apollo__trilinear_resize(const float *src, int64_t T, int64_t H, int64_t W, int64_t C,
                              float *dst, int64_t T2, int64_t H2, int64_t W2, int64_t ld_dst);

/* One tower's selected features, channels-last: grid[0..2] = (T, H, W),
 * rows t*H*W + r*W + c of C floats. */
typedef struct apollo__vision_grid {
    const float *x;
    int64_t grid[3];
    int64_t C;
} apollo__vision_grid;

/* fused (T*H*W, sum of C) float32 for out_grid (T, H, W): the towers' columns
 * side by side in the given order, each resized when its grid differs.
 * Returns APOLLO_OK or APOLLO_E_INVALID_ARG. */
int apollo__vision_fuse(const apollo__vision_grid *towers, int32_t n_towers,
                        const int64_t out_grid[3], float *fused);

#endif
