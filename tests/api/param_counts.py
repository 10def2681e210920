#!/usr/bin/env python3
"""Compares the per-part parameter counts printed by `apollo-cli info --json`
with counts computed here, independently, from the safetensors headers
(standard library only: the 8-byte length and the JSON header)."""
import json
import os
import struct
import subprocess
import sys


def header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


def count_part(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    total = 0
    for name in files:
        for key, val in header(os.path.join(folder, name)).items():
            if key == "__metadata__":
                continue
            n = 1
            for d in val["shape"]:
                n *= d
            total += n
    return total


def main():
    cli, model = sys.argv[1], sys.argv[2]
    out = subprocess.run([cli, "info", model, "--json"], check=True, capture_output=True, text=True)
    info = json.loads(out.stdout)
    with open(os.path.join(model, "vision_tower", "config.json")) as f:
        towers = json.load(f)["vision_towers"]
    expected = {"llm": count_part(os.path.join(model, "llm")),
                "connector": count_part(os.path.join(model, "mm_connector"))}
    got = {"llm": info["llm"]["n_params"], "connector": info["connector"]["n_params"]}
    for t, entry in zip(towers, info["vision_towers"]):
        expected[t] = count_part(os.path.join(model, "vision_tower", t))
        got[entry["name"]] = entry["n_params"]
    ok = expected == got
    for k in expected:
        print(f"{k:30s} expected {expected[k]:>12d}  library {got.get(k, -1):>12d}")
    print("param counts match" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
