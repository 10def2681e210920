#include "qwen2.h"

#include "common/alloc.h"
#include "common/status.h"
#include "nn_ops.h"

#include <math.h>
#include <string.h>

/* Positions processed per pass: bounds the activation memory of a long
 * prefill (the MLP activations are chunk x intermediate floats). */
#define QWEN2_CHUNK 256

/* Attention runs on the calling thread (no pool dispatch and barrier) while
 * query rows x visible keys x heads x head_dim is at most this: a decode
 * step over 128 cached positions of the 1.5B model (12 heads of 128, 2 KV
 * heads) took 140-160 us on one thread and ~15 us more through the 2-thread
 * pool; over 256 the pool was 1.7x faster (AVX2 VM). */
#define QWEN2_ATTN_SERIAL_WORK (128 * 12 * 128)

/* ---- KV cache --------------------------------------------------------------- */

int apollo__kv_cache_init(apollo__kv_cache *kv, const apollo__llm_config *cfg)
{
    memset(kv, 0, sizeof *kv);
    kv->n_layers = cfg->n_layers;
    kv->kv_width = cfg->n_kv_heads * cfg->head_dim;
    kv->k = apollo__calloc((size_t)kv->n_layers, sizeof *kv->k);
    kv->v = apollo__calloc((size_t)kv->n_layers, sizeof *kv->v);
    if (!kv->k || !kv->v) {
        apollo__kv_cache_free(kv);
        return apollo__fail(APOLLO_E_NOMEM, "out of memory for the KV cache");
    }
    return APOLLO_OK;
}

void apollo__kv_cache_free(apollo__kv_cache *kv)
{
    if (kv->k)
        for (int64_t l = 0; l < kv->n_layers; l++)
            apollo__free(kv->k[l]);
    if (kv->v)
        for (int64_t l = 0; l < kv->n_layers; l++)
            apollo__free(kv->v[l]);
    apollo__free(kv->k);
    apollo__free(kv->v);
    memset(kv, 0, sizeof *kv);
}

int apollo__kv_cache_reserve(apollo__kv_cache *kv, int64_t n_extra)
{
    int64_t need = kv->n_past + n_extra, cap;
    size_t bytes;
    if (need <= kv->capacity)
        return APOLLO_OK;
    cap = kv->capacity ? kv->capacity : 256;
    while (cap < need)
        cap *= 2;
    if (apollo__mul_size((size_t)cap * sizeof(float), (size_t)kv->kv_width, &bytes))
        return apollo__fail(APOLLO_E_NOMEM, "KV cache of %lld positions is too large",
                            (long long)cap);
    for (int64_t l = 0; l < kv->n_layers; l++) {
        float *k = apollo__realloc(kv->k[l], bytes);
        if (!k)
            return apollo__fail(APOLLO_E_NOMEM, "out of memory growing the KV cache to %lld "
                                "positions", (long long)cap);
        kv->k[l] = k;
        float *v = apollo__realloc(kv->v[l], bytes);
        if (!v)
            return apollo__fail(APOLLO_E_NOMEM, "out of memory growing the KV cache to %lld "
                                "positions", (long long)cap);
        kv->v[l] = v;
    }
    kv->capacity = cap;
    return APOLLO_OK;
}

void apollo__kv_cache_truncate(apollo__kv_cache *kv, int64_t n)
{
    if (n < kv->n_past)
        kv->n_past = n < 0 ? 0 : n;
}

int apollo__kv_cache_copy(apollo__kv_cache *dst, const apollo__kv_cache *src)
{
    apollo__llm_config cfg;
    int rc;
    memset(&cfg, 0, sizeof cfg);
    cfg.n_layers = src->n_layers;
    cfg.n_kv_heads = 1;
    cfg.head_dim = src->kv_width;
    if ((rc = apollo__kv_cache_init(dst, &cfg)))
        return rc;
    if ((rc = apollo__kv_cache_reserve(dst, src->n_past))) {
        apollo__kv_cache_free(dst);
        return rc;
    }
    for (int64_t l = 0; l < src->n_layers; l++) {
        size_t bytes = (size_t)(src->n_past * src->kv_width) * sizeof(float);
        if (bytes) {
            memcpy(dst->k[l], src->k[l], bytes);
            memcpy(dst->v[l], src->v[l], bytes);
        }
    }
    dst->n_past = src->n_past;
    return APOLLO_OK;
}

/* ---- embeddings --------------------------------------------------------------- */

int apollo__qwen2_embed(const apollo__model *m, const int32_t *ids, int64_t n, float *out)
{
    const apollo__tensor *e = &m->llm_w.embed;
    const int64_t D = m->llm.hidden_size;
    for (int64_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= e->shape[0])
            return apollo__fail(APOLLO_E_INVALID_ARG, "token id %d is outside the vocabulary "
                                "(%lld rows)", ids[i], (long long)e->shape[0]);
        apollo__to_f32(e->dtype, apollo__tensor_row(e, ids[i]), out + i * D, (size_t)D);
    }
    return APOLLO_OK;
}

/* ---- RoPE ----------------------------------------------------------------------- */

/* Rotate-half RoPE over full heads, computed like transformers: inv_freq
 * and the angle products in float32 (so long positions round the same). */
static void rope(float *x, int64_t rows, int64_t ld, int64_t n_heads, int64_t hd, int64_t pos0,
                 double theta)
{
    int64_t half = hd / 2;
    float inv_freq[512];
    for (int64_t i = 0; i < half && i < 512; i++) {
        float expo = (float)(2 * i) / (float)hd;
        inv_freq[i] = (float)(1.0 / (double)powf((float)theta, expo));
    }
    for (int64_t r = 0; r < rows; r++) {
        float pos = (float)(pos0 + r);
        for (int64_t i = 0; i < half; i++) {
            float ang = pos * inv_freq[i];
            float c = cosf(ang), s = sinf(ang);
            for (int64_t h = 0; h < n_heads; h++) {
                float *p = x + r * ld + h * hd;
                float a = p[i], b = p[i + half];
                p[i] = a * c - b * s;
                p[i + half] = b * c + a * s;
            }
        }
    }
}

/* ---- forward -------------------------------------------------------------------- */

typedef struct qwen2_buffers {
    float *h, *xn, *q, *att, *tmp, *gate, *up;
} qwen2_buffers;

static void free_buffers(qwen2_buffers *b)
{
    apollo__free(b->h);
    apollo__free(b->xn);
    apollo__free(b->q);
    apollo__free(b->att);
    apollo__free(b->tmp);
    apollo__free(b->gate);
    apollo__free(b->up);
}

static int alloc_buffers(qwen2_buffers *b, const apollo__llm_config *c, int64_t rows)
{
    const size_t D = (size_t)c->hidden_size, QW = (size_t)(c->n_heads * c->head_dim);
    const size_t I = (size_t)c->intermediate_size, R = (size_t)rows;
    memset(b, 0, sizeof *b);
    b->h = apollo__malloc(R * D * sizeof(float));
    b->xn = apollo__malloc(R * D * sizeof(float));
    b->q = apollo__malloc(R * QW * sizeof(float));
    b->att = apollo__malloc(R * QW * sizeof(float));
    b->tmp = apollo__malloc(R * D * sizeof(float));
    b->gate = apollo__malloc(R * I * sizeof(float));
    b->up = apollo__malloc(R * I * sizeof(float));
    if (!b->h || !b->xn || !b->q || !b->att || !b->tmp || !b->gate || !b->up) {
        free_buffers(b);
        return apollo__fail(APOLLO_E_NOMEM, "out of memory for decoder activations");
    }
    return APOLLO_OK;
}

static int layer_forward(const apollo__model *m, apollo__backend *be, apollo__kv_cache *kv,
                         int64_t l, qwen2_buffers *b, int64_t rows, int64_t pos0)
{
    const apollo__llm_config *c = &m->llm;
    const apollo__llm_layer *L = &m->llm_w.layers[l];
    const int64_t D = c->hidden_size, hd = c->head_dim, KW = kv->kv_width;
    const int64_t QW = c->n_heads * hd, I = c->intermediate_size;
    const float eps = (float)c->rms_norm_eps;
    float *kdst = kv->k[l] + pos0 * KW, *vdst = kv->v[l] + pos0 * KW;
    int rc;

    /* attention */
    apollo__rmsnorm(b->xn, b->h, rows, D, L->in_norm.f32, eps);
    {   /* q, k, v of the same xn: one backend job (one pool dispatch in decode) */
        const apollo__tensor *const w[3] = {&L->q_w, &L->k_w, &L->v_w};
        const float *const bias[3] = {L->q_b.f32, L->k_b.f32, L->v_b.f32};
        float *const y[3] = {b->q, kdst, vdst};
        if ((rc = apollo__matmul_multi(be, b->xn, rows, D, 3, w, bias, y)))
            return rc;
    }
    rope(b->q, rows, QW, c->n_heads, hd, pos0, c->rope_theta);
    rope(kdst, rows, KW, c->n_kv_heads, hd, pos0, c->rope_theta);
    /* a NULL pool: the calling thread (QWEN2_ATTN_SERIAL_WORK) */
    rc = apollo__attention(rows * (pos0 + rows) * QW <= QWEN2_ATTN_SERIAL_WORK ? NULL : be->pool,
                           b->q, QW, kv->k[l], KW, kv->v[l], KW, b->att, QW, rows, pos0 + rows,
                           c->n_heads, c->n_kv_heads, hd, (float)(1.0 / sqrt((double)hd)), 1,
                           pos0);
    if (rc)
        return rc;
    if ((rc = apollo__matmul(be, b->att, rows, QW, &L->o_w, NULL, b->tmp)))
        return rc;
    apollo__add(b->h, b->tmp, (size_t)(rows * D));

    /* SwiGLU MLP */
    apollo__rmsnorm(b->xn, b->h, rows, D, L->post_norm.f32, eps);
    {
        const apollo__tensor *const w[2] = {&L->gate_w, &L->up_w};
        float *const y[2] = {b->gate, b->up};
        if ((rc = apollo__matmul_multi(be, b->xn, rows, D, 2, w, NULL, y)))
            return rc;
    }
    apollo__act_parallel(be->pool, apollo__silu, b->gate, (size_t)(rows * I));
    for (int64_t i = 0; i < rows * I; i++)
        b->gate[i] *= b->up[i];
    if ((rc = apollo__matmul(be, b->gate, rows, I, &L->down_w, NULL, b->tmp)))
        return rc;
    apollo__add(b->h, b->tmp, (size_t)(rows * D));
    return APOLLO_OK;
}

int apollo__qwen2_forward(const apollo__model *m, apollo__backend *be, apollo__kv_cache *kv,
                          const float *x, int64_t n, int logits_mode, float *logits,
                          const apollo__qwen2_hooks *hooks)
{
    const apollo__llm_config *c = &m->llm;
    const int64_t D = c->hidden_size, V = c->vocab_size;
    const int64_t start = kv->n_past;
    int64_t chunk = n < QWEN2_CHUNK ? n : QWEN2_CHUNK;
    qwen2_buffers b;
    int rc;

    if (n <= 0)
        return APOLLO_OK;
    if ((rc = apollo__kv_cache_reserve(kv, n)))
        return rc;
    if ((rc = alloc_buffers(&b, c, chunk)))
        return rc;
    for (int64_t r0 = 0; r0 < n; r0 += chunk) {
        int64_t rows = n - r0 < chunk ? n - r0 : chunk;
        int64_t pos0 = start + r0;
        memcpy(b.h, x + r0 * D, (size_t)(rows * D) * sizeof(float));
        if (hooks && hooks->on_hidden)
            hooks->on_hidden(hooks->user_data, 0, b.h, rows, D);
        for (int64_t l = 0; l < c->n_layers; l++) {
            if (hooks && hooks->should_abort && hooks->should_abort(hooks->user_data)) {
                rc = apollo__fail(APOLLO_E_CANCELLED, "cancelled");
                goto fail;
            }
            if ((rc = layer_forward(m, be, kv, l, &b, rows, pos0)))
                goto fail;
            if (hooks && hooks->on_hidden && l + 1 < c->n_layers)
                hooks->on_hidden(hooks->user_data, l + 1, b.h, rows, D);
        }
        /* Only the cache advances per chunk; positions become visible to the
         * next chunk's attention. */
        kv->n_past = pos0 + rows;
        apollo__rmsnorm(b.h, b.h, rows, D, m->llm_w.norm.f32, (float)c->rms_norm_eps);
        if (hooks && hooks->on_hidden)
            hooks->on_hidden(hooks->user_data, c->n_layers, b.h, rows, D);
        if (logits_mode == APOLLO__LOGITS_ALL) {
            if ((rc = apollo__matmul(be, b.h, rows, D, &m->llm_w.lm_head, NULL, logits + r0 * V)))
                goto fail;
        } else if (logits_mode == APOLLO__LOGITS_LAST && r0 + rows == n) {
            if ((rc = apollo__matmul(be, b.h + (rows - 1) * D, 1, D, &m->llm_w.lm_head, NULL,
                                     logits)))
                goto fail;
        }
    }
    free_buffers(&b);
    return APOLLO_OK;
fail:
    free_buffers(&b);
    kv->n_past = start;
    return rc;
}
