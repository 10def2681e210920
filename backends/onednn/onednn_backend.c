/* oneDNN backend (C API).  v0: float32 matmul primitives created per call;
 * 16-bit weights are widened to float32 first.  Pre-packed bf16/int8 weights
 * come with the performance work.  oneDNN threads with OpenMP: the ctx's
 * n_threads is applied to the calling thread before each execution. */
#include "backend.h"

#include "apollo.h"
#include "common/alloc.h"
#include "common/status.h"

#include <dnnl.h>
#include <omp.h>

typedef struct onednn_backend {
    apollo__backend base;
    dnnl_engine_t engine;
} onednn_backend;

#define DNNL_TRY(call)                                                                     \
    do {                                                                                   \
        dnnl_status_t st_ = (call);                                                        \
        if (st_ != dnnl_success) {                                                         \
            rc = apollo__fail(st_ == dnnl_out_of_memory ? APOLLO_E_NOMEM : APOLLO_E_BACKEND, \
                              "oneDNN: %s failed (status %d)", #call, (int)st_);           \
            goto done;                                                                     \
        }                                                                                  \
    } while (0)

static int onednn_matmul(apollo__backend *be, const float *x, int64_t M, int64_t K,
                         const apollo__tensor *w, const float *bias, float *y)
{
    onednn_backend *b = (onednn_backend *)be;
    const int64_t N = w->shape[0];
    dnnl_memory_desc_t src_md, wei_md, bia_md, dst_md;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_memory_t src_m = NULL, wei_m = NULL, bia_m = NULL, dst_m = NULL;
    float *wf = NULL;
    const float *wp;
    int rc = APOLLO_OK;

    if (w->n_dims != 2 || w->shape[1] != K)
        return apollo__fail(APOLLO_E_INVALID_ARG, "matmul: weight shape does not match K=%lld",
                            (long long)K);
    if (w->dtype == APOLLO__DT_F32 && ((uintptr_t)w->data % sizeof(float)) == 0) {
        wp = w->data;
    } else {
        size_t n;
        if (apollo__mul_size((size_t)N * (size_t)K, sizeof(float), &n) ||
            !(wf = apollo__malloc(n)))
            return apollo__fail(APOLLO_E_NOMEM, "matmul: out of memory for weight conversion");
        apollo__to_f32(w->dtype, w->data, wf, (size_t)(N * K));
        wp = wf;
    }
    {
        dnnl_dims_t sd = {M, K}, ss = {K, 1};
        dnnl_dims_t wd = {K, N}, wst = {1, K}; /* W^T as a strided view of [N, K] */
        dnnl_dims_t bd = {1, N}, bs = {N, 1};
        dnnl_dims_t dd = {M, N}, ds = {N, 1};
        DNNL_TRY(dnnl_memory_desc_init_by_strides(&src_md, 2, sd, dnnl_f32, ss));
        DNNL_TRY(dnnl_memory_desc_init_by_strides(&wei_md, 2, wd, dnnl_f32, wst));
        DNNL_TRY(dnnl_memory_desc_init_by_strides(&bia_md, 2, bd, dnnl_f32, bs));
        DNNL_TRY(dnnl_memory_desc_init_by_strides(&dst_md, 2, dd, dnnl_f32, ds));
    }
    DNNL_TRY(dnnl_matmul_desc_init(&desc, &src_md, &wei_md, bias ? &bia_md : NULL, &dst_md));
    DNNL_TRY(dnnl_primitive_desc_create(&pd, &desc, NULL, b->engine, NULL));
    DNNL_TRY(dnnl_primitive_create(&prim, pd));
    DNNL_TRY(dnnl_stream_create(&stream, b->engine, dnnl_stream_default_flags));
    DNNL_TRY(dnnl_memory_create(&src_m, &src_md, b->engine, (void *)x));
    DNNL_TRY(dnnl_memory_create(&wei_m, &wei_md, b->engine, (void *)wp));
    DNNL_TRY(dnnl_memory_create(&dst_m, &dst_md, b->engine, y));
    if (bias)
        DNNL_TRY(dnnl_memory_create(&bia_m, &bia_md, b->engine, (void *)bias));
    {
        dnnl_exec_arg_t args[4] = {
            {DNNL_ARG_SRC, src_m},
            {DNNL_ARG_WEIGHTS, wei_m},
            {DNNL_ARG_DST, dst_m},
            {DNNL_ARG_BIAS, bia_m},
        };
        omp_set_num_threads(be->n_threads);
        DNNL_TRY(dnnl_primitive_execute(prim, stream, bias ? 4 : 3, args));
        DNNL_TRY(dnnl_stream_wait(stream));
    }
done:
    if (src_m) dnnl_memory_destroy(src_m);
    if (wei_m) dnnl_memory_destroy(wei_m);
    if (bia_m) dnnl_memory_destroy(bia_m);
    if (dst_m) dnnl_memory_destroy(dst_m);
    if (stream) dnnl_stream_destroy(stream);
    if (prim) dnnl_primitive_destroy(prim);
    if (pd) dnnl_primitive_desc_destroy(pd);
    apollo__free(wf);
    return rc;
}

static void onednn_destroy(apollo__backend *be)
{
    onednn_backend *b = (onednn_backend *)be;
    if (b->engine)
        dnnl_engine_destroy(b->engine);
    apollo__pool_free(be->pool);
    apollo__free(b);
}

static const apollo__backend_vtbl onednn_vtbl = {
    .name = "onednn",
    .kind = APOLLO_BACKEND_ONEDNN,
    .destroy = onednn_destroy,
    .matmul = onednn_matmul,
};

int apollo__onednn_backend_create(int32_t n_threads, apollo__backend **out)
{
    onednn_backend *b = apollo__calloc(1, sizeof *b);
    int rc;
    if (!b)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory creating the oneDNN backend");
    b->base.vt = &onednn_vtbl;
    b->base.n_threads = n_threads;
    if (dnnl_engine_create(&b->engine, dnnl_cpu, 0) != dnnl_success) {
        b->engine = NULL;
        onednn_destroy(&b->base);
        return apollo__fail(APOLLO_E_BACKEND, "oneDNN: cannot create a CPU engine");
    }
    rc = apollo__pool_create(n_threads, &b->base.pool);
    if (rc) {
        onednn_destroy(&b->base);
        return rc;
    }
    *out = &b->base;
    return APOLLO_OK;
}
