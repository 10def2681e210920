/* The vision side (SigLIP, InternVideo2, fusion, projection, Perceiver
 * resampler) against the fp32 PyTorch fixtures of tools/reference, on both
 * tiny checkpoints and both videos.  Every stage is fed the reference's own
 * input for that stage, so errors do not compound, and the whole clip
 * pipeline runs end to end as well; each must be within 1e-4 relative
 * (max-abs error / max-abs of the reference).
 *
 * The encoders' inputs are the resized uint8 frames of each clip,
 * normalised here exactly as the reference does.  They are read from
 * reference/<video>/pixels.safetensors (tensors siglip_resized_clip<c>
 * [4,384,384,3] and iv2_resized_clip<c> [4,224,224,3], U8, RGB); the
 * environment variable APOLLO_TEST_VISION_PIXELS can name another folder
 * laid out the same way.  Without them the encoder stages are skipped
 * (reported, not failed). */
#include "apollo.h"
#include "backend.h"
#ifdef APOLLO_HAVE_ONEDNN
#include "onednn/onednn_hooks.h"
#endif
#include "common/alloc.h"
#include "common/status.h"
#include "fixture.h"
#include "model/model.h"
#include "nn/connector.h"
#include "nn/internvideo2.h"
#include "nn/siglip.h"
#include "nn/vision_encode.h"
#include "nn/vision_fusion.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>

#define TOL 1e-4

static int n_skipped;

static void check_stage(const char *what, const float *got, const float *ref, size_t n)
{
    double err = test_rel_err(got, ref, n);
    printf("    %-44s rel err %.3e\n", what, err);
    CHECK_MSG(err <= TOL, "%s: relative error %.3e > %.0e", what, err, TOL);
}

/* ---- pixels ------------------------------------------------------------------ */

static apollo__st_file *open_pixels(const char *video)
{
    const char *dir = getenv("APOLLO_TEST_VISION_PIXELS");
    char path[2048];
    apollo__st_file *f = NULL;
    snprintf(path, sizeof path, "%s/%s/pixels.safetensors",
             dir && *dir ? dir : APOLLO_TEST_FIXTURES "/reference", video);
    if (apollo__st_open(path, path, &f) != 0)
        return NULL;
    return f;
}

/* (F, S, S, 3) uint8 -> SigLIP (F, 3, S, S): x*(1/255) in double, to float,
 * then (x - mean) / std in float32 (reference.py siglip_normalize). */
static float *siglip_pixels(const apollo__st_entry *e, const apollo__tower_config *c)
{
    const int64_t F = e->shape[0], S = e->shape[1];
    const uint8_t *u = e->data;
    float *px = malloc((size_t)(F * 3 * S * S) * sizeof(float));
    for (int64_t f = 0; f < F; f++)
        for (int64_t y = 0; y < S; y++)
            for (int64_t x = 0; x < S; x++)
                for (int64_t ch = 0; ch < 3; ch++) {
                    float v = (float)((double)u[((f * S + y) * S + x) * 3 + ch] * (1.0 / 255));
                    px[((f * 3 + ch) * S + y) * S + x] =
                        (v - (float)c->image_mean[ch]) / (float)c->image_std[ch];
                }
    return px;
}

/* (F, S, S, 3) uint8 -> InternVideo2 (3, F, S, S): float(x) / 255, then
 * (x - mean) / std, all float32 (reference.py iv2_normalize). */
static float *iv2_pixels(const apollo__st_entry *e, const apollo__tower_config *c)
{
    const int64_t F = e->shape[0], S = e->shape[1];
    const uint8_t *u = e->data;
    float *px = malloc((size_t)(F * 3 * S * S) * sizeof(float));
    for (int64_t f = 0; f < F; f++)
        for (int64_t y = 0; y < S; y++)
            for (int64_t x = 0; x < S; x++)
                for (int64_t ch = 0; ch < 3; ch++) {
                    float v = (float)u[((f * S + y) * S + x) * 3 + ch] / 255.0f;
                    px[((ch * F + f) * S + y) * S + x] =
                        (v - (float)c->image_mean[ch]) / (float)c->image_std[ch];
                }
    return px;
}

/* ---- end-to-end capture ----------------------------------------------------------- */

typedef struct capture {
    float *stage[4][4]; /* [stage][tower] copies */
    int64_t rows[4][4], cols[4][4];
} capture;

static void on_stage(void *ud, int32_t stage, int32_t tower, const float *x, int64_t rows,
                     int64_t cols)
{
    capture *c = ud;
    int32_t t = tower < 0 ? 0 : tower;
    free(c->stage[stage][t]);
    c->stage[stage][t] = malloc((size_t)(rows * cols) * sizeof(float));
    memcpy(c->stage[stage][t], x, (size_t)(rows * cols) * sizeof(float));
    c->rows[stage][t] = rows;
    c->cols[stage][t] = cols;
}

static void capture_free(capture *c)
{
    for (int s = 0; s < 4; s++)
        for (int t = 0; t < 4; t++)
            free(c->stage[s][t]);
    memset(c, 0, sizeof *c);
}

static int abort_after;
static int abort_polls;
static int abort_hook(void *ud)
{
    (void)ud;
    return ++abort_polls > abort_after;
}

/* ---- one variant, one video ---------------------------------------------------------- */

static const apollo__tower *tower_of(const apollo__model *m, int kind, int32_t *index)
{
    for (int32_t i = 0; i < m->n_towers; i++)
        if (m->towers[i].cfg.kind == kind) {
            *index = i;
            return &m->towers[i];
        }
    return NULL;
}

/* all_clips: run every clip end to end (else clip 0 only) and the
 * cancellation checks; the second backend skips them to keep the test short. */
static void run_video(const apollo__model *m, apollo__backend *be, const char *variant,
                      const char *video, int all_clips)
{
    char rel[512], name[64];
    apollo__st_file *f, *pf;
    apollo__vision_geom g;
    const apollo__tower *sg, *iv;
    int32_t si = -1, ii = -1;
    float *ref_sig = NULL, *ref_iv2 = NULL, *ref_fused = NULL, *ref_proj = NULL, *ref_conn;
    size_t n_sig = 0, n_iv2 = 0, n_fused = 0, n_proj = 0, n_conn = 0;
    int64_t D, n_lat, n_clips;

    printf("  %s / %s\n", variant, video);
    snprintf(rel, sizeof rel, "reference/%s/%s/tensors.safetensors", variant, video);
    f = fixture_open(rel);
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK_EQ_INT(apollo__vision_geometry(m, &g), APOLLO_OK);
    sg = tower_of(m, APOLLO__TOWER_SIGLIP, &si);
    iv = tower_of(m, APOLLO__TOWER_INTERNVIDEO2, &ii);
    CHECK(sg && iv && si == 0 && ii == 1);
    if (!sg || !iv) {
        apollo__st_close(f);
        return;
    }
    D = g.out_dim;
    n_lat = g.n_latents;
    ref_conn = fixture_f32(f, "connector", &n_conn);
    CHECK(ref_conn && n_conn % (size_t)(n_lat * D) == 0);
    n_clips = ref_conn ? (int64_t)(n_conn / (size_t)(n_lat * D)) : 0;
    if (fixture_entry(f, "siglip_selected_clip0")) {
        ref_sig = fixture_f32(f, "siglip_selected_clip0", &n_sig);
        ref_iv2 = fixture_f32(f, "iv2_selected_clip0", &n_iv2);
        ref_proj = fixture_f32(f, "projector_clip0", &n_proj);
        CHECK_EQ_INT(n_sig, g.grid[0] * g.grid[1] * g.grid[2] * sg->cfg.hidden_size);
        CHECK_EQ_INT(n_iv2, (apollo__iv2_n_tokens(&iv->cfg) - 1) * iv->cfg.hidden_size);
        CHECK_EQ_INT(n_proj, g.n_tokens * D);
    }
    if (fixture_entry(f, "fused_clip0_t0"))
        ref_fused = fixture_f32(f, "fused_clip0_t0", &n_fused);

    /* Fusion and projection, fed the reference's tower outputs. */
    if (ref_sig && ref_iv2 && ref_proj) {
        const int64_t side = apollo__iv2_side(&iv->cfg);
        apollo__vision_grid vg[2] = {
            {ref_sig, {g.grid[0], g.grid[1], g.grid[2]}, sg->cfg.hidden_size},
            {ref_iv2, {apollo__iv2_t_slots(&iv->cfg), side, side}, iv->cfg.hidden_size},
        };
        float *fused = malloc((size_t)(g.n_tokens * g.fused_width) * sizeof(float));
        float *proj = malloc((size_t)(g.n_tokens * D) * sizeof(float));
        CHECK_EQ_INT(apollo__vision_fuse(vg, 2, g.grid, fused), APOLLO_OK);
        if (ref_fused) {
            CHECK_EQ_INT(n_fused, g.grid[1] * g.grid[2] * g.fused_width);
            check_stage("fusion (ref towers) vs fused_clip0_t0", fused, ref_fused, n_fused);
        }
        CHECK_EQ_INT(apollo__connector_project(&m->conn, be, fused, g.n_tokens, proj), APOLLO_OK);
        check_stage("fusion+projector (ref towers) vs projector", proj, ref_proj, n_proj);
        if (ref_fused) {
            int64_t rows = (int64_t)n_fused / g.fused_width;
            CHECK_EQ_INT(apollo__connector_project(&m->conn, be, ref_fused, rows, proj),
                         APOLLO_OK);
            check_stage("projector (ref fused t0) vs projector t0", proj, ref_proj,
                        (size_t)(rows * D));
        }
        free(fused);
        free(proj);
    }

    /* Resampler, fed the reference's projector output. */
    if (ref_proj && ref_conn) {
        float *out = malloc((size_t)(n_lat * D) * sizeof(float));
        CHECK_EQ_INT(apollo__connector_resample(&m->conn, be, ref_proj, g.n_tokens, out, NULL,
                                                NULL),
                     APOLLO_OK);
        check_stage("resampler (ref projector) vs connector[0]", out, ref_conn,
                    (size_t)(n_lat * D));
        free(out);
    }

    /* Encoders and the whole clip from pixels. */
    pf = open_pixels(video);
    if (!pf) {
        printf("    SKIPPED encoder and end-to-end stages: no %s/pixels.safetensors with "
               "siglip_resized_clip<c> / iv2_resized_clip<c>\n", video);
        n_skipped++;
    }
    for (int64_t c = 0; pf && c < (all_clips ? n_clips : 1); c++) {
        const apollo__st_entry *es, *ei;
        float *spx, *ipx, *out;
        capture cap;
        apollo__vision_hooks hooks;
        char what[96];
        int rc;
        snprintf(name, sizeof name, "siglip_resized_clip%lld", (long long)c);
        es = apollo__st_find(pf, name);
        snprintf(name, sizeof name, "iv2_resized_clip%lld", (long long)c);
        ei = apollo__st_find(pf, name);
        if (!es || !ei) {
            if (c == 0) {
                printf("    SKIPPED encoder and end-to-end stages: %s lacks clip 0 pixels\n",
                       video);
                n_skipped++;
            }
            break;
        }
        {
            int ok_s = es->dtype == APOLLO__DT_U8 && es->n_dims == 4 &&
                       es->shape[0] == g.n_frames && es->shape[1] == g.siglip_size &&
                       es->shape[2] == g.siglip_size && es->shape[3] == 3;
            int ok_i = ei->dtype == APOLLO__DT_U8 && ei->n_dims == 4 &&
                       ei->shape[0] == g.n_frames && ei->shape[1] == g.iv2_size &&
                       ei->shape[2] == g.iv2_size && ei->shape[3] == 3;
            CHECK_MSG(ok_s && ok_i, "%s clip %lld: pixel tensors have unexpected shapes", video,
                      (long long)c);
            if (!ok_s || !ok_i)
                break;
        }
        spx = siglip_pixels(es, &sg->cfg);
        ipx = iv2_pixels(ei, &iv->cfg);

        /* Each tower on its own, fed the reference pixels. */
        if (c == 0 && ref_sig && ref_iv2) {
            float *sout = malloc(n_sig * sizeof(float));
            float *iout = malloc((size_t)(apollo__iv2_n_tokens(&iv->cfg) * iv->cfg.hidden_size) *
                                 sizeof(float));
            rc = apollo__siglip_forward(sg, be, spx, g.n_frames, sout, NULL, NULL);
            CHECK_MSG(rc == APOLLO_OK, "siglip: %d %s", rc, apollo__errmsg());
            check_stage("siglip (ref pixels) vs siglip_selected", sout, ref_sig, n_sig);
            rc = apollo__iv2_forward(iv, be, ipx, iout, NULL, NULL);
            CHECK_MSG(rc == APOLLO_OK, "internvideo2: %d %s", rc, apollo__errmsg());
            check_stage("internvideo2 (ref pixels) vs iv2_selected", iout + iv->cfg.hidden_size,
                        ref_iv2, n_iv2);
            free(sout);
            free(iout);
        }

        /* The whole clip. */
        memset(&cap, 0, sizeof cap);
        memset(&hooks, 0, sizeof hooks);
        hooks.on_stage = on_stage;
        hooks.user_data = &cap;
        out = malloc((size_t)(n_lat * D) * sizeof(float));
        rc = apollo__vision_encode_clip(m, be, spx, ipx, out, &hooks);
        CHECK_MSG(rc == APOLLO_OK, "encode_clip: %d %s", rc, apollo__errmsg());
        if (rc == APOLLO_OK && c == 0 && ref_sig) {
            CHECK_EQ_INT(cap.rows[APOLLO__VSTAGE_TOWER][si] * cap.cols[APOLLO__VSTAGE_TOWER][si],
                         n_sig);
            CHECK_EQ_INT(cap.rows[APOLLO__VSTAGE_TOWER][ii] * cap.cols[APOLLO__VSTAGE_TOWER][ii],
                         n_iv2);
            {
                check_stage("end-to-end clip 0: siglip", cap.stage[APOLLO__VSTAGE_TOWER][si],
                            ref_sig, n_sig);
                check_stage("end-to-end clip 0: internvideo2",
                            cap.stage[APOLLO__VSTAGE_TOWER][ii], ref_iv2, n_iv2);
                if (ref_fused)
                    check_stage("end-to-end clip 0: fused t0", cap.stage[APOLLO__VSTAGE_FUSED][0],
                                ref_fused, n_fused);
                check_stage("end-to-end clip 0: projector", cap.stage[APOLLO__VSTAGE_PROJ][0],
                            ref_proj, n_proj);
            }
        }
        snprintf(what, sizeof what, "end-to-end clip %lld: connector", (long long)c);
        check_stage(what, out, ref_conn + c * n_lat * D, (size_t)(n_lat * D));
        CHECK(cap.stage[APOLLO__VSTAGE_OUT][0] &&
              memcmp(cap.stage[APOLLO__VSTAGE_OUT][0], out, (size_t)(n_lat * D) * sizeof(float)) == 0);

        /* Cancellation: count the polls of a full run, then abort at the
         * first, a middle and the last one. */
        if (c == 0 && all_clips) {
            int64_t polls;
            memset(&hooks, 0, sizeof hooks);
            hooks.should_abort = abort_hook;
            abort_after = 1 << 30;
            abort_polls = 0;
            CHECK_EQ_INT(apollo__vision_encode_clip(m, be, spx, ipx, out, &hooks), APOLLO_OK);
            polls = abort_polls;
            CHECK(polls >= 5);
            for (int k = 0; k < 3; k++) {
                abort_after = k == 0 ? 0 : k == 1 ? (int)(polls / 2) : (int)(polls - 1);
                abort_polls = 0;
                CHECK_EQ_INT(apollo__vision_encode_clip(m, be, spx, ipx, out, &hooks),
                             APOLLO_E_CANCELLED);
            }
        }

        /* Allocation failures (a sample of positions: the attention kernel
         * allocates per task, so a full sweep would be long): each must
         * fail cleanly with APOLLO_E_NOMEM. */
        if (c == 0 && all_clips && strcmp(variant, "tiny-tied") == 0 &&
            strcmp(video, "video-cfr") == 0) {
            uint64_t n_alloc, stride, n_tried = 0, n_nomem = 0;
            apollo__alloc_reset_count();
            CHECK_EQ_INT(apollo__vision_encode_clip(m, be, spx, ipx, out, NULL), APOLLO_OK);
            n_alloc = apollo__alloc_count();
            stride = n_alloc / 10 + 1;
            for (uint64_t k = 1; k <= n_alloc; k += k < 6 ? 1 : stride) {
                apollo__alloc_fail_at(k);
                rc = apollo__vision_encode_clip(m, be, spx, ipx, out, NULL);
                apollo__alloc_fail_at(0);
                n_tried++;
                n_nomem += rc == APOLLO_E_NOMEM;
                CHECK_MSG(rc == APOLLO_E_NOMEM, "failing allocation %llu of %llu: rc %d",
                          (unsigned long long)k, (unsigned long long)n_alloc, rc);
            }
            printf("    allocation failures: %llu of %llu positions tried, all NOMEM: %s\n",
                   (unsigned long long)n_tried, (unsigned long long)n_alloc,
                   n_nomem == n_tried ? "yes" : "no");
        }
        capture_free(&cap);
        free(out);
        free(spx);
        free(ipx);
    }
    if (pf)
        apollo__st_close(pf);
    free(ref_sig);
    free(ref_iv2);
    free(ref_fused);
    free(ref_proj);
    free(ref_conn);
    apollo__st_close(f);
}

static void run_variant(const char *variant, int32_t backend_kind)
{
    char dir[1024];
    apollo__model *m = NULL;
    apollo__backend *be = NULL;
    snprintf(dir, sizeof dir, "%s/models/%s", APOLLO_TEST_FIXTURES, variant);
    CHECK_EQ_INT(apollo__model_load(dir, &m), APOLLO_OK);
    CHECK_EQ_INT(apollo__backend_create(backend_kind, 2, &be), APOLLO_OK);
#ifdef APOLLO_HAVE_ONEDNN
    /* oneDNN's own f32 arithmetic, also where it would leave f32 to the CPU kernels */
    apollo__onednn_set_debug(be, APOLLO__ONEDNN_FORCE_F32);
#endif
    if (m && be) {
        printf("%s (backend %s, select layer %lld)\n", variant, be->vt->name,
               (long long)m->select_layer);
        run_video(m, be, variant, "video-cfr", backend_kind == APOLLO_BACKEND_CPU);
        run_video(m, be, variant, "video-vfr", backend_kind == APOLLO_BACKEND_CPU);
    }
    apollo__backend_free(be);
    apollo__model_free(m);
}

/* Trilinear resize against values worked out by hand from PyTorch's rule
 * (align_corners=False, src = max((dst + 0.5) * in/out - 0.5, 0)). */
static void test_trilinear_rule(void)
{
    /* 1-D along W: in 2 -> out 4: src = -0.25, 0.25, 0.75, 1.25 ->
     * (0,w1=0) (0,.25) (0,.75) (1,i1=1). */
    const float src[2] = {1.0f, 3.0f};
    float dst[4];
    const float expect[4] = {1.0f, 1.5f, 2.5f, 3.0f};
    /* time axis 2 -> 3 over a 1x1 grid with 2 channels: scale 2/3,
     * src = -1/6 (->0), 0.5, 7/6 (i0 1, clamp i1 1). */
    const float tsrc[4] = {0.0f, 10.0f, 6.0f, 20.0f};
    float tdst[6];
    apollo__trilinear_resize(src, 1, 1, 2, 1, dst, 1, 1, 4, 1);
    for (int i = 0; i < 4; i++)
        CHECK_MSG(fabsf(dst[i] - expect[i]) < 1e-6f, "trilinear W[%d] = %g, expected %g", i,
                  (double)dst[i], (double)expect[i]);
    apollo__trilinear_resize(tsrc, 2, 1, 1, 2, tdst, 3, 1, 1, 2);
    CHECK(fabsf(tdst[0] - 0.0f) < 1e-6f && fabsf(tdst[1] - 10.0f) < 1e-6f);
    CHECK(fabsf(tdst[2] - 3.0f) < 1e-6f && fabsf(tdst[3] - 15.0f) < 1e-6f);
    CHECK(fabsf(tdst[4] - 6.0f) < 1e-6f && fabsf(tdst[5] - 20.0f) < 1e-6f);
}

int main(void)
{
    test_trilinear_rule();
    run_variant("tiny-tied", APOLLO_BACKEND_CPU);
    run_variant("tiny-sharded", APOLLO_BACKEND_CPU);
#ifdef APOLLO_HAVE_ONEDNN
    run_variant("tiny-tied", APOLLO_BACKEND_ONEDNN);
    run_variant("tiny-sharded", APOLLO_BACKEND_ONEDNN);
#endif
    if (n_skipped)
        printf("NOTE: %d encoder/end-to-end scenario(s) skipped for lack of pixel fixtures\n",
               n_skipped);
    return test_finish("test_vision_reference");
}
