/* apollo_ctx: opening a checkpoint, model information, versions, errors. */
#include "api_internal.h"

#include "common/alloc.h"
#include "common/status.h"
#ifdef APOLLO_HAVE_ONEDNN
#include "onednn/onednn_hooks.h"
#endif

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- versions and errors --------------------------------------------------- */

APOLLO_API int32_t apollo_version_number(void)
{
    return APOLLO_VERSION_NUMBER;
}

APOLLO_API const char *apollo_version_string(void)
{
    return APOLLO_VERSION_STRING;
}

APOLLO_API const char *apollo_strerror(int code)
{
    switch (code) {
    case APOLLO_OK: return "success";
    case APOLLO_E_INVALID_ARG: return "invalid argument";
    case APOLLO_E_MISUSE: return "library misuse (bad handle, state or struct size)";
    case APOLLO_E_NOMEM: return "out of memory";
    case APOLLO_E_IO: return "input/output error";
    case APOLLO_E_NOT_FOUND: return "file or directory not found";
    case APOLLO_E_JSON: return "malformed JSON";
    case APOLLO_E_CONFIG: return "invalid model configuration";
    case APOLLO_E_FORMAT: return "malformed weight file";
    case APOLLO_E_DTYPE: return "unsupported tensor dtype";
    case APOLLO_E_SHAPE: return "tensor shape does not match the configuration";
    case APOLLO_E_MISSING_TENSOR: return "required tensor missing";
    case APOLLO_E_UNSUPPORTED: return "not supported by this build or model";
    case APOLLO_E_BACKEND: return "compute backend failure";
    case APOLLO_E_CANCELLED: return "cancelled";
    case APOLLO_E_CONTEXT_FULL: return "context length exceeded";
    case APOLLO_E_VIDEO: return "not a decodable video or image";
    case APOLLO_E_NO_VIDEO: return "the input holds no video frames";
    default: return "unknown error";
    }
}

APOLLO_API const char *apollo_last_errmsg(void)
{
    return apollo__errmsg();
}

/* ---- params ------------------------------------------------------------------ */

int apollo__copy_params(void *dst, size_t dst_size, const void *src, const char *what)
{
    uint32_t size;
    memcpy(&size, src, sizeof size);
    if (size < sizeof(uint32_t))
        return apollo__fail(APOLLO_E_MISUSE,
                            "%s: struct_size %u is too small (initialise with %s_init)", what,
                            size, what);
    if (size > dst_size) {
        const unsigned char *tail = (const unsigned char *)src + dst_size;
        for (size_t i = 0; i < size - dst_size; i++)
            if (tail[i])
                return apollo__fail(APOLLO_E_MISUSE,
                                    "%s: struct_size %u is larger than this library knows (%zu) "
                                    "and the unknown fields are set; the library is older than "
                                    "the header",
                                    what, size, dst_size);
        size = (uint32_t)dst_size;
    }
    memcpy(dst, src, size);
    memcpy(dst, &(uint32_t){(uint32_t)dst_size}, sizeof(uint32_t));
    return APOLLO_OK;
}

APOLLO_API void apollo_ctx_params_init(apollo_ctx_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->n_threads = 0;
    p->backend = APOLLO_BACKEND_AUTO;
    p->log_level = APOLLO_LOG_WARN;
}

/* ---- logging ------------------------------------------------------------------- */

void apollo__log(const apollo_ctx *ctx, int32_t level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    if (!ctx || !ctx->params.log_fn || level > ctx->params.log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ctx->params.log_fn(level, buf, ctx->params.log_user_data);
}

/* The backend's one-off notes (a precision this CPU cannot run, weights
 * left unpacked) go to the ctx's log. */
static void backend_log(void *user_data, int32_t level, const char *msg)
{
    apollo__log(user_data, level, "%s", msg);
}

/* ---- ctx ------------------------------------------------------------------------- */

int apollo__ctx_valid(const apollo_ctx *ctx)
{
    return ctx && ctx->magic == APOLLO__CTX_MAGIC && !atomic_load(&ctx->user_freed);
}

static void ctx_destroy(apollo_ctx *ctx)
{
    apollo__backend_free(ctx->backend);
    apollo__tokenizer_free(ctx->tok);
    apollo__model_free(ctx->model);
    ctx->magic = 0;
    apollo__free(ctx);
}

APOLLO_API int apollo_ctx_open(const char *model_dir, const apollo_ctx_params *params,
                               apollo_ctx **out)
{
    apollo_ctx *ctx;
    int rc;

    apollo__clear_error();
    if (!out)
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_ctx_open: out is NULL");
    *out = NULL;
    if (!model_dir || !*model_dir)
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_ctx_open: model_dir is NULL or empty");
    ctx = apollo__calloc(1, sizeof *ctx);
    if (!ctx)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory");
    apollo_ctx_params_init(&ctx->params);
    if (params && (rc = apollo__copy_params(&ctx->params, sizeof ctx->params, params,
                                            "apollo_ctx_params"))) {
        apollo__free(ctx);
        return rc;
    }
    if (ctx->params.n_threads < 0 || ctx->params.n_threads > 1024) {
        int32_t n = ctx->params.n_threads;
        apollo__free(ctx);
        return apollo__fail(APOLLO_E_INVALID_ARG,
                            "apollo_ctx_params: n_threads %d out of range [0, 1024]", n);
    }
    if (ctx->params.n_threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        ctx->params.n_threads = n > 0 ? (int32_t)n : 1;
    }
    ctx->magic = APOLLO__CTX_MAGIC;
    atomic_store(&ctx->refcount, 1);
    rc = apollo__model_load(model_dir, &ctx->model);
    if (rc) {
        ctx_destroy(ctx);
        return rc;
    }
    {
        char llm_dir[4096];
        if (snprintf(llm_dir, sizeof llm_dir, "%s/llm", model_dir) >= (int)sizeof llm_dir) {
            ctx_destroy(ctx);
            return apollo__fail(APOLLO_E_INVALID_ARG, "%s: path too long", model_dir);
        }
        rc = apollo__tokenizer_load(llm_dir, &ctx->tok);
        if (rc) {
            apollo__fail_context(rc, "llm/ tokenizer");
            ctx_destroy(ctx);
            return rc;
        }
        for (int32_t id = 0; id < apollo__tokenizer_n_tokens(ctx->tok); id++) {
            const char *b;
            size_t bl;
            if (apollo__tokenizer_decode_token(ctx->tok, id, &b, &bl) == APOLLO_OK &&
                bl > ctx->max_token_bytes)
                ctx->max_token_bytes = bl;
        }
    }
    if (ctx->params.precision != APOLLO_PRECISION_F32 &&
        ctx->params.precision != APOLLO_PRECISION_BF16 &&
        ctx->params.precision != APOLLO_PRECISION_INT8) {
        int32_t prec = ctx->params.precision;
        ctx_destroy(ctx);
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_ctx_params: unknown precision %d",
                            prec);
    }
    rc = apollo__backend_create(ctx->params.backend, ctx->params.n_threads, &ctx->backend);
    if (rc) {
        ctx_destroy(ctx);
        return rc;
    }
    ctx->backend->log_fn = backend_log;
    ctx->backend->log_user_data = ctx;
    /* INT8 changes the weights, not the arithmetic: float32 activations --
     * except on the oneDNN backend, whose int8 matmul then runs the Q8
     * weights' prefill products (M >= 16) with the activations quantized per
     * row (faster prefill, more error); decode stays on the Q8 GEMV, and the
     * float weights (vision towers, connector) keep float32. */
    ctx->backend->precision =
        ctx->params.precision == APOLLO_PRECISION_BF16 ? APOLLO__PREC_BF16 : APOLLO__PREC_F32;
#ifdef APOLLO_HAVE_ONEDNN
    if (ctx->params.precision == APOLLO_PRECISION_INT8 &&
        ctx->backend->vt->kind == APOLLO_BACKEND_ONEDNN)
        apollo__onednn_set_q8_int8(ctx->backend, 1);
#endif
    if (ctx->params.precision == APOLLO_PRECISION_INT8) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = apollo__model_quantize_llm(ctx->model, ctx->backend->pool);
        if (rc) {
            ctx_destroy(ctx);
            return rc;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        apollo__log(ctx, APOLLO_LOG_INFO, "LLM weights quantized to int8: %.1f MB in %.2f s",
                    (double)ctx->model->q8_bytes / 1048576.0,
                    (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    }
    apollo__log(ctx, APOLLO_LOG_INFO, "opened %s: backend %s, %d threads", model_dir,
                ctx->backend->vt->name, ctx->params.n_threads);
    *out = ctx;
    return APOLLO_OK;
}

void apollo__ctx_retain(apollo_ctx *ctx)
{
    atomic_fetch_add(&ctx->refcount, 1);
}

void apollo__ctx_release(apollo_ctx *ctx)
{
    if (atomic_fetch_sub(&ctx->refcount, 1) == 1)
        ctx_destroy(ctx);
}

APOLLO_API void apollo_ctx_free(apollo_ctx *ctx)
{
    if (!apollo__ctx_valid(ctx))
        return;
    /* Only the first free drops the user's reference; children keep the
     * ctx alive until they are freed too. */
    if (atomic_exchange(&ctx->user_freed, 1) == 0)
        apollo__ctx_release(ctx);
}

APOLLO_API void apollo_free(void *ptr)
{
    apollo__free(ptr);
}

APOLLO_API int apollo_ctx_get_backend(const apollo_ctx *ctx)
{
    if (!apollo__ctx_valid(ctx))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_ctx_get_backend: invalid ctx");
    return ctx->backend->vt->kind;
}

APOLLO_API void apollo_model_info_init(apollo_model_info *info)
{
    if (!info)
        return;
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
}

APOLLO_API int apollo_ctx_get_model_info(const apollo_ctx *ctx, apollo_model_info *info)
{
    apollo_model_info full;
    const apollo__model *m;
    uint32_t size;

    if (!apollo__ctx_valid(ctx))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_ctx_get_model_info: invalid ctx");
    if (!info)
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_ctx_get_model_info: info is NULL");
    size = info->struct_size;
    if (size < sizeof(uint32_t))
        return apollo__fail(APOLLO_E_MISUSE,
                            "apollo_model_info: struct_size %u (initialise with "
                            "apollo_model_info_init)",
                            size);
    m = ctx->model;
    memset(&full, 0, sizeof full);
    full.struct_size = sizeof full;
    full.llm_hidden_size = (int32_t)m->llm.hidden_size;
    full.llm_intermediate_size = (int32_t)m->llm.intermediate_size;
    full.llm_n_layers = (int32_t)m->llm.n_layers;
    full.llm_n_heads = (int32_t)m->llm.n_heads;
    full.llm_n_kv_heads = (int32_t)m->llm.n_kv_heads;
    full.llm_head_dim = (int32_t)m->llm.head_dim;
    full.llm_vocab_size = (int32_t)m->llm.vocab_size;
    full.llm_tied_embeddings = m->llm.tie_word_embeddings;
    full.context_length = (int32_t)m->llm.context_length;
    full.llm_rope_theta = m->llm.rope_theta;
    full.llm_rms_norm_eps = m->llm.rms_norm_eps;
    full.n_vision_towers = m->n_towers;
    for (int32_t i = 0; i < m->n_towers && i < APOLLO_MAX_VISION_TOWERS; i++) {
        const apollo__tower *t = &m->towers[i];
        full.tower_kind[i] = t->cfg.kind == APOLLO__TOWER_SIGLIP ? APOLLO_TOWER_SIGLIP
                                                                 : APOLLO_TOWER_INTERNVIDEO2;
        snprintf(full.tower_name[i], APOLLO_TOWER_NAME_CAP, "%s", t->cfg.name);
        full.tower_hidden_size[i] = (int32_t)t->cfg.hidden_size;
        full.tower_n_layers_run[i] = (int32_t)t->cfg.n_layers_run;
        full.n_params_vision[i] = apollo__weights_n_params(t->ws);
    }
    full.vision_select_layer = (int32_t)m->select_layer;
    full.frames_per_clip = (int32_t)m->token_output_shape[0];
    full.tokens_per_clip = (int32_t)m->conn.cfg.n_latents;
    full.clip_duration_s = m->clip_duration;
    full.model_max_length = (int32_t)m->model_max_length;
    full.n_params_llm = apollo__weights_n_params(m->llm_ws);
    full.n_params_connector = apollo__weights_n_params(m->conn.ws);
    if (size > sizeof full)
        size = sizeof full;
    memcpy(info, &full, size);
    info->struct_size = size;
    return APOLLO_OK;
}
