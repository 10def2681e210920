/* The Qwen2 / Qwen2.5 decoder (the LLM half of Apollo): embeddings,
 * pre-RMSNorm blocks with RoPE GQA attention (q/k/v biases) and SwiGLU
 * MLPs, final norm and the output head, with a growable KV cache. */
#ifndef APOLLO_QWEN2_H
#define APOLLO_QWEN2_H

#include "backend.h"
#include "model/model.h"

#include <stdint.h>

typedef struct apollo__kv_cache {
    int64_t n_layers, kv_width;   /* kv_width = n_kv_heads * head_dim */
    int64_t capacity;             /* positions allocated */
    int64_t n_past;               /* positions filled */
    float **k, **v;               /* per layer: [capacity, kv_width] */
} apollo__kv_cache;

int apollo__kv_cache_init(apollo__kv_cache *kv, const apollo__llm_config *cfg);
void apollo__kv_cache_free(apollo__kv_cache *kv);
/* Makes room for n_extra more positions. */
int apollo__kv_cache_reserve(apollo__kv_cache *kv, int64_t n_extra);
/* Forgets everything after the first n positions. */
void apollo__kv_cache_truncate(apollo__kv_cache *kv, int64_t n);
/* Deep copy (for session fork). */
int apollo__kv_cache_copy(apollo__kv_cache *dst, const apollo__kv_cache *src);

/* Embedding rows for ids (each 0 <= id < vocab) into out [n, D]. */
int apollo__qwen2_embed(const apollo__model *m, const int32_t *ids, int64_t n, float *out);

/* Logits wanted from a forward pass. */
enum { APOLLO__LOGITS_NONE = 0, APOLLO__LOGITS_LAST = 1, APOLLO__LOGITS_ALL = 2 };

/* Optional per-call hooks (tests, cancellation). */
typedef struct apollo__qwen2_hooks {
    /* Called with the hidden states after the embeddings (layer 0) and after
     * each block (layer i), and with the final normed states (layer
     * n_layers + 1 ... reported as n_layers, like transformers'
     * hidden_states); rows = positions of this call. */
    void (*on_hidden)(void *ud, int64_t layer, const float *h, int64_t rows, int64_t dim);
    /* Polled between layers; non-zero aborts with APOLLO_E_CANCELLED. */
    int (*should_abort)(void *ud);
    void *user_data;
} apollo__qwen2_hooks;

/* Runs n new positions (input embeddings x [n, D], positions kv->n_past ..)
 * through the decoder, appending to the cache.  Logits: LAST writes [V] for
 * the final position, ALL writes [n, V].  Work is chunked so memory stays
 * bounded for long prompts.  On failure the cache is rolled back. */
int apollo__qwen2_forward(const apollo__model *m, apollo__backend *be, apollo__kv_cache *kv,
                          const float *x, int64_t n, int logits_mode, float *logits,
                          const apollo__qwen2_hooks *hooks);

#endif
