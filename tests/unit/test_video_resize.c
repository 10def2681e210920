/* The two preprocessing resizes on full-size frames:
 *   1. against Pillow / OpenCV (tests/fixtures/reference/resize, written by
 *      tools/reference/resize_reference.py): 720p, 1080p, portrait and odd
 *      frames padded and resized to 384 / 224, compared by SHA-256 of the
 *      uint8 result, with both the SIMD and the scalar kernels;
 *   2. SIMD == scalar on random images of many sizes (up- and downscales,
 *      widths that end inside a 16-byte load, 1-pixel images), padded and
 *      not. */
#include "common/alloc.h"
#include "testsha256.h"
#include "testutil.h"
#include "video/video.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

/* resize_reference.py: frame() */
static uint8_t *make_frame(int32_t w, int32_t h, uint32_t seed)
{
    uint8_t *f = malloc((size_t)w * h * 3);
    uint32_t s = seed;
    if (!f)
        return NULL;
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                s = s * 1103515245u + 12345u;
                f[((size_t)y * w + x) * 3 + c] = (uint8_t)((x * 7 + y * 13 + c * 50 + (s >> 26)) & 255);
            }
    return f;
}

static void fill_of(const char *kind, uint8_t fill[3])
{
    /* int(mean * 255) of each processor (apollo-model.md §2.7) */
    static const double siglip[3] = {0.5, 0.5, 0.5}, iv2[3] = {0.485, 0.456, 0.406};
    const double *m = !strcmp(kind, "siglip") ? siglip : iv2;
    for (int c = 0; c < 3; c++)
        fill[c] = (uint8_t)(int)(m[c] * 255);
}

static int resize(const char *kind, const uint8_t *f, int32_t w, int32_t h, size_t stride,
                  uint8_t *out, int32_t S)
{
    uint8_t fill[3];
    fill_of(kind, fill);
    if (!strcmp(kind, "siglip"))
        return apollo__resize_pillow_bicubic_padded(f, w, h, stride, fill, out, S);
    return apollo__resize_cv_linear_padded(f, w, h, stride, fill, out, S);
}

static void check_reference(void)
{
    json_error_t err;
    json_t *root = json_load_file(APOLLO_TEST_FIXTURES "/reference/resize/large_frames.json", 0, &err);
    size_t i;
    json_t *c;
    CHECK_MSG(root != NULL, "cannot read the resize fixture: %s", err.text);
    if (!root)
        return;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        int32_t w = (int32_t)json_integer_value(json_object_get(c, "width"));
        int32_t h = (int32_t)json_integer_value(json_object_get(c, "height"));
        int32_t S = (int32_t)json_integer_value(json_object_get(c, "size"));
        const char *kind = json_string_value(json_object_get(c, "kind"));
        const char *want = json_string_value(json_object_get(c, "sha256"));
        uint8_t *f = make_frame(w, h, (uint32_t)json_integer_value(json_object_get(c, "seed")));
        uint8_t *out = malloc((size_t)S * S * 3);
        CHECK(f && out && kind && want);
        if (f && out && kind && want) {
            for (int scalar = 0; scalar < 2; scalar++) {
                char got[65];
                sha256_ctx sc;
                apollo__resize_disable_simd(scalar);
                CHECK_EQ_INT(resize(kind, f, w, h, (size_t)w * 3, out, S), 0);
                sha_init(&sc);
                sha_update(&sc, out, (size_t)S * S * 3);
                sha_hex(&sc, got);
                printf("  %4dx%-4d -> %3d %-12s %-6s %s\n", w, h, S, kind, scalar ? "scalar" : "simd",
                       strcmp(got, want) ? "DIFFERS from the reference" : "identical to the reference");
                CHECK_MSG(!strcmp(got, want), "%dx%d %s (%s): sha256 %s, reference %s", w, h, kind,
                          scalar ? "scalar" : "simd", got, want);
            }
            apollo__resize_disable_simd(0);
        }
        free(f);
        free(out);
    }
    json_decref(root);
}

static void check_simd_equals_scalar(void)
{
    static const int32_t sizes[][2] = {{1, 1},     {2, 3},    {5, 4},     {7, 16},   {17, 9},
                                       {97, 161},  {161, 97}, {383, 384}, {384, 384}, {385, 200},
                                       {400, 226}, {641, 359}, {1279, 721}, {2001, 37}, {37, 2001}};
    static const int32_t outs[] = {384, 224, 5, 64};
    uint32_t rng = 7;
    int32_t n_cmp = 0, n_diff = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int32_t w = sizes[i][0], h = sizes[i][1];
        size_t stride = (size_t)w * 3 + (i % 3) * 5; /* padded rows too */
        uint8_t *f = malloc(stride * h);
        for (size_t b = 0; f && b < stride * h; b++) {
            rng = rng * 1664525u + 1013904223u;
            f[b] = (uint8_t)(rng >> 24);
        }
        for (size_t o = 0; f && o < sizeof outs / sizeof outs[0]; o++) {
            int32_t S = outs[o];
            uint8_t *a = malloc((size_t)S * S * 3), *b = malloc((size_t)S * S * 3);
            uint8_t *c = malloc((size_t)S * h * 3), *d = malloc((size_t)S * h * 3);
            if (a && b && c && d) {
                /* padded square (the preprocessing) and a plain w x h -> S x h resize */
                apollo__resize_disable_simd(0);
                CHECK_EQ_INT(resize("siglip", f, w, h, stride, a, S), 0);
                CHECK_EQ_INT(apollo__resize_pillow_bicubic(f, w, h, stride, c, S, h), 0);
                apollo__resize_disable_simd(1);
                CHECK_EQ_INT(resize("siglip", f, w, h, stride, b, S), 0);
                CHECK_EQ_INT(apollo__resize_pillow_bicubic(f, w, h, stride, d, S, h), 0);
                apollo__resize_disable_simd(0);
                n_cmp += 2;
                if (memcmp(a, b, (size_t)S * S * 3))
                    n_diff++;
                if (memcmp(c, d, (size_t)S * h * 3))
                    n_diff++;
                CHECK_MSG(!memcmp(a, b, (size_t)S * S * 3), "%dx%d -> %d padded: simd != scalar", w, h, S);
                CHECK_MSG(!memcmp(c, d, (size_t)S * h * 3), "%dx%d -> %dx%d: simd != scalar", w, h, S, h);
            }
            free(a), free(b), free(c), free(d);
        }
        free(f);
    }
    printf("  simd vs scalar: %d of %d random resizes differ\n", n_diff, n_cmp);
}

int main(void)
{
    check_reference();
    check_simd_equals_scalar();
    return test_finish("test_video_resize");
}
