#!/usr/bin/env python3
"""PyTorch baseline for bench_vision: SigLIP (transformers SiglipVisionModel,
sdpa), InternVideo2 and the connector (tools/reference/apollo_ref.py, the
modules the fixtures are generated with) on one clip of random pixels, same
checkpoint and thread count, bf16 weights as released (--dtype f32 for
float32).  Both sides run the same layers: SigLIP up to
mm_vision_select_layer, InternVideo2 to its return layer.  Prints
"key value" lines with bench_vision's key names (best of --clips).

    python torch_vision_baseline.py MODEL_DIR --threads N [--clips C] [--dtype bf16|f32]
"""
import argparse
import json
import os
import resource
import sys
import time

import torch
from safetensors.torch import load_file
from transformers import SiglipVisionModel

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "reference"))
import apollo_ref as ar  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("model_dir")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--clips", type=int, default=1)
ap.add_argument("--dtype", default="bf16")
a = ap.parse_args()
torch.set_num_threads(a.threads)
dt = torch.bfloat16 if a.dtype == "bf16" else torch.float32
cfg = json.load(open(os.path.join(a.model_dir, "config.json")))
sel = cfg["mm_vision_select_layer"]

sig = SiglipVisionModel.from_pretrained(os.path.join(a.model_dir, "vision_tower", "siglip-so400m-patch14-384"),
                                        dtype=dt, attn_implementation="sdpa").eval()
vm = getattr(sig, "vision_model", sig)  # transformers 4 nests the tower, 5 does not
layers = vm.encoder.layers
n_run = len(layers) + 1 + sel if sel < 0 else sel  # hidden_states[sel] = output of that many layers
vm.encoder.layers = layers[:n_run]

ivd = os.path.join(a.model_dir, "vision_tower", "internvideo2")
ivc = json.load(open(os.path.join(ivd, "config.json")))
sd = load_file(os.path.join(ivd, "model.safetensors"))
depth = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))
iv2 = ar.InternVideo2(ivc, depth=depth, mlp_hidden=sd["blocks.0.mlp.fc1.weight"].shape[0])
iv2.load_state_dict(sd, strict=True)
iv2 = iv2.to(dt).eval()
cd = os.path.join(a.model_dir, "mm_connector")
ccfg = json.load(open(os.path.join(cd, "config.json")))
conn = ar.Connector(ccfg)
conn.load_state_dict(load_file(os.path.join(cd, "model.safetensors")), strict=True)
conn = conn.to(dt).eval()

T = ivc["num_frames"]
g = torch.Generator().manual_seed(1)
sp = torch.rand(T, 3, 384, 384, generator=g, dtype=torch.float32).to(dt) * 2 - 1
ip = torch.rand(1, 3, T, ivc["img_size"], ivc["img_size"], generator=g).to(dt) * 2 - 1
grid = ccfg["token_input_shape"]
n_tok = grid[0] * grid[1] * grid[2]
fused_w = ccfg["vision_hidden_size"]

best = {"siglip": 1e30, "iv2": 1e30, "connector": 1e30}
with torch.inference_mode():
    for _ in range(a.clips):
        t0 = time.time()
        vm.encoder(inputs_embeds=vm.embeddings(sp))  # the features Apollo takes: no pooling head
        t1 = time.time()
        iv2(ip)
        t2 = time.time()
        conn(torch.randn(1, n_tok, fused_w, generator=g).to(dt))
        t3 = time.time()
        best["siglip"] = min(best["siglip"], t1 - t0)
        best["iv2"] = min(best["iv2"], t2 - t1)
        best["connector"] = min(best["connector"], t3 - t2)
print("threads %d" % a.threads)
print("siglip_ms_per_clip %.1f\nsiglip_ms_per_frame %.1f" % (best["siglip"] * 1e3, best["siglip"] * 1e3 / T))
print("iv2_ms_per_clip %.1f" % (best["iv2"] * 1e3))
print("connector_ms_per_clip %.1f" % (best["connector"] * 1e3))
print("clip_ms %.1f" % (sum(best.values()) * 1e3))
print("peak_rss_mb %.1f" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))
