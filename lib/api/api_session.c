/* apollo_session: conversations -- the chat template, prefill into the KV
 * cache, and generation with streaming, stop conditions and cancellation. */
#include "api_internal.h"

#include "common/alloc.h"
#include "common/status.h"
#include "common/strbuf.h"
#include "nn/qwen2.h"
#include "text/chat_template.h"
#include "text/sampler.h"
#include "video/video.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define APOLLO__SESSION_MAGIC 0x41505353u /* "APSS" */
#define APOLLO__MAX_NEW_TOKENS_DEFAULT 256

struct apollo_session {
    uint32_t magic;
    apollo_ctx *ctx;
    char *system_prompt;            /* NULL = reference default */
    apollo__kv_cache kv;
    int32_t *tokens;                /* history, -200 for visual rows */
    size_t n_tokens, cap_tokens;
    int started;                    /* system prompt is in the cache */
    int assistant_open;             /* last message is an answer not yet closed */
    int video_open;                 /* a user message holding a video awaits its question */
    _Atomic int32_t cancel;
    int32_t finish_reason;
    float *logits;                  /* [vocab] */
    void *scratch;                  /* sampler scratch, 2 * vocab floats */
    char errmsg[1024];
};

/* State restored when a call fails, so a failed turn leaves no trace. */
typedef struct turn_mark {
    int64_t n_past;
    size_t n_tokens;
    int started, assistant_open, video_open;
} turn_mark;

static int session_valid(const apollo_session *s)
{
    return s && s->magic == APOLLO__SESSION_MAGIC;
}

static int session_fail(apollo_session *s, int rc)
{
    snprintf(s->errmsg, sizeof s->errmsg, "%s", apollo__errmsg());
    return rc;
}

static turn_mark mark(const apollo_session *s)
{
    turn_mark m = {s->kv.n_past, s->n_tokens, s->started, s->assistant_open, s->video_open};
    return m;
}

static void rollback(apollo_session *s, const turn_mark *m)
{
    apollo__kv_cache_truncate(&s->kv, m->n_past);
    s->n_tokens = m->n_tokens;
    s->started = m->started;
    s->assistant_open = m->assistant_open;
    s->video_open = m->video_open;
}

/* ---- params ---------------------------------------------------------------------- */

APOLLO_API void apollo_session_params_init(apollo_session_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
}

APOLLO_API void apollo_generate_params_init(apollo_generate_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->max_new_tokens = APOLLO__MAX_NEW_TOKENS_DEFAULT;
    p->do_sample = -1;
    p->temperature = -1.0f;
    p->top_p = -1.0f;
    p->top_k = -1;
    p->repetition_penalty = -1.0f;
}

/* ---- lifetime ------------------------------------------------------------------- */

static int push_tokens(apollo_session *s, const int32_t *ids, size_t n);

static int session_create(apollo_ctx *ctx, const apollo_session_params *pp, apollo_session **out)
{
    const apollo_session_params p = *pp;
    apollo_session *s;
    int rc;

    s = apollo__calloc(1, sizeof *s);
    if (!s)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory");
    s->magic = APOLLO__SESSION_MAGIC;
    s->ctx = ctx;
    apollo__ctx_retain(ctx);
    rc = apollo__kv_cache_init(&s->kv, &ctx->model->llm);
    if (!rc && p.system_prompt && !(s->system_prompt = apollo__strdup(p.system_prompt)))
        rc = apollo__fail(APOLLO_E_NOMEM, "out of memory");
    if (!rc) {
        size_t v = (size_t)ctx->model->llm.vocab_size;
        s->logits = apollo__malloc(v * sizeof(float));
        s->scratch = apollo__malloc(apollo__sampling_scratch_bytes((int64_t)v));
        if (!s->logits || !s->scratch)
            rc = apollo__fail(APOLLO_E_NOMEM, "out of memory");
    }
    if (rc) {
        apollo_session_free(s);
        return rc;
    }
    *out = s;
    return APOLLO_OK;
}

APOLLO_API int apollo_session_new(apollo_ctx *ctx, const apollo_session_params *params,
                                  apollo_session **out)
{
    apollo_session_params p;
    int rc;

    apollo__clear_error();
    if (!out)
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_session_new: out is NULL");
    *out = NULL;
    if (!apollo__ctx_valid(ctx))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_session_new: invalid ctx");
    apollo_session_params_init(&p);
    if (params && (rc = apollo__copy_params(&p, sizeof p, params, "apollo_session_params")))
        return rc;
    return session_create(ctx, &p, out);
}

APOLLO_API int apollo_session_fork(const apollo_session *src, apollo_session **out)
{
    apollo_session_params p;
    apollo_session *s = NULL;
    int rc;

    apollo__clear_error();
    if (!out)
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_session_fork: out is NULL");
    *out = NULL;
    if (!session_valid(src))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_session_fork: invalid session");
    apollo_session_params_init(&p);
    p.system_prompt = src->system_prompt;
    /* The source's ctx may already be freed by the user: create directly. */
    rc = session_create(src->ctx, &p, &s);
    if (!rc) {
        apollo__kv_cache_free(&s->kv);
        rc = apollo__kv_cache_copy(&s->kv, &src->kv);
        if (rc)
            apollo__kv_cache_init(&s->kv, &src->ctx->model->llm);
    }
    if (!rc)
        rc = push_tokens(s, src->tokens, src->n_tokens);
    if (rc) {
        apollo_session_free(s);
        return rc;
    }
    s->started = src->started;
    s->assistant_open = src->assistant_open;
    s->video_open = src->video_open;
    s->finish_reason = src->finish_reason;
    *out = s;
    return APOLLO_OK;
}

APOLLO_API void apollo_session_free(apollo_session *s)
{
    if (!session_valid(s))
        return;
    s->magic = 0;
    apollo__kv_cache_free(&s->kv);
    apollo__free(s->tokens);
    apollo__free(s->system_prompt);
    apollo__free(s->logits);
    apollo__free(s->scratch);
    apollo__ctx_release(s->ctx);
    apollo__free(s);
}

APOLLO_API int apollo_session_reset(apollo_session *s)
{
    if (!session_valid(s))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_session_reset: invalid session");
    apollo__kv_cache_truncate(&s->kv, 0);
    s->n_tokens = 0;
    s->started = 0;
    s->assistant_open = 0;
    s->video_open = 0;
    s->finish_reason = APOLLO_FINISH_NONE;
    atomic_store(&s->cancel, 0);
    s->errmsg[0] = '\0';
    return APOLLO_OK;
}

APOLLO_API const char *apollo_session_errmsg(const apollo_session *s)
{
    return session_valid(s) ? s->errmsg : "invalid session";
}

APOLLO_API int apollo_session_cancel(apollo_session *s)
{
    if (!session_valid(s))
        return APOLLO_E_MISUSE; /* no message: may run on another thread */
    atomic_store(&s->cancel, 1);
    return APOLLO_OK;
}

APOLLO_API int apollo_session_get_finish_reason(const apollo_session *s)
{
    if (!session_valid(s))
        return apollo__fail(APOLLO_E_MISUSE, "invalid session");
    return s->finish_reason;
}

APOLLO_API int apollo_session_get_tokens(const apollo_session *s, int32_t *ids, size_t cap,
                                         size_t *n_total)
{
    if (!session_valid(s))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_session_get_tokens: invalid session");
    if (!n_total || (cap && !ids))
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_session_get_tokens: NULL argument");
    *n_total = s->n_tokens;
    if (cap)
        memcpy(ids, s->tokens, (cap < s->n_tokens ? cap : s->n_tokens) * sizeof *ids);
    return APOLLO_OK;
}

/* ---- evaluation ------------------------------------------------------------------ */

typedef struct abort_state {
    apollo_session *s;
    apollo_abort_fn fn;
    void *ud;
} abort_state;

static int should_abort(void *vp)
{
    abort_state *a = vp;
    if (atomic_load(&a->s->cancel))
        return 1;
    return a->fn && a->fn(a->ud) != 0;
}

static int push_tokens(apollo_session *s, const int32_t *ids, size_t n)
{
    if (s->n_tokens + n > s->cap_tokens) {
        size_t cap = s->cap_tokens ? s->cap_tokens : 256;
        int32_t *t;
        while (cap < s->n_tokens + n)
            cap *= 2;
        t = apollo__realloc(s->tokens, cap * sizeof *t);
        if (!t)
            return apollo__fail(APOLLO_E_NOMEM, "out of memory for the token history");
        s->tokens = t;
        s->cap_tokens = cap;
    }
    memcpy(s->tokens + s->n_tokens, ids, n * sizeof *ids);
    s->n_tokens += n;
    return APOLLO_OK;
}

/* Runs ids through the decoder (logits of the last position into
 * s->logits) and appends them to the history.  Each APOLLO__VISUAL_ID takes
 * the next row of `visual` (D floats per row) instead of an embedding. */
#define APOLLO__VISUAL_ID (-200)

static int eval_mixed(apollo_session *s, const int32_t *ids, size_t n, const float *visual,
                      abort_state *ab)
{
    const apollo__model *m = s->ctx->model;
    const int64_t D = m->llm.hidden_size;
    apollo__qwen2_hooks hooks = {0};
    size_t bytes, vrow = 0;
    float *x;
    int rc = APOLLO_OK;

    if (n == 0)
        return APOLLO_OK;
    if ((int64_t)n > m->llm.context_length - s->kv.n_past)
        return apollo__fail(APOLLO_E_CONTEXT_FULL,
                            "the prompt needs %zu more positions but only %lld of the context "
                            "length %lld are left",
                            n, (long long)(m->llm.context_length - s->kv.n_past),
                            (long long)m->llm.context_length);
    if (apollo__mul_size(n * (size_t)D, sizeof(float), &bytes) || !(x = apollo__malloc(bytes)))
        return apollo__fail(APOLLO_E_NOMEM, "out of memory for %zu input embeddings", n);
    /* embed runs of text ids between visual rows */
    for (size_t i = 0; i < n && !rc;) {
        if (ids[i] == APOLLO__VISUAL_ID) {
            memcpy(x + i * (size_t)D, visual + vrow * (size_t)D, (size_t)D * sizeof(float));
            vrow++;
            i++;
        } else {
            size_t j = i;
            while (j < n && ids[j] != APOLLO__VISUAL_ID)
                j++;
            rc = apollo__qwen2_embed(m, ids + i, (int64_t)(j - i), x + i * (size_t)D);
            i = j;
        }
    }
    if (!rc) {
        hooks.should_abort = should_abort;
        hooks.user_data = ab;
        rc = apollo__qwen2_forward(m, s->ctx->backend, &s->kv, x, (int64_t)n,
                                   APOLLO__LOGITS_LAST, s->logits, &hooks);
    }
    apollo__free(x);
    if (!rc)
        rc = push_tokens(s, ids, n);
    if (!rc)
        apollo__log(s->ctx, APOLLO_LOG_DEBUG, "evaluated %zu new positions (%lld in the cache)",
                    n, (long long)s->kv.n_past);
    return rc;
}

static int eval_ids(apollo_session *s, const int32_t *ids, size_t n, abort_state *ab)
{
    return eval_mixed(s, ids, n, NULL, ab);
}

/* Refuses, without tokenizing it, a text of `len` bytes that cannot fit in
 * the context left: it has at least len / (4 * longest token) tokens (NFC
 * shrinks UTF-8 at most 3-fold, e.g. Hangul jamo), so a 100 MB prompt is
 * refused at once instead of after tokenizing all of it. */
static int check_text_fits(const apollo_session *s, size_t len)
{
    const int64_t left = s->ctx->model->llm.context_length - s->kv.n_past;
    const size_t tb = s->ctx->max_token_bytes;
    if (tb && len / 4 / tb > (size_t)(left > 0 ? left : 0))
        return apollo__fail(APOLLO_E_CONTEXT_FULL,
                            "the prompt (%zu bytes) needs at least %zu more positions but only "
                            "%lld of the context length %lld are left",
                            len, len / 4 / tb, (long long)left,
                            (long long)s->ctx->model->llm.context_length);
    return APOLLO_OK;
}

static int eval_text(apollo_session *s, const char *text, abort_state *ab)
{
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = check_text_fits(s, strlen(text));
    if (rc)
        return rc;
    rc = apollo__tokenizer_encode(s->ctx->tok, text, strlen(text), &ids, &n);
    if (!rc)
        rc = eval_ids(s, ids, n, ab);
    apollo__free(ids);
    return rc;
}

/* ---- generation ------------------------------------------------------------------ */

typedef struct gen_state {
    apollo__strbuf text;           /* whole answer so far (complete UTF-8) */
    size_t emitted;                /* bytes already streamed */
    const char *stops[APOLLO_MAX_STOP_STRINGS + 1];
    int n_stops;
} gen_state;

/* Length of the longest suffix of text that is a proper prefix of a stop
 * string: that text must be held back until it is known not to stop. */
static size_t stop_holdback(const gen_state *g)
{
    size_t best = 0;
    for (int i = 0; i < g->n_stops; i++) {
        size_t ls = strlen(g->stops[i]);
        for (size_t k = ls - 1; k > best; k--)
            if (k <= g->text.len && memcmp(g->text.data + g->text.len - k, g->stops[i], k) == 0) {
                best = k;
                break;
            }
    }
    return best;
}

/* Position of the first stop string in the unstreamed part, or -1. */
static long find_stop(const gen_state *g)
{
    long best = -1;
    for (int i = 0; i < g->n_stops; i++) {
        size_t ls = strlen(g->stops[i]);
        size_t from = g->emitted > ls ? g->emitted - ls : 0;
        const char *p = g->text.data ? strstr(g->text.data + from, g->stops[i]) : NULL;
        if (p && (best < 0 || p - g->text.data < best))
            best = p - g->text.data;
    }
    return best;
}

static int stream(const apollo_generate_params *gp, gen_state *g, size_t upto, int *stop)
{
    if (upto > g->emitted && gp->on_text &&
        gp->on_text(g->text.data + g->emitted, upto - g->emitted, gp->on_text_user_data) != 0)
        *stop = 1;
    if (upto > g->emitted)
        g->emitted = upto;
    return APOLLO_OK;
}

static int is_eos(const apollo_session *s, int32_t t, int32_t im_end)
{
    const apollo__gen_config *g = &s->ctx->model->gen;
    if (t == im_end || t == s->ctx->model->llm.eos_token_id)
        return 1;
    for (int32_t i = 0; i < g->n_eos_ids; i++)
        if (t == g->eos_ids[i])
            return 1;
    return 0;
}

static int resolve_sampling(const apollo_session *s, const apollo_generate_params *gp,
                            apollo__sampling *out)
{
    const apollo__gen_config *g = &s->ctx->model->gen;
    out->do_sample = gp->do_sample < 0 ? g->do_sample : gp->do_sample != 0;
    out->temperature = gp->temperature < 0 ? (float)g->temperature : gp->temperature;
    out->top_p = gp->top_p < 0 ? (float)g->top_p : gp->top_p;
    out->top_k = gp->top_k < 0 ? (int32_t)g->top_k : gp->top_k;
    out->repetition_penalty =
        gp->repetition_penalty < 0 ? (float)g->repetition_penalty : gp->repetition_penalty;
    if (gp->max_new_tokens < 1)
        return apollo__fail(APOLLO_E_INVALID_ARG, "max_new_tokens must be at least 1 (got %d)",
                            gp->max_new_tokens);
    if (out->do_sample && !(out->temperature > 0))
        return apollo__fail(APOLLO_E_INVALID_ARG, "temperature must be > 0 when sampling");
    if (!(out->top_p > 0 && out->top_p <= 1))
        return apollo__fail(APOLLO_E_INVALID_ARG, "top_p must be in (0, 1]");
    if (!(out->repetition_penalty > 0))
        return apollo__fail(APOLLO_E_INVALID_ARG, "repetition_penalty must be > 0");
    if (gp->n_stop_strings < 0 || gp->n_stop_strings > APOLLO_MAX_STOP_STRINGS ||
        (gp->n_stop_strings > 0 && !gp->stop_strings))
        return apollo__fail(APOLLO_E_INVALID_ARG, "n_stop_strings must be in [0, %d]",
                            APOLLO_MAX_STOP_STRINGS);
    for (int32_t i = 0; i < gp->n_stop_strings; i++)
        if (!gp->stop_strings[i] || !gp->stop_strings[i][0])
            return apollo__fail(APOLLO_E_INVALID_ARG, "stop string %d is NULL or empty", i);
    return APOLLO_OK;
}

static int generate(apollo_session *s, const apollo_generate_params *gp,
                    const apollo__sampling *smp, abort_state *ab, gen_state *g)
{
    const apollo__model *m = s->ctx->model;
    const int64_t V = m->llm.vocab_size;
    const int32_t im_end = apollo__tokenizer_token_id(s->ctx->tok, APOLLO__IM_END);
    const int32_t n_tok = apollo__tokenizer_n_tokens(s->ctx->tok);
    size_t first = s->n_tokens;
    apollo__detok dt;
    apollo__rng rng;
    int rc = APOLLO_OK, stop = 0;

    apollo__rng_seed(&rng, gp->seed);
    apollo__detok_init(&dt, s->ctx->tok);
    s->finish_reason = APOLLO_FINISH_LENGTH;
    for (int32_t step = 0; step < gp->max_new_tokens; step++) {
        int32_t t;
        const char *piece;
        size_t plen = 0;
        long at;

        if (should_abort(ab)) {
            rc = apollo__fail(APOLLO_E_CANCELLED, "cancelled");
            break;
        }
        t = apollo__sample_next(s->logits, V, s->tokens + first, (int64_t)(s->n_tokens - first),
                                smp, &rng, s->scratch);
        if (is_eos(s, t, im_end)) {
            s->finish_reason = APOLLO_FINISH_EOS;
            break;
        }
        if (s->kv.n_past >= m->llm.context_length) {
            s->finish_reason = APOLLO_FINISH_CONTEXT;
            break;
        }
        if ((rc = eval_ids(s, &t, 1, ab)))
            break;
        /* Special and out-of-vocabulary ids are not text (the reference
         * decodes with skip_special_tokens=True). */
        if (t < n_tok && !apollo__tokenizer_is_special(s->ctx->tok, t)) {
            if ((rc = apollo__detok_push(&dt, t, &piece, &plen)))
                break;
            apollo__sb_append(&g->text, piece, plen);
            if ((rc = apollo__sb_status(&g->text)))
                break;
        }
        at = find_stop(g);
        if (at >= 0) {
            g->text.len = (size_t)at;
            g->text.data[at] = '\0';
            stream(gp, g, g->text.len, &stop);
            s->finish_reason = APOLLO_FINISH_STOP_STRING;
            break;
        }
        stream(gp, g, g->text.len - stop_holdback(g), &stop);
        if (stop) {
            s->finish_reason = APOLLO_FINISH_CALLBACK;
            break;
        }
    }
    if (!rc && s->finish_reason != APOLLO_FINISH_STOP_STRING) {
        const char *piece;
        size_t plen = 0;
        if (!(rc = apollo__detok_flush(&dt, &piece, &plen))) {
            apollo__sb_append(&g->text, piece, plen);
            rc = apollo__sb_status(&g->text);
        }
        if (!rc && s->finish_reason != APOLLO_FINISH_CALLBACK)
            stream(gp, g, g->text.len, &stop);
    }
    apollo__detok_free(&dt);
    return rc;
}

static char *strip_copy(const char *s, size_t n)
{
    size_t a = 0, b = n;
    while (a < b && isspace((unsigned char)s[a]))
        a++;
    while (b > a && isspace((unsigned char)s[b - 1]))
        b--;
    return apollo__strndup(s + a, b - a);
}

/* Appends the template text that precedes a new user message. */
static void begin_turn(const apollo_session *s, apollo__strbuf *sb)
{
    if (!s->started)
        apollo__chat_system(sb, s->system_prompt);
    if (s->assistant_open)
        apollo__chat_close_assistant(sb);
}

/* The text of a user message up to the assistant's turn: a whole message,
 * or -- after apollo_session_add_video -- the rest of the open one, which
 * the reference writes as video block + "\n\n" + question. */
static void user_message(const apollo_session *s, apollo__strbuf *sb, const char *question)
{
    if (s->video_open) {
        apollo__sb_puts(sb, "\n\n");
        apollo__sb_puts(sb, question);
        apollo__sb_puts(sb, "<|im_end|>\n<|im_start|>assistant\n");
        return;
    }
    begin_turn(s, sb);
    apollo__chat_user_turn(sb, question);
}

APOLLO_API int apollo_session_ask(apollo_session *s, const char *question,
                                  const apollo_generate_params *params, char **answer)
{
    apollo_generate_params gp;
    apollo__sampling smp;
    apollo__strbuf sb;
    gen_state g;
    abort_state ab;
    turn_mark tm;
    int rc;

    apollo__clear_error();
    if (answer)
        *answer = NULL;
    if (!session_valid(s))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_session_ask: invalid session");
    s->errmsg[0] = '\0';
    if (!question)
        return session_fail(s, apollo__fail(APOLLO_E_INVALID_ARG, "question is NULL"));
    apollo_generate_params_init(&gp);
    if (params && (rc = apollo__copy_params(&gp, sizeof gp, params, "apollo_generate_params")))
        return session_fail(s, rc);
    if ((rc = resolve_sampling(s, &gp, &smp)))
        return session_fail(s, rc);
    if ((rc = check_text_fits(s, strlen(question))))
        return session_fail(s, rc);

    memset(&g, 0, sizeof g);
    apollo__sb_init(&g.text);
    for (int32_t i = 0; i < gp.n_stop_strings; i++)
        g.stops[g.n_stops++] = gp.stop_strings[i];
    ab.s = s;
    ab.fn = gp.abort_fn;
    ab.ud = gp.abort_user_data;
    tm = mark(s);

    apollo__sb_init(&sb);
    user_message(s, &sb, question);
    rc = apollo__sb_status(&sb);
    if (!rc)
        rc = eval_text(s, sb.data, &ab);
    apollo__sb_free(&sb);
    if (!rc) {
        s->started = 1;
        s->video_open = 0;
        rc = generate(s, &gp, &smp, &ab, &g);
    }
    if (!rc && answer && !(*answer = strip_copy(g.text.data ? g.text.data : "", g.text.len)))
        rc = apollo__fail(APOLLO_E_NOMEM, "out of memory");
    apollo__sb_free(&g.text);
    atomic_store(&s->cancel, 0);
    if (rc) {
        rollback(s, &tm);
        s->finish_reason = APOLLO_FINISH_NONE;
        return session_fail(s, rc);
    }
    s->assistant_open = 1;
    return APOLLO_OK;
}

APOLLO_API int apollo_session_add_exchange(apollo_session *s, const char *question,
                                           const char *answer)
{
    apollo__strbuf sb;
    abort_state ab = {s, NULL, NULL};
    turn_mark tm;
    int rc;

    apollo__clear_error();
    if (!session_valid(s))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_session_add_exchange: invalid session");
    s->errmsg[0] = '\0';
    if (!question || !answer)
        return session_fail(s, apollo__fail(APOLLO_E_INVALID_ARG, "question or answer is NULL"));
    if ((rc = check_text_fits(s, strlen(question))) || (rc = check_text_fits(s, strlen(answer))))
        return session_fail(s, rc);
    tm = mark(s);
    apollo__sb_init(&sb);
    user_message(s, &sb, question);
    apollo__sb_puts(&sb, answer);
    rc = apollo__sb_status(&sb);
    if (!rc)
        rc = eval_text(s, sb.data, &ab);
    apollo__sb_free(&sb);
    atomic_store(&s->cancel, 0);
    if (rc) {
        rollback(s, &tm);
        return session_fail(s, rc);
    }
    s->started = 1;
    s->video_open = 0;
    s->assistant_open = 1;
    return APOLLO_OK;
}

/* ---- videos ------------------------------------------------------------------------ */

int apollo__video_encode(apollo_video *v, const apollo_encode_params *params,
                         _Atomic int32_t *cancel);

/* Appends the tokens of text (no placeholders) to ids/n, growing *cap. */
static int append_text_ids(apollo_session *s, const char *text, int32_t **ids, size_t *n,
                           size_t *cap)
{
    int32_t *t = NULL;
    size_t k = 0;
    int rc = apollo__tokenizer_encode(s->ctx->tok, text, strlen(text), &t, &k);
    if (rc)
        return rc;
    if (*n + k > *cap) {
        size_t nc = *cap ? *cap : 1024;
        int32_t *g;
        while (nc < *n + k)
            nc *= 2;
        g = apollo__realloc(*ids, nc * sizeof *g);
        if (!g) {
            apollo__free(t);
            return apollo__fail(APOLLO_E_NOMEM, "out of memory for prompt ids");
        }
        *ids = g;
        *cap = nc;
    }
    memcpy(*ids + *n, t, k * sizeof *t);
    *n += k;
    apollo__free(t);
    return APOLLO_OK;
}

APOLLO_API int apollo_session_add_video(apollo_session *s, apollo_video *video,
                                        const apollo_encode_params *params)
{
    const apollo__sample_plan *pl;
    apollo__strbuf sb;
    abort_state ab = {s, NULL, NULL};
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    turn_mark tm;
    char prefix[128];
    int rc;

    apollo__clear_error();
    if (!session_valid(s))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_session_add_video: invalid session");
    s->errmsg[0] = '\0';
    if (!video || video->magic != APOLLO__VIDEO_MAGIC)
        return session_fail(s, apollo__fail(APOLLO_E_MISUSE,
                                            "apollo_session_add_video: invalid video"));
    if (video->ctx->model != s->ctx->model)
        return session_fail(s, apollo__fail(APOLLO_E_MISUSE, "apollo_session_add_video: the "
                                            "video was opened for another ctx"));
    if (s->video_open)
        return session_fail(s, apollo__fail(APOLLO_E_MISUSE, "apollo_session_add_video: a "
                                            "video is already waiting for its question"));
    if (params) {
        apollo_encode_params ep;
        apollo_encode_params_init(&ep);
        if ((rc = apollo__copy_params(&ep, sizeof ep, params, "apollo_encode_params")))
            return session_fail(s, rc);
        ab.fn = ep.abort_fn;
        ab.ud = ep.abort_user_data;
    }
    pl = &video->plan;
    rc = APOLLO_OK;

    /* The reference tokenizes the text between placeholders span by span:
     * [template + "<|im_start|>user\n" + header + clip 0's prefix], then per
     * clip the placeholders and [",\n" + next prefix]. */
    apollo__sb_init(&sb);
    begin_turn(s, &sb);
    apollo__sb_puts(&sb, "<|im_start|>user\n");
    {
        int64_t hl = apollo__sample_header_text(pl, NULL, 0);
        char *h = hl >= 0 ? apollo__malloc((size_t)hl + 1) : NULL;
        if (h) {
            apollo__sample_header_text(pl, h, (size_t)hl + 1);
            apollo__sb_puts(&sb, h);
            apollo__free(h);
        } else {
            rc = hl < 0 ? (int)hl : apollo__fail(APOLLO_E_NOMEM, "out of memory");
        }
    }
    for (int32_t c = 0; !rc && c < pl->n_clips; c++) {
        int64_t k = apollo__sample_clip_prefix(pl, c, prefix, sizeof prefix);
        if (k < 0 || (size_t)k >= sizeof prefix) {
            rc = k < 0 ? (int)k : apollo__fail(APOLLO_E_INVALID_ARG, "clip prefix too long");
            break;
        }
        if (c > 0)
            apollo__sb_puts(&sb, ",\n");
        apollo__sb_puts(&sb, prefix);
        if ((rc = apollo__sb_status(&sb)) || (rc = append_text_ids(s, sb.data, &ids, &n, &cap)))
            break;
        sb.len = 0;
        for (int64_t t = 0; t < pl->tokens_per_clip; t++) {
            int32_t ph = APOLLO__VISUAL_ID;
            if (n + 1 > cap) {
                size_t nc = cap ? cap * 2 : 1024;
                int32_t *g = apollo__realloc(ids, nc * sizeof *g);
                if (!g) {
                    rc = apollo__fail(APOLLO_E_NOMEM, "out of memory for prompt ids");
                    break;
                }
                ids = g;
                cap = nc;
            }
            ids[n++] = ph;
        }
    }
    apollo__sb_free(&sb);
    /* Check the fit before encoding: a video that cannot be shown must not
     * cost its encoding first. */
    if (!rc && (int64_t)n > s->ctx->model->llm.context_length - s->kv.n_past)
        rc = apollo__fail(APOLLO_E_CONTEXT_FULL,
                          "the video needs %zu positions but only %lld of the context length "
                          "%lld are left (fewer clips: apollo_video_params.max_clips)",
                          n, (long long)(s->ctx->model->llm.context_length - s->kv.n_past),
                          (long long)s->ctx->model->llm.context_length);
    if (!rc)
        rc = apollo__video_encode(video, params, &s->cancel);
    tm = mark(s);
    if (!rc)
        rc = eval_mixed(s, ids, n, video->embeds, &ab);
    apollo__free(ids);
    atomic_store(&s->cancel, 0);
    if (rc) {
        rollback(s, &tm);
        return session_fail(s, rc);
    }
    s->started = 1;
    s->assistant_open = 0;
    s->video_open = 1;
    return APOLLO_OK;
}
