#!/usr/bin/env python3
"""Reference for next-token sampling: the distribution transformers samples
from, for random logits and many (repetition penalty, temperature, top-k,
top-p) settings -- RepetitionPenaltyLogitsProcessor, then
TemperatureLogitsWarper, TopKLogitsWarper and TopPLogitsWarper, in the order
GenerationMixin applies them, then softmax.  Written to
tests/fixtures/reference/sampling_warpers.json (seeded, deterministic).

    /work/venv-ref/bin/python tools/reference/sampling_reference.py
"""
import json
import os

import torch
from transformers import (LogitsProcessorList, RepetitionPenaltyLogitsProcessor,
                          TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper)

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "reference",
                   "sampling_warpers.json")


def main():
    g = torch.Generator().manual_seed(1234)
    cases = []
    settings = [
        (1.0, 1.0, 0, 1.0), (1.0, 0.7, 20, 0.8), (1.1, 0.7, 20, 0.8), (1.05, 0.4, 20, 0.7),
        (1.0, 1.0, 5, 1.0), (1.0, 1.0, 0, 0.5), (1.3, 1.5, 0, 0.9), (1.0, 0.1, 3, 1.0),
        (1.0, 2.0, 64, 0.95), (1.2, 1.0, 1, 1.0), (1.0, 1.0, 0, 0.01),
    ]
    for vocab in (17, 300, 1500):
        for (rp, temp, k, p) in settings:
            for trial in range(2):
                logits = torch.randn(vocab, generator=g) * (1 + 4 * trial)
                if trial:  # ties: quantise so that equal logits occur
                    logits = torch.round(logits)
                prev = torch.randint(0, vocab, (7,), generator=g)
                procs = LogitsProcessorList()
                if rp != 1.0:
                    procs.append(RepetitionPenaltyLogitsProcessor(rp))
                procs.append(TemperatureLogitsWarper(temp))
                if k > 0:
                    procs.append(TopKLogitsWarper(k))
                if p < 1.0:
                    procs.append(TopPLogitsWarper(p))
                cases.append({
                    "logits": [round(float(x), 6) for x in logits],
                    "prev": [int(x) for x in prev],
                    "repetition_penalty": rp, "temperature": temp, "top_k": k, "top_p": p,
                })
    # the logits stored are rounded to 6 decimals: recompute from those
    for c in cases:
        logits = torch.tensor(c["logits"], dtype=torch.float32)
        prev = torch.tensor(c["prev"])
        procs = LogitsProcessorList()
        if c["repetition_penalty"] != 1.0:
            procs.append(RepetitionPenaltyLogitsProcessor(c["repetition_penalty"]))
        procs.append(TemperatureLogitsWarper(c["temperature"]))
        if c["top_k"] > 0:
            procs.append(TopKLogitsWarper(c["top_k"]))
        if c["top_p"] < 1.0:
            procs.append(TopPLogitsWarper(c["top_p"]))
        probs = torch.softmax(procs(prev.unsqueeze(0), logits.clone().unsqueeze(0))[0], dim=-1)
        idx = torch.nonzero(probs > 0).flatten()
        c["support"] = [int(i) for i in idx]
        c["probs"] = [float("%.9g" % float(probs[i])) for i in idx]
    with open(OUT, "w") as f:
        json.dump({"generator": "transformers " + __import__("transformers").__version__,
                   "cases": cases}, f, separators=(",", ":"))
    print(len(cases), "cases ->", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
