"""Pillow and OpenCV resizes of full-size synthetic frames (the video sizes
users feed in, which the tiny fixture videos do not cover: strong
downscales with wide bicubic filters, portrait, odd sizes).

The frames come from a generator simple enough to reimplement exactly in
C (tests/unit/test_video_resize.c): a gradient plus LCG noise.  For each
case the frame is padded to a square with the reference fill
(reference.py: pad_to_square) and resized the way the reference
preprocessing does (Pillow BICUBIC to 384, cv2 INTER_LINEAR to 224); the
SHA-256 of each uint8 result is written, with a few pixels for diagnosis.

    python resize_reference.py OUT.json
"""
import hashlib
import json
import sys

import numpy as np

from reference import iv2_resize, pad_to_square, siglip_resize

SIGLIP_MEAN = (0.5, 0.5, 0.5)
IV2_MEAN = (0.485, 0.456, 0.406)

CASES = [(1280, 720, 1), (1920, 1080, 2), (720, 1280, 3), (853, 479, 4), (640, 360, 5), (301, 517, 6)]


def frame(w, h, seed):
    """uint8 (h, w, 3): ((x*7 + y*13 + c*50) + (lcg >> 26)) & 255, the LCG
    (state = state*1103515245 + 12345 mod 2^32, starting at seed) stepped
    once per byte in row-major order."""
    n = w * h * 3
    noise = np.empty(n, dtype=np.uint64)
    s = seed
    for i in range(n):
        s = (s * 1103515245 + 12345) & 0xFFFFFFFF
        noise[i] = s >> 26
    y, x, c = np.meshgrid(np.arange(h), np.arange(w), np.arange(3), indexing="ij")
    base = (x * 7 + y * 13 + c * 50).reshape(-1).astype(np.uint64)
    return ((base + noise) & 255).astype(np.uint8).reshape(h, w, 3)


def main():
    out = {"generator": frame.__doc__.strip(), "cases": []}
    for w, h, seed in CASES:
        f = frame(w, h, seed)[None]
        for kind, mean, fn in (("siglip", SIGLIP_MEAN, siglip_resize), ("internvideo2", IV2_MEAN, iv2_resize)):
            r = fn(pad_to_square(f, mean))[0]
            out["cases"].append({
                "width": w, "height": h, "seed": seed, "kind": kind,
                "size": int(r.shape[0]),
                "sha256": hashlib.sha256(np.ascontiguousarray(r).tobytes()).hexdigest(),
                "first_pixels": r[r.shape[0] // 2, :4].reshape(-1).tolist(),
            })
    with open(sys.argv[1], "w") as fp:
        json.dump(out, fp, indent=1)
        fp.write("\n")


if __name__ == "__main__":
    main()
