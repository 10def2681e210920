#include "siglip.h"

#include "common/alloc.h"
#include "common/status.h"
#include "nn_ops.h"

#include <math.h>
#include <string.h>

/* Rows of the MLP evaluated at once: bounds the [rows, intermediate]
 * activation while keeping the matrix products large. */
#define SIGLIP_MLP_CHUNK 1024

int64_t apollo__siglip_n_tokens(const apollo__tower_config *c)
{
    int64_t g = c->image_size / c->patch_size;
    return g * g;
}

/* ---- patch embedding ---------------------------------------------------------- */

/* A 2-D float32 view of a small parameter that has a float32 copy (the patch
 * kernel [D, 3, p, p] seen as [D, 3*p*p]). */
static apollo__tensor f32_view(const float *data, int64_t rows, int64_t cols)
{
    apollo__tensor v;
    memset(&v, 0, sizeof v);
    v.dtype = APOLLO__DT_F32;
    v.n_dims = 2;
    v.shape[0] = rows;
    v.shape[1] = cols;
    v.data = data;
    v.f32 = data;
    return v;
}

/* im2col for one frame (3, S, S): row (r*g + c) holds the patch in the
 * kernel's (channel, kh, kw) order. */
static void im2col_frame(const float *px, int64_t S, int64_t p, float *cols)
{
    const int64_t g = S / p, K = 3 * p * p;
    for (int64_t r = 0; r < g; r++)
        for (int64_t c = 0; c < g; c++) {
            float *dst = cols + (r * g + c) * K;
            for (int64_t ch = 0; ch < 3; ch++)
                for (int64_t kh = 0; kh < p; kh++)
                    memcpy(dst + (ch * p + kh) * p,
                           px + (ch * S + r * p + kh) * S + c * p, (size_t)p * sizeof(float));
        }
}

/* ---- encoder layers ------------------------------------------------------------- */

typedef struct siglip_ws {
    float *xn, *q, *k, *v, *att, *tmp, *mlp;
} siglip_ws;

static void ws_free(siglip_ws *w)
{
    apollo__free(w->xn);
    apollo__free(w->q);
    apollo__free(w->k);
    apollo__free(w->v);
    apollo__free(w->att);
    apollo__free(w->tmp);
    apollo__free(w->mlp);
    memset(w, 0, sizeof *w);
}

static int layer_forward(const apollo__tower *t, const apollo__siglip_layer *L,
                         apollo__backend *be, siglip_ws *w, float *h, int64_t n_frames)
{
    const apollo__tower_config *c = &t->cfg;
    const int64_t D = c->hidden_size, I = c->intermediate_size, H = c->n_heads;
    const int64_t hd = D / H, N = apollo__siglip_n_tokens(c), R = n_frames * N;
    const float eps = (float)c->norm_eps, scale = (float)(1.0 / sqrt((double)hd));
    int rc;

    /* x += O(Attn(LN1(x))) */
    apollo__layernorm(w->xn, h, R, D, L->ln1_w.f32, L->ln1_b.f32, eps);
    if ((rc = apollo__matmul(be, w->xn, R, D, &L->q_w, L->q_b.f32, w->q)) ||
        (rc = apollo__matmul(be, w->xn, R, D, &L->k_w, L->k_b.f32, w->k)) ||
        (rc = apollo__matmul(be, w->xn, R, D, &L->v_w, L->v_b.f32, w->v)))
        return rc;
    for (int64_t f = 0; f < n_frames; f++) {
        const int64_t o = f * N * D;
        rc = apollo__attention(be->pool, w->q + o, D, w->k + o, D, w->v + o, D, w->att + o, D, N,
                               N, H, H, hd, scale, 0, 0);
        if (rc)
            return rc;
    }
    if ((rc = apollo__matmul(be, w->att, R, D, &L->o_w, L->o_b.f32, w->tmp)))
        return rc;
    apollo__add(h, w->tmp, (size_t)(R * D));

    /* x += FC2(gelu_tanh(FC1(LN2(x)))) */
    apollo__layernorm(w->xn, h, R, D, L->ln2_w.f32, L->ln2_b.f32, eps);
    for (int64_t r0 = 0; r0 < R; r0 += SIGLIP_MLP_CHUNK) {
        int64_t rows = R - r0 < SIGLIP_MLP_CHUNK ? R - r0 : SIGLIP_MLP_CHUNK;
        if ((rc = apollo__matmul(be, w->xn + r0 * D, rows, D, &L->fc1_w, L->fc1_b.f32, w->mlp)))
            return rc;
        apollo__act_parallel(be->pool, apollo__gelu_tanh, w->mlp, (size_t)(rows * I));
        if ((rc = apollo__matmul(be, w->mlp, rows, I, &L->fc2_w, L->fc2_b.f32, w->tmp + r0 * D)))
            return rc;
    }
    apollo__add(h, w->tmp, (size_t)(R * D));
    return APOLLO_OK;
}

static int siglip_forward(const apollo__tower *t, apollo__backend *be, const float *pixels,
                          int64_t n_frames, float *out, apollo__abort_fn should_abort,
                          void *abort_ud)
{
    const apollo__tower_config *c = &t->cfg;
    const int64_t D = c->hidden_size, I = c->intermediate_size, S = c->image_size;
    const int64_t p = c->patch_size, K = 3 * p * p;
    int64_t N, R, mlp_rows;
    siglip_ws w;
    apollo__tensor patch;
    int rc = APOLLO_OK;

    if (c->kind != APOLLO__TOWER_SIGLIP || !t->patch_w.f32 || !t->patch_b.f32 || !t->pos.f32 ||
        (c->n_layers_run > 0 && !t->siglip_layers) || c->n_layers_run > c->n_layers ||
        p <= 0 || S < p || D % c->n_heads != 0)
        return apollo__fail(APOLLO_E_CONFIG, "siglip: tower '%s' is not a usable SigLIP tower",
                            c->name);
    N = apollo__siglip_n_tokens(c);
    R = n_frames * N;
    mlp_rows = R < SIGLIP_MLP_CHUNK ? R : SIGLIP_MLP_CHUNK;

    memset(&w, 0, sizeof w);
    {
        const size_t rd = (size_t)R * (size_t)D * sizeof(float);
        w.xn = apollo__malloc(rd > (size_t)N * (size_t)K * sizeof(float)
                                  ? rd : (size_t)N * (size_t)K * sizeof(float));
        w.q = apollo__malloc(rd);
        w.k = apollo__malloc(rd);
        w.v = apollo__malloc(rd);
        w.att = apollo__malloc(rd);
        w.tmp = apollo__malloc(rd);
        w.mlp = apollo__malloc((size_t)mlp_rows * (size_t)I * sizeof(float));
        if (!w.xn || !w.q || !w.k || !w.v || !w.att || !w.tmp || !w.mlp) {
            ws_free(&w);
            return apollo__fail(APOLLO_E_NOMEM, "siglip: out of memory for %lld frames",
                                (long long)n_frames);
        }
    }

    /* Embeddings: conv as im2col (into the xn buffer) + matmul, then positions. */
    patch = f32_view(t->patch_w.f32, D, K);
    for (int64_t f = 0; f < n_frames; f++) {
        float *hf = out + f * N * D;
        im2col_frame(pixels + f * 3 * S * S, S, p, w.xn);
        if ((rc = apollo__matmul(be, w.xn, N, K, &patch, t->patch_b.f32, hf)))
            goto done;
        apollo__add(hf, t->pos.f32, (size_t)(N * D));
    }

    for (int64_t l = 0; l < c->n_layers_run; l++) {
        if (should_abort && should_abort(abort_ud)) {
            rc = apollo__fail(APOLLO_E_CANCELLED, "cancelled");
            goto done;
        }
        if ((rc = layer_forward(t, &t->siglip_layers[l], be, &w, out, n_frames)))
            goto done;
    }
done:
    ws_free(&w);
    return rc;
}

int apollo__siglip_forward(const apollo__tower *t, apollo__backend *be, const float *pixels,
                           int64_t n_frames, float *out, apollo__abort_fn should_abort,
                           void *abort_ud)
{
    if (!t || !be || !pixels || !out || n_frames <= 0)
        return apollo__fail(APOLLO_E_INVALID_ARG, "siglip: bad arguments");
    return siglip_forward(t, be, pixels, n_frames, out, should_abort, abort_ud);
}
