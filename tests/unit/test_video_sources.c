/* Video sources beyond the reference fixtures: bad inputs (each fails with
 * its own code and message, or recovers as documented), codec and
 * container coverage, still images, caller frames, allocation failures.
 * Files come from tools/video-fixtures/make_video_fixtures.sh. */
#include "common/alloc.h"
#include "common/status.h"
#include "testutil.h"
#include "video/video.h"

#include <stdlib.h>
#include <sys/stat.h>

#define BAD APOLLO_TEST_FIXTURES "/video-bad"
#define CODECS APOLLO_TEST_FIXTURES "/video-bad/codecs"

static apollo__vsrc_opts opts2 = {2, 4, 2.0};

static void plan_for(const apollo__video_meta *m, apollo__sample_plan *plan)
{
    apollo__sample_params p;
    memset(&p, 0, sizeof p);
    p.total_frames = m->total_frames;
    p.fps = m->fps;
    p.clip_duration = 2;
    p.clip_duration_text = "2";
    p.frames_per_clip = 4;
    p.model_max_length = 16384;
    p.tokens_per_clip = 128;
    CHECK_MSG(apollo__sample_plan_make(&p, plan) == APOLLO_OK, "plan: %s", apollo__errmsg());
}

static const apollo__video_tower_pp k_towers[2] = {
    {APOLLO__VPP_SIGLIP, 384, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}},
    {APOLLO__VPP_INTERNVIDEO2, 224, {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}}};

/* ---- bad inputs ----------------------------------------------------------------------------- */

static void expect_fail(const char *path, int code, const char *msg_part)
{
    apollo__vsrc *src = (apollo__vsrc *)1;
    int rc;
    apollo__clear_error();
    rc = apollo__vsrc_open_file(path, &opts2, &src);
    printf("  %-52s -> %d (%s): %s\n", strrchr(path, '/') ? strrchr(path, '/') + 1 : path, rc,
           apollo_strerror(rc), apollo__errmsg());
    CHECK_MSG(rc == code, "%s: got %d, want %d", path, rc, code);
    CHECK(src == NULL);
    if (msg_part)
        CHECK_STR_CONTAINS(apollo__errmsg(), msg_part);
    apollo__vsrc_free(rc == APOLLO_OK ? src : NULL);
}

static void check_bad_inputs(void)
{
    char dir[512];
    printf("bad inputs:\n");
    expect_fail(BAD "/text.txt", APOLLO_E_VIDEO, "not a video or image");
    expect_fail(BAD "/empty.mp4", APOLLO_E_NO_VIDEO, "empty");
    expect_fail(BAD "/truncated.mp4", APOLLO_E_VIDEO, "truncated.mp4");
    expect_fail(BAD "/audio_only.wav", APOLLO_E_NO_VIDEO, "no video stream");
    expect_fail(BAD "/huge.y4m", APOLLO_E_VIDEO, "huge.y4m");
    expect_fail(BAD "/no_frames.mp4", APOLLO_E_NO_VIDEO, "no_frames.mp4");
    expect_fail(BAD "/wide.y4m", APOLLO_E_VIDEO, "17000x16 is out of range");
    expect_fail(BAD "/zero_duration.mp4", APOLLO_E_NO_VIDEO, "zero duration");
    expect_fail(BAD "/no-such-file.mp4", APOLLO_E_NOT_FOUND, "no such file");
    expect_fail(BAD "/no-such-dir/x.mp4", APOLLO_E_NOT_FOUND, "no such file");
    expect_fail(BAD, APOLLO_E_IO, "directory");
    /* an unreadable file (meaningless when running as root) */
    snprintf(dir, sizeof dir, "%s/video-unreadable.mp4", APOLLO_TEST_TMPDIR);
    {
        FILE *f = fopen(dir, "wb");
        if (f) {
            fputs("x", f);
            fclose(f);
            chmod(dir, 0);
            f = fopen(dir, "rb");
            if (f)
                fclose(f); /* root: readable anyway */
            else
                expect_fail(dir, APOLLO_E_IO, "cannot open");
            chmod(dir, 0600);
            remove(dir);
        }
    }
    /* memory: empty and garbage */
    {
        apollo__vsrc *src = NULL;
        static const char junk[] = "not a video at all, just some bytes ....";
        CHECK_EQ_INT(apollo__vsrc_open_memory(junk, 0, 1, &opts2, &src), APOLLO_E_NO_VIDEO);
        CHECK_EQ_INT(apollo__vsrc_open_memory(junk, sizeof junk, 1, &opts2, &src), APOLLO_E_VIDEO);
        CHECK(src == NULL);
    }
}

/* Truncated with the index first: opens with the frames that are there. */
static void check_truncated_faststart(void)
{
    apollo__vsrc *src = NULL;
    apollo__sample_plan plan;
    apollo__clip_iter *it = NULL;
    apollo__clip clip;
    int rc, n = 0;
    rc = apollo__vsrc_open_file(BAD "/truncated_faststart.mp4", &opts2, &src);
    CHECK_MSG(rc == APOLLO_OK, "truncated_faststart: %s", apollo__errmsg());
    if (rc)
        return;
    printf("truncated_faststart.mp4: %lld of 20 frames readable\n",
           (long long)apollo__vsrc_meta(src)->total_frames);
    CHECK(apollo__vsrc_meta(src)->total_frames >= 1 && apollo__vsrc_meta(src)->total_frames < 20);
    plan_for(apollo__vsrc_meta(src), &plan);
    CHECK(apollo__clip_iter_new(src, &plan, k_towers, 2, NULL, &it) == APOLLO_OK);
    while (it && (rc = apollo__clip_iter_next(it, &clip)) == 1)
        n++;
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(n, plan.n_clips);
    apollo__clip_iter_free(it);
    apollo__sample_plan_free(&plan);
    apollo__vsrc_free(src);
}

/* Reads every frame of a file; returns a malloc'ed array of packed RGB frames. */
static uint8_t *read_all(const char *path, int64_t *n_out, int32_t *w, int32_t *h,
                         apollo__vsrc_stats *stats)
{
    apollo__vsrc *src = NULL;
    const apollo__video_meta *m;
    int64_t *all, n;
    uint8_t *frames;
    if (apollo__vsrc_open_file(path, &opts2, &src) != APOLLO_OK) {
        CHECK_MSG(0, "%s: %s", path, apollo__errmsg());
        return NULL;
    }
    m = apollo__vsrc_meta(src);
    n = m->total_frames;
    *w = m->width;
    *h = m->height;
    all = malloc((size_t)n * sizeof *all);
    frames = malloc((size_t)n * (size_t)m->width * (size_t)m->height * 3);
    for (int64_t i = 0; i < n; i++)
        all[i] = i;
    CHECK(apollo__vsrc_set_targets(src, all, n) == APOLLO_OK);
    for (int64_t i = 0; i < n; i++) {
        int64_t idx;
        const uint8_t *rgb;
        int32_t stride;
        int r = apollo__vsrc_next(src, &idx, &rgb, &stride);
        CHECK_MSG(r == 1 && idx == i, "%s: frame %lld: %d %s", path, (long long)i, r, apollo__errmsg());
        if (r != 1)
            break;
        for (int32_t y = 0; y < m->height; y++)
            memcpy(frames + ((size_t)i * m->height + y) * m->width * 3, rgb + (size_t)y * stride,
                   (size_t)m->width * 3);
    }
    apollo__vsrc_get_stats(src, stats);
    free(all);
    apollo__vsrc_free(src);
    *n_out = n;
    return frames;
}

static void check_corrupt_middle(void)
{
    int64_t nc = 0, nb = 0;
    int32_t w, h;
    apollo__vsrc_stats sc, sb;
    uint8_t *clean = read_all(BAD "/clean_middle.mp4", &nc, &w, &h, &sc);
    uint8_t *bad = read_all(BAD "/corrupt_middle.mp4", &nb, &w, &h, &sb);
    if (clean && bad && nc == nb) {
        size_t fs = (size_t)w * h * 3;
        int n_diff = 0, after_key_same = 1;
        for (int64_t i = 0; i < nc; i++) {
            int d = memcmp(clean + (size_t)i * fs, bad + (size_t)i * fs, fs) != 0;
            n_diff += d;
            if (i >= 20 && d)
                after_key_same = 0;
        }
        printf("corrupt_middle.mp4: %lld frames decoded, %d differ from the clean file "
               "(frames 12..19 until the next keyframe), %lld decoder errors, %lld substituted\n",
               (long long)nb, n_diff, (long long)sb.n_decode_errors, (long long)sb.n_substituted);
        CHECK(n_diff >= 1);
        CHECK_MSG(after_key_same, "frames after the next keyframe must decode as in the clean file");
        for (int64_t i = 0; i < 12; i++)
            CHECK(!memcmp(clean + (size_t)i * fs, bad + (size_t)i * fs, fs));
    } else {
        CHECK_MSG(0, "corrupt/clean decode failed (%lld vs %lld frames)", (long long)nb, (long long)nc);
    }
    free(clean);
    free(bad);
}

/* ---- codecs --------------------------------------------------------------------------------- */

static void check_codec(const char *file, const char *codec, int want_w, int want_h, int want_rot)
{
    char path[512];
    apollo__vsrc *src = NULL;
    apollo__sample_plan plan;
    apollo__clip_iter *it = NULL;
    apollo__clip clip;
    apollo__vsrc_stats st;
    int rc, n = 0, nonflat = 1;

    snprintf(path, sizeof path, "%s/%s", CODECS, file);
    rc = apollo__vsrc_open_file(path, &opts2, &src);
    CHECK_MSG(rc == APOLLO_OK, "%s: %d %s", file, rc, apollo__errmsg());
    if (rc)
        return;
    {
        const apollo__video_meta *m = apollo__vsrc_meta(src);
        printf("  %-18s %-8s %-12s %3dx%-3d rot %3d sar %d:%d  %3lld frames %6.3f fps  %d streams  %s\n", file,
               m->codec, m->pix_fmt, m->width, m->height, m->rotation, m->sar_num, m->sar_den,
               (long long)m->total_frames, m->fps, m->n_streams, m->container);
        CHECK_MSG(strstr(m->codec, codec) != NULL, "%s: codec %s, want %s", file, m->codec, codec);
        CHECK_EQ_INT(m->width, want_w);
        CHECK_EQ_INT(m->height, want_h);
        CHECK_EQ_INT(m->rotation, want_rot);
        plan_for(m, &plan);
    }
    CHECK(apollo__clip_iter_new(src, &plan, k_towers, 2, NULL, &it) == APOLLO_OK);
    while (it && (rc = apollo__clip_iter_next(it, &clip)) == 1) {
        /* testsrc2 frames are colourful: the first frame is not flat */
        const uint8_t *p = clip.rgb[0];
        int mn = 255, mx = 0;
        for (int32_t i = 0; i < clip.width * 3; i++) {
            mn = p[i] < mn ? p[i] : mn;
            mx = p[i] > mx ? p[i] : mx;
        }
        nonflat &= mx - mn > 50;
        n++;
    }
    CHECK_MSG(rc == 0, "%s: iterate %d %s", file, rc, apollo__errmsg());
    CHECK_EQ_INT(n, plan.n_clips);
    CHECK(nonflat);
    apollo__vsrc_get_stats(src, &st);
    CHECK_EQ_INT(st.n_substituted, 0);
    apollo__clip_iter_free(it);
    apollo__sample_plan_free(&plan);
    apollo__vsrc_free(src);
}

static void check_codecs(void)
{
    printf("codecs and containers:\n");
    check_codec("h264_bframes.mp4", "h264", 64, 48, 0);
    check_codec("h264_10bit.mp4", "h264", 64, 48, 0);
    check_codec("hevc.mp4", "hevc", 64, 48, 0);
    check_codec("hevc_10bit.mkv", "hevc", 64, 48, 0);
    check_codec("vp8.webm", "vp8", 64, 48, 0);
    check_codec("vp9_444.webm", "vp9", 64, 48, 0);
    check_codec("av1.mp4", "av1", 64, 48, 0);
    check_codec("mpeg4.avi", "mpeg4", 64, 48, 0);
    check_codec("mjpeg.avi", "mjpeg", 64, 48, 0);
    check_codec("sar_2_1.mp4", "h264", 64, 48, 0);
    check_codec("multi_stream.mkv", "h264", 64, 48, 0);
    /* "rotate=90": the display matrix says 90 degrees counter-clockwise
     * (ffprobe rotation=90); frames come out turned, 48x64 */
    check_codec("rotate90.mp4", "h264", 48, 64, 270);
}

/* ---- images ---------------------------------------------------------------------------------- */

static void check_image(const char *file)
{
    char path[512];
    apollo__vsrc *src = NULL;
    apollo__sample_plan plan;
    apollo__clip_iter *it = NULL;
    apollo__clip clip;
    char text[512];
    int rc;
    snprintf(path, sizeof path, "%s/%s", CODECS, file);
    rc = apollo__vsrc_open_file(path, &opts2, &src);
    CHECK_MSG(rc == APOLLO_OK, "%s: %s", file, apollo__errmsg());
    if (rc)
        return;
    {
        const apollo__video_meta *m = apollo__vsrc_meta(src);
        printf("  %-12s %s %dx%d is_image %d -> %lld frames at %g fps\n", file, m->codec, m->width,
               m->height, m->is_image, (long long)m->total_frames, m->fps);
        CHECK(m->is_image);
        CHECK_EQ_INT(m->width, 40);
        CHECK_EQ_INT(m->height, 30);
        CHECK_EQ_INT(m->total_frames, 4);
        plan_for(m, &plan);
    }
    CHECK_EQ_INT(plan.n_clips, 1);
    for (int k = 0; k < 4; k++)
        CHECK_EQ_INT(plan.indices[k], k);
    apollo__sample_prompt_text(&plan, NULL, text, sizeof text);
    CHECK_MSG(!strcmp(text, "You are provided the following series of one, 2 second clips from a "
                            "0:00:02 [H:MM:SS] video.\n0.0-1.5 seconds: "),
              "image text: '%s'", text);
    CHECK(apollo__clip_iter_new(src, &plan, k_towers, 2, NULL, &it) == APOLLO_OK);
    rc = it ? apollo__clip_iter_next(it, &clip) : -1;
    CHECK_EQ_INT(rc, 1);
    if (rc == 1) {
        size_t plane = 384 * 384;
        /* four identical frames, in both tensors */
        for (int t = 1; t < 4; t++) {
            CHECK(!memcmp(clip.pixels[0], clip.pixels[0] + (size_t)t * 3 * plane, 3 * plane * sizeof(float)));
            CHECK(clip.pixels[1][(size_t)t * 224 * 224 + 5000] == clip.pixels[1][5000]);
        }
        CHECK_EQ_INT(apollo__clip_iter_next(it, &clip), 0);
    }
    apollo__clip_iter_free(it);
    apollo__sample_plan_free(&plan);
    apollo__vsrc_free(src);
}

/* ---- caller frames --------------------------------------------------------------------------- */

static void check_frames_source(void)
{
    enum { N = 100, W = 33, H = 21 };
    uint8_t *rgb = malloc((size_t)N * W * H * 3);
    double ts[N];
    apollo__vsrc *src = NULL;
    apollo__sample_plan plan;
    apollo__clip_iter *it = NULL;
    apollo__clip clip;
    int rc, ok = 1;

    for (int i = 0; i < N; i++) {
        ts[i] = 5.0 + i * 0.1; /* 10 fps, starting at 5 s */
        for (int p = 0; p < W * H * 3; p++)
            rgb[(size_t)i * W * H * 3 + p] = (uint8_t)(i * 7 + p);
    }
    for (int mode = 0; mode < 3; mode++) {
        /* 0: fps, borrowed; 1: timestamps, copied (only kept frames); 2: fps, copy all */
        rc = apollo__vsrc_open_frames(rgb, N, W, H, 0, 0, mode == 1 ? 0 : 10.0, mode == 1 ? ts : NULL,
                                      &opts2, &src);
        CHECK_MSG(rc == APOLLO_OK, "frames: %s", apollo__errmsg());
        if (rc)
            continue;
        CHECK(fabs(apollo__vsrc_meta(src)->fps - 10.0) < 1e-9);
        CHECK_EQ_INT(apollo__vsrc_meta(src)->total_frames, N);
        plan_for(apollo__vsrc_meta(src), &plan);
        CHECK_EQ_INT(plan.n_clips, 5);
        if (mode == 1) {
            int64_t keep[64], nk = 0;
            for (int64_t i = 0; i < (int64_t)plan.n_clips * 4; i++)
                if (!nk || keep[nk - 1] != plan.indices[i])
                    keep[nk++] = plan.indices[i];
            CHECK(apollo__vsrc_frames_copy(src, keep, nk) == APOLLO_OK);
        } else if (mode == 2) {
            int64_t all[N];
            for (int i = 0; i < N; i++)
                all[i] = i;
            CHECK(apollo__vsrc_frames_copy(src, all, N) == APOLLO_OK);
        }
        CHECK(apollo__clip_iter_new(src, &plan, k_towers, 2, NULL, &it) == APOLLO_OK);
        while (it && (rc = apollo__clip_iter_next(it, &clip)) == 1)
            for (int k = 0; k < 4; k++)
                ok &= !memcmp(clip.rgb[k], rgb + (size_t)clip.frame_indices[k] * W * H * 3, (size_t)W * H * 3);
        CHECK_EQ_INT(rc, 0);
        apollo__clip_iter_free(it);
        it = NULL;
        apollo__sample_plan_free(&plan);
        apollo__vsrc_free(src);
        src = NULL;
    }
    CHECK_MSG(ok, "caller frames come back unchanged");
    /* bad timing and sizes */
    ts[3] = ts[2];
    CHECK_EQ_INT(apollo__vsrc_open_frames(rgb, N, W, H, 0, 0, 0, ts, &opts2, &src), APOLLO_E_INVALID_ARG);
    CHECK_EQ_INT(apollo__vsrc_open_frames(rgb, N, W, H, 0, 0, 0, NULL, &opts2, &src), APOLLO_E_INVALID_ARG);
    CHECK_EQ_INT(apollo__vsrc_open_frames(rgb, 0, W, H, 0, 0, 10, NULL, &opts2, &src), APOLLO_E_NO_VIDEO);
    CHECK_EQ_INT(apollo__vsrc_open_frames(rgb, N, 40000, H, 0, 0, 10, NULL, &opts2, &src), APOLLO_E_VIDEO);
    CHECK_EQ_INT(apollo__vsrc_open_frames(rgb, N, W, H, 10, 0, 10, NULL, &opts2, &src), APOLLO_E_INVALID_ARG);
    /* one frame: an image */
    CHECK(apollo__vsrc_open_frames(rgb, 1, W, H, 0, 0, 0, NULL, &opts2, &src) == APOLLO_OK);
    if (src) {
        CHECK(apollo__vsrc_meta(src)->is_image);
        CHECK_EQ_INT(apollo__vsrc_meta(src)->total_frames, 4);
    }
    apollo__vsrc_free(src);
    free(rgb);
}

/* ---- allocation failures ------------------------------------------------------------------- */

static void check_alloc_failures(void)
{
    uint64_t n;
    int n_nomem = 0, n_ok = 0, other = 0;
    apollo__vsrc *src = NULL;
    apollo__sample_plan plan;
    apollo__clip_iter *it = NULL;
    apollo__clip clip;

    /* count the allocations of open + plan + iterate */
    apollo__alloc_reset_count();
    CHECK(apollo__vsrc_open_file(CODECS "/h264_bframes.mp4", &opts2, &src) == APOLLO_OK);
    plan_for(apollo__vsrc_meta(src), &plan);
    CHECK(apollo__clip_iter_new(src, &plan, k_towers, 2, NULL, &it) == APOLLO_OK);
    while (it && apollo__clip_iter_next(it, &clip) == 1)
        ;
    n = apollo__alloc_count();
    apollo__clip_iter_free(it);
    apollo__sample_plan_free(&plan);
    apollo__vsrc_free(src);

    for (uint64_t k = 1; k <= n; k++) {
        int rc;
        src = NULL;
        it = NULL;
        memset(&plan, 0, sizeof plan);
        apollo__alloc_reset_count();
        apollo__alloc_fail_at(k);
        rc = apollo__vsrc_open_file(CODECS "/h264_bframes.mp4", &opts2, &src);
        if (!rc) {
            apollo__sample_params p;
            memset(&p, 0, sizeof p);
            p.total_frames = apollo__vsrc_meta(src)->total_frames;
            p.fps = apollo__vsrc_meta(src)->fps;
            p.clip_duration = 2;
            p.frames_per_clip = 4;
            p.model_max_length = 16384;
            p.tokens_per_clip = 128;
            rc = apollo__sample_plan_make(&p, &plan);
        }
        if (!rc)
            rc = apollo__clip_iter_new(src, &plan, k_towers, 2, NULL, &it);
        while (!rc && (rc = apollo__clip_iter_next(it, &clip)) == 1)
            rc = 0 * rc, rc = 0, rc = rc; /* keep going */
        apollo__alloc_fail_at(0);
        if (rc == APOLLO_E_NOMEM)
            n_nomem++;
        else if (rc == 0)
            n_ok++;
        else {
            other++;
            fprintf(stderr, "alloc failure %llu: rc %d %s\n", (unsigned long long)k, rc, apollo__errmsg());
        }
        apollo__clip_iter_free(it);
        apollo__sample_plan_free(&plan);
        apollo__vsrc_free(src);
    }
    printf("allocation failures: %llu allocations, %d failed with APOLLO_E_NOMEM, %d unaffected\n",
           (unsigned long long)n, n_nomem, n_ok);
    CHECK_EQ_INT(other, 0);
    CHECK(n_nomem >= 1);
}

int main(void)
{
    check_bad_inputs();
    check_truncated_faststart();
    check_corrupt_middle();
    check_codecs();
    printf("images:\n");
    check_image("image.png");
    check_image("image.jpg");
    check_image("image.webp");
    check_frames_source();
    check_alloc_failures();
    return test_finish("test_video_sources");
}
