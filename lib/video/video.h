/* lib/video: everything between a user's video and the encoders' input
 * tensors (apollo-model.md §2).  Depends on lib/common and libav* only; the
 * model's numbers come in as plain structs.
 *
 * The pieces, in the order a caller uses them:
 *
 *   1. A source (apollo__vsrc) opened from a file, a memory buffer, caller
 *      RGB frames or a single image.  Opening reads the container's packet
 *      index (no decoding) and fills apollo__video_meta with decord's
 *      numbers: total_frames = packets of the video stream (= frames in
 *      presentation order), fps = the stream's avg_frame_rate,
 *      duration = total_frames / fps.
 *   2. A sampling plan (apollo__sample_plan) computed from the meta and the
 *      model's numbers exactly like Apollo's calculate_sample_indices
 *      (budget ratio, long/short branch, low-fps branch), then repaired for
 *      the reference's degenerate cases and restricted by user overrides.
 *   3. The prompt text (apollo__sample_prompt_text): header and per-clip
 *      "a-b seconds: " lines byte for byte as the reference prints them.
 *   4. A clip iterator (apollo__clip_iter) that decodes only the frames the
 *      plan needs (seeks across keyframes, skips non-reference frames away
 *      from sample points, libavcodec threads), converts to RGB24 like
 *      decord (swscale, SWS_BILINEAR, stream colour matrix and range,
 *      rotation metadata applied), and yields one clip at a time with one
 *      float32 tensor per vision tower:
 *         SigLIP        (T, 3, S, S)  pad square (fill int(mean*255)),
 *                                     Pillow bicubic+antialias, /255, norm
 *         InternVideo2  (3, T, S, S)  pad square, OpenCV INTER_LINEAR
 *                                     (11-bit fixed point), /255, norm
 *      Memory is bounded by a few clips: decoded frames are kept only until
 *      the last clip that uses them has been produced.
 *
 * Errors: every function returns APOLLO_OK or a negative APOLLO_E_* code
 * with a message recorded through apollo__fail (see common/status.h).
 * Nothing here is thread-safe per object; distinct objects are independent.
 */
#ifndef APOLLO_VIDEO_H
#define APOLLO_VIDEO_H

#include "apollo.h"

#include <stddef.h>
#include <stdint.h>

#define APOLLO__VIDEO_MAX_TOWERS 4
#define APOLLO__VIDEO_MAX_FPC 64      /* frames per clip accepted */
#define APOLLO__VIDEO_MAX_SIDE 16384  /* larger frames are rejected */
#define APOLLO__VIDEO_MAX_PIXELS (1ll << 27) /* w*h limit (~134 Mpx) */

/* ======================================================================== */
/* Sources                                                                  */
/* ======================================================================== */

enum {
    APOLLO__VSRC_FILE = 1,   /* libavformat over a path */
    APOLLO__VSRC_MEMORY = 2, /* libavformat over a caller buffer (custom AVIOContext) */
    APOLLO__VSRC_FRAMES = 3, /* caller RGB24 frames */
};

typedef struct apollo__video_meta {
    int64_t total_frames;  /* decord len(vr); for an image: frames_per_clip (see below) */
    double fps;            /* decord get_avg_fps(); for an image: the target fps */
    double duration;       /* total_frames / fps */
    int32_t width, height; /* RGB frame size as delivered (after rotation) */
    int32_t coded_width, coded_height;
    int32_t rotation;      /* clockwise degrees applied: 0, 90, 180, 270 */
    int32_t sar_num, sar_den; /* sample aspect ratio (ignored, like decord) */
    int32_t is_image;      /* 1: a still image shown as a static clip */
    int32_t source;        /* APOLLO__VSRC_* */
    int32_t n_streams;     /* streams in the container */
    int32_t stream_index;  /* the video stream used */
    char codec[32];        /* decoder name, "rawvideo" for caller frames */
    char pix_fmt[32];      /* decoded pixel format name */
    char container[64];    /* demuxer name */
} apollo__video_meta;

typedef struct apollo__vsrc apollo__vsrc;

/* Options for opening; zero-initialise, then set what you need. */
typedef struct apollo__vsrc_opts {
    int32_t n_threads;        /* libavcodec threads; <= 0 = 1 */
    /* A still image (detected from the demuxer: image2, *_pipe) becomes a
     * static clip: the image repeated image_frames times at image_fps
     * (total_frames = image_frames, fps = image_fps), so that sampling gives
     * exactly one clip of identical frames, as the reference's
     * process_image intends.  Set both from the model: frames_per_clip and
     * frames_per_clip / clip_duration.  <= 0: 4 frames at 2 fps. */
    int32_t image_frames;
    double image_fps;
} apollo__vsrc_opts;

/* path: copied.  APOLLO_E_NOT_FOUND (no such file), APOLLO_E_IO (unreadable,
 * a directory), APOLLO_E_VIDEO (not a decodable video or image, truncated,
 * unsupported codec, absurd dimensions), APOLLO_E_NO_VIDEO (no video
 * stream, no frames, zero duration or unknown frame rate), APOLLO_E_NOMEM. */
int apollo__vsrc_open_file(const char *path, const apollo__vsrc_opts *opts, apollo__vsrc **out);

/* data/size: an encoded file in memory.  copy = 1 copies it; copy = 0
 * borrows it (the caller keeps it valid and unchanged until _free). */
int apollo__vsrc_open_memory(const void *data, size_t size, int copy, const apollo__vsrc_opts *opts,
                             apollo__vsrc **out);

/* Caller frames: n_frames RGB24 frames of width x height, row stride
 * row_stride bytes (>= 3*width), frame k at rgb + k*frame_stride.
 * Timing: fps > 0, or timestamps_s (n_frames increasing seconds), from which
 * fps = (n-1)/(t_last - t_first) (decord's average rate for such a file);
 * a single frame is an image (see apollo__vsrc_opts).  copy = 1 copies only
 * the frames listed in keep (sorted unique indices, n_keep of them; NULL =
 * all); copy = 0 borrows the caller's memory.  Frames never listed in keep
 * cannot be read back later (APOLLO_E_INVALID_ARG). */
int apollo__vsrc_open_frames(const uint8_t *rgb, int64_t n_frames, int32_t width, int32_t height,
                             size_t row_stride, size_t frame_stride, double fps,
                             const double *timestamps_s, const apollo__vsrc_opts *opts,
                             apollo__vsrc **out);
/* For copy = 1 caller frames: keep only these frames (sorted unique),
 * copying them now; the caller's buffer is no longer used afterwards. */
int apollo__vsrc_frames_copy(apollo__vsrc *src, const int64_t *keep, int64_t n_keep);

void apollo__vsrc_free(apollo__vsrc *src);
const apollo__video_meta *apollo__vsrc_meta(const apollo__vsrc *src);

/* The frames the caller will read, ascending and unique (copied).  Reading
 * then proceeds with apollo__vsrc_next(), which returns them in this order.
 * Setting targets rewinds. */
int apollo__vsrc_set_targets(apollo__vsrc *src, const int64_t *sorted_unique, int64_t n);

/* Decodes the next target frame: *index receives its index, *rgb the RGB24
 * pixels (meta.width x meta.height, *stride bytes per row), valid until the
 * next call on src.  Returns 1 with a frame, 0 after the last target, or a
 * negative code.  A frame that cannot be decoded (corrupt data) is replaced
 * by the nearest decodable frame before it (after it if there is none) and
 * counted in apollo__vsrc_n_substituted(); decoding resynchronises at the
 * next keyframe.  Only a stream with no decodable frame at all fails
 * (APOLLO_E_VIDEO). */
int apollo__vsrc_next(apollo__vsrc *src, int64_t *index, const uint8_t **rgb, int32_t *stride);

/* Decode statistics since the last set_targets. */
typedef struct apollo__vsrc_stats {
    int64_t n_packets_read;
    int64_t n_frames_decoded;   /* frames output by the decoder */
    int64_t n_frames_converted; /* frames converted to RGB */
    int64_t n_seeks;
    int64_t n_substituted;      /* corrupt/missing frames replaced */
    int64_t n_decode_errors;    /* packets the decoder rejected */
} apollo__vsrc_stats;
void apollo__vsrc_get_stats(const apollo__vsrc *src, apollo__vsrc_stats *stats);

/* ======================================================================== */
/* Sampling (apollo-model.md §2.3-2.4) and prompt text (§5.2)               */
/* ======================================================================== */

typedef struct apollo__sample_params {
    int64_t total_frames;
    double fps;
    double clip_duration;       /* seconds per clip (config clip_duration) */
    const char *clip_duration_text; /* str(clip_duration) as Python prints it; NULL = repr */
    int32_t frames_per_clip;    /* 4 */
    int64_t model_max_length;   /* top-level model_max_length */
    int64_t tokens_per_clip;    /* num_output_tokens */
    double clip_sampling_ratio; /* 0.65 (README); <= 0 = 0.65 */
    /* User overrides (0 = off). */
    double target_fps;          /* frames/s inside a clip; replaces frames_per_clip/clip_duration.
                                   clip_duration becomes frames_per_clip/target_fps. */
    int64_t max_clips;          /* cap on the number of clips */
    double start_s, end_s;      /* sample only frames with index/fps in [start_s, end_s);
                                   end_s <= 0 = end of video */
} apollo__sample_params;

enum { APOLLO__BRANCH_LONG = 1, APOLLO__BRANCH_SHORT = 2, APOLLO__BRANCH_LOW_FPS = 3 };

typedef struct apollo__sample_plan {
    int32_t n_clips;
    int32_t frames_per_clip;
    int64_t *indices;      /* n_clips * frames_per_clip frame indices (absolute) */
    double *t0, *t1;       /* n_clips: index/fps of each clip's first/last frame */
    double budget_ratio;
    int32_t branch;        /* APOLLO__BRANCH_* */
    int32_t degenerate;    /* the reference would produce indices < 0 (see below) */
    int32_t repaired;      /* 1 when apollo__sample_plan_make repaired it */
    int64_t first_frame;   /* window start frame (0 without a window) */
    int64_t window_frames; /* frames in the window (total_frames without one) */
    double duration;       /* window_frames / fps: the duration printed in the header */
    double clip_duration;  /* effective seconds per clip */
    char clip_duration_text[32];
    int64_t tokens_per_clip;
} apollo__sample_plan;

/* Exactly the reference's calculate_sample_indices (and budget ratio) for
 * p->total_frames frames at p->fps, overrides ignored, no repair: in the
 * low-fps branch with clip_len = 0 the reference clips to -1; those values
 * are returned as they are and plan->degenerate is set.  For tests against
 * the reference, and the base of apollo__sample_plan_make. */
int apollo__sample_plan_reference(const apollo__sample_params *p, apollo__sample_plan *plan);

/* The plan libapollo uses: the reference algorithm applied to the window
 * [start_s, end_s) (indices offset back to absolute, timestamps absolute),
 * at target_fps if given, with at most max_clips clips (max_clips keeps the
 * reference's computation but with num_clips = min(num_clips, max_clips)),
 * and the degenerate low-fps case repaired: when the reference's indices
 * would be negative, clip i shows the single frame
 * round(i * (window_frames-1) / max(1, n_clips-1)) repeated frames_per_clip
 * times.  Indices are always within [0, total_frames). */
int apollo__sample_plan_make(const apollo__sample_params *p, apollo__sample_plan *plan);

void apollo__sample_plan_free(apollo__sample_plan *plan);

/* Reference text pieces (apollo-model.md §5.2).  All write a NUL-terminated
 * string and return its length (like snprintf: the full length even when
 * cap is too small), or a negative code. */
int64_t apollo__num2words(int64_t n, char *buf, size_t cap);          /* English cardinal */
int64_t apollo__py_timedelta_str(double seconds, char *buf, size_t cap); /* str(timedelta(seconds=x)) */
int64_t apollo__py_round1_str(double x, char *buf, size_t cap);      /* str(np.round(x, 1)) */

/* The whole video block: header line, then per clip
 * "t0-t1 seconds: " + placeholder * tokens_per_clip, joined with ",\n".
 * placeholder NULL = no placeholders (just the "seconds: " prefixes). */
int64_t apollo__sample_prompt_text(const apollo__sample_plan *plan, const char *placeholder,
                                   char *buf, size_t cap);
/* Only the header line ("You are provided ... video.\n"). */
int64_t apollo__sample_header_text(const apollo__sample_plan *plan, char *buf, size_t cap);
/* Only clip i's prefix ("0.0-1.5 seconds: "). */
int64_t apollo__sample_clip_prefix(const apollo__sample_plan *plan, int32_t i, char *buf,
                                   size_t cap);

/* ======================================================================== */
/* Resizing and padding (RGB24, packed, uint8)                              */
/* ======================================================================== */

/* Centred square canvas of side max(w, h) filled with fill[3]; the frame
 * at top = (side-h)/2, left = (side-w)/2.  dst holds side*side*3 bytes. */
void apollo__pad_square_rgb(const uint8_t *src, int32_t w, int32_t h, size_t stride,
                            const uint8_t fill[3], uint8_t *dst);

/* Pillow Image.resize(..., BICUBIC) for an RGB image: separable a = -0.5
 * cubic, support scaled by the reduction factor (antialias), 22-bit fixed
 * point coefficients, horizontal pass first, uint8 between passes.
 * Returns APOLLO_E_NOMEM or APOLLO_OK. */
int apollo__resize_pillow_bicubic(const uint8_t *src, int32_t sw, int32_t sh, size_t sstride,
                                  uint8_t *dst, int32_t dw, int32_t dh);

/* Tests: 1 makes the resizes use only their scalar code (identical
 * results, slower); returns the previous setting.  Process-wide. */
int apollo__resize_disable_simd(int disable);

/* OpenCV cv2.resize(..., INTER_LINEAR) for CV_8UC3: half-pixel centres,
 * borders clamped, 11-bit fixed-point weights, the SIMD row rounding of
 * VResizeLinearVec_32s8u; an exact 2x downscale takes OpenCV's INTER_AREA
 * fast path, as cv::resize does. */
int apollo__resize_cv_linear(const uint8_t *src, int32_t sw, int32_t sh, size_t sstride,
                             uint8_t *dst, int32_t dw, int32_t dh);

/* The same two kernels applied to the centred square canvas of the frame
 * (apollo__pad_square_rgb with fill) resized to S x S, without building the
 * canvas: identical results, a few rows of memory instead of side^2*3. */
int apollo__resize_pillow_bicubic_padded(const uint8_t *src, int32_t w, int32_t h, size_t stride,
                                         const uint8_t fill[3], uint8_t *dst, int32_t S);
int apollo__resize_cv_linear_padded(const uint8_t *src, int32_t w, int32_t h, size_t stride,
                                    const uint8_t fill[3], uint8_t *dst, int32_t S);

/* ======================================================================== */
/* Per-tower preprocessing and the clip iterator                            */
/* ======================================================================== */

enum { APOLLO__VPP_SIGLIP = 1, APOLLO__VPP_INTERNVIDEO2 = 2 };

typedef struct apollo__video_tower_pp {
    int32_t kind;          /* APOLLO__VPP_* */
    int32_t image_size;    /* output side S */
    double mean[3], std[3];/* processor mean/std (pad fill = (int)(mean*255)) */
} apollo__video_tower_pp;

/* One preprocessed frame for one tower, written in the tower's layout:
 * SigLIP writes plane c of frame t at out + (t*3 + c)*S*S,
 * InternVideo2 at out + (c*T + t)*S*S.  scratch, scratch_cap: unused
 * (kept for callers; pass NULL). */
int apollo__preprocess_frame(const apollo__video_tower_pp *pp, const uint8_t *rgb, int32_t w,
                             int32_t h, size_t stride, int32_t t, int32_t n_t, float *out,
                             uint8_t **scratch, size_t *scratch_cap);

/* The same, stopping at the resized uint8 (S, S, 3) image (what the
 * reference fixtures record before normalisation). */
int apollo__preprocess_frame_u8(const apollo__video_tower_pp *pp, const uint8_t *rgb, int32_t w,
                                int32_t h, size_t stride, uint8_t *out_u8, uint8_t **scratch,
                                size_t *scratch_cap);

typedef struct apollo__clip {
    int32_t index;                 /* clip number, 0-based */
    int32_t n_frames;              /* frames_per_clip */
    const int64_t *frame_indices;  /* n_frames */
    double t0, t1;                 /* reference timestamps (seconds) */
    /* Decoded RGB24 frames of this clip (repeats point to the same data). */
    const uint8_t *rgb[APOLLO__VIDEO_MAX_FPC];
    int32_t rgb_stride;
    int32_t width, height;
    /* Preprocessed tensors, one per tower, in tower order:
     *   SigLIP       (T, 3, S, S) float32
     *   InternVideo2 (3, T, S, S) float32 */
    int32_t n_towers;
    const float *pixels[APOLLO__VIDEO_MAX_TOWERS];
    int64_t shape[APOLLO__VIDEO_MAX_TOWERS][4];
} apollo__clip;

typedef struct apollo__clip_iter apollo__clip_iter;

/* src and plan are borrowed (keep them alive while the iterator lives);
 * towers copied.  n_towers = 0 decodes only (clip.pixels unset).
 * pool: an optional apollo__pool (common/threadpool.h) that preprocesses
 * the frames of a clip in parallel; NULL = calling thread. */
struct apollo__pool;
int apollo__clip_iter_new(apollo__vsrc *src, const apollo__sample_plan *plan,
                          const apollo__video_tower_pp *towers, int32_t n_towers,
                          struct apollo__pool *pool, apollo__clip_iter **out);

/* Produces the next clip into *clip (buffers owned by the iterator, valid
 * until the next call or _free).  Returns 1 with a clip, 0 when all clips
 * have been produced, or a negative code. */
int apollo__clip_iter_next(apollo__clip_iter *it, apollo__clip *clip);

/* Starts again from clip 0 (re-decodes). */
int apollo__clip_iter_rewind(apollo__clip_iter *it);

void apollo__clip_iter_free(apollo__clip_iter *it);

/* ======================================================================== */
/* The public apollo_video handle (implemented in lib/api/api_video.c)      */
/* ======================================================================== */

/* Its layout is shared here so that the encoder code in lib/api can reach
 * the source and the plan.  Encoding a video:
 *
 *   apollo__clip_iter *it;
 *   apollo__clip clip;
 *   int rc = apollo__video_clips(video, pool, &it);   // towers in model order
 *   while (rc == APOLLO_OK && (rc = apollo__clip_iter_next(it, &clip)) == 1) {
 *       // clip.pixels[0]: SigLIP (T,3,384,384); clip.pixels[1]: IV2 (3,T,224,224)
 *   }
 *   apollo__clip_iter_free(it);   // rc == 0: all clips done; < 0: error
 *
 * One iterator per video at a time (it drives the video's decoder). */
#define APOLLO__VIDEO_MAGIC 0x41505644u /* "APVD"; cleared by apollo_video_free */

struct apollo_video {
    uint32_t magic;
    apollo_ctx *ctx;                    /* holds a reference */
    apollo__vsrc *src;
    apollo__sample_plan plan;
    int32_t n_towers;
    apollo__video_tower_pp towers[APOLLO__VIDEO_MAX_TOWERS];
    apollo_video_params params;         /* as opened (part of the settings fingerprint) */
    /* Set by lib/api/api_video_encode.c: */
    float *embeds;                      /* [embed_rows, embed_dim] clip-major visual rows;
                                           NULL until encoded, immutable afterwards */
    int64_t embed_rows, embed_dim;
    apollo__video_meta saved_meta;      /* metadata of a video loaded from saved
                                           embeddings (then src is NULL) */
};

int apollo__video_clips(struct apollo_video *video, struct apollo__pool *pool,
                        apollo__clip_iter **out);

/* Fills video->n_towers / towers[] (preprocessing of each tower, in tower
 * order) from the model (implemented in lib/api/api_video.c). */
struct apollo__model;
int apollo__video_make_towers(const struct apollo__model *m, struct apollo_video *video);

#endif
