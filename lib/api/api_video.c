/* apollo_video: opening videos, images and caller frames for a model, and
 * querying the clips the model will see (lib/video does the work). */
#include "api_internal.h"

#include "common/alloc.h"
#include "common/status.h"
#include "video/video.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define VIDEO_TOKEN "<|video_token|>"

APOLLO_API void apollo_video_params_init(apollo_video_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
}

APOLLO_API void apollo_video_info_init(apollo_video_info *info)
{
    if (!info)
        return;
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
}

static int video_valid(const apollo_video *v)
{
    return v && v->magic == APOLLO__VIDEO_MAGIC;
}

/* ---- opening ------------------------------------------------------------------------------ */

typedef struct open_args {
    int kind; /* APOLLO__VSRC_* */
    const char *path;
    const void *data;
    size_t size;
    const uint8_t *rgb;
    int32_t n_frames, width, height;
    size_t row_stride;
    double fps;
    const double *timestamps;
} open_args;

static int model_numbers(const apollo__model *m, int32_t *fpc, int64_t *n_out)
{
    *fpc = (int32_t)m->token_output_shape[0];
    *n_out = m->conn.cfg.n_latents;
    if (*fpc < 1 || *fpc > APOLLO__VIDEO_MAX_FPC || *n_out < 1)
        return apollo__fail(APOLLO_E_CONFIG,
                            "model: frames per clip %d / tokens per clip %lld out of range", *fpc,
                            (long long)*n_out);
    return APOLLO_OK;
}

int apollo__video_make_towers(const apollo__model *m, apollo_video *v)
{
    if (m->n_towers < 0 || m->n_towers > APOLLO__VIDEO_MAX_TOWERS)
        return apollo__fail(APOLLO_E_CONFIG, "model: %d vision towers", m->n_towers);
    v->n_towers = m->n_towers;
    for (int32_t i = 0; i < m->n_towers; i++) {
        const apollo__tower_config *c = &m->towers[i].cfg;
        apollo__video_tower_pp *pp = &v->towers[i];
        pp->kind = c->kind == APOLLO__TOWER_SIGLIP ? APOLLO__VPP_SIGLIP : APOLLO__VPP_INTERNVIDEO2;
        pp->image_size = (int32_t)c->image_size;
        for (int k = 0; k < 3; k++) {
            pp->mean[k] = c->image_mean[k];
            pp->std[k] = c->image_std[k];
        }
    }
    return APOLLO_OK;
}

static int check_params(const apollo_video_params *p)
{
    /* 0 = the model's rate; otherwise at least one frame per 1000 s (a
     * vanishing rate would overflow the sampling arithmetic) */
    if (!isfinite(p->fps) || (p->fps != 0 && !(p->fps >= 1e-3 && p->fps <= 1000)))
        return apollo__fail(APOLLO_E_INVALID_ARG,
                            "apollo_video_params: fps %g out of range (0 or [0.001, 1000])", p->fps);
    if (p->max_clips < 0)
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_video_params: max_clips %d is negative",
                            p->max_clips);
    if (p->n_threads < 0 || p->n_threads > 1024)
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_video_params: n_threads %d out of range",
                            p->n_threads);
    if (!(p->start_s >= 0) || !isfinite(p->start_s) || !isfinite(p->end_s) ||
        (p->end_s > 0 && p->end_s <= p->start_s))
        return apollo__fail(APOLLO_E_INVALID_ARG,
                            "apollo_video_params: window [%g, %g) s is invalid", p->start_s, p->end_s);
    if (!(p->clip_sampling_ratio >= 0) || p->clip_sampling_ratio > 1000)
        return apollo__fail(APOLLO_E_INVALID_ARG,
                            "apollo_video_params: clip_sampling_ratio %g out of range",
                            p->clip_sampling_ratio);
    return APOLLO_OK;
}

static int video_open(apollo_ctx *ctx, const open_args *a, const apollo_video_params *params,
                      apollo_video **out, const char *fn)
{
    apollo_video_params p;
    apollo__vsrc_opts opts;
    apollo__sample_params sp;
    apollo_video *v;
    const apollo__model *m;
    const apollo__video_meta *meta;
    int32_t fpc;
    int64_t n_out;
    int rc;

    apollo__clear_error();
    if (!out)
        return apollo__fail(APOLLO_E_INVALID_ARG, "%s: out is NULL", fn);
    *out = NULL;
    if (!apollo__ctx_valid(ctx))
        return apollo__fail(APOLLO_E_MISUSE, "%s: invalid ctx", fn);
    apollo_video_params_init(&p);
    if (params && (rc = apollo__copy_params(&p, sizeof p, params, "apollo_video_params")))
        return rc;
    if ((rc = check_params(&p)))
        return rc;
    m = ctx->model;
    if ((rc = model_numbers(m, &fpc, &n_out)))
        return rc;

    memset(&opts, 0, sizeof opts);
    opts.n_threads = p.n_threads ? p.n_threads : ctx->params.n_threads;
    opts.image_frames = fpc;
    opts.image_fps = p.fps > 0 ? p.fps : (double)fpc / m->clip_duration;

    v = apollo__calloc(1, sizeof *v);
    if (!v)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (video)");
    if ((rc = apollo__video_make_towers(m, v))) {
        apollo__free(v);
        return rc;
    }
    switch (a->kind) {
    case APOLLO__VSRC_FILE:
        rc = apollo__vsrc_open_file(a->path, &opts, &v->src);
        break;
    case APOLLO__VSRC_MEMORY:
        rc = apollo__vsrc_open_memory(a->data, a->size, !p.borrow, &opts, &v->src);
        break;
    default:
        rc = apollo__vsrc_open_frames(a->rgb, a->n_frames, a->width, a->height, a->row_stride,
                                      a->row_stride * (size_t)(a->height > 0 ? a->height : 0),
                                      a->fps, a->timestamps, &opts, &v->src);
        break;
    }
    if (rc) {
        apollo__free(v);
        return rc;
    }
    meta = apollo__vsrc_meta(v->src);

    memset(&sp, 0, sizeof sp);
    sp.total_frames = meta->total_frames;
    sp.fps = meta->fps;
    sp.clip_duration = m->clip_duration;
    sp.clip_duration_text = m->clip_duration_text;
    sp.frames_per_clip = fpc;
    sp.model_max_length = m->model_max_length;
    sp.tokens_per_clip = n_out;
    sp.clip_sampling_ratio = p.clip_sampling_ratio;
    sp.max_clips = p.max_clips;
    if (!meta->is_image) { /* an image is one still clip whatever the overrides */
        sp.target_fps = p.fps;
        sp.start_s = p.start_s;
        sp.end_s = p.end_s;
    }
    rc = apollo__sample_plan_make(&sp, &v->plan);
    if (!rc && a->kind == APOLLO__VSRC_FRAMES && !p.borrow && !meta->is_image) {
        /* keep only the frames the clips use */
        int64_t n_all = (int64_t)v->plan.n_clips * v->plan.frames_per_clip, n = 0;
        int64_t *keep = apollo__malloc((size_t)n_all * sizeof *keep);
        if (!keep) {
            rc = apollo__fail(APOLLO_E_NOMEM, "out of memory (video frames)");
        } else {
            /* plan indices are non-decreasing within a clip but clips may
             * overlap: mark and collect */
            uint8_t *mark = apollo__calloc((size_t)meta->total_frames, 1);
            if (!mark) {
                rc = apollo__fail(APOLLO_E_NOMEM, "out of memory (video frames)");
            } else {
                for (int64_t i = 0; i < n_all; i++)
                    mark[v->plan.indices[i]] = 1;
                for (int64_t i = 0; i < meta->total_frames; i++)
                    if (mark[i])
                        keep[n++] = i;
                rc = apollo__vsrc_frames_copy(v->src, keep, n);
                apollo__free(mark);
            }
            apollo__free(keep);
        }
    }
    if (rc) {
        apollo__sample_plan_free(&v->plan);
        apollo__vsrc_free(v->src);
        apollo__free(v);
        return rc;
    }
    apollo__ctx_retain(ctx);
    v->ctx = ctx;
    v->magic = APOLLO__VIDEO_MAGIC;
    v->params = p;
    apollo__log(ctx, APOLLO_LOG_INFO,
                "video: %lld frames at %.3f fps (%s, %dx%d), %d clips, budget ratio %.4f",
                (long long)meta->total_frames, meta->fps, meta->codec, meta->width, meta->height,
                v->plan.n_clips, v->plan.budget_ratio);
    *out = v;
    return APOLLO_OK;
}

APOLLO_API int apollo_video_open_file(apollo_ctx *ctx, const char *path,
                                      const apollo_video_params *params, apollo_video **out)
{
    open_args a;
    memset(&a, 0, sizeof a);
    a.kind = APOLLO__VSRC_FILE;
    a.path = path;
    if (out)
        *out = NULL;
    if (!path || !*path) {
        apollo__clear_error();
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_video_open_file: path is NULL or empty");
    }
    return video_open(ctx, &a, params, out, "apollo_video_open_file");
}

APOLLO_API int apollo_video_open_memory(apollo_ctx *ctx, const void *data, size_t size,
                                        const apollo_video_params *params, apollo_video **out)
{
    open_args a;
    memset(&a, 0, sizeof a);
    a.kind = APOLLO__VSRC_MEMORY;
    a.data = data;
    a.size = size;
    if (out)
        *out = NULL;
    if (!data) {
        apollo__clear_error();
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_video_open_memory: data is NULL");
    }
    return video_open(ctx, &a, params, out, "apollo_video_open_memory");
}

APOLLO_API int apollo_video_open_frames(apollo_ctx *ctx, const uint8_t *rgb, int32_t n_frames,
                                        int32_t width, int32_t height, size_t row_stride,
                                        double fps, const double *timestamps_s,
                                        const apollo_video_params *params, apollo_video **out)
{
    open_args a;
    memset(&a, 0, sizeof a);
    a.kind = APOLLO__VSRC_FRAMES;
    a.rgb = rgb;
    a.n_frames = n_frames;
    a.width = width;
    a.height = height;
    a.row_stride = row_stride ? row_stride : (size_t)(width > 0 ? width : 0) * 3;
    a.fps = fps;
    a.timestamps = timestamps_s;
    if (out)
        *out = NULL;
    if (!rgb) {
        apollo__clear_error();
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_video_open_frames: rgb is NULL");
    }
    if (width < 1 || height < 1) {
        apollo__clear_error();
        return apollo__fail(APOLLO_E_VIDEO, "apollo_video_open_frames: frame size %dx%d", width,
                            height);
    }
    return video_open(ctx, &a, params, out, "apollo_video_open_frames");
}

APOLLO_API void apollo_video_free(apollo_video *video)
{
    apollo_ctx *ctx;
    if (!video_valid(video))
        return;
    video->magic = 0;
    ctx = video->ctx;
    apollo__sample_plan_free(&video->plan);
    apollo__vsrc_free(video->src);
    apollo__free(video->embeds);
    apollo__free(video);
    apollo__ctx_release(ctx);
}

/* ---- queries ------------------------------------------------------------------------------- */

APOLLO_API int apollo_video_get_info(const apollo_video *video, apollo_video_info *info)
{
    apollo_video_info full;
    const apollo__video_meta *m;
    uint32_t size;

    if (!video_valid(video))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_video_get_info: invalid video");
    if (!info)
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_video_get_info: info is NULL");
    size = info->struct_size;
    if (size < sizeof(uint32_t))
        return apollo__fail(APOLLO_E_MISUSE,
                            "apollo_video_info: struct_size %u (initialise with "
                            "apollo_video_info_init)",
                            size);
    m = video->src ? apollo__vsrc_meta(video->src) : &video->saved_meta;
    memset(&full, 0, sizeof full);
    full.struct_size = sizeof full;
    full.source = m->source == APOLLO__VSRC_FILE     ? APOLLO_VIDEO_SOURCE_FILE
                  : m->source == APOLLO__VSRC_MEMORY ? APOLLO_VIDEO_SOURCE_MEMORY
                                                     : APOLLO_VIDEO_SOURCE_FRAMES;
    full.is_image = m->is_image;
    full.total_frames = m->total_frames;
    full.fps = m->fps;
    full.duration_s = m->duration;
    full.width = m->width;
    full.height = m->height;
    full.rotation = m->rotation;
    full.n_clips = video->plan.n_clips;
    full.frames_per_clip = video->plan.frames_per_clip;
    full.tokens_per_clip = (int32_t)video->plan.tokens_per_clip;
    full.clip_duration_s = video->plan.clip_duration;
    full.budget_ratio = video->plan.budget_ratio;
    full.sampling_repaired = video->plan.repaired;
    snprintf(full.codec, sizeof full.codec, "%s", m->codec);
    snprintf(full.pix_fmt, sizeof full.pix_fmt, "%s", m->pix_fmt);
    snprintf(full.container, sizeof full.container, "%s", m->container);
    if (size > sizeof full)
        size = sizeof full;
    memcpy(info, &full, size);
    info->struct_size = size;
    return APOLLO_OK;
}

APOLLO_API int32_t apollo_video_n_clips(const apollo_video *video)
{
    if (!video_valid(video))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_video_n_clips: invalid video");
    return video->plan.n_clips;
}

static int check_clip(const apollo_video *video, int32_t i, const char *fn)
{
    if (!video_valid(video))
        return apollo__fail(APOLLO_E_MISUSE, "%s: invalid video", fn);
    if (i < 0 || i >= video->plan.n_clips)
        return apollo__fail(APOLLO_E_INVALID_ARG, "%s: clip %d out of range [0, %d)", fn, i,
                            video->plan.n_clips);
    return APOLLO_OK;
}

APOLLO_API int apollo_video_get_clip_time(const apollo_video *video, int32_t i_clip, double *t0_s,
                                          double *t1_s)
{
    int rc = check_clip(video, i_clip, "apollo_video_get_clip_time");
    if (rc)
        return rc;
    if (t0_s)
        *t0_s = video->plan.t0[i_clip];
    if (t1_s)
        *t1_s = video->plan.t1[i_clip];
    return APOLLO_OK;
}

APOLLO_API int32_t apollo_video_get_clip_frames(const apollo_video *video, int32_t i_clip,
                                                int64_t *indices, int32_t cap)
{
    int32_t fpc;
    int rc = check_clip(video, i_clip, "apollo_video_get_clip_frames");
    if (rc)
        return rc;
    if (cap < 0 || (cap > 0 && !indices))
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_video_get_clip_frames: bad buffer");
    fpc = video->plan.frames_per_clip;
    for (int32_t k = 0; k < fpc && k < cap; k++)
        indices[k] = video->plan.indices[(int64_t)i_clip * fpc + k];
    return fpc;
}

APOLLO_API int64_t apollo_video_get_prompt_text(const apollo_video *video, int32_t flags, char *buf,
                                                size_t cap)
{
    if (!video_valid(video))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_video_get_prompt_text: invalid video");
    if (!buf && cap)
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_video_get_prompt_text: buf is NULL");
    if (flags & ~(int32_t)APOLLO_VIDEO_TEXT_PLACEHOLDERS)
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_video_get_prompt_text: unknown flags 0x%x",
                            (unsigned)flags);
    return apollo__sample_prompt_text(&video->plan,
                                      (flags & APOLLO_VIDEO_TEXT_PLACEHOLDERS) ? VIDEO_TOKEN : NULL,
                                      buf, cap);
}

/* ---- for the encoders ------------------------------------------------------------------------ */

int apollo__video_clips(apollo_video *video, struct apollo__pool *pool, apollo__clip_iter **out)
{
    if (!video_valid(video))
        return apollo__fail(APOLLO_E_MISUSE, "invalid video");
    if (!video->src)
        return apollo__fail(APOLLO_E_MISUSE,
                            "this video was loaded from saved embeddings and has no frames");
    return apollo__clip_iter_new(video->src, &video->plan, video->towers, video->n_towers, pool, out);
}

/* ---- single frames ------------------------------------------------------------------------- */

APOLLO_API int64_t apollo_video_get_frame(apollo_video *video, int64_t frame_index, uint8_t *rgb,
                                          size_t cap, int32_t *width, int32_t *height)
{
    const apollo__video_meta *m;
    const uint8_t *px;
    int64_t got_index = -1;
    int32_t stride = 0;
    size_t row, need;
    int rc;

    apollo__clear_error();
    if (!video_valid(video))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_video_get_frame: invalid video");
    if (!video->src)
        return apollo__fail(APOLLO_E_MISUSE, "apollo_video_get_frame: this video was loaded "
                            "from saved embeddings and has no frames");
    if (!width || !height || (cap && !rgb))
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_video_get_frame: NULL argument");
    m = apollo__vsrc_meta(video->src);
    *width = m->width;
    *height = m->height;
    if (frame_index < 0 || frame_index >= m->total_frames)
        return apollo__fail(APOLLO_E_INVALID_ARG,
                            "apollo_video_get_frame: frame %lld outside [0, %lld)",
                            (long long)frame_index, (long long)m->total_frames);
    row = (size_t)m->width * 3;
    need = row * (size_t)m->height;
    if (cap < need)
        return (int64_t)need;
    if ((rc = apollo__vsrc_set_targets(video->src, &frame_index, 1)))
        return rc;
    rc = apollo__vsrc_next(video->src, &got_index, &px, &stride);
    if (rc < 0)
        return rc;
    if (rc == 0 || got_index != frame_index)
        return apollo__fail(APOLLO_E_VIDEO, "frame %lld could not be decoded",
                            (long long)frame_index);
    for (int32_t y = 0; y < m->height; y++)
        memcpy(rgb + (size_t)y * row, px + (size_t)y * (size_t)stride, row);
    return (int64_t)need;
}
