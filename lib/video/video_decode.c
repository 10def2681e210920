/* Decoding only what the sampling plan needs.
 *
 * Frames are identified by their presentation index: the decoder's output
 * frame pts is looked up in the sorted packet pts (decord's frame_ts_).
 * Between sample points the decoder skips non-reference frames
 * (AVDISCARD_NONREF, decided per packet from its pts) and, when a keyframe
 * lies between the current position and the next target, seeks to it.
 * Conversion to RGB24 uses swscale as decord's "scale" filter does
 * (SWS_BILINEAR, colour matrix and range from the frame), then applies the
 * stream's rotation metadata. */
#include "video_internal.h"

#include "common/alloc.h"
#include "common/status.h"

#include <libavutil/pixdesc.h>
#include <string.h>

/* Frames between the current position and a keyframe below which decoding
 * forward is cheaper than a seek + decoder flush. */
#define APOLLO__SEEK_MIN_GAP 16

void apollo__vdec_release(apollo__vsrc *src)
{
    if (src->dec)
        avcodec_free_context(&src->dec);
    av_packet_free(&src->pkt);
    av_frame_free(&src->frame);
    av_frame_free(&src->last);
    av_frame_free(&src->pending);
    if (src->sws) {
        sws_freeContext(src->sws);
        src->sws = NULL;
    }
}

static int64_t lookup_pts(const apollo__vsrc *src, int64_t pts)
{
    int64_t lo = 0, hi = src->meta.total_frames - 1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (src->pts[mid] == pts)
            return mid;
        if (src->pts[mid] < pts)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static int is_target(const apollo__vsrc *src, int64_t idx)
{
    int64_t lo = src->next_target, hi = src->n_targets - 1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (src->targets[mid] == idx)
            return 1;
        if (src->targets[mid] < idx)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0;
}

/* Presentation index of a decoded frame. */
static int64_t frame_index(const apollo__vsrc *src, const AVFrame *f)
{
    if (src->pts_ok) {
        int64_t t = f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
        if (t != AV_NOPTS_VALUE) {
            int64_t i = lookup_pts(src, t);
            if (i >= 0)
                return i;
        }
    }
    return src->pos + 1; /* count */
}

static void drop_state(apollo__vsrc *src)
{
    av_frame_unref(src->pending);
    src->pending_idx = -1;
    av_frame_unref(src->last);
    src->last_idx = -1;
    src->eof_sent = 0;
}

int apollo__vdec_rewind(apollo__vsrc *src)
{
    int ret;
    char eb[128];
    AVStream *st = src->fmt->streams[src->stream];
    int64_t ts = src->pts && src->pts_ok ? src->pts[0] : (st->start_time != AV_NOPTS_VALUE ? st->start_time : 0);

    ret = avformat_seek_file(src->fmt, src->stream, INT64_MIN, ts, ts, 0);
    if (ret < 0)
        ret = av_seek_frame(src->fmt, src->stream, ts, AVSEEK_FLAG_BACKWARD);
    if (ret < 0) {
        /* byte seek to the start as a last resort */
        if (src->fmt->pb && avio_seek(src->fmt->pb, 0, SEEK_SET) >= 0)
            ret = avformat_flush(src->fmt);
    }
    if (ret < 0)
        return apollo__fail(APOLLO_E_VIDEO, "%s: cannot rewind the video: %s", src->path,
                            apollo__av_err(ret, eb, sizeof eb));
    if (src->dec)
        avcodec_flush_buffers(src->dec);
    drop_state(src);
    src->pos = -1;
    src->just_seeked = 0;
    return APOLLO_OK;
}

static int seek_to_key(apollo__vsrc *src, int64_t key_idx, int64_t target)
{
    int ret = av_seek_frame(src->fmt, src->stream, src->pts[key_idx], AVSEEK_FLAG_BACKWARD);
    if (ret < 0)
        return ret;
    avcodec_flush_buffers(src->dec);
    av_frame_unref(src->pending);
    src->pending_idx = -1;
    src->eof_sent = 0;
    src->pos = key_idx - 1;
    src->just_seeked = 1;
    src->seek_target = target;
    src->stats.n_seeks++;
    return 0;
}

/* Largest keyframe index <= t, or -1. */
static int64_t key_before(const apollo__vsrc *src, int64_t t)
{
    int64_t lo = 0, hi = src->n_keys - 1, best = -1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (src->keys[mid] <= t) {
            best = src->keys[mid];
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return best;
}

/* Decodes the next frame into src->frame.  1 = frame, 0 = end of stream. */
static int decode_one(apollo__vsrc *src)
{
    for (;;) {
        int ret = avcodec_receive_frame(src->dec, src->frame);
        if (ret == 0) {
            src->stats.n_frames_decoded++;
            return 1;
        }
        if (ret == AVERROR_EOF)
            return 0;
        if (ret != AVERROR(EAGAIN)) {
            src->stats.n_decode_errors++; /* a corrupt frame: keep going */
            continue;
        }
        if (src->eof_sent)
            return 0;
        ret = av_read_frame(src->fmt, src->pkt);
        if (ret < 0) {
            /* end of file, or unreadable data (truncation): drain */
            avcodec_send_packet(src->dec, NULL);
            src->eof_sent = 1;
            continue;
        }
        if (src->pkt->stream_index != src->stream) {
            av_packet_unref(src->pkt);
            continue;
        }
        src->stats.n_packets_read++;
        {
            int want = 1;
            if (src->pts_ok && src->pkt->pts != AV_NOPTS_VALUE) {
                int64_t idx = lookup_pts(src, src->pkt->pts);
                if (idx >= 0)
                    want = is_target(src, idx);
            }
            src->dec->skip_frame = want ? AVDISCARD_DEFAULT : AVDISCARD_NONREF;
        }
        ret = avcodec_send_packet(src->dec, src->pkt);
        av_packet_unref(src->pkt);
        if (ret < 0 && ret != AVERROR(EAGAIN))
            src->stats.n_decode_errors++; /* rejected packet: resync later */
    }
}

static int out_frame(apollo__vsrc *src, const AVFrame *f, const uint8_t **rgb, int32_t *stride)
{
    int rc = apollo__vdec_convert(src, f);
    if (rc)
        return rc;
    src->stats.n_frames_converted++;
    *rgb = src->rgb;
    *stride = src->rgb_stride;
    return APOLLO_OK;
}

int apollo__vdec_next(apollo__vsrc *src, int64_t target, const uint8_t **rgb, int32_t *stride)
{
    /* A frame decoded earlier past its target may be this one. */
    if (src->pending_idx >= 0) {
        if (src->pending_idx == target) {
            int rc = out_frame(src, src->pending, rgb, stride);
            av_frame_unref(src->last);
            av_frame_move_ref(src->last, src->pending);
            src->last_idx = src->pending_idx;
            src->pending_idx = -1;
            return rc;
        }
        if (src->pending_idx > target) {
            /* still missing: substitute the pending (next) or last frame */
            const AVFrame *f = src->last_idx >= 0 ? src->last : src->pending;
            src->stats.n_substituted++;
            return out_frame(src, f, rgb, stride);
        }
        /* pending is behind the target: it becomes `last` */
        av_frame_unref(src->last);
        av_frame_move_ref(src->last, src->pending);
        src->last_idx = src->pending_idx;
        src->pending_idx = -1;
    }

    if (src->seek_ok) {
        int64_t kf = key_before(src, target);
        if (kf >= 0 && (target <= src->pos || kf > src->pos + APOLLO__SEEK_MIN_GAP))
            seek_to_key(src, kf, target); /* on failure: decode forward */
    }
    if (target <= src->pos) {
        /* behind and no seek possible: start over */
        int rc = apollo__vdec_rewind(src);
        if (rc)
            return rc;
    }

    for (;;) {
        int64_t idx;
        int r = decode_one(src);
        if (r == 0) {
            if (src->last_idx >= 0) {
                src->stats.n_substituted++;
                return out_frame(src, src->last, rgb, stride);
            }
            return apollo__fail(APOLLO_E_VIDEO, "%s: frame %lld cannot be decoded (no decodable frame)",
                                src->path, (long long)target);
        }
        idx = frame_index(src, src->frame);
        if (src->just_seeked) {
            src->just_seeked = 0;
            if (idx > target) {
                /* the seek landed past the target: give up seeking */
                int rc;
                src->seek_ok = 0;
                av_frame_unref(src->frame);
                if ((rc = apollo__vdec_rewind(src)))
                    return rc;
                continue;
            }
        }
        src->pos = idx;
        if (idx < target) {
            av_frame_unref(src->last);
            av_frame_move_ref(src->last, src->frame);
            src->last_idx = idx;
            continue;
        }
        if (idx == target) {
            int rc = out_frame(src, src->frame, rgb, stride);
            av_frame_unref(src->last);
            av_frame_move_ref(src->last, src->frame);
            src->last_idx = idx;
            return rc;
        }
        /* idx > target: the target frame was lost (corrupt or missing). */
        av_frame_unref(src->pending);
        av_frame_move_ref(src->pending, src->frame);
        src->pending_idx = idx;
        src->stats.n_substituted++;
        return out_frame(src, src->last_idx >= 0 ? src->last : src->pending, rgb, stride);
    }
}

int apollo__vdec_first_frame(apollo__vsrc *src, AVFrame *out)
{
    int r;
    src->pts_ok = 0;
    r = decode_one(src);
    if (r == 1) {
        av_frame_move_ref(out, src->frame);
        return APOLLO_OK;
    }
    return apollo__fail(APOLLO_E_VIDEO, "%s: the image cannot be decoded", src->path);
}

/* ---- RGB conversion --------------------------------------------------------------------------- */

static void rotate_rgb(const uint8_t *in, int32_t w, int32_t h, int32_t istride, uint8_t *out,
                       int32_t ostride, int32_t rot)
{
    for (int32_t y = 0; y < h; y++) {
        const uint8_t *s = in + (size_t)y * istride;
        for (int32_t x = 0; x < w; x++) {
            int32_t ox, oy;
            uint8_t *d;
            if (rot == 90) { /* clockwise: (x, y) -> (h-1-y, x) */
                ox = h - 1 - y;
                oy = x;
            } else if (rot == 270) { /* counter-clockwise */
                ox = y;
                oy = w - 1 - x;
            } else { /* 180 */
                ox = w - 1 - x;
                oy = h - 1 - y;
            }
            d = out + (size_t)oy * ostride + (size_t)ox * 3;
            d[0] = s[3 * x];
            d[1] = s[3 * x + 1];
            d[2] = s[3 * x + 2];
        }
    }
}

int apollo__vdec_convert(apollo__vsrc *src, const AVFrame *f)
{
    int32_t cw = src->meta.coded_width, ch = src->meta.coded_height;
    int cs = f->colorspace, range = f->color_range == AVCOL_RANGE_JPEG;
    uint8_t *dst[4] = {0};
    int dst_ls[4] = {0};
    int ret;

    if (f->width <= 0 || f->height <= 0)
        return apollo__fail(APOLLO_E_VIDEO, "%s: decoder returned an empty frame", src->path);
    if (!sws_isSupportedInput((enum AVPixelFormat)f->format)) {
        const char *n = av_get_pix_fmt_name((enum AVPixelFormat)f->format);
        return apollo__fail(APOLLO_E_VIDEO, "%s: pixel format %s cannot be converted to RGB",
                            src->path, n ? n : "?");
    }
    if (!src->sws || src->sws_w != f->width || src->sws_h != f->height || src->sws_fmt != f->format ||
        src->sws_cs != cs || src->sws_range != range) {
        /* Like decord's "scale=W:H" filter: frames that change size mid-
         * stream are scaled back to the stream's size. */
        src->sws = sws_getCachedContext(src->sws, f->width, f->height, (enum AVPixelFormat)f->format,
                                        cw, ch, AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL, NULL);
        if (!src->sws)
            return apollo__fail(APOLLO_E_VIDEO, "%s: cannot set up RGB conversion", src->path);
        {
            int *inv, *tab, sr, dr, b, c, s;
            /* vf_scale "auto": the frame's matrix and range */
            if (sws_getColorspaceDetails(src->sws, &inv, &sr, &tab, &dr, &b, &c, &s) >= 0)
                sws_setColorspaceDetails(src->sws, sws_getCoefficients(cs), range, tab, dr, b, c, s);
        }
        src->sws_w = f->width;
        src->sws_h = f->height;
        src->sws_fmt = f->format;
        src->sws_cs = cs;
        src->sws_range = range;
    }
    if (src->meta.rotation) {
        dst[0] = src->rgb_tmp;
        dst_ls[0] = src->tmp_stride;
    } else {
        dst[0] = src->rgb;
        dst_ls[0] = src->rgb_stride;
    }
    ret = sws_scale(src->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, dst_ls);
    if (ret <= 0)
        return apollo__fail(APOLLO_E_VIDEO, "%s: RGB conversion failed", src->path);
    if (src->meta.rotation)
        rotate_rgb(src->rgb_tmp, cw, ch, src->tmp_stride, src->rgb, src->rgb_stride,
                   src->meta.rotation);
    return APOLLO_OK;
}
