#include "connector.h"

#include "common/alloc.h"
#include "common/status.h"
#include "nn_ops.h"

#include <math.h>
#include <string.h>

/* PyTorch's nn.LayerNorm default, used by the WeightedNorms. */
#define WNORM_EPS 1e-5f

/* ---- projection ----------------------------------------------------------------- */

int apollo__connector_project(const apollo__connector *cn, apollo__backend *be, const float *x,
                              int64_t n, float *out)
{
    const apollo__connector_config *c;
    int64_t D, N;
    float *tmp = NULL;
    int rc;

    if (!cn || !be || !x || !out || n < 0)
        return apollo__fail(APOLLO_E_INVALID_ARG, "connector: bad arguments");
    c = &cn->cfg;
    D = c->text_hidden_size;
    N = c->n_proj_linear;
    if (N < 1 || N > 4)
        return apollo__fail(APOLLO_E_CONFIG, "connector: %lld projection layers (1..4 supported)",
                            (long long)N);
    if (n == 0)
        return APOLLO_OK;
    if ((rc = apollo__matmul(be, x, n, c->vision_hidden_size, &cn->proj_w[0], cn->proj_b[0].f32,
                             out)))
        return rc;
    if (N > 1) {
        tmp = apollo__malloc((size_t)n * (size_t)D * sizeof(float));
        if (!tmp)
            return apollo__fail(APOLLO_E_NOMEM, "connector: out of memory for the projection");
        for (int64_t i = 1; i < N; i++) {
            apollo__gelu_erf(out, (size_t)(n * D));
            memcpy(tmp, out, (size_t)(n * D) * sizeof(float));
            if ((rc = apollo__matmul(be, tmp, n, D, &cn->proj_w[i], cn->proj_b[i].f32, out))) {
                apollo__free(tmp);
                return rc;
            }
        }
        apollo__free(tmp);
    }
    return APOLLO_OK;
}

/* ---- resampler ------------------------------------------------------------------ */

typedef void (*act_fn)(float *x, size_t n);

static act_fn lookup_act(const char *name)
{
    if (strcmp(name, "silu") == 0 || strcmp(name, "swish") == 0)
        return apollo__silu;
    if (strcmp(name, "gelu") == 0)
        return apollo__gelu_erf;
    if (strcmp(name, "gelu_pytorch_tanh") == 0 || strcmp(name, "gelu_new") == 0 ||
        strcmp(name, "gelu_fast") == 0)
        return apollo__gelu_tanh;
    if (strcmp(name, "relu") == 0)
        return apollo__relu;
    return NULL;
}

/* WN(x) = LayerNorm(x; w, b, eps 1e-5) * wheight */
static void wnorm(float *out, const float *x, int64_t rows, int64_t D, const apollo__wnorm *n)
{
    apollo__layernorm(out, x, rows, D, n->w.f32, n->b.f32, WNORM_EPS);
    apollo__mul_rows(out, n->wheight.f32, rows, D);
}

typedef struct res_ws {
    float *lat, *ln, *cn, *q, *k, *v, *att, *tmp, *gate, *up;
} res_ws;

static void res_free(res_ws *w)
{
    apollo__free(w->lat);
    apollo__free(w->ln);
    apollo__free(w->cn);
    apollo__free(w->q);
    apollo__free(w->k);
    apollo__free(w->v);
    apollo__free(w->att);
    apollo__free(w->tmp);
    apollo__free(w->gate);
    apollo__free(w->up);
    memset(w, 0, sizeof *w);
}

static int layer_forward(const apollo__connector *cn, const apollo__perceiver_layer *L,
                         apollo__backend *be, res_ws *w, const float *ctx, int64_t n_ctx,
                         act_fn act)
{
    const apollo__connector_config *c = &cn->cfg;
    const int64_t D = c->text_hidden_size, n = c->n_latents, hd = c->head_dim;
    const int64_t QW = c->n_heads * hd, KW = c->n_kv_heads * hd, F = c->ff_multi * D;
    const float scale = (float)(1.0 / sqrt((double)hd));
    int rc;

    /* Keys/values over [WN_ctx(C); WN_lat(L)], queries from WN_lat(L). */
    wnorm(w->ln, w->lat, n, D, &L->lat_norm);
    wnorm(w->cn, ctx, n_ctx, D, &L->ctx_norm);
    if ((rc = apollo__matmul(be, w->ln, n, D, &L->q_w, NULL, w->q)) ||
        (rc = apollo__matmul(be, w->cn, n_ctx, D, &L->k_w, NULL, w->k)) ||
        (rc = apollo__matmul(be, w->ln, n, D, &L->k_w, NULL, w->k + n_ctx * KW)) ||
        (rc = apollo__matmul(be, w->cn, n_ctx, D, &L->v_w, NULL, w->v)) ||
        (rc = apollo__matmul(be, w->ln, n, D, &L->v_w, NULL, w->v + n_ctx * KW)))
        return rc;
    rc = apollo__attention(be->pool, w->q, QW, w->k, KW, w->v, KW, w->att, QW, n, n_ctx + n,
                           c->n_heads, c->n_kv_heads, hd, scale, 0, 0);
    if (rc)
        return rc;
    if ((rc = apollo__matmul(be, w->att, n, QW, &L->o_w, NULL, w->tmp)))
        return rc;
    apollo__add(w->lat, w->tmp, (size_t)(n * D));

    /* L += down(act(gate(WN_post(L))) * up(WN_post(L))) */
    wnorm(w->ln, w->lat, n, D, &L->post_norm);
    if ((rc = apollo__matmul(be, w->ln, n, D, &L->gate_w, NULL, w->gate)) ||
        (rc = apollo__matmul(be, w->ln, n, D, &L->up_w, NULL, w->up)))
        return rc;
    act(w->gate, (size_t)(n * F));
    for (int64_t i = 0; i < n * F; i++)
        w->gate[i] *= w->up[i];
    if ((rc = apollo__matmul(be, w->gate, n, F, &L->down_w, NULL, w->tmp)))
        return rc;
    apollo__add(w->lat, w->tmp, (size_t)(n * D));
    return APOLLO_OK;
}

int apollo__connector_resample(const apollo__connector *cn, apollo__backend *be,
                               const float *ctx, int64_t n_ctx, float *out,
                               apollo__abort_fn should_abort, void *abort_ud)
{
    const apollo__connector_config *c;
    int64_t D, n, QW, KW, F, S;
    act_fn act;
    res_ws w;
    int rc = APOLLO_OK;

    if (!cn || !be || !ctx || !out || n_ctx <= 0)
        return apollo__fail(APOLLO_E_INVALID_ARG, "resampler: bad arguments");
    c = &cn->cfg;
    if (!(act = lookup_act(c->hidden_act)))
        return apollo__fail(APOLLO_E_CONFIG, "resampler: unsupported hidden_act '%s'",
                            c->hidden_act);
    if (c->n_kv_heads <= 0 || c->n_heads % c->n_kv_heads != 0 || !cn->latents.f32 ||
        (c->depth > 0 && !cn->layers))
        return apollo__fail(APOLLO_E_CONFIG, "resampler: inconsistent configuration");
    D = c->text_hidden_size;
    n = c->n_latents;
    QW = c->n_heads * c->head_dim;
    KW = c->n_kv_heads * c->head_dim;
    F = c->ff_multi * D;
    S = n_ctx + n;

    memset(&w, 0, sizeof w);
    w.lat = apollo__malloc((size_t)(n * D) * sizeof(float));
    w.ln = apollo__malloc((size_t)(n * D) * sizeof(float));
    w.cn = apollo__malloc((size_t)(n_ctx * D) * sizeof(float));
    w.q = apollo__malloc((size_t)(n * QW) * sizeof(float));
    w.k = apollo__malloc((size_t)(S * KW) * sizeof(float));
    w.v = apollo__malloc((size_t)(S * KW) * sizeof(float));
    w.att = apollo__malloc((size_t)(n * QW) * sizeof(float));
    w.tmp = apollo__malloc((size_t)(n * D) * sizeof(float));
    w.gate = apollo__malloc((size_t)(n * F) * sizeof(float));
    w.up = apollo__malloc((size_t)(n * F) * sizeof(float));
    if (!w.lat || !w.ln || !w.cn || !w.q || !w.k || !w.v || !w.att || !w.tmp || !w.gate ||
        !w.up) {
        res_free(&w);
        return apollo__fail(APOLLO_E_NOMEM, "resampler: out of memory");
    }
    memcpy(w.lat, cn->latents.f32, (size_t)(n * D) * sizeof(float));
    for (int64_t l = 0; l < c->depth; l++) {
        if (should_abort && should_abort(abort_ud)) {
            rc = apollo__fail(APOLLO_E_CANCELLED, "cancelled");
            goto done;
        }
        if ((rc = layer_forward(cn, &cn->layers[l], be, &w, ctx, n_ctx, act)))
            goto done;
    }
    wnorm(out, w.lat, n, D, &cn->final_norm);
done:
    res_free(&w);
    return rc;
}
