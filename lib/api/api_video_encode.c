/* Encoding videos with the vision towers, and saving/loading the result
 * (visual tokens + what is needed to use them without the video). */
#include "api_internal.h"

#include "common/alloc.h"
#include "common/hash.h"
#include "common/json_util.h"
#include "common/status.h"
#include "nn/vision_encode.h"
#include "store/embed_store.h"
#include "video/video.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT_NAME "libapollo video embeddings"

APOLLO_API void apollo_encode_params_init(apollo_encode_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
}

static int video_valid(const apollo_video *v)
{
    return v && v->magic == APOLLO__VIDEO_MAGIC;
}

/* ---- encoding ------------------------------------------------------------------- */

typedef struct enc_abort {
    apollo_abort_fn fn;
    void *ud;
    _Atomic int32_t *cancel;
} enc_abort;

static int enc_should_abort(void *vp)
{
    enc_abort *a = vp;
    if (a->cancel && atomic_load(a->cancel))
        return 1;
    return a->fn && a->fn(a->ud) != 0;
}

int apollo__video_encode(apollo_video *v, const apollo_encode_params *params,
                         _Atomic int32_t *cancel)
{
    apollo_encode_params p;
    const apollo__model *m;
    apollo__backend *be;
    apollo__vision_geom g;
    apollo__vision_hooks hooks;
    apollo__clip_iter *it = NULL;
    apollo__clip clip;
    enc_abort ab;
    float *embeds = NULL;
    size_t bytes;
    int rc;

    if (v->embeds)
        return APOLLO_OK;
    apollo_encode_params_init(&p);
    if (params && (rc = apollo__copy_params(&p, sizeof p, params, "apollo_encode_params")))
        return rc;
    m = v->ctx->model;
    be = v->ctx->backend;
    if ((rc = apollo__vision_geometry(m, &g)))
        return rc;
    if (g.n_latents != v->plan.tokens_per_clip)
        return apollo__fail(APOLLO_E_CONFIG, "video planned for %lld tokens per clip, model "
                            "makes %lld", (long long)v->plan.tokens_per_clip,
                            (long long)g.n_latents);
    if (apollo__mul_size((size_t)v->plan.n_clips * (size_t)g.n_latents,
                         (size_t)g.out_dim * sizeof(float), &bytes) ||
        !(embeds = apollo__malloc(bytes)))
        return apollo__fail(APOLLO_E_NOMEM, "out of memory for the visual tokens of %d clips",
                            v->plan.n_clips);
    ab.fn = p.abort_fn;
    ab.ud = p.abort_user_data;
    ab.cancel = cancel;
    memset(&hooks, 0, sizeof hooks);
    hooks.should_abort = enc_should_abort;
    hooks.user_data = &ab;
    rc = apollo__video_clips(v, be->pool, &it);
    while (rc == APOLLO_OK) {
        const float *sig = NULL, *iv2 = NULL;
        int got;
        if (enc_should_abort(&ab)) {
            rc = apollo__fail(APOLLO_E_CANCELLED, "cancelled while encoding the video");
            break;
        }
        got = apollo__clip_iter_next(it, &clip);
        if (got <= 0) {
            rc = got;
            break;
        }
        for (int32_t t = 0; t < clip.n_towers && t < v->n_towers; t++) {
            if (v->towers[t].kind == APOLLO__VPP_SIGLIP)
                sig = clip.pixels[t];
            else if (v->towers[t].kind == APOLLO__VPP_INTERNVIDEO2)
                iv2 = clip.pixels[t];
        }
        rc = apollo__vision_encode_clip(m, be, sig, iv2,
                                        embeds + (size_t)clip.index * (size_t)g.n_latents *
                                                     (size_t)g.out_dim,
                                        &hooks);
        if (rc == APOLLO_OK) {
            apollo__log(v->ctx, APOLLO_LOG_DEBUG, "encoded clip %d of %d", clip.index + 1,
                        v->plan.n_clips);
            if (p.progress_fn)
                p.progress_fn(clip.index, v->plan.n_clips, p.progress_user_data);
        }
    }
    apollo__clip_iter_free(it);
    if (rc) {
        apollo__free(embeds);
        return rc;
    }
    v->embeds = embeds;
    v->embed_rows = (int64_t)v->plan.n_clips * g.n_latents;
    v->embed_dim = g.out_dim;
    return APOLLO_OK;
}

APOLLO_API int apollo_video_encode(apollo_video *video, const apollo_encode_params *params)
{
    apollo__clear_error();
    if (!video_valid(video))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_video_encode: invalid video");
    return apollo__video_encode(video, params, NULL);
}

APOLLO_API int apollo_video_is_encoded(const apollo_video *video)
{
    if (!video_valid(video))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_video_is_encoded: invalid video");
    return video->embeds != NULL;
}

APOLLO_API int apollo_video_get_embeddings(const apollo_video *video, float *buf, size_t cap,
                                           size_t *n_floats, int32_t *dim)
{
    size_t n;
    if (!video_valid(video))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_video_get_embeddings: invalid video");
    if (!video->embeds)
        return apollo__fail(APOLLO_E_MISUSE, "apollo_video_get_embeddings: the video is not "
                            "encoded (apollo_video_encode)");
    if (!n_floats || (cap && !buf))
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_video_get_embeddings: NULL argument");
    n = (size_t)(video->embed_rows * video->embed_dim);
    if (cap)
        memcpy(buf, video->embeds, (cap < n ? cap : n) * sizeof(float));
    *n_floats = n;
    if (dim)
        *dim = (int32_t)video->embed_dim;
    return APOLLO_OK;
}

/* ---- fingerprints ------------------------------------------------------------------ */

/* Identity of the weights that make visual tokens: every vision tower's and
 * the connector's files (sizes, headers, and the first and last 64 KiB of
 * their data -- cheap, and any retrained checkpoint differs there). */
static void hash_weight_set(apollo__hash *h, const apollo__weight_set *ws)
{
    for (size_t i = 0; i < ws->n_files; i++) {
        const apollo__st_file *f = ws->files[i];
        size_t head = (size_t)(f->data - (const unsigned char *)f->map);
        size_t edge = f->data_size < 65536 ? f->data_size : 65536;
        apollo__hash_i64(h, (int64_t)f->map_size);
        apollo__hash_bytes(h, f->map, head);
        apollo__hash_bytes(h, f->data, edge);
        apollo__hash_bytes(h, f->data + f->data_size - edge, edge);
    }
}

static void model_fingerprint(const apollo__model *m, uint8_t out[16])
{
    apollo__hash h;
    apollo__hash_init(&h);
    apollo__hash_str(&h, "model");
    apollo__hash_i64(&h, m->select_layer);
    apollo__hash_i64(&h, m->select_patch_only);
    for (int k = 0; k < 3; k++)
        apollo__hash_i64(&h, m->token_output_shape[k]);
    for (int32_t i = 0; i < m->n_towers; i++) {
        apollo__hash_str(&h, m->towers[i].cfg.name);
        apollo__hash_i64(&h, m->towers[i].cfg.n_layers_run);
        hash_weight_set(&h, m->towers[i].ws);
    }
    apollo__hash_i64(&h, m->conn.cfg.text_hidden_size);
    apollo__hash_i64(&h, m->conn.cfg.n_latents);
    hash_weight_set(&h, m->conn.ws);
    apollo__hash_final(&h, out);
}

/* The settings that decide which frames become which pixels. */
static void settings_fingerprint(const apollo__model *m, const apollo_video *v,
                                 const apollo_video_params *p, uint8_t out[16])
{
    apollo__hash h;
    apollo__hash_init(&h);
    apollo__hash_str(&h, "settings");
    apollo__hash_f64(&h, p->fps);
    apollo__hash_i64(&h, p->max_clips);
    apollo__hash_f64(&h, p->start_s);
    apollo__hash_f64(&h, p->end_s > 0 ? p->end_s : 0);
    apollo__hash_f64(&h, p->clip_sampling_ratio > 0 ? p->clip_sampling_ratio : 0.65);
    apollo__hash_str(&h, m->clip_duration_text);
    apollo__hash_i64(&h, m->model_max_length);
    for (int32_t i = 0; i < v->n_towers; i++) {
        apollo__hash_i64(&h, v->towers[i].kind);
        apollo__hash_i64(&h, v->towers[i].image_size);
        for (int c = 0; c < 3; c++) {
            apollo__hash_f64(&h, v->towers[i].mean[c]);
            apollo__hash_f64(&h, v->towers[i].std[c]);
        }
    }
    apollo__hash_final(&h, out);
}

/* ---- save --------------------------------------------------------------------------- */

static json_t *plan_to_json(const apollo__sample_plan *pl)
{
    json_t *o = json_object(), *idx = json_array(), *t0 = json_array(), *t1 = json_array();
    int64_t n_idx = (int64_t)pl->n_clips * pl->frames_per_clip;
    for (int64_t i = 0; i < n_idx; i++)
        json_array_append_new(idx, json_integer(pl->indices[i]));
    for (int32_t i = 0; i < pl->n_clips; i++) {
        json_array_append_new(t0, json_real(pl->t0[i]));
        json_array_append_new(t1, json_real(pl->t1[i]));
    }
    json_object_set_new(o, "n_clips", json_integer(pl->n_clips));
    json_object_set_new(o, "frames_per_clip", json_integer(pl->frames_per_clip));
    json_object_set_new(o, "indices", idx);
    json_object_set_new(o, "t0", t0);
    json_object_set_new(o, "t1", t1);
    json_object_set_new(o, "budget_ratio", json_real(pl->budget_ratio));
    json_object_set_new(o, "branch", json_integer(pl->branch));
    json_object_set_new(o, "degenerate", json_integer(pl->degenerate));
    json_object_set_new(o, "repaired", json_integer(pl->repaired));
    json_object_set_new(o, "first_frame", json_integer(pl->first_frame));
    json_object_set_new(o, "window_frames", json_integer(pl->window_frames));
    json_object_set_new(o, "duration", json_real(pl->duration));
    json_object_set_new(o, "clip_duration", json_real(pl->clip_duration));
    json_object_set_new(o, "clip_duration_text", json_string(pl->clip_duration_text));
    json_object_set_new(o, "tokens_per_clip", json_integer(pl->tokens_per_clip));
    return o;
}

static json_t *meta_to_json(const apollo__video_meta *m)
{
    return json_pack("{s:I, s:f, s:f, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:s, s:s}",
                     "total_frames", (json_int_t)m->total_frames, "fps", m->fps, "duration",
                     m->duration, "width", m->width, "height", m->height, "coded_width",
                     m->coded_width, "coded_height", m->coded_height, "rotation", m->rotation,
                     "is_image", m->is_image, "source", m->source, "n_streams", m->n_streams,
                     "codec", m->codec, "pix_fmt", m->pix_fmt, "container", m->container);
}

APOLLO_API int apollo_video_save(const apollo_video *video, const char *path)
{
    apollo__embed_record rec;
    const apollo__video_meta *meta;
    json_t *root;
    int rc;

    apollo__clear_error();
    if (!video_valid(video))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_video_save: invalid video");
    if (!path || !*path)
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_video_save: path is NULL or empty");
    if (!video->embeds)
        return apollo__fail(APOLLO_E_MISUSE, "apollo_video_save: the video is not encoded "
                            "(apollo_video_encode)");
    meta = video->src ? apollo__vsrc_meta(video->src) : &video->saved_meta;
    apollo__json_watch_reset();
    root = json_pack("{s:s, s:I, s:I}", "format", FORMAT_NAME, "embed_rows",
                     (json_int_t)video->embed_rows, "embed_dim", (json_int_t)video->embed_dim);
    if (!root)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory");
    json_object_set_new(root, "plan", plan_to_json(&video->plan));
    json_object_set_new(root, "video", meta_to_json(meta));
    memset(&rec, 0, sizeof rec);
    rec.meta_json = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!rec.meta_json || apollo__json_watch_failed()) {
        /* a member silently missing would make a file that cannot be loaded */
        free(rec.meta_json);
        return apollo__fail(APOLLO_E_NOMEM, "out of memory");
    }
    model_fingerprint(video->ctx->model, rec.fingerprint);
    settings_fingerprint(video->ctx->model, video, &video->params, rec.fingerprint + 16);
    rec.data = video->embeds;
    rec.n_floats = (uint64_t)(video->embed_rows * video->embed_dim);
    rc = apollo__embed_store_write(path, &rec);
    free(rec.meta_json); /* json_dumps memory comes from jansson's allocator */
    return rc;
}

/* ---- load ------------------------------------------------------------------------------- */

static int json_i(json_t *o, const char *k, int64_t *v, const char *w)
{
    return apollo__json_get_int(o, k, w, v);
}

static int plan_from_json(json_t *o, apollo__sample_plan *pl, const char *w)
{
    int64_t n, fpc, x;
    json_t *idx, *t0, *t1;
    const char *cdt;
    int rc;
    memset(pl, 0, sizeof *pl);
    if ((rc = json_i(o, "n_clips", &n, w)) || (rc = json_i(o, "frames_per_clip", &fpc, w)) ||
        (rc = apollo__json_get_array(o, "indices", w, &idx)) ||
        (rc = apollo__json_get_array(o, "t0", w, &t0)) ||
        (rc = apollo__json_get_array(o, "t1", w, &t1)))
        return rc;
    if (n < 1 || n > (1 << 20) || fpc < 1 || fpc > APOLLO__VIDEO_MAX_FPC ||
        json_array_size(idx) != (size_t)(n * fpc) || json_array_size(t0) != (size_t)n ||
        json_array_size(t1) != (size_t)n)
        return apollo__fail(APOLLO_E_FORMAT, "%s: inconsistent clip plan", w);
    pl->n_clips = (int32_t)n;
    pl->frames_per_clip = (int32_t)fpc;
    pl->indices = apollo__malloc((size_t)(n * fpc) * sizeof *pl->indices);
    pl->t0 = apollo__malloc((size_t)n * sizeof *pl->t0);
    pl->t1 = apollo__malloc((size_t)n * sizeof *pl->t1);
    if (!pl->indices || !pl->t0 || !pl->t1)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < n * fpc; i++)
        pl->indices[i] = (int64_t)json_integer_value(json_array_get(idx, (size_t)i));
    for (int64_t i = 0; i < n; i++) {
        pl->t0[i] = json_number_value(json_array_get(t0, (size_t)i));
        pl->t1[i] = json_number_value(json_array_get(t1, (size_t)i));
    }
    if ((rc = apollo__json_get_number(o, "budget_ratio", w, &pl->budget_ratio)) ||
        (rc = apollo__json_get_number(o, "duration", w, &pl->duration)) ||
        (rc = apollo__json_get_number(o, "clip_duration", w, &pl->clip_duration)) ||
        (rc = apollo__json_get_string(o, "clip_duration_text", w, &cdt)) ||
        (rc = json_i(o, "tokens_per_clip", &pl->tokens_per_clip, w)) ||
        (rc = json_i(o, "first_frame", &pl->first_frame, w)) ||
        (rc = json_i(o, "window_frames", &pl->window_frames, w)))
        return rc;
    snprintf(pl->clip_duration_text, sizeof pl->clip_duration_text, "%s", cdt);
    if (!(rc = json_i(o, "branch", &x, w)))
        pl->branch = (int32_t)x;
    if (!rc && !(rc = json_i(o, "degenerate", &x, w)))
        pl->degenerate = (int32_t)x;
    if (!rc && !(rc = json_i(o, "repaired", &x, w)))
        pl->repaired = (int32_t)x;
    return rc;
}

static int meta_from_json(json_t *o, apollo__video_meta *m, const char *w)
{
    int64_t x;
    double d;
    const char *s;
    int rc;
    memset(m, 0, sizeof *m);
#define GI(key, field)                                                                     \
    if ((rc = json_i(o, key, &x, w)))                                                      \
        return rc;                                                                         \
    m->field = (int32_t)x;
    if ((rc = json_i(o, "total_frames", &m->total_frames, w)) ||
        (rc = apollo__json_get_number(o, "fps", w, &m->fps)) ||
        (rc = apollo__json_get_number(o, "duration", w, &d)))
        return rc;
    m->duration = d;
    GI("width", width)
    GI("height", height)
    GI("coded_width", coded_width)
    GI("coded_height", coded_height)
    GI("rotation", rotation)
    GI("is_image", is_image)
    GI("source", source)
    GI("n_streams", n_streams)
#undef GI
    if ((rc = apollo__json_get_string(o, "codec", w, &s)))
        return rc;
    snprintf(m->codec, sizeof m->codec, "%s", s);
    if ((rc = apollo__json_get_string(o, "pix_fmt", w, &s)))
        return rc;
    snprintf(m->pix_fmt, sizeof m->pix_fmt, "%s", s);
    if ((rc = apollo__json_get_string(o, "container", w, &s)))
        return rc;
    snprintf(m->container, sizeof m->container, "%s", s);
    return APOLLO_OK;
}

APOLLO_API int apollo_video_load(apollo_ctx *ctx, const char *path,
                                 const apollo_video_params *params, apollo_video **out)
{
    apollo__embed_record rec;
    apollo_video *v = NULL;
    uint8_t fp[16];
    json_t *root = NULL, *plan, *vmeta;
    int64_t rows, dim;
    int rc;

    apollo__clear_error();
    if (!out)
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_video_load: out is NULL");
    *out = NULL;
    if (!apollo__ctx_valid(ctx))
        return apollo__fail(APOLLO_E_MISUSE, "apollo_video_load: invalid ctx");
    if (!path)
        return apollo__fail(APOLLO_E_INVALID_ARG, "apollo_video_load: path is NULL");
    if ((rc = apollo__embed_store_read(path, &rec)))
        return rc;
    v = apollo__calloc(1, sizeof *v);
    if (!v) {
        rc = apollo__fail(APOLLO_E_NOMEM, "out of memory");
        goto fail;
    }
    apollo_video_params_init(&v->params);
    if (params &&
        (rc = apollo__copy_params(&v->params, sizeof v->params, params, "apollo_video_params")))
        goto fail;
    if ((rc = apollo__video_make_towers(ctx->model, v)))
        goto fail;
    model_fingerprint(ctx->model, fp);
    if (memcmp(fp, rec.fingerprint, 16) != 0) {
        rc = apollo__fail(APOLLO_E_CONFIG, "%s: these visual tokens were made by another model "
                          "(vision towers or connector differ); encode the video again", path);
        goto fail;
    }
    settings_fingerprint(ctx->model, v, &v->params, fp);
    if (memcmp(fp, rec.fingerprint + 16, 16) != 0) {
        rc = apollo__fail(APOLLO_E_CONFIG, "%s: these visual tokens were made with other video "
                          "settings (fps, max_clips, time window or sampling ratio) than the "
                          "apollo_video_params given", path);
        goto fail;
    }
    root = apollo__json_load_buffer(rec.meta_json, strlen(rec.meta_json), path, &rc);
    if (!root)
        goto fail;
    if ((rc = apollo__json_get_object(root, "plan", path, &plan)) ||
        (rc = apollo__json_get_object(root, "video", path, &vmeta)) ||
        (rc = json_i(root, "embed_rows", &rows, path)) ||
        (rc = json_i(root, "embed_dim", &dim, path)) ||
        (rc = plan_from_json(plan, &v->plan, path)) ||
        (rc = meta_from_json(vmeta, &v->saved_meta, path)))
        goto fail;
    if (dim != ctx->model->llm.hidden_size || rows != (int64_t)v->plan.n_clips *
        v->plan.tokens_per_clip || (uint64_t)(rows * dim) != rec.n_floats ||
        v->plan.tokens_per_clip != ctx->model->conn.cfg.n_latents) {
        rc = apollo__fail(APOLLO_E_FORMAT, "%s: the token matrix does not fit the model", path);
        goto fail;
    }
    v->embeds = rec.data;
    rec.data = NULL;
    v->embed_rows = rows;
    v->embed_dim = dim;
    apollo__ctx_retain(ctx);
    v->ctx = ctx;
    v->magic = APOLLO__VIDEO_MAGIC;
    json_decref(root);
    apollo__embed_record_free(&rec);
    *out = v;
    return APOLLO_OK;
fail:
    json_decref(root);
    apollo__embed_record_free(&rec);
    if (v) {
        apollo__sample_plan_free(&v->plan);
        apollo__free(v);
    }
    return rc;
}
