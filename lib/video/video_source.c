/* Video sources: opening a file, a memory buffer, caller frames or a still
 * image; decord-compatible metadata from the container's packet index. */
#include "video_internal.h"

#include "common/alloc.h"
#include "common/status.h"

#include <errno.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *apollo__av_err(int err, char *buf, size_t cap)
{
    if (av_strerror(err, buf, cap) < 0)
        snprintf(buf, cap, "libav error %d", err);
    return buf;
}

static apollo__vsrc *src_alloc(const apollo__vsrc_opts *opts, const char *display)
{
    apollo__vsrc *src = apollo__calloc(1, sizeof *src);
    if (!src)
        return NULL;
    if (opts)
        src->opts = *opts;
    if (src->opts.n_threads <= 0)
        src->opts.n_threads = 1;
    if (src->opts.image_frames <= 0)
        src->opts.image_frames = 4;
    if (!(src->opts.image_fps > 0))
        src->opts.image_fps = 2.0;
    src->stream = -1;
    src->last_idx = -1;
    src->pending_idx = -1;
    src->pos = -1;
    src->path = apollo__strdup(display ? display : "video");
    if (!src->path) {
        apollo__free(src);
        return NULL;
    }
    return src;
}

void apollo__vsrc_free(apollo__vsrc *src)
{
    if (!src)
        return;
    apollo__vdec_release(src);
    if (src->fmt)
        avformat_close_input(&src->fmt);
    if (src->avio) {
        av_freep(&src->avio->buffer);
        avio_context_free(&src->avio);
    }
    apollo__free(src->mem_copy);
    apollo__free(src->pts);
    apollo__free(src->keys);
    apollo__free(src->targets);
    apollo__free(src->rgb);
    apollo__free(src->rgb_tmp);
    apollo__free(src->kept);
    apollo__free(src->kept_idx);
    apollo__free(src->image);
    apollo__free(src->path);
    apollo__free(src);
}

const apollo__video_meta *apollo__vsrc_meta(const apollo__vsrc *src)
{
    return src ? &src->meta : NULL;
}

void apollo__vsrc_get_stats(const apollo__vsrc *src, apollo__vsrc_stats *stats)
{
    if (src && stats)
        *stats = src->stats;
}

/* ---- memory AVIO ------------------------------------------------------------------------- */

static int mem_read(void *opaque, uint8_t *buf, int size)
{
    apollo__vsrc *src = opaque;
    size_t left = src->mem_size - (size_t)src->mem_pos;
    size_t n = (size_t)size < left ? (size_t)size : left;
    if (n == 0)
        return AVERROR_EOF;
    memcpy(buf, src->mem + src->mem_pos, n);
    src->mem_pos += (int64_t)n;
    return (int)n;
}

static int64_t mem_seek(void *opaque, int64_t offset, int whence)
{
    apollo__vsrc *src = opaque;
    int64_t base;
    switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE: return (int64_t)src->mem_size;
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = src->mem_pos; break;
    case SEEK_END: base = (int64_t)src->mem_size; break;
    default: return AVERROR(EINVAL);
    }
    if (offset > INT64_MAX - base || base + offset < 0 || base + offset > (int64_t)src->mem_size)
        return AVERROR(EINVAL);
    src->mem_pos = base + offset;
    return src->mem_pos;
}

/* ---- common libav opening ------------------------------------------------------------------ */

typedef struct pkt_rec {
    int64_t pts;
    int key;
} pkt_rec;

static int cmp_rec(const void *a, const void *b)
{
    const pkt_rec *x = a, *y = b;
    return x->pts < y->pts ? -1 : x->pts > y->pts;
}

/* decord: rotation from the "rotate" tag or the display matrix, clockwise. */
static int32_t stream_rotation(const AVStream *st)
{
    double theta = 0;
    AVDictionaryEntry *tag = av_dict_get(st->metadata, "rotate", NULL, 0);
    if (tag && *tag->value && strcmp(tag->value, "0"))
        theta = atof(tag->value);
    if (theta == 0) {
        const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
        if (m)
            theta = -av_display_rotation_get((const int32_t *)m);
    }
    if (!isfinite(theta))
        return 0;
    theta -= 360 * floor(theta / 360 + 0.9 / 360);
    if (fabs(theta - 90) < 2)
        return 90;
    if (fabs(theta - 180) < 2)
        return 180;
    if (fabs(theta - 270) < 2)
        return 270;
    return 0;
}

static int is_image_demuxer(const char *name)
{
    size_t n = strlen(name);
    return !strcmp(name, "image2") || (n > 5 && !strcmp(name + n - 5, "_pipe"));
}

static int check_dims(const apollo__vsrc *src, int64_t w, int64_t h)
{
    if (w <= 0 || h <= 0 || w > APOLLO__VIDEO_MAX_SIDE || h > APOLLO__VIDEO_MAX_SIDE ||
        w * h > APOLLO__VIDEO_MAX_PIXELS)
        return apollo__fail(APOLLO_E_VIDEO,
                            "%s: frame size %lldx%lld is out of range (each side 1..%d, at most "
                            "%lld pixels)",
                            src->path, (long long)w, (long long)h, APOLLO__VIDEO_MAX_SIDE,
                            APOLLO__VIDEO_MAX_PIXELS);
    return APOLLO_OK;
}

static int alloc_rgb(apollo__vsrc *src)
{
    int32_t w = src->meta.width, h = src->meta.height;
    int32_t cw = src->meta.coded_width, ch = src->meta.coded_height;
    /* rows padded for swscale's SIMD stores, plus one spare row */
    src->rgb_stride = (int32_t)(((size_t)w * 3 + 63) & ~(size_t)63);
    src->rgb = apollo__malloc((size_t)src->rgb_stride * (size_t)(h + 1) + 64);
    if (src->meta.rotation) {
        src->tmp_stride = (int32_t)(((size_t)cw * 3 + 63) & ~(size_t)63);
        src->rgb_tmp = apollo__malloc((size_t)src->tmp_stride * (size_t)(ch + 1) + 64);
        if (!src->rgb_tmp)
            return apollo__fail(APOLLO_E_NOMEM, "out of memory (video frame)");
    }
    if (!src->rgb)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (video frame)");
    return APOLLO_OK;
}

/* Reads every packet of the video stream (no decoding), like decord's
 * IndexKeyframes: the count is total_frames, the sorted pts give the
 * presentation order. */
static int build_index(apollo__vsrc *src)
{
    AVStream *st = src->fmt->streams[src->stream];
    pkt_rec *recs = NULL;
    size_t n = 0, cap = 0;
    int ret, have_nopts = 0, dup = 0;
    char eb[128];

    for (;;) {
        ret = av_read_frame(src->fmt, src->pkt);
        if (ret < 0)
            break; /* EOF, or a read/parse error on a truncated file: stop there */
        if (src->pkt->stream_index == src->stream) {
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 1024;
                pkt_rec *r = apollo__realloc(recs, nc * sizeof *r);
                if (!r) {
                    av_packet_unref(src->pkt);
                    apollo__free(recs);
                    return apollo__fail(APOLLO_E_NOMEM, "out of memory (packet index)");
                }
                recs = r;
                cap = nc;
            }
            recs[n].pts = src->pkt->pts != AV_NOPTS_VALUE ? src->pkt->pts : src->pkt->dts;
            if (recs[n].pts == AV_NOPTS_VALUE)
                have_nopts = 1;
            recs[n].key = (src->pkt->flags & AV_PKT_FLAG_KEY) != 0;
            n++;
        }
        av_packet_unref(src->pkt);
    }
    if (ret != AVERROR_EOF && n == 0) {
        apollo__free(recs);
        return apollo__fail(APOLLO_E_VIDEO, "%s: cannot read packets: %s", src->path,
                            apollo__av_err(ret, eb, sizeof eb));
    }
    if (n == 0) {
        apollo__free(recs);
        return apollo__fail(APOLLO_E_NO_VIDEO, "%s: the video stream holds no frames", src->path);
    }
    if (!have_nopts)
        qsort(recs, n, sizeof *recs, cmp_rec);
    for (size_t i = 1; i < n && !have_nopts; i++)
        if (recs[i].pts == recs[i - 1].pts)
            dup = 1;
    src->pts = apollo__malloc(n * sizeof *src->pts);
    src->keys = apollo__malloc(n * sizeof *src->keys);
    if (!src->pts || !src->keys) {
        apollo__free(recs);
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (packet index)");
    }
    src->n_keys = 0;
    for (size_t i = 0; i < n; i++) {
        src->pts[i] = recs[i].pts;
        if (recs[i].key)
            src->keys[src->n_keys++] = (int64_t)i;
    }
    apollo__free(recs);
    src->meta.total_frames = (int64_t)n;
    src->pts_ok = !have_nopts && !dup;
    src->seek_ok = src->pts_ok && src->n_keys > 0 && (src->fmt->pb ? src->fmt->pb->seekable : 0);
    (void)st;
    return APOLLO_OK;
}

static int open_libav(apollo__vsrc *src)
{
    const AVCodec *codec = NULL;
    AVStream *st;
    int ret, rc;
    char eb[128];

    src->pkt = av_packet_alloc();
    src->frame = av_frame_alloc();
    src->last = av_frame_alloc();
    src->pending = av_frame_alloc();
    if (!src->pkt || !src->frame || !src->last || !src->pending)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (libav frames)");

    ret = avformat_find_stream_info(src->fmt, NULL);
    if (ret < 0)
        return apollo__fail(APOLLO_E_VIDEO, "%s: cannot read stream information: %s", src->path,
                            apollo__av_err(ret, eb, sizeof eb));
    src->meta.n_streams = (int32_t)src->fmt->nb_streams;
    snprintf(src->meta.container, sizeof src->meta.container, "%s", src->fmt->iformat->name);

    /* the best video stream that is not a cover picture */
    ret = av_find_best_stream(src->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (ret >= 0 && (src->fmt->streams[ret]->disposition & AV_DISPOSITION_ATTACHED_PIC) &&
        !is_image_demuxer(src->fmt->iformat->name)) {
        ret = AVERROR_STREAM_NOT_FOUND;
        for (unsigned i = 0; i < src->fmt->nb_streams; i++) {
            AVStream *s = src->fmt->streams[i];
            if (s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
                !(s->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
                codec = avcodec_find_decoder(s->codecpar->codec_id);
                ret = codec ? (int)i : AVERROR_DECODER_NOT_FOUND;
                break;
            }
        }
    }
    if (ret == AVERROR_STREAM_NOT_FOUND)
        return apollo__fail(APOLLO_E_NO_VIDEO, "%s: no video stream (the file has %u stream%s, "
                            "none of them video)",
                            src->path, src->fmt->nb_streams, src->fmt->nb_streams == 1 ? "" : "s");
    if (ret == AVERROR_DECODER_NOT_FOUND || (ret >= 0 && !codec)) {
        int id = ret >= 0 ? (int)src->fmt->streams[ret]->codecpar->codec_id : 0;
        if (ret < 0) /* find the stream to name its codec */
            for (unsigned i = 0; i < src->fmt->nb_streams; i++)
                if (src->fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO)
                    id = (int)src->fmt->streams[i]->codecpar->codec_id;
        return apollo__fail(APOLLO_E_VIDEO, "%s: no decoder for video codec '%s' in this build",
                            src->path, avcodec_get_name((enum AVCodecID)id));
    }
    if (ret < 0)
        return apollo__fail(APOLLO_E_VIDEO, "%s: cannot select a video stream: %s", src->path,
                            apollo__av_err(ret, eb, sizeof eb));
    src->stream = ret;
    st = src->fmt->streams[src->stream];
    for (unsigned i = 0; i < src->fmt->nb_streams; i++)
        if ((int)i != src->stream)
            src->fmt->streams[i]->discard = AVDISCARD_ALL;
    src->meta.stream_index = src->stream;

    if ((rc = check_dims(src, st->codecpar->width, st->codecpar->height)))
        return rc;

    src->dec = avcodec_alloc_context3(codec);
    if (!src->dec)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (decoder)");
    if ((ret = avcodec_parameters_to_context(src->dec, st->codecpar)) < 0)
        return apollo__fail(APOLLO_E_VIDEO, "%s: bad codec parameters: %s", src->path,
                            apollo__av_err(ret, eb, sizeof eb));
    src->dec->thread_count = src->opts.n_threads;
    src->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    src->dec->pkt_timebase = st->time_base;
    if ((ret = avcodec_open2(src->dec, codec, NULL)) < 0)
        return apollo__fail(APOLLO_E_VIDEO, "%s: cannot open the %s decoder: %s", src->path,
                            codec->name, apollo__av_err(ret, eb, sizeof eb));
    snprintf(src->meta.codec, sizeof src->meta.codec, "%s", codec->name);
    {
        const char *pf = av_get_pix_fmt_name((enum AVPixelFormat)st->codecpar->format);
        snprintf(src->meta.pix_fmt, sizeof src->meta.pix_fmt, "%s", pf ? pf : "unknown");
    }
    src->meta.coded_width = st->codecpar->width;
    src->meta.coded_height = st->codecpar->height;
    src->meta.sar_num = st->codecpar->sample_aspect_ratio.num;
    src->meta.sar_den = st->codecpar->sample_aspect_ratio.den;
    src->meta.rotation = stream_rotation(st);
    if (src->meta.rotation == 90 || src->meta.rotation == 270) {
        src->meta.width = src->meta.coded_height;
        src->meta.height = src->meta.coded_width;
    } else {
        src->meta.width = src->meta.coded_width;
        src->meta.height = src->meta.coded_height;
    }
    if ((rc = alloc_rgb(src)))
        return rc;

    if (is_image_demuxer(src->fmt->iformat->name)) {
        /* A still image: decode it once and show it as a static clip. */
        AVFrame *f = av_frame_alloc();
        size_t row = (size_t)src->meta.width * 3;
        if (!f)
            return apollo__fail(APOLLO_E_NOMEM, "out of memory (image)");
        rc = apollo__vdec_first_frame(src, f);
        if (!rc)
            rc = apollo__vdec_convert(src, f);
        av_frame_free(&f);
        if (rc)
            return rc;
        src->image = apollo__malloc(row * (size_t)src->meta.height);
        if (!src->image)
            return apollo__fail(APOLLO_E_NOMEM, "out of memory (image)");
        for (int32_t y = 0; y < src->meta.height; y++)
            memcpy(src->image + row * (size_t)y, src->rgb + (size_t)src->rgb_stride * (size_t)y, row);
        src->meta.is_image = 1;
        src->meta.total_frames = src->opts.image_frames;
        src->meta.fps = src->opts.image_fps;
        src->meta.duration = (double)src->meta.total_frames / src->meta.fps;
        return APOLLO_OK;
    }

    if ((rc = build_index(src)))
        return rc;
    /* decord: get_avg_fps() = avg_frame_rate.  When the container has none,
     * fall back to r_frame_rate, then to frames over the stream duration. */
    {
        AVRational r = st->avg_frame_rate;
        double fps = (r.num > 0 && r.den > 0) ? (double)r.num / r.den : 0;
        if (!(fps > 0)) {
            r = st->r_frame_rate;
            fps = (r.num > 0 && r.den > 0) ? (double)r.num / r.den : 0;
        }
        if (!(fps > 0) && st->duration > 0 && st->time_base.num > 0 && st->time_base.den > 0) {
            double d = (double)st->duration * st->time_base.num / st->time_base.den;
            fps = (double)src->meta.total_frames / d;
        }
        if (!(fps > 0) || !isfinite(fps) || fps > 1e6)
            return apollo__fail(APOLLO_E_NO_VIDEO,
                                "%s: the video has no usable frame rate (zero duration)", src->path);
        src->meta.fps = fps;
        src->meta.duration = (double)src->meta.total_frames / fps;
    }
    return apollo__vdec_rewind(src);
}

static int open_path_checks(const char *path)
{
    struct stat sb;
    FILE *f;
    if (stat(path, &sb) != 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return apollo__fail(APOLLO_E_NOT_FOUND, "%s: no such file", path);
        return apollo__fail(APOLLO_E_IO, "%s: %s", path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode))
        return apollo__fail(APOLLO_E_IO, "%s: is a directory, not a video file", path);
    f = fopen(path, "rb");
    if (!f)
        return apollo__fail(APOLLO_E_IO, "%s: cannot open: %s", path, strerror(errno));
    fclose(f);
    if (S_ISREG(sb.st_mode) && sb.st_size == 0)
        return apollo__fail(APOLLO_E_NO_VIDEO, "%s: the file is empty", path);
    return APOLLO_OK;
}

static int open_input_error(const apollo__vsrc *src, int ret)
{
    char eb[128];
    if (ret == AVERROR(ENOENT))
        return apollo__fail(APOLLO_E_NOT_FOUND, "%s: no such file", src->path);
    if (ret == AVERROR(EACCES) || ret == AVERROR(EIO))
        return apollo__fail(APOLLO_E_IO, "%s: %s", src->path, apollo__av_err(ret, eb, sizeof eb));
    if (ret == AVERROR(ENOMEM))
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (opening %s)", src->path);
    return apollo__fail(APOLLO_E_VIDEO, "%s: not a video or image file libavformat can read (%s)",
                        src->path, apollo__av_err(ret, eb, sizeof eb));
}

int apollo__vsrc_open_file(const char *path, const apollo__vsrc_opts *opts, apollo__vsrc **out)
{
    apollo__vsrc *src;
    int rc, ret;
    char *url;

    if (!out)
        return apollo__fail(APOLLO_E_INVALID_ARG, "video: out is NULL");
    *out = NULL;
    if (!path || !*path)
        return apollo__fail(APOLLO_E_INVALID_ARG, "video: path is NULL or empty");
    if ((rc = open_path_checks(path)))
        return rc;
    src = src_alloc(opts, path);
    if (!src)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (video)");
    src->meta.source = APOLLO__VSRC_FILE;
    /* "file:" keeps libavformat from reading protocol prefixes in the name */
    url = apollo__malloc(strlen(path) + 6);
    if (!url) {
        apollo__vsrc_free(src);
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (video)");
    }
    memcpy(url, "file:", 5);
    memcpy(url + 5, path, strlen(path) + 1);
    ret = avformat_open_input(&src->fmt, url, NULL, NULL);
    apollo__free(url);
    if (ret < 0) {
        rc = open_input_error(src, ret);
        apollo__vsrc_free(src);
        return rc;
    }
    if ((rc = open_libav(src))) {
        apollo__vsrc_free(src);
        return rc;
    }
    *out = src;
    return APOLLO_OK;
}

int apollo__vsrc_open_memory(const void *data, size_t size, int copy, const apollo__vsrc_opts *opts,
                             apollo__vsrc **out)
{
    apollo__vsrc *src;
    uint8_t *iobuf;
    int rc, ret;

    if (!out)
        return apollo__fail(APOLLO_E_INVALID_ARG, "video: out is NULL");
    *out = NULL;
    if (!data && size)
        return apollo__fail(APOLLO_E_INVALID_ARG, "video: data is NULL");
    if (size == 0)
        return apollo__fail(APOLLO_E_NO_VIDEO, "video buffer: the buffer is empty");
    src = src_alloc(opts, "video buffer");
    if (!src)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (video)");
    src->meta.source = APOLLO__VSRC_MEMORY;
    if (copy) {
        src->mem_copy = apollo__malloc(size);
        if (!src->mem_copy) {
            apollo__vsrc_free(src);
            return apollo__fail(APOLLO_E_NOMEM, "out of memory (copying a %zu-byte video)", size);
        }
        memcpy(src->mem_copy, data, size);
        src->mem = src->mem_copy;
    } else {
        src->mem = data;
    }
    src->mem_size = size;
    iobuf = av_malloc(65536);
    if (!iobuf) {
        apollo__vsrc_free(src);
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (video)");
    }
    src->avio = avio_alloc_context(iobuf, 65536, 0, src, mem_read, NULL, mem_seek);
    if (!src->avio) {
        av_free(iobuf);
        apollo__vsrc_free(src);
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (video)");
    }
    src->fmt = avformat_alloc_context();
    if (!src->fmt) {
        apollo__vsrc_free(src);
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (video)");
    }
    src->fmt->pb = src->avio;
    src->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    ret = avformat_open_input(&src->fmt, NULL, NULL, NULL); /* frees fmt on failure */
    if (ret < 0) {
        rc = open_input_error(src, ret);
        apollo__vsrc_free(src);
        return rc;
    }
    if ((rc = open_libav(src))) {
        apollo__vsrc_free(src);
        return rc;
    }
    *out = src;
    return APOLLO_OK;
}

/* ---- caller frames ----------------------------------------------------------------------------- */

int apollo__vsrc_open_frames(const uint8_t *rgb, int64_t n_frames, int32_t width, int32_t height,
                             size_t row_stride, size_t frame_stride, double fps,
                             const double *timestamps_s, const apollo__vsrc_opts *opts,
                             apollo__vsrc **out)
{
    apollo__vsrc *src;
    int rc;

    if (!out)
        return apollo__fail(APOLLO_E_INVALID_ARG, "video: out is NULL");
    *out = NULL;
    if (!rgb)
        return apollo__fail(APOLLO_E_INVALID_ARG, "video frames: rgb is NULL");
    if (n_frames < 1)
        return apollo__fail(APOLLO_E_NO_VIDEO, "video frames: n_frames %lld, need at least 1",
                            (long long)n_frames);
    if (row_stride == 0)
        row_stride = (size_t)width * 3;
    if (frame_stride == 0)
        frame_stride = row_stride * (size_t)height;
    src = src_alloc(opts, "caller frames");
    if (!src)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (video)");
    if ((rc = check_dims(src, width, height))) {
        apollo__vsrc_free(src);
        return rc;
    }
    if (row_stride < (size_t)width * 3 || frame_stride < row_stride * (size_t)(height - 1) + (size_t)width * 3) {
        apollo__vsrc_free(src);
        return apollo__fail(APOLLO_E_INVALID_ARG,
                            "video frames: strides (row %zu, frame %zu) too small for %dx%d RGB",
                            row_stride, frame_stride, width, height);
    }
    src->meta.source = APOLLO__VSRC_FRAMES;
    src->meta.width = src->meta.coded_width = width;
    src->meta.height = src->meta.coded_height = height;
    src->meta.sar_num = src->meta.sar_den = 1;
    src->meta.n_streams = 1;
    snprintf(src->meta.codec, sizeof src->meta.codec, "rawvideo");
    snprintf(src->meta.pix_fmt, sizeof src->meta.pix_fmt, "rgb24");
    snprintf(src->meta.container, sizeof src->meta.container, "frames");
    src->frames = rgb;
    src->row_stride = row_stride;
    src->frame_stride = frame_stride;

    if (n_frames == 1) {
        size_t row = (size_t)width * 3;
        src->image = apollo__malloc(row * (size_t)height);
        if (!src->image) {
            apollo__vsrc_free(src);
            return apollo__fail(APOLLO_E_NOMEM, "out of memory (image)");
        }
        for (int32_t y = 0; y < height; y++)
            memcpy(src->image + row * (size_t)y, rgb + row_stride * (size_t)y, row);
        src->frames = NULL;
        src->meta.is_image = 1;
        src->meta.total_frames = src->opts.image_frames;
        src->meta.fps = src->opts.image_fps;
    } else {
        if (timestamps_s) {
            double span = timestamps_s[n_frames - 1] - timestamps_s[0];
            for (int64_t i = 1; i < n_frames; i++)
                if (!(timestamps_s[i] > timestamps_s[i - 1])) {
                    apollo__vsrc_free(src);
                    return apollo__fail(APOLLO_E_INVALID_ARG,
                                        "video frames: timestamps must increase (frame %lld: %g "
                                        "after %g)",
                                        (long long)i, timestamps_s[i], timestamps_s[i - 1]);
                }
            fps = (double)(n_frames - 1) / span;
        }
        if (!(fps > 0) || !isfinite(fps) || fps > 1e6) {
            apollo__vsrc_free(src);
            return apollo__fail(APOLLO_E_INVALID_ARG,
                                "video frames: give fps > 0 or increasing timestamps (fps %g)", fps);
        }
        src->meta.total_frames = n_frames;
        src->meta.fps = fps;
    }
    src->meta.duration = (double)src->meta.total_frames / src->meta.fps;
    *out = src;
    return APOLLO_OK;
}

int apollo__vsrc_frames_copy(apollo__vsrc *src, const int64_t *keep, int64_t n_keep)
{
    size_t row, fsize, total;
    if (!src || src->meta.source != APOLLO__VSRC_FRAMES)
        return apollo__fail(APOLLO_E_INVALID_ARG, "video: not a caller-frames source");
    if (!src->frames)
        return APOLLO_OK; /* an image, or already copied */
    row = (size_t)src->meta.width * 3;
    fsize = row * (size_t)src->meta.height;
    if (n_keep < 0 || (n_keep && !keep))
        return apollo__fail(APOLLO_E_INVALID_ARG, "video frames: bad keep list");
    if (apollo__mul_size((size_t)n_keep, fsize, &total))
        return apollo__fail(APOLLO_E_NOMEM, "video frames: size overflow");
    src->kept = apollo__malloc(total ? total : 1);
    src->kept_idx = apollo__malloc((size_t)(n_keep ? n_keep : 1) * sizeof *src->kept_idx);
    if (!src->kept || !src->kept_idx)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (copying %lld frames)", (long long)n_keep);
    for (int64_t i = 0; i < n_keep; i++) {
        const uint8_t *f;
        if (keep[i] < 0 || keep[i] >= src->meta.total_frames || (i && keep[i] <= keep[i - 1]))
            return apollo__fail(APOLLO_E_INVALID_ARG, "video frames: keep list not sorted/unique");
        f = src->frames + (size_t)keep[i] * src->frame_stride;
        for (int32_t y = 0; y < src->meta.height; y++)
            memcpy(src->kept + (size_t)i * fsize + row * (size_t)y, f + src->row_stride * (size_t)y, row);
        src->kept_idx[i] = keep[i];
    }
    src->n_kept = n_keep;
    src->frames = NULL;
    return APOLLO_OK;
}

/* ---- targets and reading ---------------------------------------------------------------------- */

int apollo__vsrc_set_targets(apollo__vsrc *src, const int64_t *sorted_unique, int64_t n)
{
    int64_t *t;
    if (!src || n < 0 || (n && !sorted_unique))
        return apollo__fail(APOLLO_E_INVALID_ARG, "video: bad target list");
    for (int64_t i = 0; i < n; i++)
        if (sorted_unique[i] < 0 || sorted_unique[i] >= src->meta.total_frames ||
            (i && sorted_unique[i] <= sorted_unique[i - 1]))
            return apollo__fail(APOLLO_E_INVALID_ARG,
                                "video: target frames must be sorted, unique and in [0, %lld)",
                                (long long)src->meta.total_frames);
    t = apollo__malloc((size_t)(n ? n : 1) * sizeof *t);
    if (!t)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (video targets)");
    if (n)
        memcpy(t, sorted_unique, (size_t)n * sizeof *t);
    apollo__free(src->targets);
    src->targets = t;
    src->n_targets = n;
    src->next_target = 0;
    memset(&src->stats, 0, sizeof src->stats);
    if (src->fmt && !src->meta.is_image)
        return apollo__vdec_rewind(src);
    return APOLLO_OK;
}

int apollo__vsrc_next(apollo__vsrc *src, int64_t *index, const uint8_t **rgb, int32_t *stride)
{
    int64_t t;
    int rc;
    if (!src || !index || !rgb || !stride)
        return apollo__fail(APOLLO_E_INVALID_ARG, "video: NULL argument");
    if (src->next_target >= src->n_targets)
        return 0;
    t = src->targets[src->next_target];
    if (src->image) {
        *rgb = src->image;
        *stride = src->meta.width * 3;
    } else if (src->meta.source == APOLLO__VSRC_FRAMES) {
        if (src->frames) {
            *rgb = src->frames + (size_t)t * src->frame_stride;
            *stride = (int32_t)src->row_stride;
        } else {
            int64_t lo = 0, hi = src->n_kept - 1, found = -1;
            while (lo <= hi) {
                int64_t mid = lo + (hi - lo) / 2;
                if (src->kept_idx[mid] == t) {
                    found = mid;
                    break;
                }
                if (src->kept_idx[mid] < t)
                    lo = mid + 1;
                else
                    hi = mid - 1;
            }
            if (found < 0)
                return apollo__fail(APOLLO_E_INVALID_ARG,
                                    "video frames: frame %lld was not kept when the frames were "
                                    "copied",
                                    (long long)t);
            *rgb = src->kept + (size_t)found * (size_t)src->meta.width * 3 * (size_t)src->meta.height;
            *stride = src->meta.width * 3;
        }
        src->stats.n_frames_converted++;
    } else {
        if ((rc = apollo__vdec_next(src, t, rgb, stride)))
            return rc;
    }
    *index = t;
    src->next_target++;
    return 1;
}
