/* Handle layouts shared by the files of lib/api (never installed). */
#ifndef APOLLO_API_INTERNAL_H
#define APOLLO_API_INTERNAL_H

#include "apollo.h"
#include "backend.h"
#include "model/model.h"
#include "text/tokenizer.h"

#include <stdatomic.h>

#define APOLLO__CTX_MAGIC 0x41504358u /* "APCX"; cleared by apollo_ctx_free */

struct apollo_ctx {
    uint32_t magic;
    _Atomic int32_t refcount;       /* sessions/videos hold a reference */
    _Atomic int32_t user_freed;     /* apollo_ctx_free was called (handle dead for the user) */
    apollo_ctx_params params;
    apollo__model *model;
    apollo__tokenizer *tok;
    apollo__backend *backend;
    size_t max_token_bytes;         /* longest token's bytes: bounds a text's token count */
};

/* Takes / drops a reference on behalf of a child handle (session, video);
 * the ctx is destroyed when the last reference goes. */
void apollo__ctx_retain(apollo_ctx *ctx);
void apollo__ctx_release(apollo_ctx *ctx);

/* Copies a caller's sized params struct into `dst` (whose defaults are
 * already set): reads only min(src->struct_size, sizeof *dst) bytes and
 * rejects a larger struct whose unknown tail is not all zero. */
int apollo__copy_params(void *dst, size_t dst_size, const void *src, const char *what);

int apollo__ctx_valid(const apollo_ctx *ctx);
void apollo__log(const apollo_ctx *ctx, int32_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
