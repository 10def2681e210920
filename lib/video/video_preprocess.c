/* Per-encoder preprocessing (apollo-model.md §2.7) and the clip iterator
 * that streams preprocessed clips to the encoders. */
#include "video.h"

#include "common/alloc.h"
#include "common/status.h"
#include "common/threadpool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one frame ------------------------------------------------------------------------------ */

static int check_pp(const apollo__video_tower_pp *pp)
{
    if (!pp || (pp->kind != APOLLO__VPP_SIGLIP && pp->kind != APOLLO__VPP_INTERNVIDEO2))
        return apollo__fail(APOLLO_E_INVALID_ARG, "video preprocess: unknown encoder kind");
    if (pp->image_size < 1 || pp->image_size > 4096)
        return apollo__fail(APOLLO_E_INVALID_ARG, "video preprocess: image_size %d out of range",
                            pp->image_size);
    for (int c = 0; c < 3; c++)
        if (!(pp->std[c] != 0) || !(pp->mean[c] >= 0 && pp->mean[c] <= 1))
            return apollo__fail(APOLLO_E_INVALID_ARG,
                                "video preprocess: mean must be in [0, 1] and std non-zero");
    return APOLLO_OK;
}

int apollo__preprocess_frame_u8(const apollo__video_tower_pp *pp, const uint8_t *rgb, int32_t w,
                                int32_t h, size_t stride, uint8_t *out_u8, uint8_t **scratch,
                                size_t *scratch_cap)
{
    uint8_t fill[3];
    int rc;

    (void)scratch; /* the padded canvas is virtual: no scratch needed */
    (void)scratch_cap;
    if ((rc = check_pp(pp)))
        return rc;
    if (!rgb || !out_u8 || w < 1 || h < 1)
        return apollo__fail(APOLLO_E_INVALID_ARG, "video preprocess: bad frame");
    /* pad colour: int(mean * 255), truncated */
    for (int c = 0; c < 3; c++)
        fill[c] = (uint8_t)(int)(pp->mean[c] * 255);
    if (pp->kind == APOLLO__VPP_SIGLIP)
        return apollo__resize_pillow_bicubic_padded(rgb, w, h, stride, fill, out_u8, pp->image_size);
    return apollo__resize_cv_linear_padded(rgb, w, h, stride, fill, out_u8, pp->image_size);
}

/* uint8 -> normalised float, computed as the reference does:
 *   SigLIP: float32(u8 * (1/255) in float64), then (x - mean) / std in float32
 *   IV2:    float32(u8) / 255 in float32, then (x - mean) / std in float32 */
static void make_lut(const apollo__video_tower_pp *pp, float lut[3][256])
{
    for (int c = 0; c < 3; c++) {
        float m = (float)pp->mean[c], s = (float)pp->std[c];
        for (int v = 0; v < 256; v++) {
            float x = pp->kind == APOLLO__VPP_SIGLIP ? (float)((double)v * (1.0 / 255.0))
                                                      : (float)v / 255.0f;
            lut[c][v] = (x - m) / s;
        }
    }
}

static void normalise(const apollo__video_tower_pp *pp, const float lut[3][256], const uint8_t *u8,
                      int32_t t, int32_t n_t, float *out)
{
    size_t plane = (size_t)pp->image_size * (size_t)pp->image_size;
    for (int c = 0; c < 3; c++) {
        float *o = pp->kind == APOLLO__VPP_SIGLIP ? out + ((size_t)t * 3 + (size_t)c) * plane
                                                  : out + ((size_t)c * (size_t)n_t + (size_t)t) * plane;
        for (size_t i = 0; i < plane; i++)
            o[i] = lut[c][u8[3 * i + (size_t)c]];
    }
}

int apollo__preprocess_frame(const apollo__video_tower_pp *pp, const uint8_t *rgb, int32_t w,
                             int32_t h, size_t stride, int32_t t, int32_t n_t, float *out,
                             uint8_t **scratch, size_t *scratch_cap)
{
    float lut[3][256];
    uint8_t *u8;
    int rc;
    if ((rc = check_pp(pp)))
        return rc;
    if (t < 0 || t >= n_t || !out)
        return apollo__fail(APOLLO_E_INVALID_ARG, "video preprocess: frame %d of %d", t, n_t);
    u8 = apollo__malloc((size_t)pp->image_size * (size_t)pp->image_size * 3);
    if (!u8)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (preprocess)");
    rc = apollo__preprocess_frame_u8(pp, rgb, w, h, stride, u8, scratch, scratch_cap);
    if (!rc) {
        make_lut(pp, lut);
        normalise(pp, (const float(*)[256])lut, u8, t, n_t, out);
    }
    apollo__free(u8);
    return rc;
}

/* ---- clip iterator ---------------------------------------------------------------------------- */

typedef struct cached_frame {
    int64_t index;
    int64_t last_clip;   /* the last clip that uses it */
    uint8_t *rgb;        /* width*height*3, packed */
} cached_frame;

typedef struct pp_task {
    int32_t tower, t;    /* tower, frame within the clip */
} pp_task;

struct apollo__clip_iter {
    apollo__vsrc *src;
    const apollo__sample_plan *plan;
    int32_t n_towers;
    apollo__video_tower_pp towers[APOLLO__VIDEO_MAX_TOWERS];
    float lut[APOLLO__VIDEO_MAX_TOWERS][3][256];
    float *pixels[APOLLO__VIDEO_MAX_TOWERS];
    struct apollo__pool *pool;

    int64_t *uniq;          /* sorted unique frame indices of the plan */
    int64_t *uniq_last;     /* last clip using uniq[i] */
    int64_t n_uniq;
    int64_t next_uniq;      /* next one to decode */

    cached_frame *cache;
    int32_t n_cache, cap_cache;
    /* frame buffers of dropped cache entries, reused (a 720p frame is
     * 2.7 MB: a fresh allocation each time costs a mmap and page faults) */
    uint8_t **spare;
    int32_t n_spare, cap_spare;

    /* clip whose frames a pool task decoded while the previous clip was
     * being preprocessed (-1: none); its outcome and message */
    int32_t prefetched;
    int prefetch_rc;
    char prefetch_msg[256];

    int32_t next_clip;
    int32_t width, height;

    /* per-task scratch (pad canvas + resized u8), one per (tower, frame) */
    int32_t n_tasks;
    pp_task tasks[APOLLO__VIDEO_MAX_TOWERS * APOLLO__VIDEO_MAX_FPC];
    uint8_t *scratch[APOLLO__VIDEO_MAX_TOWERS * APOLLO__VIDEO_MAX_FPC];
    size_t scratch_cap[APOLLO__VIDEO_MAX_TOWERS * APOLLO__VIDEO_MAX_FPC];
    uint8_t *u8[APOLLO__VIDEO_MAX_TOWERS * APOLLO__VIDEO_MAX_FPC];
    int task_rc[APOLLO__VIDEO_MAX_TOWERS * APOLLO__VIDEO_MAX_FPC];
    const uint8_t *clip_rgb[APOLLO__VIDEO_MAX_FPC];

    int64_t clip_idx[APOLLO__VIDEO_MAX_FPC];
};

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

void apollo__clip_iter_free(apollo__clip_iter *it)
{
    if (!it)
        return;
    for (int32_t i = 0; i < it->n_cache; i++)
        apollo__free(it->cache[i].rgb);
    apollo__free(it->cache);
    for (int32_t i = 0; i < it->n_spare; i++)
        apollo__free(it->spare[i]);
    apollo__free(it->spare);
    apollo__free(it->uniq);
    apollo__free(it->uniq_last);
    for (int32_t i = 0; i < APOLLO__VIDEO_MAX_TOWERS; i++)
        apollo__free(it->pixels[i]);
    for (int32_t i = 0; i < APOLLO__VIDEO_MAX_TOWERS * APOLLO__VIDEO_MAX_FPC; i++) {
        apollo__free(it->scratch[i]);
        apollo__free(it->u8[i]);
    }
    apollo__free(it);
}

int apollo__clip_iter_rewind(apollo__clip_iter *it)
{
    if (!it)
        return apollo__fail(APOLLO_E_INVALID_ARG, "clip iterator is NULL");
    for (int32_t i = 0; i < it->n_cache; i++)
        apollo__free(it->cache[i].rgb);
    it->n_cache = 0;
    it->next_clip = 0;
    it->next_uniq = 0;
    it->prefetched = -1;
    return apollo__vsrc_set_targets(it->src, it->uniq, it->n_uniq);
}

int apollo__clip_iter_new(apollo__vsrc *src, const apollo__sample_plan *plan,
                          const apollo__video_tower_pp *towers, int32_t n_towers,
                          struct apollo__pool *pool, apollo__clip_iter **out)
{
    apollo__clip_iter *it;
    const apollo__video_meta *meta;
    int64_t n_all;
    int32_t fpc;
    int rc;

    if (!out)
        return apollo__fail(APOLLO_E_INVALID_ARG, "clip iterator: out is NULL");
    *out = NULL;
    if (!src || !plan || plan->n_clips < 1 || !plan->indices)
        return apollo__fail(APOLLO_E_INVALID_ARG, "clip iterator: no source or empty plan");
    if (n_towers < 0 || n_towers > APOLLO__VIDEO_MAX_TOWERS || (n_towers && !towers))
        return apollo__fail(APOLLO_E_INVALID_ARG, "clip iterator: %d towers", n_towers);
    fpc = plan->frames_per_clip;
    if (fpc < 1 || fpc > APOLLO__VIDEO_MAX_FPC)
        return apollo__fail(APOLLO_E_INVALID_ARG, "clip iterator: %d frames per clip", fpc);
    for (int32_t i = 0; i < n_towers; i++)
        if ((rc = check_pp(&towers[i])))
            return rc;
    meta = apollo__vsrc_meta(src);
    it = apollo__calloc(1, sizeof *it);
    if (!it)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (clip iterator)");
    it->src = src;
    it->plan = plan;
    it->pool = pool;
    it->n_towers = n_towers;
    it->width = meta->width;
    it->height = meta->height;
    for (int32_t i = 0; i < n_towers; i++) {
        size_t S = (size_t)towers[i].image_size;
        it->towers[i] = towers[i];
        make_lut(&towers[i], it->lut[i]);
        it->pixels[i] = apollo__malloc((size_t)fpc * 3 * S * S * sizeof(float));
        if (!it->pixels[i])
            goto oom;
        for (int32_t t = 0; t < fpc; t++) {
            int32_t k = i * fpc + t;
            it->tasks[k].tower = i;
            it->tasks[k].t = t;
            it->u8[k] = apollo__malloc(S * S * 3);
            if (!it->u8[k])
                goto oom;
        }
    }
    it->n_tasks = n_towers * fpc;

    /* unique frames and the last clip that needs each */
    n_all = (int64_t)plan->n_clips * fpc;
    it->uniq = apollo__malloc((size_t)n_all * sizeof *it->uniq);
    it->uniq_last = apollo__malloc((size_t)n_all * sizeof *it->uniq_last);
    if (!it->uniq || !it->uniq_last)
        goto oom;
    for (int64_t i = 0; i < n_all; i++) {
        if (plan->indices[i] < 0 || plan->indices[i] >= meta->total_frames) {
            apollo__clip_iter_free(it);
            return apollo__fail(APOLLO_E_INVALID_ARG, "clip iterator: frame %lld not in the video",
                                (long long)plan->indices[i]);
        }
        it->uniq[i] = plan->indices[i];
    }
    qsort(it->uniq, (size_t)n_all, sizeof *it->uniq, cmp_i64);
    it->n_uniq = 0;
    for (int64_t i = 0; i < n_all; i++)
        if (!it->n_uniq || it->uniq[i] != it->uniq[it->n_uniq - 1])
            it->uniq[it->n_uniq++] = it->uniq[i];
    for (int64_t i = 0; i < it->n_uniq; i++)
        it->uniq_last[i] = -1;
    for (int64_t c = 0; c < plan->n_clips; c++)
        for (int32_t k = 0; k < fpc; k++) {
            int64_t v = plan->indices[c * fpc + k];
            int64_t *p = bsearch(&v, it->uniq, (size_t)it->n_uniq, sizeof *it->uniq, cmp_i64);
            it->uniq_last[p - it->uniq] = c;
        }
    if ((rc = apollo__clip_iter_rewind(it))) {
        apollo__clip_iter_free(it);
        return rc;
    }
    *out = it;
    return APOLLO_OK;
oom:
    apollo__clip_iter_free(it);
    return apollo__fail(APOLLO_E_NOMEM, "out of memory (clip iterator)");
}

/* A frame buffer of fsize bytes: a spare one if there is, else new. */
static uint8_t *frame_buffer(apollo__clip_iter *it, size_t fsize)
{
    if (it->n_spare)
        return it->spare[--it->n_spare];
    return apollo__malloc(fsize);
}

/* Keeps a dropped frame's buffer for reuse (frees it when the spare list
 * cannot grow). */
static void frame_release(apollo__clip_iter *it, uint8_t *rgb)
{
    if (it->n_spare == it->cap_spare) {
        int32_t nc = it->cap_spare ? it->cap_spare * 2 : 8;
        uint8_t **p = apollo__realloc(it->spare, (size_t)nc * sizeof *p);
        if (!p) {
            apollo__free(rgb);
            return;
        }
        it->spare = p;
        it->cap_spare = nc;
    }
    it->spare[it->n_spare++] = rgb;
}

static cached_frame *cache_find(apollo__clip_iter *it, int64_t index)
{
    for (int32_t i = 0; i < it->n_cache; i++)
        if (it->cache[i].index == index)
            return &it->cache[i];
    return NULL;
}

/* Decodes up to and including frame `index`, caching every frame a clip
 * from the current one on still needs. */
static int fetch(apollo__clip_iter *it, int64_t index)
{
    size_t row = (size_t)it->width * 3, fsize = row * (size_t)it->height;
    while (!cache_find(it, index)) {
        int64_t got, u;
        const uint8_t *rgb;
        int32_t stride;
        int r;
        if (it->next_uniq >= it->n_uniq)
            return apollo__fail(APOLLO_E_INVALID_ARG, "clip iterator: frame %lld not scheduled",
                                (long long)index);
        u = it->next_uniq;
        r = apollo__vsrc_next(it->src, &got, &rgb, &stride);
        if (r < 0)
            return r;
        if (r == 0 || got != it->uniq[u])
            return apollo__fail(APOLLO_E_VIDEO, "clip iterator: source out of step at frame %lld",
                                (long long)it->uniq[u]);
        it->next_uniq++;
        if (it->uniq_last[u] < it->next_clip)
            continue; /* not needed any more (cannot happen with a sorted plan) */
        if (it->n_cache == it->cap_cache) {
            int32_t nc = it->cap_cache ? it->cap_cache * 2 : 16;
            cached_frame *p = apollo__realloc(it->cache, (size_t)nc * sizeof *p);
            if (!p)
                return apollo__fail(APOLLO_E_NOMEM, "out of memory (frame cache)");
            it->cache = p;
            it->cap_cache = nc;
        }
        {
            cached_frame *cf = &it->cache[it->n_cache];
            cf->rgb = frame_buffer(it, fsize);
            if (!cf->rgb)
                return apollo__fail(APOLLO_E_NOMEM, "out of memory (decoded frame, %zu bytes)", fsize);
            for (int32_t y = 0; y < it->height; y++)
                memcpy(cf->rgb + row * (size_t)y, rgb + (size_t)stride * (size_t)y, row);
            cf->index = got;
            cf->last_clip = it->uniq_last[u];
            it->n_cache++;
        }
    }
    return APOLLO_OK;
}

static void pp_task_run(apollo__clip_iter *it, int32_t k)
{
    const pp_task *task = &it->tasks[k];
    const apollo__video_tower_pp *pp = &it->towers[task->tower];
    it->task_rc[k] = apollo__preprocess_frame_u8(pp, it->clip_rgb[task->t], it->width, it->height,
                                                 (size_t)it->width * 3, it->u8[k], &it->scratch[k],
                                                 &it->scratch_cap[k]);
    if (!it->task_rc[k])
        normalise(pp, (const float(*)[256])it->lut[task->tower], it->u8[k], task->t,
                  it->plan->frames_per_clip, it->pixels[task->tower]);
}

/* Decodes every frame of clip c into the cache. */
static int fetch_clip(apollo__clip_iter *it, int32_t c)
{
    int32_t fpc = it->plan->frames_per_clip;
    for (int32_t k = 0; k < fpc; k++) {
        int rc = fetch(it, it->plan->indices[(int64_t)c * fpc + k]);
        if (rc)
            return rc;
    }
    return APOLLO_OK;
}

/* Pool task: with prefetch, task 0 decodes the next clip (on one thread,
 * with libavcodec's own threads) while the other tasks preprocess this
 * clip's frames. */
typedef struct clip_job {
    apollo__clip_iter *it;
    int32_t prefetch; /* clip to decode in task 0, or -1 */
} clip_job;

static void clip_task(void *arg, int64_t i)
{
    clip_job *job = arg;
    apollo__clip_iter *it = job->it;
    if (job->prefetch >= 0) {
        if (i == 0) {
            it->prefetch_rc = fetch_clip(it, job->prefetch);
            if (it->prefetch_rc) {
                snprintf(it->prefetch_msg, sizeof it->prefetch_msg, "%s", apollo__errmsg());
                apollo__clear_error();
            }
            it->prefetched = job->prefetch;
            return;
        }
        i--;
    }
    pp_task_run(it, (int32_t)i);
}

int apollo__clip_iter_next(apollo__clip_iter *it, apollo__clip *clip)
{
    const apollo__sample_plan *plan;
    int32_t fpc, c;
    int rc;

    if (!it || !clip)
        return apollo__fail(APOLLO_E_INVALID_ARG, "clip iterator: NULL argument");
    plan = it->plan;
    fpc = plan->frames_per_clip;
    if (it->next_clip >= plan->n_clips)
        return 0;
    c = it->next_clip;

    /* drop frames no clip from here on needs */
    for (int32_t i = 0; i < it->n_cache;) {
        if (it->cache[i].last_clip < c) {
            frame_release(it, it->cache[i].rgb);
            it->cache[i] = it->cache[--it->n_cache];
        } else {
            i++;
        }
    }
    if (it->prefetched == c) {
        it->prefetched = -1;
        if (it->prefetch_rc) {
            /* the decoder stopped at the error: stay there */
            it->prefetched = c;
            return apollo__fail(it->prefetch_rc, "%s", it->prefetch_msg);
        }
    } else if ((rc = fetch_clip(it, c))) {
        return rc;
    }
    /* pointers after all fetches (the cache array may have moved) */
    for (int32_t k = 0; k < fpc; k++) {
        int64_t idx = plan->indices[(int64_t)c * fpc + k];
        it->clip_rgb[k] = cache_find(it, idx)->rgb;
        it->clip_idx[k] = idx;
    }

    if (it->n_tasks) {
        if (it->pool && apollo__pool_size(it->pool) > 1) {
            clip_job job = {it, c + 1 < plan->n_clips ? c + 1 : -1};
            apollo__pool_for(it->pool, it->n_tasks + (job.prefetch >= 0), clip_task, &job);
        } else {
            for (int32_t k = 0; k < it->n_tasks; k++)
                pp_task_run(it, k);
        }
        for (int32_t k = 0; k < it->n_tasks; k++)
            if (it->task_rc[k])
                return it->task_rc[k];
    }

    memset(clip, 0, sizeof *clip);
    clip->index = c;
    clip->n_frames = fpc;
    clip->frame_indices = it->clip_idx;
    clip->t0 = plan->t0[c];
    clip->t1 = plan->t1[c];
    for (int32_t k = 0; k < fpc; k++)
        clip->rgb[k] = it->clip_rgb[k];
    clip->rgb_stride = it->width * 3;
    clip->width = it->width;
    clip->height = it->height;
    clip->n_towers = it->n_towers;
    for (int32_t i = 0; i < it->n_towers; i++) {
        int64_t S = it->towers[i].image_size;
        clip->pixels[i] = it->pixels[i];
        if (it->towers[i].kind == APOLLO__VPP_SIGLIP) {
            clip->shape[i][0] = fpc;
            clip->shape[i][1] = 3;
        } else {
            clip->shape[i][0] = 3;
            clip->shape[i][1] = fpc;
        }
        clip->shape[i][2] = S;
        clip->shape[i][3] = S;
    }
    it->next_clip++;
    return 1;
}
