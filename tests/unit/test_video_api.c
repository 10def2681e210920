/* The public video API (apollo.h "Videos") against the tiny test model:
 * open/free/query for files, memory, frames and images, the prompt text of
 * the reference scenario, bad inputs and misuse, ctx lifetime, and the
 * internal clip iterator the encoders use. */
#include "apollo.h"
#include "common/status.h"
#include "testutil.h"
#include "video/video.h"

#include <jansson.h>
#include <stdlib.h>

#define MODEL APOLLO_TEST_FIXTURES "/models/tiny-tied"
#define CFR APOLLO_TEST_FIXTURES "/videos/cfr_161x97_2997.mp4"

static char text[1 << 16];

static void check_file(apollo_ctx *ctx)
{
    apollo_video *v = NULL;
    apollo_video_info info;
    int64_t idx[8];
    double t0, t1;
    int rc = apollo_video_open_file(ctx, CFR, NULL, &v);
    CHECK_MSG(rc == APOLLO_OK, "open: %s", apollo_last_errmsg());
    if (rc)
        return;
    CHECK_EQ_INT(apollo_video_n_clips(v), 3);
    apollo_video_info_init(&info);
    CHECK(apollo_video_get_info(v, &info) == APOLLO_OK);
    CHECK_EQ_INT(info.total_frames, 135);
    CHECK(info.fps == 30000.0 / 1001.0);
    CHECK_EQ_INT(info.width, 161);
    CHECK_EQ_INT(info.height, 97);
    CHECK_EQ_INT(info.frames_per_clip, 4);
    CHECK_EQ_INT(info.tokens_per_clip, 8); /* tiny model */
    CHECK_EQ_INT(info.source, APOLLO_VIDEO_SOURCE_FILE);
    CHECK(!strcmp(info.codec, "h264"));
    CHECK_EQ_INT(apollo_video_get_clip_frames(v, 1, idx, 8), 4);
    CHECK_EQ_INT(idx[0], 39);
    CHECK_EQ_INT(idx[3], 81);
    CHECK_EQ_INT(apollo_video_get_clip_frames(v, 1, NULL, 0), 4);
    CHECK(apollo_video_get_clip_time(v, 2, &t0, &t1) == APOLLO_OK);
    CHECK(t0 == 78 / (30000.0 / 1001.0) && t1 == 120 / (30000.0 / 1001.0));
    CHECK_EQ_INT(apollo_video_get_clip_time(v, 3, &t0, &t1), APOLLO_E_INVALID_ARG);
    CHECK_EQ_INT(apollo_video_get_clip_frames(v, -1, idx, 8), APOLLO_E_INVALID_ARG);

    /* the reference scenario's prompt contains exactly this block */
    {
        json_error_t err;
        json_t *s = json_load_file(APOLLO_TEST_FIXTURES "/reference/tiny-tied/video-cfr/scenario.json", 0, &err);
        int64_t n = apollo_video_get_prompt_text(v, APOLLO_VIDEO_TEXT_PLACEHOLDERS, NULL, 0);
        int64_t m = apollo_video_get_prompt_text(v, APOLLO_VIDEO_TEXT_PLACEHOLDERS, text, sizeof text);
        CHECK_EQ_INT(n, m);
        CHECK_EQ_INT((int64_t)strlen(text), n);
        if (s) {
            const char *prompt = json_string_value(json_object_get(s, "prompt_text"));
            CHECK_MSG(prompt && strstr(prompt, text), "block not in the reference prompt:\n%s", text);
            json_decref(s);
        }
        apollo_video_get_prompt_text(v, 0, text, sizeof text);
        CHECK(!strcmp(text, "You are provided the following series of three, 2 second clips from a "
                            "0:00:04.504500 [H:MM:SS] video.\n0.0-1.4 seconds: ,\n1.3-2.7 seconds: ,\n"
                            "2.6-4.0 seconds: "));
        printf("prompt block:\n%s\n", text);
        CHECK_EQ_INT(apollo_video_get_prompt_text(v, 0x100, text, sizeof text), APOLLO_E_INVALID_ARG);
    }

    /* the encoders' iterator: tower order and shapes from the model */
    {
        apollo__clip_iter *it = NULL;
        apollo__clip clip;
        int n = 0;
        CHECK(apollo__video_clips(v, NULL, &it) == APOLLO_OK);
        while (it && (rc = apollo__clip_iter_next(it, &clip)) == 1) {
            CHECK_EQ_INT(clip.n_towers, 2);
            CHECK_EQ_INT(clip.shape[0][0], 4);
            CHECK_EQ_INT(clip.shape[0][2], 384);
            CHECK_EQ_INT(clip.shape[1][1], 4);
            CHECK_EQ_INT(clip.shape[1][2], 224);
            n++;
        }
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(n, 3);
        apollo__clip_iter_free(it);
    }
    apollo_video_free(v);
}

static void check_params_and_memory(apollo_ctx *ctx)
{
    apollo_video_params p;
    apollo_video *v = NULL, *w = NULL;
    FILE *f = fopen(CFR, "rb");
    long size;
    uint8_t *data;
    CHECK(f != NULL);
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc((size_t)size);
    CHECK(fread(data, 1, (size_t)size, f) == (size_t)size);
    fclose(f);

    apollo_video_params_init(&p);
    p.max_clips = 2;
    p.n_threads = 1;
    CHECK(apollo_video_open_memory(ctx, data, (size_t)size, &p, &v) == APOLLO_OK);
    CHECK_EQ_INT(apollo_video_n_clips(v), 2);
    p.borrow = 1;
    p.max_clips = 0;
    p.start_s = 1.0;
    CHECK(apollo_video_open_memory(ctx, data, (size_t)size, &p, &w) == APOLLO_OK);
    if (w) {
        int64_t idx[4];
        apollo_video_get_clip_frames(w, 0, idx, 4);
        CHECK(idx[0] >= 30);
        apollo_video_get_prompt_text(w, 0, text, sizeof text);
        CHECK_STR_CONTAINS(text, "two, 2 second clips from a 0:00:03.503500");
    }
    apollo_video_free(w);
    apollo_video_free(v);
    free(data);

    /* bad params */
    apollo_video_params_init(&p);
    p.fps = -1;
    CHECK_EQ_INT(apollo_video_open_file(ctx, CFR, &p, &v), APOLLO_E_INVALID_ARG);
    CHECK(v == NULL);
    apollo_video_params_init(&p);
    p.start_s = 10;
    p.end_s = 5;
    CHECK_EQ_INT(apollo_video_open_file(ctx, CFR, &p, &v), APOLLO_E_INVALID_ARG);
    apollo_video_params_init(&p);
    p.start_s = 100;
    CHECK_EQ_INT(apollo_video_open_file(ctx, CFR, &p, &v), APOLLO_E_INVALID_ARG);
    CHECK_STR_CONTAINS(apollo_last_errmsg(), "holds no frame");
    p.struct_size = 2;
    CHECK_EQ_INT(apollo_video_open_file(ctx, CFR, &p, &v), APOLLO_E_MISUSE);
    /* a larger struct from a newer header with a non-zero unknown tail */
    {
        unsigned char big[sizeof(apollo_video_params) + 16];
        memset(big, 0, sizeof big);
        apollo_video_params_init((apollo_video_params *)big);
        ((apollo_video_params *)big)->struct_size = sizeof big;
        CHECK(apollo_video_open_file(ctx, CFR, (apollo_video_params *)big, &v) == APOLLO_OK);
        apollo_video_free(v);
        big[sizeof big - 1] = 1;
        CHECK_EQ_INT(apollo_video_open_file(ctx, CFR, (apollo_video_params *)big, &v), APOLLO_E_MISUSE);
    }
}

static void check_frames_and_images(apollo_ctx *ctx)
{
    enum { N = 50, W = 20, H = 10 };
    uint8_t *rgb = malloc((size_t)N * W * H * 3);
    apollo_video *v = NULL;
    apollo_video_info info;
    for (size_t i = 0; i < (size_t)N * W * H * 3; i++)
        rgb[i] = (uint8_t)(i * 31);
    CHECK(apollo_video_open_frames(ctx, rgb, N, W, H, 0, 25.0, NULL, NULL, &v) == APOLLO_OK);
    free(rgb); /* copied: the video must not need it any more */
    if (v) {
        apollo__clip_iter *it = NULL;
        apollo__clip clip;
        int n = 0, rc;
        apollo_video_info_init(&info);
        apollo_video_get_info(v, &info);
        CHECK_EQ_INT(info.source, APOLLO_VIDEO_SOURCE_FRAMES);
        CHECK_EQ_INT(info.total_frames, N);
        CHECK(apollo__video_clips(v, NULL, &it) == APOLLO_OK);
        while (it && (rc = apollo__clip_iter_next(it, &clip)) == 1)
            n++;
        CHECK_EQ_INT(n, apollo_video_n_clips(v));
        apollo__clip_iter_free(it);
    }
    apollo_video_free(v);

    CHECK(apollo_video_open_file(ctx, APOLLO_TEST_FIXTURES "/video-bad/codecs/image.png", NULL, &v) == APOLLO_OK);
    if (v) {
        apollo_video_info_init(&info);
        apollo_video_get_info(v, &info);
        CHECK(info.is_image);
        CHECK_EQ_INT(info.n_clips, 1);
        apollo_video_get_prompt_text(v, 0, text, sizeof text);
        CHECK(!strcmp(text, "You are provided the following series of one, 2 second clips from a "
                            "0:00:02 [H:MM:SS] video.\n0.0-1.5 seconds: "));
    }
    apollo_video_free(v);
}

static void check_bad(apollo_ctx *ctx)
{
    apollo_video *v = (apollo_video *)8;
    static const struct {
        const char *file;
        int code;
    } cases[] = {{"/video-bad/text.txt", APOLLO_E_VIDEO},
                 {"/video-bad/empty.mp4", APOLLO_E_NO_VIDEO},
                 {"/video-bad/truncated.mp4", APOLLO_E_VIDEO},
                 {"/video-bad/audio_only.wav", APOLLO_E_NO_VIDEO},
                 {"/video-bad/wide.y4m", APOLLO_E_VIDEO},
                 {"/video-bad/zero_duration.mp4", APOLLO_E_NO_VIDEO},
                 {"/video-bad/missing.mp4", APOLLO_E_NOT_FOUND},
                 {"/video-bad", APOLLO_E_IO}};
    char path[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(path, sizeof path, "%s%s", APOLLO_TEST_FIXTURES, cases[i].file);
        CHECK_EQ_INT(apollo_video_open_file(ctx, path, NULL, &v), cases[i].code);
        CHECK(v == NULL);
        CHECK(apollo_last_errmsg()[0] != '\0');
    }
    CHECK_EQ_INT(apollo_video_open_file(NULL, CFR, NULL, &v), APOLLO_E_MISUSE);
    CHECK_EQ_INT(apollo_video_open_file(ctx, NULL, NULL, &v), APOLLO_E_INVALID_ARG);
    CHECK_EQ_INT(apollo_video_open_file(ctx, CFR, NULL, NULL), APOLLO_E_INVALID_ARG);
    CHECK_EQ_INT(apollo_video_open_memory(ctx, NULL, 10, NULL, &v), APOLLO_E_INVALID_ARG);
    CHECK_EQ_INT(apollo_video_open_frames(ctx, NULL, 1, 1, 1, 0, 1, NULL, NULL, &v), APOLLO_E_INVALID_ARG);
    CHECK_EQ_INT(apollo_video_n_clips(NULL), APOLLO_E_MISUSE);
    CHECK_EQ_INT(apollo_video_get_prompt_text(NULL, 0, NULL, 0), APOLLO_E_MISUSE);
    CHECK_EQ_INT(apollo_video_get_info(NULL, NULL), APOLLO_E_MISUSE);
    apollo_video_free(NULL);
    CHECK(strcmp(apollo_strerror(APOLLO_E_VIDEO), "unknown error") != 0);
    CHECK(strcmp(apollo_strerror(APOLLO_E_NO_VIDEO), "unknown error") != 0);
}

int main(void)
{
    apollo_ctx_params cp;
    apollo_ctx *ctx = NULL;
    apollo_video *v = NULL;
    int rc;
    apollo_ctx_params_init(&cp);
    cp.n_threads = 2;
    rc = apollo_ctx_open(MODEL, &cp, &ctx);
    CHECK_MSG(rc == APOLLO_OK, "ctx: %s", apollo_last_errmsg());
    if (rc)
        return test_finish("test_video_api");
    check_file(ctx);
    check_params_and_memory(ctx);
    check_frames_and_images(ctx);
    check_bad(ctx);
    /* the video keeps the ctx alive: free the ctx first */
    CHECK(apollo_video_open_file(ctx, CFR, NULL, &v) == APOLLO_OK);
    apollo_ctx_free(ctx);
    CHECK_EQ_INT(apollo_video_n_clips(v), 3);
    apollo_video_free(v);
    return test_finish("test_video_api");
}
