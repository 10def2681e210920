/* Decoding and preprocessing against the reference fixtures (decord +
 * Pillow + OpenCV): metadata, sampled frame indices, decoded RGB frames
 * (SHA-256 of every sampled frame, pixel diff of frame 0), resized uint8
 * frames for both encoders (pixel diff, SHA-256), normalised tensors and
 * layouts; memory source == file source. */
#include "common/alloc.h"
#include "common/status.h"
#include "model/safetensors.h"
#include "testsha256.h"
#include "testutil.h"
#include "video/video.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

/* ---- helpers ---- */

static void diff_u8(const char *what, const uint8_t *a, const uint8_t *b, size_t n, int tol)
{
    int maxd = 0;
    double sum = 0;
    size_t n_off = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        if (d > maxd)
            maxd = d;
        sum += d;
        n_off += d != 0;
    }
    printf("  %-34s max diff %d, mean diff %.6f, %zu of %zu values differ\n", what, maxd, sum / (double)n,
           n_off, n);
    CHECK_MSG(maxd <= tol, "%s: max diff %d > %d", what, maxd, tol);
}

static apollo__video_tower_pp siglip_pp(void)
{
    apollo__video_tower_pp p = {APOLLO__VPP_SIGLIP, 384, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}};
    return p;
}

static apollo__video_tower_pp iv2_pp(void)
{
    apollo__video_tower_pp p = {APOLLO__VPP_INTERNVIDEO2, 224, {0.485, 0.456, 0.406},
                                {0.229, 0.224, 0.225}};
    return p;
}

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
    CHECK(apollo__sample_plan_make(&p, plan) == APOLLO_OK);
}

static void check_video(const char *name)
{
    char path[1024], hex[65];
    json_error_t jerr;
    json_t *meta;
    apollo__vsrc *src = NULL;
    apollo__vsrc_opts opts = {2, 0, 0};
    apollo__sample_plan plan;
    apollo__clip_iter *it = NULL;
    apollo__st_file *st = NULL;
    apollo__video_tower_pp towers[2] = {siglip_pp(), iv2_pp()};
    apollo__clip clip;
    int rc, n_dec_ok = 0, n_sig_ok = 0, n_iv_ok = 0, n_frames = 0;

    printf("%s\n", name);
    snprintf(path, sizeof path, "%s/reference/%s/meta.json", APOLLO_TEST_FIXTURES, name);
    meta = json_load_file(path, 0, &jerr);
    CHECK_MSG(meta != NULL, "%s: %s", path, jerr.text);
    if (!meta)
        return;
    snprintf(path, sizeof path, "%s/%s", APOLLO_TEST_FIXTURES,
             json_string_value(json_object_get(meta, "file")));
    rc = apollo__vsrc_open_file(path, &opts, &src);
    CHECK_MSG(rc == APOLLO_OK, "open %s: %d %s", path, rc, apollo__errmsg());
    if (rc) {
        json_decref(meta);
        return;
    }
    {
        const apollo__video_meta *m = apollo__vsrc_meta(src);
        json_t *shape = json_object_get(meta, "frame_shape");
        CHECK_EQ_INT(m->total_frames, json_integer_value(json_object_get(meta, "total_frames")));
        CHECK_MSG(m->fps == json_number_value(json_object_get(meta, "fps")), "fps %.17g", m->fps);
        CHECK_MSG(m->duration == json_number_value(json_object_get(meta, "duration")), "duration %.17g",
                  m->duration);
        CHECK_EQ_INT(m->height, json_integer_value(json_array_get(shape, 0)));
        CHECK_EQ_INT(m->width, json_integer_value(json_array_get(shape, 1)));
        printf("  meta: %lld frames, %.6f fps, %dx%d, codec %s, pix_fmt %s, container %s\n",
               (long long)m->total_frames, m->fps, m->width, m->height, m->codec, m->pix_fmt,
               m->container);
        plan_for(m, &plan);
    }
    snprintf(path, sizeof path, "%s/reference/%s/pixels.safetensors", APOLLO_TEST_FIXTURES, name);
    CHECK(apollo__st_open(path, name, &st) == APOLLO_OK);

    rc = apollo__clip_iter_new(src, &plan, towers, 2, NULL, &it);
    CHECK_MSG(rc == APOLLO_OK, "iter: %s", apollo__errmsg());
    while (it && (rc = apollo__clip_iter_next(it, &clip)) == 1) {
        json_t *idx = json_array_get(json_object_get(meta, "clip_indices"), (size_t)clip.index);
        for (int32_t k = 0; k < clip.n_frames; k++) {
            int32_t f = clip.index * 4 + k;
            const char *want_dec = json_string_value(json_array_get(json_object_get(meta, "sha256_decoded"), (size_t)f));
            const char *want_sig = json_string_value(json_array_get(json_object_get(meta, "sha256_siglip_resized"), (size_t)f));
            const char *want_iv = json_string_value(json_array_get(json_object_get(meta, "sha256_iv2_resized"), (size_t)f));
            uint8_t *sig = apollo__malloc(384 * 384 * 3), *iv = apollo__malloc(224 * 224 * 3);
            CHECK_EQ_INT(clip.frame_indices[k], json_integer_value(json_array_get(idx, (size_t)k)));
            sha_rgb(clip.rgb[k], clip.width, clip.height, (size_t)clip.rgb_stride, hex);
            n_dec_ok += want_dec && !strcmp(hex, want_dec);
            CHECK(apollo__preprocess_frame_u8(&towers[0], clip.rgb[k], clip.width, clip.height,
                                              (size_t)clip.rgb_stride, sig, NULL, NULL) == APOLLO_OK);
            CHECK(apollo__preprocess_frame_u8(&towers[1], clip.rgb[k], clip.width, clip.height,
                                              (size_t)clip.rgb_stride, iv, NULL, NULL) == APOLLO_OK);
            sha_rgb(sig, 384, 384, 384 * 3, hex);
            n_sig_ok += want_sig && !strcmp(hex, want_sig);
            sha_rgb(iv, 224, 224, 224 * 3, hex);
            n_iv_ok += want_iv && !strcmp(hex, want_iv);
            if (f == 0) {
                const apollo__st_entry *e;
                uint8_t *packed = apollo__malloc((size_t)clip.width * clip.height * 3);
                for (int32_t y = 0; y < clip.height; y++)
                    memcpy(packed + (size_t)y * clip.width * 3, clip.rgb[0] + (size_t)y * clip.rgb_stride,
                           (size_t)clip.width * 3);
                if ((e = apollo__st_find(st, "decoded_f0")))
                    diff_u8("decoded frame 0 vs decord", packed, e->data,
                            (size_t)clip.width * clip.height * 3, 0);
                if ((e = apollo__st_find(st, "iv2_resized_f0")))
                    diff_u8("InternVideo2 224 vs OpenCV", iv, e->data, 224 * 224 * 3, 1);
                if ((e = apollo__st_find(st, "siglip_resized_f0")))
                    diff_u8("SigLIP 384 vs Pillow", sig, e->data, 384 * 384 * 3, 1);
                /* normalised tensors: layouts and values from the u8 */
                for (int c = 0; c < 3; c++) {
                    float want_s = (float)((float)((double)sig[c] * (1.0 / 255)) - 0.5f) / 0.5f;
                    float want_i = ((float)iv[c] / 255.0f - (float)towers[1].mean[c]) / (float)towers[1].std[c];
                    /* SigLIP (T,3,S,S): frame 0 plane c; IV2 (3,T,S,S): plane c, frame 0 */
                    CHECK(clip.pixels[0][(size_t)c * 384 * 384] == want_s);
                    CHECK(clip.pixels[1][(size_t)c * 4 * 224 * 224] == want_i);
                }
                CHECK_EQ_INT(clip.shape[0][0], 4);
                CHECK_EQ_INT(clip.shape[0][1], 3);
                CHECK_EQ_INT(clip.shape[1][0], 3);
                CHECK_EQ_INT(clip.shape[1][1], 4);
                apollo__free(packed);
            }
            apollo__free(sig);
            apollo__free(iv);
            n_frames++;
        }
    }
    CHECK_EQ_INT(rc, 0);
    printf("  %d sampled frames: %d decoded, %d SigLIP-resized, %d IV2-resized bit-identical to the "
           "reference (SHA-256)\n",
           n_frames, n_dec_ok, n_sig_ok, n_iv_ok);
    CHECK_EQ_INT(n_frames, 12);
    CHECK_EQ_INT(n_dec_ok, n_frames);
    {
        apollo__vsrc_stats s;
        apollo__vsrc_get_stats(src, &s);
        printf("  decode stats: %lld packets, %lld frames decoded, %lld converted, %lld seeks, %lld "
               "substituted\n",
               (long long)s.n_packets_read, (long long)s.n_frames_decoded,
               (long long)s.n_frames_converted, (long long)s.n_seeks, (long long)s.n_substituted);
        CHECK_EQ_INT(s.n_substituted, 0);
    }
    apollo__clip_iter_free(it);
    apollo__sample_plan_free(&plan);
    apollo__st_close(st);
    apollo__vsrc_free(src);
    json_decref(meta);
}

/* The memory source gives the same frames as the file source. */
static void check_memory_equals_file(const char *file)
{
    char path[1024];
    FILE *f;
    long size;
    uint8_t *data;
    apollo__vsrc *a = NULL, *b = NULL;
    apollo__vsrc_opts opts = {1, 0, 0};
    int64_t all[256];
    int64_t n;

    snprintf(path, sizeof path, "%s/videos/%s", APOLLO_TEST_FIXTURES, file);
    f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc((size_t)size);
    CHECK(fread(data, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    CHECK(apollo__vsrc_open_file(path, &opts, &a) == APOLLO_OK);
    CHECK(apollo__vsrc_open_memory(data, (size_t)size, 1, &opts, &b) == APOLLO_OK);
    free(data); /* copied */
    if (a && b) {
        const apollo__video_meta *ma = apollo__vsrc_meta(a), *mb = apollo__vsrc_meta(b);
        int same = 1;
        CHECK_EQ_INT(ma->total_frames, mb->total_frames);
        CHECK(ma->fps == mb->fps);
        n = ma->total_frames < 256 ? ma->total_frames : 256;
        for (int64_t i = 0; i < n; i++)
            all[i] = i;
        CHECK(apollo__vsrc_set_targets(a, all, n) == APOLLO_OK);
        CHECK(apollo__vsrc_set_targets(b, all, n) == APOLLO_OK);
        for (int64_t i = 0; i < n; i++) {
            int64_t ia, ib;
            const uint8_t *ra, *rb;
            int32_t sa, sb;
            CHECK(apollo__vsrc_next(a, &ia, &ra, &sa) == 1);
            CHECK(apollo__vsrc_next(b, &ib, &rb, &sb) == 1);
            for (int32_t y = 0; y < ma->height && same; y++)
                same = !memcmp(ra + (size_t)y * sa, rb + (size_t)y * sb, (size_t)ma->width * 3);
        }
        CHECK_MSG(same, "%s: memory source differs from file source", file);
        printf("memory source == file source for %s (%lld frames)\n", file, (long long)n);
    }
    apollo__vsrc_free(a);
    apollo__vsrc_free(b);
}

/* Sparse targets (seeking) give the same pixels as decoding everything. */
static void check_seek_consistency(const char *file)
{
    char path[1024], h1[65], h2[65];
    apollo__vsrc *a = NULL;
    apollo__vsrc_opts opts = {2, 0, 0};
    int64_t sparse[] = {3, 40, 41, 97, 130};
    int ok = 1;
    snprintf(path, sizeof path, "%s/videos/%s", APOLLO_TEST_FIXTURES, file);
    CHECK(apollo__vsrc_open_file(path, &opts, &a) == APOLLO_OK);
    if (!a)
        return;
    for (size_t i = 0; i < sizeof sparse / sizeof sparse[0]; i++) {
        int64_t idx, one = sparse[i];
        const uint8_t *rgb;
        int32_t stride;
        const apollo__video_meta *m = apollo__vsrc_meta(a);
        if (one >= m->total_frames)
            continue;
        /* decode alone (fresh targets -> rewind + seek) */
        CHECK(apollo__vsrc_set_targets(a, &one, 1) == APOLLO_OK);
        CHECK(apollo__vsrc_next(a, &idx, &rgb, &stride) == 1);
        sha_rgb(rgb, m->width, m->height, (size_t)stride, h1);
        /* decode sequentially from 0 */
        {
            int64_t *all = malloc((size_t)(one + 1) * sizeof *all);
            for (int64_t k = 0; k <= one; k++)
                all[k] = k;
            CHECK(apollo__vsrc_set_targets(a, all, one + 1) == APOLLO_OK);
            for (int64_t k = 0; k <= one; k++)
                CHECK(apollo__vsrc_next(a, &idx, &rgb, &stride) == 1);
            free(all);
        }
        sha_rgb(rgb, m->width, m->height, (size_t)stride, h2);
        ok &= !strcmp(h1, h2);
    }
    CHECK_MSG(ok, "%s: seeking gives different frames", file);
    apollo__vsrc_free(a);
}

int main(void)
{
    check_video("video-cfr");
    check_video("video-vfr");
    check_memory_equals_file("cfr_161x97_2997.mp4");
    check_memory_equals_file("vfr_400x226.mp4");
    check_seek_consistency("cfr_161x97_2997.mp4");
    return test_finish("test_video_decode");
}
