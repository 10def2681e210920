#include "internvideo2.h"

#include "common/alloc.h"
#include "common/status.h"
#include "nn_ops.h"

#include <math.h>
#include <string.h>

/* Rows of the MLP evaluated at once (bounds the [rows, F] activation). */
#define IV2_MLP_CHUNK 1024
/* The backbone's RMSNorms (norm1/norm2/q_norm/k_norm) use this eps. */
#define IV2_RMS_EPS 1e-6f

int64_t apollo__iv2_t_slots(const apollo__tower_config *c)
{
    return c->num_frames / c->tubelet_size;
}

int64_t apollo__iv2_side(const apollo__tower_config *c)
{
    return c->image_size / c->patch_size;
}

int64_t apollo__iv2_n_tokens(const apollo__tower_config *c)
{
    int64_t g = apollo__iv2_side(c);
    return 1 + apollo__iv2_t_slots(c) * g * g;
}

/* ---- patch embedding ---------------------------------------------------------- */

/* im2col of the 3-D patches: row (t*g + r)*g + c holds the tubelet in the
 * kernel's (channel, kt, kh, kw) order; pixels are (3, T, S, S). */
static void im2col_clip(const float *px, int64_t T, int64_t S, int64_t tb, int64_t p,
                        float *cols)
{
    const int64_t g = S / p, Ts = T / tb, K = 3 * tb * p * p;
    for (int64_t t = 0; t < Ts; t++)
        for (int64_t r = 0; r < g; r++)
            for (int64_t c = 0; c < g; c++) {
                float *dst = cols + ((t * g + r) * g + c) * K;
                for (int64_t ch = 0; ch < 3; ch++)
                    for (int64_t kt = 0; kt < tb; kt++)
                        for (int64_t kh = 0; kh < p; kh++)
                            memcpy(dst + ((ch * tb + kt) * p + kh) * p,
                                   px + ((ch * T + t * tb + kt) * S + r * p + kh) * S + c * p,
                                   (size_t)p * sizeof(float));
            }
}

/* ---- blocks ---------------------------------------------------------------------- */

typedef struct iv2_ws {
    float *xn, *qkv, *att, *tmp, *mlp;
} iv2_ws;

static void ws_free(iv2_ws *w)
{
    apollo__free(w->xn);
    apollo__free(w->qkv);
    apollo__free(w->att);
    apollo__free(w->tmp);
    apollo__free(w->mlp);
    memset(w, 0, sizeof *w);
}

static int block_forward(const apollo__tower *t, const apollo__iv2_block *B, apollo__backend *be,
                         iv2_ws *w, float *x, int64_t R)
{
    const apollo__tower_config *c = &t->cfg;
    const int64_t D = c->hidden_size, F = c->intermediate_size, H = c->n_heads, hd = D / H;
    const float scale = (float)(1.0 / sqrt((double)hd));
    int rc;

    /* x += ls1 * proj(attn(q_norm(q), k_norm(k), v)),  qkv = RMSNorm1(x) W^T */
    apollo__rmsnorm(w->xn, x, R, D, B->norm1.f32, IV2_RMS_EPS);
    if ((rc = apollo__matmul(be, w->xn, R, D, &B->qkv_w, NULL, w->qkv)))
        return rc;
    for (int64_t r = 0; r < R; r++) {
        float *q = w->qkv + r * 3 * D;
        apollo__rmsnorm(q, q, 1, D, B->q_norm.f32, IV2_RMS_EPS);
        apollo__rmsnorm(q + D, q + D, 1, D, B->k_norm.f32, IV2_RMS_EPS);
    }
    rc = apollo__attention(be->pool, w->qkv, 3 * D, w->qkv + D, 3 * D, w->qkv + 2 * D, 3 * D,
                           w->att, D, R, R, H, H, hd, scale, 0, 0);
    if (rc)
        return rc;
    if ((rc = apollo__matmul(be, w->att, R, D, &B->proj_w, B->proj_b.f32, w->tmp)))
        return rc;
    apollo__add_scaled_rows(x, w->tmp, B->ls1.f32, R, D);

    /* x += ls2 * fc2(gelu(fc1(RMSNorm2(x)))) */
    apollo__rmsnorm(w->xn, x, R, D, B->norm2.f32, IV2_RMS_EPS);
    for (int64_t r0 = 0; r0 < R; r0 += IV2_MLP_CHUNK) {
        int64_t rows = R - r0 < IV2_MLP_CHUNK ? R - r0 : IV2_MLP_CHUNK;
        if ((rc = apollo__matmul(be, w->xn + r0 * D, rows, D, &B->fc1_w, B->fc1_b.f32, w->mlp)))
            return rc;
        apollo__act_parallel(be->pool, apollo__gelu_erf, w->mlp, (size_t)(rows * F));
        if ((rc = apollo__matmul(be, w->mlp, rows, F, &B->fc2_w, B->fc2_b.f32, w->tmp + r0 * D)))
            return rc;
    }
    apollo__add_scaled_rows(x, w->tmp, B->ls2.f32, R, D);
    return APOLLO_OK;
}

static int iv2_forward(const apollo__tower *t, apollo__backend *be, const float *pixels,
                       float *out, apollo__abort_fn should_abort, void *abort_ud)
{
    const apollo__tower_config *c = &t->cfg;
    const int64_t D = c->hidden_size, F = c->intermediate_size, S = c->image_size;
    const int64_t p = c->patch_size, tb = c->tubelet_size, T = c->num_frames;
    const int64_t K = 3 * tb * p * p;
    int64_t R, Np, mlp_rows;
    apollo__tensor patch;
    iv2_ws w;
    int rc = APOLLO_OK;

    if (c->kind != APOLLO__TOWER_INTERNVIDEO2 || !t->patch_w.f32 || !t->patch_b.f32 ||
        !t->pos.f32 || !t->cls.f32 || (c->n_layers_run > 0 && !t->iv2_blocks) ||
        c->n_layers_run > c->n_layers || p <= 0 || tb <= 0 || S < p || T % tb != 0 ||
        D % c->n_heads != 0)
        return apollo__fail(APOLLO_E_CONFIG,
                            "internvideo2: tower '%s' is not a usable InternVideo2 tower", c->name);
    R = apollo__iv2_n_tokens(c);
    Np = R - 1;
    mlp_rows = R < IV2_MLP_CHUNK ? R : IV2_MLP_CHUNK;

    memset(&w, 0, sizeof w);
    {
        const size_t rd = (size_t)R * (size_t)D * sizeof(float);
        const size_t cols = (size_t)Np * (size_t)K * sizeof(float);
        const size_t qkv = 3 * rd;
        /* The im2col matrix is only needed before the blocks: it borrows
         * the qkv buffer when that is large enough. */
        w.qkv = apollo__malloc(qkv > cols ? qkv : cols);
        w.xn = apollo__malloc(rd);
        w.att = apollo__malloc(rd);
        w.tmp = apollo__malloc(rd);
        w.mlp = apollo__malloc((size_t)mlp_rows * (size_t)F * sizeof(float));
        if (!w.xn || !w.qkv || !w.att || !w.tmp || !w.mlp) {
            ws_free(&w);
            return apollo__fail(APOLLO_E_NOMEM, "internvideo2: out of memory");
        }
    }

    /* Embeddings: [CLS; conv3d patches] + pos_embed (the video table). */
    {
        memset(&patch, 0, sizeof patch);
        patch.dtype = APOLLO__DT_F32;
        patch.n_dims = 2;
        patch.shape[0] = D;
        patch.shape[1] = K;
        patch.data = t->patch_w.f32;
        patch.f32 = t->patch_w.f32;
    }
    im2col_clip(pixels, T, S, tb, p, w.qkv);
    if ((rc = apollo__matmul(be, w.qkv, Np, K, &patch, t->patch_b.f32, out + D)))
        goto done;
    memcpy(out, t->cls.f32, (size_t)D * sizeof(float));
    apollo__add(out, t->pos.f32, (size_t)(R * D));

    for (int64_t l = 0; l < c->n_layers_run; l++) {
        if (should_abort && should_abort(abort_ud)) {
            rc = apollo__fail(APOLLO_E_CANCELLED, "cancelled");
            goto done;
        }
        if ((rc = block_forward(t, &t->iv2_blocks[l], be, &w, out, R)))
            goto done;
    }
done:
    ws_free(&w);
    return rc;
}

int apollo__iv2_forward(const apollo__tower *t, apollo__backend *be, const float *pixels,
                        float *out, apollo__abort_fn should_abort, void *abort_ud)
{
    if (!t || !be || !pixels || !out)
        return apollo__fail(APOLLO_E_INVALID_ARG, "internvideo2: bad arguments");
    return iv2_forward(t, be, pixels, out, should_abort, abort_ud);
}
