#!/usr/bin/env python3
"""PyTorch/transformers baseline for bench/run.sh: the same decoder work as
bench_llm on the same checkpoint and thread count (bf16 weights, like the
released model).  Prints "key value" lines with the bench_llm key names.

    python torch_baseline.py MODEL_DIR --threads N --prefill N --decode T [--dtype bf16|f32]
"""
import argparse
import resource
import time

import torch
from transformers import AutoModelForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("model_dir")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--prefill", type=int, default=128)
ap.add_argument("--decode", type=int, default=8)
ap.add_argument("--dtype", default="bf16")
a = ap.parse_args()
torch.set_num_threads(a.threads)
dt = torch.bfloat16 if a.dtype == "bf16" else torch.float32
t0 = time.time()
m = AutoModelForCausalLM.from_pretrained(a.model_dir + "/llm", torch_dtype=dt,
                                         attn_implementation="sdpa").eval()
print("load_s %.2f" % (time.time() - t0))
g = torch.Generator().manual_seed(42)
ids = torch.randint(0, 150000, (1, a.prefill + a.decode), generator=g)
with torch.inference_mode():
    t0 = time.time()
    out = m(ids[:, :a.prefill], use_cache=True, num_logits_to_keep=1)
    dt_p = time.time() - t0
    print("prefill_tokens %d\nprefill_s %.3f\nprefill_tokens_per_s %.2f"
          % (a.prefill, dt_p, a.prefill / dt_p))
    past, total, best = out.past_key_values, 0.0, 1e30
    for i in range(a.decode):
        t0 = time.time()
        out = m(ids[:, a.prefill + i: a.prefill + i + 1], past_key_values=past, use_cache=True)
        past = out.past_key_values
        d = time.time() - t0
        if i > 0:
            total += d
            best = min(best, d)
    if a.decode > 1:
        print("decode_tokens %d\ndecode_tokens_per_s %.3f\ndecode_best_tokens_per_s %.3f"
              % (a.decode - 1, (a.decode - 1) / total, 1.0 / best))
print("peak_rss_mb %.1f" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))
