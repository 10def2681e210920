#include "nn_ops.h"

#include "apollo.h"
#include "common/alloc.h"
#include "backend.h"
#include "common/status.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

void apollo__layernorm(float *out, const float *x, int64_t rows, int64_t dim, const float *w,
                       const float *b, float eps)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *o = out + r * dim;
        double mean = 0, var = 0;
        for (int64_t c = 0; c < dim; c++)
            mean += xr[c];
        mean /= (double)dim;
        for (int64_t c = 0; c < dim; c++) {
            double d = xr[c] - mean;
            var += d * d;
        }
        var /= (double)dim; /* biased, as torch.nn.LayerNorm */
        float inv = (float)(1.0 / sqrt(var + (double)eps));
        for (int64_t c = 0; c < dim; c++) {
            float v = ((float)(xr[c] - mean)) * inv;
            if (w)
                v *= w[c];
            if (b)
                v += b[c];
            o[c] = v;
        }
    }
}

void apollo__rmsnorm(float *out, const float *x, int64_t rows, int64_t dim, const float *w,
                     float eps)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *o = out + r * dim;
        double ss = 0;
        for (int64_t c = 0; c < dim; c++)
            ss += (double)xr[c] * xr[c];
        float inv = (float)(1.0 / sqrt(ss / (double)dim + (double)eps));
        for (int64_t c = 0; c < dim; c++)
            o[c] = w ? (xr[c] * inv) * w[c] : xr[c] * inv;
    }
}

void apollo__gelu_tanh(float *x, size_t n)
{
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        x[i] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
    }
}

void apollo__gelu_erf(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

void apollo__silu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] / (1.0f + expf(-x[i]));
}

void apollo__relu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > 0 ? x[i] : 0;
}

#define ACT_CHUNK 16384

typedef struct act_job {
    void (*fn)(float *x, size_t n);
    float *x;
    size_t n;
} act_job;

static void act_task(void *vp, int64_t i)
{
    act_job *j = vp;
    size_t o = (size_t)i * ACT_CHUNK;
    j->fn(j->x + o, j->n - o < ACT_CHUNK ? j->n - o : ACT_CHUNK);
}

void apollo__act_parallel(apollo__pool *pool, void (*fn)(float *x, size_t n), float *x, size_t n)
{
    act_job j;
    j.fn = fn;
    j.x = x;
    j.n = n;
    if (n <= ACT_CHUNK)
        fn(x, n);
    else
        apollo__pool_for(pool, (int64_t)((n + ACT_CHUNK - 1) / ACT_CHUNK), act_task, &j);
}

void apollo__add(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
}

void apollo__add_scaled_rows(float *y, const float *x, const float *g, int64_t rows, int64_t dim)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < dim; c++)
            y[r * dim + c] += x[r * dim + c] * g[c];
}

void apollo__add_bias_rows(float *x, const float *b, int64_t rows, int64_t dim)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < dim; c++)
            x[r * dim + c] += b[c];
}

void apollo__mul_rows(float *x, const float *g, int64_t rows, int64_t dim)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < dim; c++)
            x[r * dim + c] *= g[c];
}

/* ---- attention ------------------------------------------------------------ */

/* Work is split into (head, block of ATTN_Q_BLOCK queries) tasks.  Each task
 * forms only its block's scores (ATTN_Q_BLOCK x visible keys) with one GEMM,
 * applies the causal mask and a float32 softmax per row, and multiplies by
 * V with a second GEMM: the full n_q x n_k matrix never exists, and the
 * memory per task is bounded by the block. */
#define ATTN_Q_BLOCK 64

typedef struct attn_job {
    const float *q, *k, *v;
    float *out;
    int64_t ldq, ldk, ldv, ldo;
    int64_t n_q, n_k, n_heads, group, head_dim;
    float scale;
    int causal;
    int64_t q_pos0;
    int64_t n_qblocks;
    _Atomic int failed;
} attn_job;

static void attn_task(void *vp, int64_t t)
{
    attn_job *j = vp;
    int64_t h = t / j->n_qblocks, qb = t % j->n_qblocks;
    int64_t i0 = qb * ATTN_Q_BLOCK;
    int64_t rows = j->n_q - i0 < ATTN_Q_BLOCK ? j->n_q - i0 : ATTN_Q_BLOCK;
    int64_t kh = h / j->group, hd = j->head_dim;
    /* keys visible to the last query of the block */
    int64_t n_vis = j->causal ? j->q_pos0 + i0 + rows : j->n_k;
    float *scores, *ob;
    size_t bytes;

    if (n_vis > j->n_k)
        n_vis = j->n_k;
    if (apollo__mul_size((size_t)(rows * n_vis), sizeof(float), &bytes) ||
        !(scores = apollo__malloc(bytes))) {
        j->failed = 1;
        return;
    }
    ob = apollo__malloc((size_t)(rows * hd) * sizeof(float));
    if (!ob) {
        apollo__free(scores);
        j->failed = 1;
        return;
    }
    /* S = Q_blk . K_h^T */
    apollo__gemm_f32(1, rows, n_vis, hd, j->q + i0 * j->ldq + h * hd, j->ldq,
                     j->k + kh * hd, j->ldk, scores, n_vis);
    for (int64_t r = 0; r < rows; r++) {
        float *srow = scores + r * n_vis;
        int64_t vis = j->causal ? j->q_pos0 + i0 + r + 1 : n_vis;
        float maxs = -INFINITY, sum = 0;
        if (vis > n_vis)
            vis = n_vis;
        for (int64_t s = 0; s < vis; s++) {
            srow[s] *= j->scale;
            if (srow[s] > maxs)
                maxs = srow[s];
        }
        for (int64_t s = 0; s < vis; s++) {
            srow[s] = expf(srow[s] - maxs);
            sum += srow[s];
        }
        {
            float inv = sum > 0 ? 1.0f / sum : 0.0f;
            for (int64_t s = 0; s < vis; s++)
                srow[s] *= inv;
        }
        for (int64_t s = vis; s < n_vis; s++) /* masked (future) keys */
            srow[s] = 0.0f;
    }
    /* O_blk = P . V_h */
    apollo__gemm_f32(0, rows, hd, n_vis, scores, n_vis, j->v + kh * hd, j->ldv, ob, hd);
    for (int64_t r = 0; r < rows; r++)
        memcpy(j->out + (i0 + r) * j->ldo + h * hd, ob + r * hd, (size_t)hd * sizeof(float));
    apollo__free(scores);
    apollo__free(ob);
}

int apollo__attention(apollo__pool *pool, const float *q, int64_t ldq, const float *k,
                      int64_t ldk, const float *v, int64_t ldv, float *out, int64_t ldo,
                      int64_t n_q, int64_t n_k, int64_t n_heads, int64_t n_kv_heads,
                      int64_t head_dim, float scale, int causal, int64_t q_pos0)
{
    attn_job j;
    if (n_q <= 0)
        return APOLLO_OK;
    j.q = q;
    j.k = k;
    j.v = v;
    j.out = out;
    j.ldq = ldq;
    j.ldk = ldk;
    j.ldv = ldv;
    j.ldo = ldo;
    j.n_q = n_q;
    j.n_k = n_k;
    j.n_heads = n_heads;
    j.group = n_heads / n_kv_heads;
    j.head_dim = head_dim;
    j.scale = scale;
    j.causal = causal;
    j.q_pos0 = q_pos0;
    j.n_qblocks = (n_q + ATTN_Q_BLOCK - 1) / ATTN_Q_BLOCK;
    j.failed = 0;
    apollo__pool_for(pool, n_heads * j.n_qblocks, attn_task, &j);
    if (j.failed)
        return apollo__fail(APOLLO_E_NOMEM, "attention: out of memory");
    return APOLLO_OK;
}
