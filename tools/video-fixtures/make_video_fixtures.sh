#!/usr/bin/env bash
# Small video files for tests/unit/test_video_sources.c (ffmpeg CLI, Python
# standard library).  Committed outputs, regenerated only by running this
# script; they are inputs of record (encoder versions change the bytes).
#
#   tests/fixtures/video-bad/           inputs that must fail cleanly
#     text.txt             plain text                          -> APOLLO_E_VIDEO
#     empty.mp4            0 bytes                             -> APOLLO_E_NO_VIDEO
#     truncated.mp4        H.264 MP4 (index at the end) cut in half -> APOLLO_E_VIDEO
#     truncated_faststart.mp4  index first, media data cut: opens, frames up to the cut
#     audio_only.wav       no video stream                     -> APOLLO_E_NO_VIDEO
#     huge.y4m             header claiming 20000x20000 frames  -> APOLLO_E_VIDEO
#     no_frames.mp4        a video track with zero samples     -> APOLLO_E_NO_VIDEO
#     wide.y4m             17000x16 frames (libavformat accepts)  -> APOLLO_E_VIDEO
#     zero_duration.mp4    one frame, all durations 0, no rate -> APOLLO_E_NO_VIDEO
#     corrupt_middle.mp4   H.264, frame 12 of 30 overwritten with garbage: opens and
#                          decodes; the damaged frames are concealed or substituted
#     clean_middle.mp4     the same file undamaged (for comparison)
#   tests/fixtures/video-bad/codecs/    tiny valid files, one per codec/feature
#
# Usage: tools/video-fixtures/make_video_fixtures.sh [OUT_DIR]
set -euo pipefail
TOP="$(cd "$(dirname "$0")/../.." && pwd)"
OUT=${1:-"$TOP/tests/fixtures/video-bad"}
C="$OUT/codecs"
mkdir -p "$OUT" "$C"
FF=(ffmpeg -hide_banner -loglevel error -y -nostdin)
BX=(-flags:v +bitexact -fflags +bitexact -map_metadata -1)
SRC="testsrc2=size=64x48:rate=10"
SRC2="testsrc2=size=64x48:rate=10:duration=1"

# ---------------------------------------------------------------- bad inputs
printf 'This is a text file, not a video.\nIt has two lines.\n' > "$OUT/text.txt"
: > "$OUT/empty.mp4"

"${FF[@]}" -f lavfi -i "$SRC:duration=2" -c:v libx264 -preset ultrafast -g 5 "${BX[@]}" \
  "$OUT/.full.mp4"
size=$(stat -c %s "$OUT/.full.mp4")
head -c $((size / 2)) "$OUT/.full.mp4" > "$OUT/truncated.mp4"
"${FF[@]}" -f lavfi -i "$SRC:duration=2" -c:v libx264 -preset ultrafast -g 5 "${BX[@]}" \
  -movflags +faststart "$OUT/.fast.mp4"
size=$(stat -c %s "$OUT/.fast.mp4")
head -c $((size * 6 / 10)) "$OUT/.fast.mp4" > "$OUT/truncated_faststart.mp4"
rm -f "$OUT/.full.mp4" "$OUT/.fast.mp4"

"${FF[@]}" -f lavfi -i "sine=frequency=440:duration=0.05:sample_rate=8000" -c:a pcm_u8 \
  "${BX[@]}" "$OUT/audio_only.wav"

# y4m headers with impossible values (a few bytes of "frame" data follow)
printf 'YUV4MPEG2 W20000 H20000 F25:1 Ip A1:1 C420jpeg\nFRAME\n' > "$OUT/huge.y4m"
head -c 64 /dev/zero >> "$OUT/huge.y4m"
# 17000x16: accepted by libavformat, rejected by libapollo's size limit (the
# header and a few bytes suffice: opening never reads a whole frame)
printf 'YUV4MPEG2 W17000 H16 F25:1 Ip A1:1 C420jpeg\nFRAME\n' > "$OUT/wide.y4m"
head -c 64 /dev/zero >> "$OUT/wide.y4m"
# zero duration: a one-frame MP4 whose sample, track and movie durations are
# all 0 (no average frame rate, no r_frame_rate, no duration)
"${FF[@]}" -f lavfi -i "testsrc=size=32x24:rate=10" -frames:v 1 -c:v libx264 -preset ultrafast \
  "${BX[@]}" "$OUT/.one.mp4"
python3 - "$OUT/.one.mp4" "$OUT/zero_duration.mp4" <<'EOF'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
i = d.find(b"stts")
for k in range(struct.unpack(">I", d[i + 8:i + 12])[0]):
    d[i + 16 + 8 * k:i + 20 + 8 * k] = b"\0\0\0\0"   # sample deltas
i = d.find(b"mvhd"); d[i + 20:i + 24] = b"\0" * 4    # movie duration (version 0)
i = d.find(b"tkhd"); d[i + 24:i + 28] = b"\0" * 4    # track duration (version 0)
i = d.find(b"mdhd"); d[i + 20:i + 24] = b"\0" * 4    # media duration (version 0)
open(sys.argv[2], "wb").write(bytes(d))
EOF
rm -f "$OUT/.one.mp4"

"${FF[@]}" -f lavfi -i "$SRC:duration=1" -frames:v 0 -c:v libx264 "${BX[@]}" \
  "$OUT/no_frames.mp4" || true

# corrupt frame in the middle: 30 frames, keyframe every 10, no B-frames
"${FF[@]}" -f lavfi -i "$SRC:duration=3" -c:v libx264 -preset ultrafast -g 10 -bf 0 \
  -x264-params "keyint_min=10:scenecut=0" "${BX[@]}" "$OUT/clean_middle.mp4"
pos_size=$(ffprobe -v error -select_streams v:0 -show_entries packet=size,pos -of csv=p=0 \
  "$OUT/clean_middle.mp4" | sed -n 13p)
python3 - "$OUT/clean_middle.mp4" "$OUT/corrupt_middle.mp4" "$pos_size" <<'EOF'
import random, sys
src, dst, ps = sys.argv[1], sys.argv[2], sys.argv[3]
size, pos = (int(v) for v in ps.split(","))  # csv order: size, pos
data = bytearray(open(src, "rb").read())
rng = random.Random(1234)
# keep the 4-byte NAL length and the NAL header; scramble the slice data
for i in range(pos + 6, pos + size):
    data[i] = rng.randrange(256)
open(dst, "wb").write(bytes(data))
EOF

# ---------------------------------------------------------------- codecs
"${FF[@]}" -f lavfi -i "$SRC2" -c:v libx264 -preset ultrafast -bf 2 -g 5 -pix_fmt yuv420p "${BX[@]}" "$C/h264_bframes.mp4"
"${FF[@]}" -f lavfi -i "$SRC2" -c:v libx264 -preset ultrafast -pix_fmt yuv420p10le "${BX[@]}" "$C/h264_10bit.mp4"
"${FF[@]}" -f lavfi -i "$SRC2" -c:v libx265 -preset ultrafast -x265-params log-level=error -pix_fmt yuv420p "${BX[@]}" -tag:v hvc1 "$C/hevc.mp4"
"${FF[@]}" -f lavfi -i "$SRC2" -c:v libx265 -preset ultrafast -x265-params log-level=error -pix_fmt yuv420p10le "${BX[@]}" "$C/hevc_10bit.mkv"
"${FF[@]}" -f lavfi -i "$SRC2" -c:v libvpx -b:v 100k "${BX[@]}" "$C/vp8.webm"
"${FF[@]}" -f lavfi -i "$SRC2" -c:v libvpx-vp9 -b:v 100k -pix_fmt yuv444p "${BX[@]}" "$C/vp9_444.webm"
"${FF[@]}" -f lavfi -i "$SRC2" -c:v libaom-av1 -cpu-used 8 -crf 50 -b:v 0 "${BX[@]}" "$C/av1.mp4"
"${FF[@]}" -f lavfi -i "$SRC2" -c:v mpeg4 -q:v 10 "${BX[@]}" "$C/mpeg4.avi"
"${FF[@]}" -f lavfi -i "$SRC2" -c:v mjpeg -q:v 10 -pix_fmt yuvj420p "${BX[@]}" "$C/mjpeg.avi"
# rotation metadata (display matrix, 90 degrees clockwise) and non-square pixels
#   (ffmpeg 5.1 drops "rotate" when encoding; a stream copy writes the matrix)
"${FF[@]}" -f lavfi -i "$SRC2" -c:v libx264 -preset ultrafast "${BX[@]}" "$C/.plain.mp4"
"${FF[@]}" -i "$C/.plain.mp4" -c copy -metadata:s:v:0 rotate=90 -flags:v +bitexact -fflags +bitexact "$C/rotate90.mp4"
rm -f "$C/.plain.mp4"
"${FF[@]}" -f lavfi -i "$SRC2" -vf setsar=2/1 -c:v libx264 -preset ultrafast "${BX[@]}" "$C/sar_2_1.mp4"
# several streams: two video streams (the larger one is chosen) and audio
"${FF[@]}" -f lavfi -i "$SRC2" -f lavfi -i "testsrc=size=32x24:rate=5:duration=1" \
  -f lavfi -i "sine=frequency=440:duration=1:sample_rate=8000" \
  -map 0 -map 1 -map 2 -c:v libx264 -preset ultrafast -c:a pcm_s16le "${BX[@]}" "$C/multi_stream.mkv"
# odd size in 4:4:4, variable frame rate are covered by tests/fixtures/videos
# still images
"${FF[@]}" -f lavfi -i "testsrc2=size=40x30" -frames:v 1 "${BX[@]}" "$C/image.png"
"${FF[@]}" -f lavfi -i "testsrc2=size=40x30" -frames:v 1 -q:v 5 "${BX[@]}" "$C/image.jpg"
"${FF[@]}" -f lavfi -i "testsrc2=size=40x30" -frames:v 1 -c:v libwebp "${BX[@]}" "$C/image.webp"
ls -l "$OUT" "$C"
du -sh "$OUT"
