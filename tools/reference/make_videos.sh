#!/usr/bin/env bash
# Synthetic test videos for the reference fixtures (ffmpeg CLI only).
#
#   cfr_161x97_2997.mp4  H.264 High 4:4:4 (yuv444p), 161x97 (odd x odd), 30000/1001 fps,
#                        135 frames (4.504 s), testsrc2 (moving pattern + counter).
#   vfr_400x226.mp4       H.264 High (yuv420p), 400x226, 70 frames with irregular
#                        timestamps (variable frame rate) in an MP4 (ms timebase).
#
# Bit-exactness: single-threaded libx264, fixed preset/crf, +bitexact muxer/codec
# flags (no encoder version string in the container). The x264 SEI still names the
# x264 build, so bytes depend on the ffmpeg/x264 version: the committed files are the
# inputs of record; regenerate.sh only rebuilds them when REGEN_VIDEOS=1 or missing.
set -euo pipefail
OUT=${1:-"$(cd "$(dirname "$0")/../.." && pwd)/tests/fixtures/videos"}
mkdir -p "$OUT"
FF=(ffmpeg -hide_banner -loglevel error -y -nostdin)
X264=(-c:v libx264 -preset medium -crf 30 -threads 1 -x264-params "threads=1:lookahead-threads=1:sliced-threads=0"
      -flags:v +bitexact -fflags +bitexact -map_metadata -1 -movflags +faststart)

# (a) constant 29.97 fps, odd resolution, yuv444p (odd sizes are legal in 4:4:4).
#     testsrc2 rounds its size down to even, so render 162x98 and crop 161x97.
"${FF[@]}" -f lavfi -i "testsrc2=size=162x98:rate=30000/1001:duration=4.6" \
  -vf "format=yuv444p,crop=161:97:1:1" -frames:v 135 -pix_fmt yuv444p "${X264[@]}" -g 30 -bf 2 "$OUT/cfr_161x97_2997.mp4"

# (b) variable frame rate: frames 0-29 every 40 ms, 30-49 every 100 ms, 50-69 alternating
#     33/67 ms. setpts builds the timestamps; -fps_mode passthrough keeps them.
"${FF[@]}" -f lavfi -i "testsrc2=size=400x226:rate=25" -vf \
  "settb=1/1000,setpts='(if(lt(N,30),N*0.04,if(lt(N,50),1.2+(N-30)*0.1,3.2+floor((N-50)/2)*0.1+mod(N-50,2)*0.033)))/TB'" \
  -frames:v 70 -fps_mode passthrough -enc_time_base:v 1/1000 -video_track_timescale 1000 -pix_fmt yuv420p "${X264[@]}" -crf 36 -g 25 -bf 0 \
  "$OUT/vfr_400x226.mp4"
ls -l "$OUT"
