/**
 * @file apollo.h
 * @brief libapollo: a native CPU runtime for the Apollo video-language models.
 *
 * libapollo loads the Apollo-1.5B/3B/7B-t32 checkpoints exactly as they are
 * published on the Hugging Face hub (a directory holding `config.json`,
 * `llm/`, `vision_tower/` and `mm_connector/`) and answers questions about
 * videos.  This header is the whole public API and its reference manual:
 * anything not declared here is internal.
 *
 * Conventions
 * - Every fallible function returns an `int`: ::APOLLO_OK (0) or a negative
 *   `APOLLO_E_*` code.  apollo_strerror() turns a code into static text and
 *   apollo_last_errmsg() gives the detailed message of the calling thread's
 *   last failure.
 * - Constructors return the status and hand the new handle back through an
 *   out-parameter; the matching `_free` accepts NULL.
 * - Options live in `*_params` structs passed by pointer whose first field is
 *   `struct_size`; always initialise them with the matching `_init` function.
 * - Strings are UTF-8 and copied by the library; the caller may free them
 *   when the call returns.
 *
 * Thread safety: an ::apollo_ctx is immutable after apollo_ctx_open() and may
 * be used by any number of threads at once.
 *
 * Example: ask a question about a video (error handling shortened).
 * @code
 *   #include <apollo.h>
 *   #include <stdio.h>
 *
 *   static int32_t print_text(const char *text, size_t len, void *ud) {
 *       (void)ud;
 *       fwrite(text, 1, len, stdout);
 *       return 0;                               // 0 = keep generating
 *   }
 *
 *   int main(int argc, char **argv) {           // model_dir video question
 *       apollo_ctx *ctx = NULL;
 *       apollo_video *video = NULL;
 *       apollo_session *session = NULL;
 *       if (argc < 4 ||
 *           apollo_ctx_open(argv[1], NULL, &ctx) != APOLLO_OK ||
 *           apollo_video_open_file(ctx, argv[2], NULL, &video) != APOLLO_OK ||
 *           apollo_session_new(ctx, NULL, &session) != APOLLO_OK ||
 *           apollo_session_add_video(session, video, NULL) != APOLLO_OK) {
 *           fprintf(stderr, "error: %s\n", apollo_last_errmsg());
 *           return 1;
 *       }
 *       apollo_generate_params gp;
 *       apollo_generate_params_init(&gp);
 *       gp.on_text = print_text;
 *       int rc = apollo_session_ask(session, argv[3], &gp, NULL);
 *       if (rc != APOLLO_OK)
 *           fprintf(stderr, "error: %s\n", apollo_session_errmsg(session));
 *       apollo_session_free(session);           // free order does not matter:
 *       apollo_video_free(video);               // children keep the ctx alive
 *       apollo_ctx_free(ctx);
 *       return rc == APOLLO_OK ? 0 : 1;
 *   }
 * @endcode
 *
 * Handles: ::apollo_ctx (the model, immutable, shared by threads),
 * ::apollo_video (a sampled video; encoded once, usable by many sessions,
 * savable), ::apollo_session (a conversation: history in a KV cache; fork it
 * to ask several questions about one video prefix).
 *
 * ABI: while the version is 0.x the ABI may still change between minor
 * versions (soname libapollo.so.0).
 */
#ifndef APOLLO_H
#define APOLLO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Symbol visibility                                                          */
/* ------------------------------------------------------------------------ */

#if defined(_WIN32) && defined(APOLLO_SHARED)
#  if defined(APOLLO_BUILD)
#    define APOLLO_API __declspec(dllexport)
#  else
#    define APOLLO_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && defined(APOLLO_BUILD)
#  define APOLLO_API __attribute__((visibility("default")))
#else
#  define APOLLO_API
#endif

/* ------------------------------------------------------------------------ */
/* Versions                                                                   */
/* ------------------------------------------------------------------------ */

#define APOLLO_VERSION_MAJOR 0
#define APOLLO_VERSION_MINOR 1
#define APOLLO_VERSION_PATCH 0
/** MAJOR*10000 + MINOR*100 + PATCH. */
#define APOLLO_VERSION_NUMBER \
    (APOLLO_VERSION_MAJOR * 10000 + APOLLO_VERSION_MINOR * 100 + APOLLO_VERSION_PATCH)
#define APOLLO_VERSION_STRING "0.1.0"

/**
 * The version of the library actually loaded, as APOLLO_VERSION_NUMBER.
 * Compare it with the header's macro to detect a header/library mismatch.
 * Thread-safe. @since 0.1
 */
APOLLO_API int32_t apollo_version_number(void);

/** The loaded library's version as "MAJOR.MINOR.PATCH"; static storage. @since 0.1 */
APOLLO_API const char *apollo_version_string(void);

/* ------------------------------------------------------------------------ */
/* Errors                                                                     */
/* ------------------------------------------------------------------------ */

/* Status codes.  Values are fixed forever: codes are only appended, never
 * renumbered or reused. */
#define APOLLO_OK                   0
#define APOLLO_E_INVALID_ARG       -1  /**< a parameter is out of range or NULL where not allowed */
#define APOLLO_E_MISUSE            -2  /**< freed/foreign handle, wrong state, bad struct_size */
#define APOLLO_E_NOMEM             -3  /**< an allocation failed */
#define APOLLO_E_IO                -4  /**< a file could not be opened, read, mapped or written */
#define APOLLO_E_NOT_FOUND         -5  /**< a required file or directory does not exist */
#define APOLLO_E_JSON              -6  /**< a JSON file is not well-formed */
#define APOLLO_E_CONFIG            -7  /**< a config key is missing, has the wrong type or an invalid value */
#define APOLLO_E_FORMAT            -8  /**< a weight file is malformed (header, offsets, truncation) */
#define APOLLO_E_DTYPE             -9  /**< a tensor has a dtype the runtime does not read */
#define APOLLO_E_SHAPE            -10  /**< a tensor's shape disagrees with the configs */
#define APOLLO_E_MISSING_TENSOR   -11  /**< a required tensor is absent from the weight files */
#define APOLLO_E_UNSUPPORTED      -12  /**< a feature or backend that this build does not provide */
#define APOLLO_E_BACKEND          -13  /**< the compute backend reported a failure */
#define APOLLO_E_CANCELLED        -14  /**< the operation was aborted by the caller */
#define APOLLO_E_CONTEXT_FULL     -15  /**< the prompt would exceed the model's context length */
#define APOLLO_E_VIDEO            -16  /**< not a decodable video or image (format, truncation, codec, dimensions) */
#define APOLLO_E_NO_VIDEO         -17  /**< the input holds no video: no video stream, no frames, zero duration */

/**
 * Static English text for a status code; never NULL (unknown codes give
 * "unknown error").  Thread-safe. @since 0.1
 */
APOLLO_API const char *apollo_strerror(int code);

/**
 * Detailed message of the calling thread's most recent failure, e.g.
 * "llm/model-00002-of-00002.safetensors: file not found".  Never NULL ("" when
 * there was none).  Valid until the calling thread's next libapollo call.
 * @since 0.1
 */
APOLLO_API const char *apollo_last_errmsg(void);

/* ------------------------------------------------------------------------ */
/* Model context                                                              */
/* ------------------------------------------------------------------------ */

/** A loaded model: weights, configs, tokenizer, backend, thread pool. */
typedef struct apollo_ctx apollo_ctx;

/** Compute backends. */
#define APOLLO_BACKEND_AUTO   0  /**< the recommended backend of this build (currently CPU) */
#define APOLLO_BACKEND_CPU    1  /**< OpenBLAS + libapollo kernels; always available */
#define APOLLO_BACKEND_ONEDNN 2  /**< oneDNN; APOLLO_E_UNSUPPORTED when not built in */

/** Log levels passed to ::apollo_log_fn. */
#define APOLLO_LOG_ERROR 0
#define APOLLO_LOG_WARN  1
#define APOLLO_LOG_INFO  2
#define APOLLO_LOG_DEBUG 3

/**
 * Log callback.  Called on the thread doing the work; must not call back
 * into the same ctx.  @p msg is one line without a trailing newline, valid
 * only during the call.
 */
typedef void (*apollo_log_fn)(int32_t level, const char *msg, void *user_data);

/** Options for apollo_ctx_open().  Initialise with apollo_ctx_params_init(). */
typedef struct apollo_ctx_params {
    uint32_t struct_size;   /**< sizeof(apollo_ctx_params), set by _init */
    int32_t n_threads;      /**< worker threads; 0 = number of online CPUs */
    int32_t backend;        /**< APOLLO_BACKEND_*; default AUTO */
    int32_t log_level;      /**< highest level passed to log_fn; default WARN */
    apollo_log_fn log_fn;   /**< NULL = silent (default) */
    void *log_user_data;    /**< passed to log_fn */
    /** APOLLO_PRECISION_*: APOLLO_PRECISION_F32 (default) computes in float32 on
     *  the exact weights (matches the PyTorch fp32 reference to ~1e-6);
     *  APOLLO_PRECISION_BF16 rounds activations to bf16 inside matrix products
     *  where the CPU has a faster bf16 path (logits within ~2e-2 relative of
     *  float32; on CPUs without AVX512-BF16 it computes as F32).
     *  APOLLO_PRECISION_INT8 quantizes the LLM's linear weights -- q/k/v/o,
     *  gate/up/down and the output head (tied to the embedding in small
     *  models: the head's matrix product uses int8, the embedding lookup keeps
     *  the exact rows) -- to int8 at apollo_ctx_open(), with one float32 scale
     *  per output row (symmetric, round to nearest, scale = max|w_row| / 127);
     *  activations stay float32, and the vision towers and connector keep the
     *  checkpoint's dtype.  Decode reads half the bytes of bf16 (about twice
     *  as fast where memory-bound); opening takes longer (the quantization)
     *  and holds the int8 copy (~1 byte per LLM parameter) in memory.  With
     *  APOLLO_BACKEND_ONEDNN, INT8 also quantizes the LLM's prefill
     *  activations (prompt chunks of 16 or more positions) per row to 8 bits
     *  (symmetric, one scale per row; [-64, 64] on CPUs whose int8
     *  instructions saturate, e.g. AVX2 without VNNI) and runs those int8
     *  products on oneDNN: faster prefill, more error; decode steps keep
     *  float32 activations as on the CPU backend.  See bench/README.md for
     *  the measured speed and accuracy loss.  @since 0.1 */
    int32_t precision;
} apollo_ctx_params;

/** Compute precisions for apollo_ctx_params.precision. */
#define APOLLO_PRECISION_F32  0
#define APOLLO_PRECISION_BF16 1
#define APOLLO_PRECISION_INT8 2

/**
 * Fills @p params with struct_size and the defaults.  NULL is ignored.
 * @since 0.1
 */
APOLLO_API void apollo_ctx_params_init(apollo_ctx_params *params);

/**
 * Loads an Apollo checkpoint directory as published on the hub.
 *
 * Reads `config.json`, `llm/` (config, generation config, tokenizer, one
 * `model.safetensors` or shards with `model.safetensors.index.json`),
 * `vision_tower/` (one folder per encoder in the order listed in its config)
 * and `mm_connector/`.  Weight files are memory-mapped; every tensor the
 * runtime uses is checked for name, shape and dtype (BF16, F16 or F32)
 * against the configs.  Tensors the runtime never uses (e.g. InternVideo2's
 * CLIP distillation heads) are not read.
 *
 * @param model_dir  path of the checkpoint directory; not NULL; copied.
 * @param params     options, or NULL for the defaults; not retained.
 * @param out        receives the new ctx (NULL on failure); not NULL.
 * @return APOLLO_OK; APOLLO_E_INVALID_ARG / APOLLO_E_MISUSE for bad
 *         arguments; APOLLO_E_NOT_FOUND (missing file or folder),
 *         APOLLO_E_JSON, APOLLO_E_CONFIG, APOLLO_E_FORMAT, APOLLO_E_DTYPE,
 *         APOLLO_E_SHAPE, APOLLO_E_MISSING_TENSOR, APOLLO_E_IO for a bad
 *         checkpoint; APOLLO_E_UNSUPPORTED for an unavailable backend;
 *         APOLLO_E_NOMEM.  apollo_last_errmsg() names the file, key or
 *         tensor at fault.
 * Thread-safe (independent calls).  @since 0.1
 */
APOLLO_API int apollo_ctx_open(const char *model_dir, const apollo_ctx_params *params,
                               apollo_ctx **out);

/** Releases a ctx; NULL is a no-op.  @since 0.1 */
APOLLO_API void apollo_ctx_free(apollo_ctx *ctx);

/**
 * The backend actually chosen at open (APOLLO_BACKEND_CPU or _ONEDNN), or a
 * negative code for a bad handle.  @since 0.1
 */
APOLLO_API int apollo_ctx_get_backend(const apollo_ctx *ctx);

/* ------------------------------------------------------------------------ */
/* Model information                                                          */
/* ------------------------------------------------------------------------ */

#define APOLLO_MAX_VISION_TOWERS 4
#define APOLLO_TOWER_NAME_CAP 64

/** Encoder kinds reported in ::apollo_model_info. */
#define APOLLO_TOWER_SIGLIP       1
#define APOLLO_TOWER_INTERNVIDEO2 2

/**
 * A summary of the loaded model, filled by apollo_ctx_get_model_info().
 * Initialise with apollo_model_info_init().  Parameter counts are the
 * elements of every tensor stored in that part's weight files, used or not.
 */
typedef struct apollo_model_info {
    uint32_t struct_size;              /**< sizeof(apollo_model_info), set by _init */
    /* LLM (Qwen2.5) */
    int32_t llm_hidden_size;
    int32_t llm_intermediate_size;
    int32_t llm_n_layers;
    int32_t llm_n_heads;
    int32_t llm_n_kv_heads;
    int32_t llm_head_dim;
    int32_t llm_vocab_size;
    int32_t llm_tied_embeddings;       /**< 1 when the output head is the embedding */
    int32_t context_length;            /**< merged-prompt limit (tokenizer_model_max_length) */
    double llm_rope_theta;
    double llm_rms_norm_eps;
    /* Vision */
    int32_t n_vision_towers;
    int32_t tower_kind[APOLLO_MAX_VISION_TOWERS];        /**< APOLLO_TOWER_* in tower order */
    char tower_name[APOLLO_MAX_VISION_TOWERS][APOLLO_TOWER_NAME_CAP]; /**< folder names */
    int32_t tower_hidden_size[APOLLO_MAX_VISION_TOWERS];
    int32_t tower_n_layers_run[APOLLO_MAX_VISION_TOWERS]; /**< layers/blocks evaluated */
    int32_t vision_select_layer;       /**< mm_vision_select_layer */
    int32_t frames_per_clip;           /**< token_output_shape[0] */
    int32_t tokens_per_clip;           /**< num_output_tokens */
    double clip_duration_s;            /**< clip_duration */
    int32_t model_max_length;          /**< top-level model_max_length (clip budget) */
    /* Parameter counts per part (elements stored in the files) */
    int64_t n_params_llm;
    int64_t n_params_vision[APOLLO_MAX_VISION_TOWERS];
    int64_t n_params_connector;
} apollo_model_info;

/** Fills struct_size; NULL is ignored.  @since 0.1 */
APOLLO_API void apollo_model_info_init(apollo_model_info *info);

/**
 * Copies the model summary into @p info (at most info->struct_size bytes).
 * @return APOLLO_OK, APOLLO_E_MISUSE (bad handle or struct_size).
 * Thread-safe.  @since 0.1
 */
APOLLO_API int apollo_ctx_get_model_info(const apollo_ctx *ctx, apollo_model_info *info);

/* ------------------------------------------------------------------------ */
/* Tokens                                                                     */
/* ------------------------------------------------------------------------ */

/**
 * Converts UTF-8 text to the model's token ids exactly like the checkpoint's
 * Hugging Face tokenizer (NFC, Qwen2 pre-tokenizer, byte-level BPE; special
 * tokens written in the text such as "<|im_start|>" become their ids; no
 * BOS/EOS added).
 * @param ctx     not NULL.
 * @param text    @p len bytes of UTF-8 (NUL bytes allowed); NULL only if len is 0.
 * @param ids     output buffer of @p cap ids; may be NULL when cap is 0.
 * @param n_ids   receives the number of ids the text has, also when it is
 *                larger than cap (then only cap ids are written), like snprintf.
 * @return APOLLO_OK, APOLLO_E_MISUSE, APOLLO_E_INVALID_ARG (invalid UTF-8,
 *         NULL pointers), APOLLO_E_NOMEM.  Thread-safe.  @since 0.1
 */
APOLLO_API int apollo_tokenize(const apollo_ctx *ctx, const char *text, size_t len, int32_t *ids,
                               size_t cap, size_t *n_ids);

/**
 * Converts ids back to text (special tokens written out; any invalid UTF-8
 * produced by a partial sequence becomes U+FFFD).  Writes at most cap-1
 * bytes plus a NUL into @p buf (when cap > 0) and sets *len to the full
 * length without the NUL, like snprintf.
 * @return APOLLO_OK, APOLLO_E_MISUSE, APOLLO_E_INVALID_ARG (an id outside the
 *         tokenizer's vocabulary), APOLLO_E_NOMEM.  Thread-safe.  @since 0.1
 */
APOLLO_API int apollo_detokenize(const apollo_ctx *ctx, const int32_t *ids, size_t n_ids,
                                 char *buf, size_t cap, size_t *len);

/**
 * The raw bytes of one token (for a regular token possibly part of a UTF-8
 * character; for a special token its text), snprintf-style like
 * apollo_detokenize() but without U+FFFD replacement.  @since 0.1
 */
APOLLO_API int apollo_token_to_piece(const apollo_ctx *ctx, int32_t id, char *buf, size_t cap,
                                     size_t *len);

/** Number of token ids the tokenizer defines (151665 for Qwen2.5), or a
 *  negative code for a bad ctx.  @since 0.1 */
APOLLO_API int32_t apollo_ctx_n_tokens(const apollo_ctx *ctx);

/* ------------------------------------------------------------------------ */
/* Memory handed to the caller                                                */
/* ------------------------------------------------------------------------ */

/** Releases memory the library handed over (e.g. an answer string); NULL is a
 *  no-op.  Never use free() on such memory.  @since 0.1 */
APOLLO_API void apollo_free(void *ptr);

/* ------------------------------------------------------------------------ */
/* Sessions: conversations with the model                                     */
/* ------------------------------------------------------------------------ */

/**
 * One conversation: its history (as tokens in a KV cache), so that a new
 * question never recomputes earlier turns.  A session holds a reference to
 * its ctx (the ctx may be freed first; it lives until its last session).
 * Thread safety: a session is used by one thread at a time (it may move
 * between threads); apollo_session_cancel() is the one function that may be
 * called from another thread while the session works.
 */
typedef struct apollo_session apollo_session;

/** Options for apollo_session_new(); initialise with apollo_session_params_init(). */
typedef struct apollo_session_params {
    uint32_t struct_size;          /**< sizeof(apollo_session_params), set by _init */
    /** System prompt text, or NULL for the reference's "You are a helpful
     *  vision-language assistant."; copied.  Rendered as Apollo's ChatML
     *  template does: "<|im_start|>system\n\n" + text + "<|im_end|>\n". */
    const char *system_prompt;
} apollo_session_params;

/** Fills struct_size and defaults; NULL is ignored.  @since 0.1 */
APOLLO_API void apollo_session_params_init(apollo_session_params *params);

/**
 * Starts an empty conversation on @p ctx.
 * @param ctx    an open ctx; not NULL.
 * @param params options or NULL for defaults; not retained.
 * @param out    receives the session; not NULL.
 * @return APOLLO_OK, APOLLO_E_MISUSE (bad ctx or struct_size),
 *         APOLLO_E_INVALID_ARG, APOLLO_E_NOMEM.  @since 0.1
 */
APOLLO_API int apollo_session_new(apollo_ctx *ctx, const apollo_session_params *params,
                                  apollo_session **out);

/** Ends a conversation and releases it; NULL is a no-op.  @since 0.1 */
APOLLO_API void apollo_session_free(apollo_session *session);

/**
 * Copies a conversation: the new session has the same history and KV cache
 * (and the same system prompt), so N questions about one video prefilled
 * once in @p src cost only their own tokens.  @p src is not modified but must
 * not be in use by another thread during the call.
 * @return APOLLO_OK, APOLLO_E_MISUSE, APOLLO_E_INVALID_ARG, APOLLO_E_NOMEM.
 * @since 0.1
 */
APOLLO_API int apollo_session_fork(const apollo_session *src, apollo_session **out);

/** Forgets the whole conversation (the system prompt is kept).  @since 0.1 */
APOLLO_API int apollo_session_reset(apollo_session *session);

/**
 * Message of the session's most recent failure ("" if none); valid until the
 * next call on the session.  Never NULL, also for a NULL session.  @since 0.1
 */
APOLLO_API const char *apollo_session_errmsg(const apollo_session *session);

/**
 * Streaming callback: @p text holds @p len bytes of the answer (always whole
 * UTF-8 characters; not NUL-terminated, valid only during the call).  Return
 * 0 to continue, non-zero to stop generating (the call then succeeds with
 * finish reason APOLLO_FINISH_CALLBACK).  Runs on the calling thread; must
 * not call functions of the same session.
 */
typedef int32_t (*apollo_text_fn)(const char *text, size_t len, void *user_data);

/** Abort callback, polled between layers and tokens: non-zero aborts the
 *  call with APOLLO_E_CANCELLED. */
typedef int32_t (*apollo_abort_fn)(void *user_data);

/** Why the last answer ended (apollo_session_get_finish_reason()). */
#define APOLLO_FINISH_NONE        0  /**< nothing generated yet */
#define APOLLO_FINISH_EOS         1  /**< the model produced an end-of-turn token */
#define APOLLO_FINISH_STOP_STRING 2  /**< a stop string was produced (not included) */
#define APOLLO_FINISH_LENGTH      3  /**< max_new_tokens reached */
#define APOLLO_FINISH_CONTEXT     4  /**< the context length was reached */
#define APOLLO_FINISH_CALLBACK    5  /**< the text callback asked to stop */

#define APOLLO_MAX_STOP_STRINGS 16

/**
 * Generation options; initialise with apollo_generate_params_init().
 * Sampling fields left at their "from the model" value take the checkpoint's
 * `llm/generation_config.json` (transformers' defaults where absent).  The
 * semantics are transformers': repetition penalty over the tokens generated
 * in this answer (also when greedy), then temperature, top-k, top-p.
 */
typedef struct apollo_generate_params {
    uint32_t struct_size;        /**< sizeof(apollo_generate_params), set by _init */
    int32_t max_new_tokens;      /**< default 256; >= 1 */
    int32_t do_sample;           /**< -1 (default): from the model; 0 greedy; 1 sample */
    float temperature;           /**< < 0 (default): from the model; > 0 */
    float top_p;                 /**< < 0 (default): from the model; (0, 1] */
    int32_t top_k;               /**< < 0 (default): from the model; 0 = off */
    float repetition_penalty;    /**< < 0 (default): from the model; 1 = off */
    uint64_t seed;               /**< sampling seed; same seed, same answer */
    /** Up to APOLLO_MAX_STOP_STRINGS extra UTF-8 strings that end the answer
     *  (not included in it); copied during the call. */
    const char *const *stop_strings;
    int32_t n_stop_strings;
    apollo_text_fn on_text;      /**< streaming callback or NULL */
    void *on_text_user_data;
    apollo_abort_fn abort_fn;    /**< abort callback or NULL */
    void *abort_user_data;
} apollo_generate_params;

/** Fills struct_size and defaults; NULL is ignored.  @since 0.1 */
APOLLO_API void apollo_generate_params_init(apollo_generate_params *params);

/**
 * Adds a user message to the conversation and generates the assistant's
 * answer, streaming it through params->on_text.
 *
 * The answer ends at an end-of-turn token (`<|im_end|>` or any eos id of the
 * generation config), a stop string, max_new_tokens or the context length.
 * A question that does not fit in the remaining context fails with
 * APOLLO_E_CONTEXT_FULL before any work; nothing is truncated silently.
 * On any failure (including APOLLO_E_CANCELLED) the conversation is left
 * exactly as it was before the call.
 *
 * @param session   not NULL.
 * @param question  UTF-8 text; not NULL; copied.
 * @param params    generation options or NULL for the defaults.
 * @param answer    if not NULL, receives the whole answer as a NUL-terminated
 *                  string with leading/trailing white space removed, like the
 *                  reference's `.strip()`; release with apollo_free().  The
 *                  streamed text is not stripped.
 * @return APOLLO_OK, APOLLO_E_MISUSE, APOLLO_E_INVALID_ARG (e.g. invalid
 *         UTF-8), APOLLO_E_CONTEXT_FULL, APOLLO_E_CANCELLED, APOLLO_E_NOMEM,
 *         APOLLO_E_BACKEND.  @since 0.1
 */
APOLLO_API int apollo_session_ask(apollo_session *session, const char *question,
                                  const apollo_generate_params *params, char **answer);

/**
 * Appends a finished exchange (a question and its answer) without running
 * generation -- to restore a saved conversation or to give examples.
 * The tokens are evaluated (prefilled) now.  Same errors as
 * apollo_session_ask().  @since 0.1
 */
APOLLO_API int apollo_session_add_exchange(apollo_session *session, const char *question,
                                           const char *answer);

/**
 * Asks the session's running call (or, if none is running, its next call)
 * to stop as soon as possible with APOLLO_E_CANCELLED.  The only function
 * that may be called from another thread.  @since 0.1
 */
APOLLO_API int apollo_session_cancel(apollo_session *session);

/** How the last answer ended (APOLLO_FINISH_*), or a negative code.  @since 0.1 */
APOLLO_API int apollo_session_get_finish_reason(const apollo_session *session);

/**
 * Copies the conversation's token ids (prompt and answers, in order; each
 * visual token appears as -200) into @p ids (capacity @p cap) and sets
 * *n_total to the full count, like snprintf: when cap is too small only
 * cap ids are copied.  @p ids may be NULL when cap is 0.  @since 0.1
 */
APOLLO_API int apollo_session_get_tokens(const apollo_session *session, int32_t *ids, size_t cap,
                                         size_t *n_total);

/* ------------------------------------------------------------------------ */
/* Videos                                                                     */
/* ------------------------------------------------------------------------ */

/**
 * A video (or image) prepared for one model: opened, its metadata read and
 * its clips chosen exactly as Apollo's reference loader chooses them.
 *
 * Sampling (the reference's `ApolloMMLoader`): clips of `frames_per_clip`
 * (4) frames at `frames_per_clip / clip_duration` frames per second (2),
 * at most about `0.65 * model_max_length / tokens_per_clip` clips (longer
 * videos are covered by evenly spaced clips).  Frame numbers follow
 * decord's convention: frame i is the i-th frame in presentation order,
 * the frame rate is the stream's average rate and the duration is
 * frames / rate.  Frames are decoded only when the video is encoded, a few
 * clips at a time, so memory does not grow with the video's length.
 *
 * Images (JPEG, PNG, WebP, BMP, ...; detected from the data by
 * apollo_video_open_file() and apollo_video_open_memory(), or a single
 * frame given to apollo_video_open_frames()) are shown to the model as a
 * still clip: the image repeated frames_per_clip times, as if it were a
 * clip_duration-second still video (one clip, prompt header "one, 2 second
 * clips from a 0:00:02 [H:MM:SS] video").  The reference publishes no image
 * prompt; this is its `process_image` path ("images are duplicated").
 *
 * Thread safety: a video is used by one thread at a time (it may move
 * between threads); distinct videos are independent.  A video holds a
 * reference to its ctx: the ctx stays alive until the video is freed, in
 * whatever order the two are freed.
 */
typedef struct apollo_video apollo_video;

/** Kinds of source reported in ::apollo_video_info. */
#define APOLLO_VIDEO_SOURCE_FILE   1
#define APOLLO_VIDEO_SOURCE_MEMORY 2
#define APOLLO_VIDEO_SOURCE_FRAMES 3

/** Options for opening a video.  Initialise with apollo_video_params_init(). */
typedef struct apollo_video_params {
    uint32_t struct_size;       /**< sizeof(apollo_video_params), set by _init */
    double fps;                 /**< frames per second inside a clip; 0 (default) = the
                                     model's frames_per_clip / clip_duration (2 fps).  Another
                                     value (0.001 to 1000) makes clips last frames_per_clip / fps
                                     seconds, and the prompt says so */
    int32_t max_clips;          /**< at most this many clips; 0 (default) = the reference's
                                     budget only.  Fewer clips are spread over the same span */
    int32_t n_threads;          /**< decoder threads; 0 (default) = the ctx's n_threads */
    double start_s;             /**< sample only [start_s, end_s) of the video (seconds);
                                     default 0 */
    double end_s;               /**< 0 or less (default) = to the end.  With a window the
                                     prompt's duration is the window's and clip times stay
                                     those of the whole video */
    double clip_sampling_ratio; /**< the loader's budget ratio; 0 (default) = 0.65, the
                                     value of the official README */
    int32_t borrow;             /**< 1: do not copy the caller's buffer (open_memory) or
                                     frames (open_frames); they must then stay valid and
                                     unchanged until apollo_video_free().  0 (default): copy
                                     (open_frames copies only the frames the clips use) */
} apollo_video_params;

/** Fills @p params with struct_size and the defaults; NULL is ignored.  @since 0.1 */
APOLLO_API void apollo_video_params_init(apollo_video_params *params);

/**
 * Opens a video or image file and plans its clips for @p ctx's model.
 *
 * Any container and codec of the linked FFmpeg: H.264, HEVC, VP8/VP9, AV1,
 * MPEG-4 Part 2, ..., 8- and 10-bit, any frame size up to 16384 per side.
 * The video stream used is FFmpeg's "best" one (not a cover picture);
 * other streams are ignored.  Rotation metadata is applied (frames come out
 * upright); non-square pixels are not stretched (as in the reference).
 * Opening reads the file's packet index (no decoding).  A frame that fails
 * to decode later is replaced by the closest decodable frame before it
 * (after it when there is none): a corrupt frame never stops encoding.
 *
 * @param ctx     the model; not NULL.  The video keeps a reference to it.
 * @param path    file name; not NULL; copied.
 * @param params  options, or NULL for the defaults; not retained.
 * @param out     receives the new video (NULL on failure); not NULL.
 * @return APOLLO_OK;
 *         APOLLO_E_NOT_FOUND (no such file); APOLLO_E_IO (unreadable path,
 *         a directory);
 *         APOLLO_E_VIDEO (not a video or image FFmpeg can read, a truncated
 *         file without an index, no decoder for its codec, absurd frame
 *         size);
 *         APOLLO_E_NO_VIDEO (empty file, no video stream, no frames, no
 *         usable frame rate / zero duration);
 *         APOLLO_E_INVALID_ARG (bad parameters, a window holding no frame);
 *         APOLLO_E_MISUSE (bad ctx or struct_size); APOLLO_E_NOMEM.
 *         apollo_last_errmsg() says what is wrong with which file.
 * Thread-safe (independent calls on one ctx).  @since 0.1
 */
APOLLO_API int apollo_video_open_file(apollo_ctx *ctx, const char *path,
                                      const apollo_video_params *params, apollo_video **out);

/**
 * Like apollo_video_open_file() for a complete file held in memory (read
 * through a custom I/O context: same formats, same results).
 *
 * @param data  the file's bytes; not NULL.  Copied unless params->borrow.
 * @param size  bytes in @p data; 0 gives APOLLO_E_NO_VIDEO.
 * Other parameters and errors as apollo_video_open_file().  @since 0.1
 */
APOLLO_API int apollo_video_open_memory(apollo_ctx *ctx, const void *data, size_t size,
                                        const apollo_video_params *params, apollo_video **out);

/**
 * A video made of the caller's decoded frames: @p n_frames frames of
 * @p width x @p height RGB24 (R, G, B bytes, top row first), frame k at
 * `rgb + k * height * row_stride`.
 *
 * Timing: give @p fps (> 0), or @p timestamps_s (n_frames increasing
 * presentation times in seconds), from which the frame rate is the
 * average (n_frames - 1) / (last - first) and frame k is sampled as the
 * reference samples frame k of a file.  One frame makes an image (see
 * ::apollo_video).
 *
 * @param rgb          the pixels; not NULL.  Only the frames the clips use
 *                     are copied (all are borrowed with params->borrow).
 * @param row_stride   bytes from one row to the next; 0 = 3 * width.
 * @param timestamps_s NULL, or n_frames times; copied (not retained).
 * @return APOLLO_OK, APOLLO_E_INVALID_ARG (NULL pixels, strides, no usable
 *         timing), APOLLO_E_NO_VIDEO (n_frames < 1), APOLLO_E_VIDEO (frame
 *         size out of range), APOLLO_E_MISUSE, APOLLO_E_NOMEM.  @since 0.1
 */
APOLLO_API int apollo_video_open_frames(apollo_ctx *ctx, const uint8_t *rgb, int32_t n_frames,
                                        int32_t width, int32_t height, size_t row_stride,
                                        double fps, const double *timestamps_s,
                                        const apollo_video_params *params, apollo_video **out);

/** Releases a video (and its reference to the ctx); NULL is a no-op.  @since 0.1 */
APOLLO_API void apollo_video_free(apollo_video *video);

/** What is known about an opened video; see apollo_video_get_info(). */
typedef struct apollo_video_info {
    uint32_t struct_size;      /**< sizeof(apollo_video_info), set by _init */
    int32_t source;            /**< APOLLO_VIDEO_SOURCE_* */
    int32_t is_image;          /**< 1 for a still image shown as a static clip */
    int64_t total_frames;      /**< frames in the stream (decord's len()); images:
                                    frames_per_clip */
    double fps;                /**< average frame rate (decord's get_avg_fps()) */
    double duration_s;         /**< total_frames / fps */
    int32_t width, height;     /**< frame size as decoded and shown (after rotation) */
    int32_t rotation;          /**< clockwise degrees applied from the metadata: 0/90/180/270 */
    int32_t n_clips;           /**< clips the model will see */
    int32_t frames_per_clip;   /**< frames per clip (the model's; 4) */
    int32_t tokens_per_clip;   /**< visual tokens per clip in the prompt (the model's; 128) */
    double clip_duration_s;    /**< seconds per clip (the model's, or frames_per_clip / fps) */
    double budget_ratio;       /**< the loader's clip budget ratio (1 = full coverage) */
    int32_t sampling_repaired; /**< 1 when the reference's low-frame-rate sampling would
                                    index frame -1 and one frame per clip is shown instead */
    char codec[32];            /**< decoder name ("h264", ...; "rawvideo" for frames) */
    char pix_fmt[32];          /**< decoded pixel format ("yuv420p", ...) */
    char container[64];        /**< demuxer name ("mov,mp4,m4a,3gp,3g2,mj2", ...) */
} apollo_video_info;

/** Fills struct_size; NULL is ignored.  @since 0.1 */
APOLLO_API void apollo_video_info_init(apollo_video_info *info);

/**
 * Copies the video's information into @p info (at most info->struct_size
 * bytes).  @return APOLLO_OK, APOLLO_E_MISUSE (bad handle or struct_size),
 * APOLLO_E_INVALID_ARG (NULL info).  @since 0.1
 */
APOLLO_API int apollo_video_get_info(const apollo_video *video, apollo_video_info *info);

/** The number of clips (>= 1), or a negative code for a bad handle.  @since 0.1 */
APOLLO_API int32_t apollo_video_n_clips(const apollo_video *video);

/**
 * The time span clip @p i_clip shows, in seconds from the start of the
 * video: the presentation times (frame / fps) of its first and last frame,
 * as the reference prints them (rounded there to 0.1 s).  Either pointer
 * may be NULL.  @return APOLLO_OK, APOLLO_E_MISUSE, APOLLO_E_INVALID_ARG
 * (clip out of range).  @since 0.1
 */
APOLLO_API int apollo_video_get_clip_time(const apollo_video *video, int32_t i_clip,
                                          double *t0_s, double *t1_s);

/**
 * Copies the frame numbers of clip @p i_clip (frames_per_clip values, a
 * frame may repeat) into @p indices, at most @p cap of them.
 * @return the number of frames in the clip (even when larger than cap),
 *         or APOLLO_E_MISUSE / APOLLO_E_INVALID_ARG.  @since 0.1
 */
APOLLO_API int32_t apollo_video_get_clip_frames(const apollo_video *video, int32_t i_clip,
                                                int64_t *indices, int32_t cap);

/**
 * Decodes one frame of the video as the model's preprocessing receives it:
 * RGB24, width x height (after rotation), rows packed (stride 3*width).
 * @param frame_index  0 <= frame < total_frames (e.g. from
 *                     apollo_video_get_clip_frames()).
 * @param rgb          output buffer of @p cap bytes, or NULL with cap 0 to
 *                     query the size; *width and *height are always set.
 * @return the number of bytes of the frame (3*width*height; written only when
 *         cap is large enough), or APOLLO_E_MISUSE (bad handle, a video
 *         loaded from saved embeddings), APOLLO_E_INVALID_ARG, APOLLO_E_VIDEO,
 *         APOLLO_E_NOMEM.  @since 0.1
 */
APOLLO_API int64_t apollo_video_get_frame(apollo_video *video, int64_t frame_index, uint8_t *rgb,
                                          size_t cap, int32_t *width, int32_t *height);

/** apollo_video_get_prompt_text() flag: include the visual placeholders. */
#define APOLLO_VIDEO_TEXT_PLACEHOLDERS 1

/**
 * The text block that introduces this video in the prompt, byte for byte
 * as the reference builds it, e.g.
 * "You are provided the following series of three, 2 second clips from a
 * 0:00:04.504500 [H:MM:SS] video.\n0.0-1.4 seconds: ,\n1.3-2.7 seconds: ,\n
 * 2.6-4.0 seconds: ".  With APOLLO_VIDEO_TEXT_PLACEHOLDERS in @p flags each
 * clip line ends with tokens_per_clip "<|video_token|>" markers (where the
 * visual tokens go), otherwise with nothing.
 *
 * @param buf  receives the NUL-terminated UTF-8 text, truncated to cap - 1
 *             bytes; may be NULL when cap is 0.
 * @return the full length in bytes without the NUL (like snprintf: call
 *         with cap 0 to size the buffer), or a negative code.  @since 0.1
 */
APOLLO_API int64_t apollo_video_get_prompt_text(const apollo_video *video, int32_t flags,
                                                char *buf, size_t cap);

/* ------------------------------------------------------------------------ */
/* Encoding videos, saved embeddings, videos in conversations                 */
/* ------------------------------------------------------------------------ */

/** Progress callback of encoding: called after clip @p i_clip (0-based) of
 *  @p n_clips has been encoded, on the encoding thread. */
typedef void (*apollo_progress_fn)(int32_t i_clip, int32_t n_clips, void *user_data);

/** Options for encoding; initialise with apollo_encode_params_init(). */
typedef struct apollo_encode_params {
    uint32_t struct_size;           /**< sizeof(apollo_encode_params), set by _init */
    apollo_progress_fn progress_fn; /**< NULL = no progress reports */
    void *progress_user_data;
    apollo_abort_fn abort_fn;       /**< polled between clips and between encoder
                                         layers; non-zero aborts with APOLLO_E_CANCELLED */
    void *abort_user_data;
} apollo_encode_params;

/** Fills struct_size and defaults; NULL is ignored.  @since 0.1 */
APOLLO_API void apollo_encode_params_init(apollo_encode_params *params);

/**
 * Runs the vision encoders on every clip (decoding the frames clip by clip)
 * and keeps the resulting visual tokens in the video: tokens_per_clip rows
 * of the LLM's width per clip.  Encoding happens once: afterwards any number
 * of sessions use the video without running the encoders again, and the
 * video may be saved.  Calling it on an encoded video does nothing.
 * apollo_session_add_video() encodes a video that is not encoded yet.
 *
 * @param video   not NULL.
 * @param params  callbacks or NULL.
 * @return APOLLO_OK; APOLLO_E_CANCELLED (the video stays unencoded);
 *         APOLLO_E_VIDEO / APOLLO_E_IO (the file changed or became
 *         unreadable); APOLLO_E_MISUSE; APOLLO_E_NOMEM; APOLLO_E_BACKEND.
 * Thread safety: like every function on a video, one thread at a time.
 * @since 0.1
 */
APOLLO_API int apollo_video_encode(apollo_video *video, const apollo_encode_params *params);

/** 1 when the video's visual tokens are available, 0 when not, or a negative
 *  code for a bad handle.  @since 0.1 */
APOLLO_API int apollo_video_is_encoded(const apollo_video *video);

/**
 * Copies the video's visual tokens (n_clips * tokens_per_clip rows of
 * @p dim = the LLM's hidden size floats, clip-major, exactly the rows that
 * replace the placeholders in the prompt) into @p buf (capacity @p cap
 * floats; may be NULL when cap is 0) and sets *n_floats and *dim.
 * @return APOLLO_OK, APOLLO_E_MISUSE (bad handle, not encoded),
 *         APOLLO_E_INVALID_ARG.  @since 0.1
 */
APOLLO_API int apollo_video_get_embeddings(const apollo_video *video, float *buf, size_t cap,
                                           size_t *n_floats, int32_t *dim);

/**
 * Saves an encoded video's visual tokens, clip times, prompt text and
 * metadata to @p path, so that it never has to be encoded again.  The file
 * is versioned, zlib-compressed and CRC-checked, and carries fingerprints of
 * the model and of the video's sampling and preprocessing settings.  It is
 * written atomically: a temporary file next to @p path is written, flushed
 * to disk and renamed over @p path, so a crash or a full disk never leaves a
 * damaged file under that name (an existing file stays as it was).
 * @return APOLLO_OK, APOLLO_E_MISUSE (bad handle, video not encoded),
 *         APOLLO_E_NOT_FOUND (folder missing), APOLLO_E_IO, APOLLO_E_NOMEM.
 * @since 0.1
 */
APOLLO_API int apollo_video_save(const apollo_video *video, const char *path);

/**
 * Loads a video saved by apollo_video_save() for use with @p ctx.  The video
 * is encoded (it has no frames: apollo_video_get_clip_frames() still reports
 * the sampled frame numbers).  A file made by another model, or with other
 * sampling settings than @p params (fps, max_clips, window, ratio), is
 * refused: saved tokens are only valid for the model and settings that
 * produced them.
 * @param params  the settings the video was opened with (NULL = defaults).
 * @return APOLLO_OK; APOLLO_E_NOT_FOUND; APOLLO_E_IO; APOLLO_E_FORMAT (not
 *         such a file, another format version, truncated, checksum
 *         mismatch); APOLLO_E_CONFIG (made by another model or with other
 *         settings; the message says which); APOLLO_E_MISUSE; APOLLO_E_NOMEM.
 * @since 0.1
 */
APOLLO_API int apollo_video_load(apollo_ctx *ctx, const char *path,
                                 const apollo_video_params *params, apollo_video **out);

/**
 * Shows a video to the model in the conversation: opens a user message with
 * the reference's video block ("You are provided the following series of
 * ... video." and one "a-b seconds: " line per clip followed by that clip's
 * visual tokens) and evaluates it.  The next apollo_session_ask() completes
 * the same user message with the question ("\n\n" + question), exactly as
 * the reference builds its prompt; fork the session here to ask several
 * questions about one video while paying for the video once.
 *
 * Encodes the video first if needed (see apollo_video_encode(); @p params
 * gives its callbacks, and apollo_session_cancel() also stops it).  The
 * video must belong to the session's ctx.  The session does not keep the
 * video: it may be freed afterwards.
 * @return APOLLO_OK, APOLLO_E_CONTEXT_FULL (the video does not fit; nothing
 *         is added), APOLLO_E_CANCELLED, APOLLO_E_MISUSE (bad handles,
 *         another model's video, a video already waiting for its question),
 *         the errors of apollo_video_encode().  On failure the conversation is
 *         unchanged.  @since 0.1
 */
APOLLO_API int apollo_session_add_video(apollo_session *session, apollo_video *video,
                                        const apollo_encode_params *params);

#ifdef __cplusplus
}
#endif

#endif /* APOLLO_H */
