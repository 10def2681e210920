#include "vision_fusion.h"

#include "apollo.h"
#include "common/status.h"

#include <math.h>
#include <string.h>

/* Source indices and weights of one axis (ATen's
 * compute_source_index_and_lambda for linear modes, align_corners=False). */
typedef struct axis_w {
    int64_t i0, i1;
    float w0, w1;
} axis_w;

static axis_w axis_weights(int64_t in, int64_t out, int64_t d)
{
    axis_w a;
    if (in == out) {
        a.i0 = a.i1 = d;
        a.w0 = 1.0f;
        a.w1 = 0.0f;
        return a;
    }
    {
        const float scale = (float)in / (float)out;
        float src = scale * ((float)d + 0.5f) - 0.5f;
        if (src < 0.0f)
            src = 0.0f;
        a.i0 = (int64_t)floorf(src);
        if (a.i0 > in - 1)
            a.i0 = in - 1;
        a.w1 = src - (float)a.i0;
        if (a.w1 < 0.0f)
            a.w1 = 0.0f;
        if (a.w1 > 1.0f)
            a.w1 = 1.0f;
        a.i1 = a.i0 + (a.i0 < in - 1 ? 1 : 0);
        a.w0 = 1.0f - a.w1;
    }
    return a;
}

void apollo__trilinear_resize(const float *src, int64_t T, int64_t H, int64_t W, int64_t C,
                              float *dst, int64_t T2, int64_t H2, int64_t W2, int64_t ld_dst)
{
    for (int64_t t = 0; t < T2; t++) {
        const axis_w at = axis_weights(T, T2, t);
        for (int64_t r = 0; r < H2; r++) {
            const axis_w ah = axis_weights(H, H2, r);
            for (int64_t c = 0; c < W2; c++) {
                const axis_w aw = axis_weights(W, W2, c);
                const float *p000 = src + ((at.i0 * H + ah.i0) * W + aw.i0) * C;
                const float *p001 = src + ((at.i0 * H + ah.i0) * W + aw.i1) * C;
                const float *p010 = src + ((at.i0 * H + ah.i1) * W + aw.i0) * C;
                const float *p011 = src + ((at.i0 * H + ah.i1) * W + aw.i1) * C;
                const float *p100 = src + ((at.i1 * H + ah.i0) * W + aw.i0) * C;
                const float *p101 = src + ((at.i1 * H + ah.i0) * W + aw.i1) * C;
                const float *p110 = src + ((at.i1 * H + ah.i1) * W + aw.i0) * C;
                const float *p111 = src + ((at.i1 * H + ah.i1) * W + aw.i1) * C;
                float *o = dst + ((t * H2 + r) * W2 + c) * ld_dst;
                for (int64_t k = 0; k < C; k++)
                    o[k] = at.w0 * (ah.w0 * (aw.w0 * p000[k] + aw.w1 * p001[k]) +
                                    ah.w1 * (aw.w0 * p010[k] + aw.w1 * p011[k])) +
                           at.w1 * (ah.w0 * (aw.w0 * p100[k] + aw.w1 * p101[k]) +
                                    ah.w1 * (aw.w0 * p110[k] + aw.w1 * p111[k]));
            }
        }
    }
}

int apollo__vision_fuse(const apollo__vision_grid *towers, int32_t n_towers,
                        const int64_t out_grid[3], float *fused)
{
    const int64_t T = out_grid[0], H = out_grid[1], W = out_grid[2], n = T * H * W;
    int64_t Ctot = 0, off = 0;

    if (!towers || n_towers <= 0 || !fused || T <= 0 || H <= 0 || W <= 0)
        return apollo__fail(APOLLO_E_INVALID_ARG, "vision fusion: bad arguments");
    for (int32_t i = 0; i < n_towers; i++) {
        const apollo__vision_grid *g = &towers[i];
        if (!g->x || g->C <= 0 || g->grid[0] <= 0 || g->grid[1] <= 0 || g->grid[2] <= 0)
            return apollo__fail(APOLLO_E_INVALID_ARG, "vision fusion: tower %d has an empty grid",
                                (int)i);
        Ctot += g->C;
    }
    for (int32_t i = 0; i < n_towers; i++) {
        const apollo__vision_grid *g = &towers[i];
        if (g->grid[0] == T && g->grid[1] == H && g->grid[2] == W) {
            for (int64_t r = 0; r < n; r++)
                memcpy(fused + r * Ctot + off, g->x + r * g->C, (size_t)g->C * sizeof(float));
        } else {
            apollo__trilinear_resize(g->x, g->grid[0], g->grid[1], g->grid[2], g->C, fused + off,
                                     T, H, W, Ctot);
        }
        off += g->C;
    }
    return APOLLO_OK;
}
