#!/usr/bin/env python3
"""`apollo-cli probe --json --dump-frames` against the reference loader
(tests/fixtures/reference/video-*/meta.json, made with decord): the same
clips, frame indices and timestamps, and every dumped PNG holds exactly the
frame decord decoded (its SHA-256 is in meta.json).  Standard library only:
the PNG is read back with zlib."""
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib


def read_png_rgb(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w, h = 8, b"", 0, 0
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h = struct.unpack(">II", body[:8])
            assert body[8] == 8 and body[9] == 2
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    row = w * 3
    out = bytearray()
    for y in range(h):
        assert raw[y * (row + 1)] == 0  # filter type 0
        out += raw[y * (row + 1) + 1:(y + 1) * (row + 1)]
    return w, h, bytes(out)


def main():
    cli, model, fixtures = sys.argv[1:4]
    failures = 0
    for name in ("video-cfr", "video-vfr"):
        meta = json.load(open(os.path.join(fixtures, "reference", name, "meta.json")))
        video = os.path.join(fixtures, meta["file"])
        with tempfile.TemporaryDirectory() as d:
            out = subprocess.run([cli, "probe", "-m", model, "-v", video, "--json",
                                  "--dump-frames", d], check=True, capture_output=True, text=True)
            got = json.loads(out.stdout)
            frames = [c["frames"] for c in got["clips"]]
            if frames != meta["clip_indices"]:
                print(name, "frame indices differ:", frames, meta["clip_indices"])
                failures += 1
            if got["total_frames"] != meta["total_frames"]:
                failures += 1
            stamps = [[c["t0"], c["t1"]] for c in got["clips"]]
            if any(abs(a - b) > 1e-9 for s, r in zip(stamps, meta["timestamps"]) for a, b in zip(s, r)):
                print(name, "timestamps differ:", stamps, meta["timestamps"])
                failures += 1
            flat = [i for clip in meta["clip_indices"] for i in clip]
            checked = 0
            for c, clip in enumerate(meta["clip_indices"]):
                for k, idx in enumerate(clip):
                    png = os.path.join(d, "clip%03d_frame%d_%06d.png" % (c, k, idx))
                    w, h, rgb = read_png_rgb(png)
                    want = meta["sha256_decoded"][flat.index(idx)]
                    if hashlib.sha256(rgb).hexdigest() != want:
                        print(name, "frame", idx, "pixels differ from decord")
                        failures += 1
                    checked += 1
            print(f"{name}: {len(frames)} clips, indices and timestamps as the reference, "
                  f"{checked} dumped frames identical to decord's")
    print("probe ok" if failures == 0 else f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
