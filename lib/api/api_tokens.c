/* Public token access: tokenize, detokenize, token pieces. */
#include "api_internal.h"

#include "common/alloc.h"
#include "common/status.h"

#include <string.h>

static int copy_out_bytes(const char *src, size_t n, char *buf, size_t cap, size_t *len)
{
    if (cap) {
        size_t k = n < cap - 1 ? n : cap - 1;
        memcpy(buf, src, k);
        buf[k] = '\0';
    }
    *len = n;
    return APOLLO_OK;
}

APOLLO_API int apollo_tokenize(const apollo_ctx *ctx, const char *text, size_t len, int32_t *ids,
                               size_t cap, size_t *n_ids)
{
    int32_t *all = NULL;
    size_t n = 0;
    int rc;
    apollo__clear_error();
    if (!apollo__ctx_valid(ctx))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_tokenize: invalid ctx");
    if (!n_ids || (len && !text) || (cap && !ids))
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_tokenize: NULL argument");
    rc = apollo__tokenizer_encode(ctx->tok, len ? text : "", len, &all, &n);
    if (rc)
        return rc;
    if (cap)
        memcpy(ids, all, (n < cap ? n : cap) * sizeof *ids);
    *n_ids = n;
    apollo__free(all);
    return APOLLO_OK;
}

APOLLO_API int apollo_detokenize(const apollo_ctx *ctx, const int32_t *ids, size_t n_ids,
                                 char *buf, size_t cap, size_t *len)
{
    char *text = NULL;
    size_t n = 0;
    int rc;
    apollo__clear_error();
    if (!apollo__ctx_valid(ctx))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_detokenize: invalid ctx");
    if (!len || (n_ids && !ids) || (cap && !buf))
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_detokenize: NULL argument");
    rc = apollo__tokenizer_decode(ctx->tok, ids, n_ids, &text, &n);
    if (rc)
        return rc;
    copy_out_bytes(text, n, buf, cap, len);
    apollo__free(text);
    return APOLLO_OK;
}

APOLLO_API int apollo_token_to_piece(const apollo_ctx *ctx, int32_t id, char *buf, size_t cap,
                                     size_t *len)
{
    const char *bytes;
    size_t n;
    int rc;
    apollo__clear_error();
    if (!apollo__ctx_valid(ctx))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_token_to_piece: invalid ctx");
    if (!len || (cap && !buf))
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_token_to_piece: NULL argument");
    rc = apollo__tokenizer_decode_token(ctx->tok, id, &bytes, &n);
    if (rc)
        return rc;
    return copy_out_bytes(bytes, n, buf, cap, len);
}

APOLLO_API int32_t apollo_ctx_n_tokens(const apollo_ctx *ctx)
{
    if (!apollo__ctx_valid(ctx))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_ctx_n_tokens: invalid ctx");
    return apollo__tokenizer_n_tokens(ctx->tok);
}
