/* Private to lib/video: the source object shared by video_source.c
 * (opening, packet index, caller frames, images) and video_decode.c
 * (decoding, seeking, RGB conversion). */
#ifndef APOLLO_VIDEO_INTERNAL_H
#define APOLLO_VIDEO_INTERNAL_H

#include "video.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

struct apollo__vsrc {
    apollo__video_meta meta;
    apollo__vsrc_opts opts;
    char *path;                 /* display name for messages */

    /* ---- libav (file and memory sources, images) ---- */
    AVFormatContext *fmt;
    AVIOContext *avio;
    const uint8_t *mem;         /* memory source data (owned when mem_owned) */
    uint8_t *mem_copy;
    size_t mem_size;
    int64_t mem_pos;
    AVCodecContext *dec;
    int stream;
    AVPacket *pkt;
    AVFrame *frame;             /* scratch for avcodec_receive_frame */
    AVFrame *last;              /* most recent decoded frame (substitution) */
    int64_t last_idx;           /* its index, -1 when none */
    AVFrame *pending;           /* a frame decoded past the current target */
    int64_t pending_idx;
    struct SwsContext *sws;
    int sws_w, sws_h, sws_fmt, sws_cs, sws_range;

    /* Packet index in presentation order (decord's frame_ts_). */
    int64_t *pts;               /* sorted, total_frames entries */
    int64_t *keys;              /* presentation indices of keyframes, ascending */
    int64_t n_keys;
    int pts_ok;                 /* pts known and unique: frames mapped by pts, seeking allowed */
    int seek_ok;
    int64_t pos;                /* index of the last frame the decoder output (-1 at start) */
    int eof_sent;
    int just_seeked;
    int64_t seek_target;

    /* Targets for apollo__vsrc_next. */
    int64_t *targets;
    int64_t n_targets, next_target;

    /* RGB output (meta.width x meta.height). */
    uint8_t *rgb, *rgb_tmp;
    int32_t rgb_stride, tmp_stride;

    /* ---- caller frames ---- */
    const uint8_t *frames;      /* borrowed, or NULL after copying */
    size_t row_stride, frame_stride;
    uint8_t *kept;              /* copied frames (contiguous w*h*3 each) */
    int64_t *kept_idx;
    int64_t n_kept;

    /* ---- still image ---- */
    uint8_t *image;             /* width*height*3 */

    apollo__vsrc_stats stats;
};

/* video_decode.c */
int apollo__vdec_rewind(apollo__vsrc *src);
int apollo__vdec_next(apollo__vsrc *src, int64_t target, const uint8_t **rgb, int32_t *stride);
/* Converts f into src->rgb (RGB24, rotation applied). */
int apollo__vdec_convert(apollo__vsrc *src, const AVFrame *f);
/* Decodes the first frame of the stream into *out (a new reference). */
int apollo__vdec_first_frame(apollo__vsrc *src, AVFrame *out);
void apollo__vdec_release(apollo__vsrc *src);
/* Maps an av error to a short text. */
const char *apollo__av_err(int err, char *buf, size_t cap);

#endif
