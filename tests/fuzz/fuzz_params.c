/* Fuzz target: the handling of the sized params structs (struct_size from
 * the input, every field from the input).  byte 0 chooses the struct and
 * the call; bytes 1-2 give struct_size (little-endian, < 512); the struct
 * is exactly struct_size bytes (so ASan sees any read past it) filled from
 * the rest of the input.  Pointer fields are replaced by valid pointers or
 * NULL (a caller's garbage pointer is not the library's fault); a pointer
 * that struct_size cuts in two is set to NULL.  Each call must return a
 * status (MISUSE for a bad struct_size, INVALID_ARG for bad values) and
 * never crash; expensive counts are clamped (max_new_tokens, max_clips). */
#include "fuzz_common.h"

#include "apollo.h"

#include <stddef.h>

static apollo_ctx *ctx;
static apollo_video *frames_video; /* 8 frames, encoded */
static uint8_t pixels[8 * 16 * 16 * 3];

static int32_t on_text(const char *t, size_t n, void *ud)
{
    (void)t;
    (void)n;
    return ud != NULL; /* stop when user_data is set */
}
static int32_t abort_fn(void *ud)
{
    return ud != NULL;
}
static void progress_fn(int32_t i, int32_t n, void *ud)
{
    (void)i;
    (void)n;
    (void)ud;
}
static void log_fn(int32_t level, const char *msg, void *ud)
{
    (void)level;
    (void)msg;
    (void)ud;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[1024];
    apollo_ctx_params cp;
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof dir, "%s/models/tiny-tied", APOLLO_TEST_FIXTURES);
    apollo_ctx_params_init(&cp);
    cp.n_threads = 1;
    if (apollo_ctx_open(dir, &cp, &ctx) != APOLLO_OK) {
        fprintf(stderr, "cannot open %s: %s\n", dir, apollo_last_errmsg());
        abort();
    }
    for (size_t i = 0; i < sizeof pixels; i++)
        pixels[i] = (uint8_t)(i * 31 + (i >> 7));
    if (apollo_video_open_frames(ctx, pixels, 8, 16, 16, 0, 2.0, NULL, NULL, &frames_video) ||
        apollo_video_encode(frames_video, NULL)) {
        fprintf(stderr, "cannot make the frames video: %s\n", apollo_last_errmsg());
        abort();
    }
    return 0;
}

/* Sets the pointer at offset off (of a struct of `size` bytes) to p when it
 * is wholly inside, to NULL when struct_size cuts it. */
static void set_ptr(uint8_t *s, size_t size, size_t off, const void *p)
{
    if (off + sizeof p <= size)
        memcpy(s + off, &p, sizeof p);
    else if (off < size)
        memset(s + off, 0, size - off);
}

/* Clamps the int32 at off to [lo, hi] when it is wholly inside. */
static void clamp_i32(uint8_t *s, size_t size, size_t off, int32_t lo, int32_t hi)
{
    int32_t v;
    if (off + sizeof v > size)
        return;
    memcpy(&v, s + off, sizeof v);
    if (v > hi)
        v = lo + (int32_t)((uint32_t)v % (uint32_t)(hi - lo + 1));
    memcpy(s + off, &v, sizeof v);
}

static int known(int rc)
{
    return rc <= 0 && rc >= APOLLO_E_NO_VIDEO;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const stops[APOLLO_MAX_STOP_STRINGS] = {
        "a", "the", "\n", "zz", "é", "<|im_end|>", "x", "y", "1", "2", "3", "4", "5", "6", "7", "8"};
    uint32_t ssize;
    size_t alloc;
    uint8_t *s;
    int which, bit, rc;

    if (!ctx)
        LLVMFuzzerInitialize(NULL, NULL);
    if (size < 3)
        return 0;
    which = data[0] % 7;
    bit = data[0] >> 7;
    ssize = (uint32_t)(data[1] | data[2] << 8) % 512;
    alloc = ssize < 4 ? 4 : ssize;
    s = calloc(1, alloc);
    memcpy(s, data + 3, size - 3 < alloc ? size - 3 : alloc);
    memcpy(s, &ssize, sizeof ssize);

    switch (which) {
    case 0: { /* ctx params: checked before the model is read */
        apollo_ctx *c = NULL;
        char dir[1024];
        set_ptr(s, alloc, offsetof(apollo_ctx_params, log_fn), bit ? (void *)log_fn : NULL);
        set_ptr(s, alloc, offsetof(apollo_ctx_params, log_user_data), NULL);
        snprintf(dir, sizeof dir, "%s/no-such-model", APOLLO_TEST_FIXTURES);
        rc = apollo_ctx_open(dir, (const apollo_ctx_params *)s, &c);
        FUZZ_ASSERT(rc < 0 && known(rc) && c == NULL);
        break;
    }
    case 1: { /* session params */
        apollo_session *ss = NULL;
        set_ptr(s, alloc, offsetof(apollo_session_params, system_prompt),
                bit ? "Be brief." : NULL);
        rc = apollo_session_new(ctx, (const apollo_session_params *)s, &ss);
        FUZZ_ASSERT(known(rc) && (rc == APOLLO_OK) == (ss != NULL));
        apollo_session_free(ss);
        break;
    }
    case 2: { /* generate params, through a real (short) answer */
        apollo_session *ss = NULL;
        char *answer = NULL;
        set_ptr(s, alloc, offsetof(apollo_generate_params, stop_strings), bit ? stops : NULL);
        set_ptr(s, alloc, offsetof(apollo_generate_params, on_text), on_text);
        set_ptr(s, alloc, offsetof(apollo_generate_params, on_text_user_data), NULL);
        set_ptr(s, alloc, offsetof(apollo_generate_params, abort_fn), bit ? abort_fn : NULL);
        set_ptr(s, alloc, offsetof(apollo_generate_params, abort_user_data), NULL);
        clamp_i32(s, alloc, offsetof(apollo_generate_params, max_new_tokens), -4, 6);
        FUZZ_ASSERT(apollo_session_new(ctx, NULL, &ss) == APOLLO_OK);
        rc = apollo_session_ask(ss, "Hi", (const apollo_generate_params *)s, &answer);
        FUZZ_ASSERT(known(rc) && rc != APOLLO_E_CANCELLED);
        FUZZ_ASSERT((rc == APOLLO_OK) == (answer != NULL));
        apollo_free(answer);
        /* the session is still usable */
        FUZZ_ASSERT(apollo_session_ask(ss, "Hi", &(apollo_generate_params){0}, NULL) ==
                    APOLLO_E_MISUSE);
        apollo_session_free(ss);
        break;
    }
    case 3: { /* video params, through the clip planner */
        apollo_video *v = NULL;
        clamp_i32(s, alloc, offsetof(apollo_video_params, max_clips), -4, 64);
        rc = apollo_video_open_frames(ctx, pixels, 8, 16, 16, 0, 2.0, NULL,
                                      (const apollo_video_params *)s, &v);
        FUZZ_ASSERT(known(rc) && (rc == APOLLO_OK) == (v != NULL));
        if (v) {
            int32_t n = apollo_video_n_clips(v);
            int64_t len = apollo_video_get_prompt_text(v, APOLLO_VIDEO_TEXT_PLACEHOLDERS, NULL, 0);
            FUZZ_ASSERT(n >= 1 && len > 0);
            for (int32_t i = 0; i < n; i++) {
                int64_t idx[8];
                double t0, t1;
                FUZZ_ASSERT(apollo_video_get_clip_time(v, i, &t0, &t1) == APOLLO_OK);
                FUZZ_ASSERT(apollo_video_get_clip_frames(v, i, idx, 8) >= 1);
            }
            {
                char *buf = malloc((size_t)len + 1);
                FUZZ_ASSERT(apollo_video_get_prompt_text(v, APOLLO_VIDEO_TEXT_PLACEHOLDERS, buf,
                                                         (size_t)len + 1) == len);
                free(buf);
            }
            apollo_video_free(v);
        }
        break;
    }
    case 4: { /* encode params, through a session (encoded video: no work) */
        apollo_session *ss = NULL;
        set_ptr(s, alloc, offsetof(apollo_encode_params, progress_fn), progress_fn);
        set_ptr(s, alloc, offsetof(apollo_encode_params, progress_user_data), NULL);
        set_ptr(s, alloc, offsetof(apollo_encode_params, abort_fn), bit ? abort_fn : NULL);
        set_ptr(s, alloc, offsetof(apollo_encode_params, abort_user_data), NULL);
        FUZZ_ASSERT(apollo_session_new(ctx, NULL, &ss) == APOLLO_OK);
        rc = apollo_session_add_video(ss, frames_video, (const apollo_encode_params *)s);
        FUZZ_ASSERT(known(rc));
        rc = apollo_video_encode(frames_video, (const apollo_encode_params *)s);
        FUZZ_ASSERT(known(rc));
        apollo_session_free(ss);
        break;
    }
    case 5: { /* model info: written up to struct_size */
        rc = apollo_ctx_get_model_info(ctx, (apollo_model_info *)s);
        FUZZ_ASSERT(known(rc));
        FUZZ_ASSERT((rc == APOLLO_OK) == (ssize >= 4));
        break;
    }
    default: { /* video info */
        rc = apollo_video_get_info(frames_video, (apollo_video_info *)s);
        FUZZ_ASSERT(known(rc));
        FUZZ_ASSERT((rc == APOLLO_OK) == (ssize >= 4));
        break;
    }
    }
    free(s);
    return 0;
}
