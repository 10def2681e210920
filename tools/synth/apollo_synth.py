#!/usr/bin/env python3
"""Write a full-size synthetic Apollo checkpoint: random bf16 weights at the
real shapes of Apollo-1.5B / 3B / 7B, in the hub layout (see
docs/apollo-model.md section 1), so that benchmarks do the real amount of
work.  Python standard library only.

    python3 tools/synth/apollo_synth.py 3b /tmp/apollo-3b-synth [--no-vision] [--seed N]

The weights are random (normal, std 0.02 for matrices, about 1 for norm
gains), drawn from a pool of pre-generated bf16 values and copied from a
random offset per tensor: statistically plain, cheap to write (the 3B
directory is ~10 GB).  Never commit the output.  The tokenizer files are
symlinks to tests/fixtures/tokenizer/qwen2.5 of this repository.
"""
import argparse
import json
import math
import os
import random
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TINY = os.path.join(REPO, "tests", "fixtures", "models", "tiny-tied")
TOKENIZER = os.path.join(REPO, "tests", "fixtures", "tokenizer", "qwen2.5")
TOKENIZER_FILES = ["added_tokens.json", "merges.txt", "special_tokens_map.json",
                   "tokenizer.json", "tokenizer_config.json", "vocab.json"]

# apollo-model.md section 1.3 (LLM) and 1.5 (connector text_hidden_size = D).
SIZES = {
    "1.5b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                 num_attention_heads=12, num_key_value_heads=2, vocab_size=151936,
                 tie_word_embeddings=True, max_window_layers=21, n_shards=1),
    "3b": dict(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36,
               num_attention_heads=16, num_key_value_heads=2, vocab_size=151936,
               tie_word_embeddings=True, max_window_layers=70, n_shards=2),
    "7b": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
               num_attention_heads=28, num_key_value_heads=4, vocab_size=152064,
               tie_word_embeddings=False, max_window_layers=28, n_shards=4),
}
# Expected totals (section 1.8) - a self-check of the shape tables below.
EXPECTED = {"1.5b": (1777088000, 38358528), "3b": (3397103616, 63727616),
            "7b": (7615616512, 177583616)}
SIGLIP_PARAMS = 428225600
IV2_PARAMS = 1049115648

# ---- shape tables ----------------------------------------------------------


def llm_tensors(c):
    D, I, V = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    H, K, hd = c["num_attention_heads"], c["num_key_value_heads"], 128
    t = [("model.embed_tokens.weight", [V, D], "w"), ("model.norm.weight", [D], "g"),
         ("lm_head.weight", [V, D], "w")]  # stored even when tied (section 1.3)
    for i in range(c["num_hidden_layers"]):
        p = "model.layers.%d." % i
        t += [(p + "input_layernorm.weight", [D], "g"),
              (p + "post_attention_layernorm.weight", [D], "g"),
              (p + "self_attn.q_proj.weight", [H * hd, D], "w"),
              (p + "self_attn.q_proj.bias", [H * hd], "b"),
              (p + "self_attn.k_proj.weight", [K * hd, D], "w"),
              (p + "self_attn.k_proj.bias", [K * hd], "b"),
              (p + "self_attn.v_proj.weight", [K * hd, D], "w"),
              (p + "self_attn.v_proj.bias", [K * hd], "b"),
              (p + "self_attn.o_proj.weight", [D, H * hd], "w"),
              (p + "mlp.gate_proj.weight", [I, D], "w"),
              (p + "mlp.up_proj.weight", [I, D], "w"),
              (p + "mlp.down_proj.weight", [D, I], "w")]
    return t


def connector_tensors(D):
    F = 4 * D
    t = [("proj.0.weight", [D, 2560], "w"), ("proj.0.bias", [D], "b"),
         ("resampler.latents", [128, D], "w")]
    p = "resampler.layers.0."
    for n in ("input_latents_norm", "input_context_norm", "post_attention_layernorm"):
        t += [(p + n + ".norm.weight", [D], "g"), (p + n + ".norm.bias", [D], "b"),
              (p + n + ".wheight", [D], "g")]
    t += [(p + "self_attn.q_proj.weight", [1536, D], "w"),
          (p + "self_attn.k_proj.weight", [384, D], "w"),
          (p + "self_attn.v_proj.weight", [384, D], "w"),
          (p + "self_attn.o_proj.weight", [D, 1536], "w"),
          (p + "mlp.gate_proj.weight", [F, D], "w"), (p + "mlp.up_proj.weight", [F, D], "w"),
          (p + "mlp.down_proj.weight", [D, F], "w"),
          ("resampler.norm.norm.weight", [D], "g"), ("resampler.norm.norm.bias", [D], "b"),
          ("resampler.norm.wheight", [D], "g")]
    return t


def siglip_tensors():
    d, f, L = 1152, 4304, 27
    p = "vision_model."
    t = [(p + "embeddings.patch_embedding.weight", [d, 3, 14, 14], "w"),
         (p + "embeddings.patch_embedding.bias", [d], "b"),
         (p + "embeddings.position_embedding.weight", [729, d], "w"),
         (p + "post_layernorm.weight", [d], "g"), (p + "post_layernorm.bias", [d], "b"),
         (p + "head.probe", [1, 1, d], "w"),
         (p + "head.attention.in_proj_weight", [3 * d, d], "w"),
         (p + "head.attention.in_proj_bias", [3 * d], "b"),
         (p + "head.attention.out_proj.weight", [d, d], "w"),
         (p + "head.attention.out_proj.bias", [d], "b"),
         (p + "head.layernorm.weight", [d], "g"), (p + "head.layernorm.bias", [d], "b"),
         (p + "head.mlp.fc1.weight", [f, d], "w"), (p + "head.mlp.fc1.bias", [f], "b"),
         (p + "head.mlp.fc2.weight", [d, f], "w"), (p + "head.mlp.fc2.bias", [d], "b")]
    for i in range(L):
        q = p + "encoder.layers.%d." % i
        t += [(q + "layer_norm1.weight", [d], "g"), (q + "layer_norm1.bias", [d], "b"),
              (q + "layer_norm2.weight", [d], "g"), (q + "layer_norm2.bias", [d], "b"),
              (q + "mlp.fc1.weight", [f, d], "w"), (q + "mlp.fc1.bias", [f], "b"),
              (q + "mlp.fc2.weight", [d, f], "w"), (q + "mlp.fc2.bias", [d], "b")]
        for n in ("q", "k", "v", "out"):
            t += [(q + "self_attn.%s_proj.weight" % n, [d, d], "w"),
                  (q + "self_attn.%s_proj.bias" % n, [d], "b")]
    return t


def internvideo2_tensors():
    d, f, L, ce, te, tf = 1408, 6144, 40, 768, 3200, 768
    t = [("patch_embed.proj.weight", [d, 3, 1, 14, 14], "w"), ("patch_embed.proj.bias", [d], "b"),
         ("cls_token", [1, 1, d], "w"), ("pos_embed", [1, 1025, d], "w"),
         ("img_pos_embed", [1, 257, d], "w"), ("clip_pos_embed", [1, 1025, d], "w"),
         ("clip_img_pos_embed", [1, 257, d], "w")]
    for i in range(L):
        p = "blocks.%d." % i
        t += [(p + "norm1.weight", [d], "g"), (p + "norm2.weight", [d], "g"),
              (p + "attn.qkv.weight", [3 * d, d], "w"),
              (p + "attn.q_norm.weight", [d], "g"), (p + "attn.k_norm.weight", [d], "g"),
              (p + "attn.proj.weight", [d, d], "w"), (p + "attn.proj.bias", [d], "b"),
              (p + "ls1.gamma", [d], "s"), (p + "ls2.gamma", [d], "s"),
              (p + "mlp.fc1.weight", [f, d], "w"), (p + "mlp.fc1.bias", [f], "b"),
              (p + "mlp.fc2.weight", [d, f], "w"), (p + "mlp.fc2.bias", [d], "b")]
    p = "clip_projector."
    for n in ("q", "k", "v"):
        t += [(p + "norm1_%s.weight" % n, [d], "g"), (p + "norm1_%s.bias" % n, [d], "b"),
              (p + "cross_attn.%s.weight" % n, [d, d], "w"),
              (p + "cross_attn.%s_bias" % n, [d], "b")]
    t += [(p + "cross_attn.proj.weight", [ce, d], "w"), (p + "cross_attn.proj.bias", [ce], "b")]
    for i in range(6):
        p = "clip_decoder.%d." % i
        t += [(p + "head.weight", [te, d], "w"), (p + "head.bias", [te], "b"),
              (p + "norm.weight", [te], "g"), (p + "norm.bias", [te], "b")]
    t += [("final_clip_decoder.head.weight", [tf, ce], "w"),
          ("final_clip_decoder.head.bias", [tf], "b"),
          ("final_clip_decoder.norm.weight", [tf], "g"),
          ("final_clip_decoder.norm.bias", [tf], "b")]
    return t


def n_params(tensors):
    return sum(math.prod(s) for _, s, _ in tensors)

# ---- random bf16 -----------------------------------------------------------


def bf16_bits(x):
    b = struct.unpack("<I", struct.pack("<f", x))[0]
    return (b + 0x7FFF + ((b >> 16) & 1)) >> 16  # round to nearest even


class Pool:
    """A few MB of bf16 values per kind; tensors copy a window from a random offset."""

    def __init__(self, rng, n=1 << 21):
        def make(fn):
            vals = [bf16_bits(fn()) for _ in range(n)]
            raw = struct.pack("<%dH" % n, *vals)
            return raw + raw  # doubled, so any window of <= n values is contiguous
        self.n = n
        self.rng = rng
        self.kinds = {"w": make(lambda: rng.gauss(0.0, 0.02)),
                      "b": make(lambda: rng.gauss(0.0, 0.01)),
                      "g": make(lambda: 1.0 + rng.gauss(0.0, 0.05)),
                      "s": make(lambda: abs(rng.gauss(0.1, 0.02)))}

    def write(self, f, kind, count):
        raw = self.kinds[kind]
        while count > 0:
            k = min(count, self.n)
            off = self.rng.randrange(self.n)
            f.write(raw[2 * off: 2 * (off + k)])
            count -= k

# ---- safetensors -----------------------------------------------------------


def write_safetensors(path, tensors, pool):
    tensors = sorted(tensors, key=lambda t: t[0])
    header, off = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, _ in tensors:
        nb = 2 * math.prod(shape)
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [off, off + nb]}
        off += nb
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, shape, kind in tensors:
            pool.write(f, kind, math.prod(shape))
    os.replace(tmp, path)
    return off


def write_sharded(dirpath, tensors, n_shards, pool):
    if n_shards == 1:
        write_safetensors(os.path.join(dirpath, "model.safetensors"), tensors, pool)
        return
    tensors = sorted(tensors, key=lambda t: t[0])
    total = sum(2 * math.prod(s) for _, s, _ in tensors)
    target, shards, cur, cur_bytes = total / n_shards, [], [], 0
    for t in tensors:
        nb = 2 * math.prod(t[1])
        if cur and cur_bytes + nb > target * 1.02 and len(shards) < n_shards - 1:
            shards.append(cur)
            cur, cur_bytes = [], 0
        cur.append(t)
        cur_bytes += nb
    shards.append(cur)
    n = len(shards)
    weight_map = {}
    for i, sh in enumerate(shards):
        fname = "model-%05d-of-%05d.safetensors" % (i + 1, n)
        write_safetensors(os.path.join(dirpath, fname), sh, pool)
        for name, _, _ in sh:
            weight_map[name] = fname
    with open(os.path.join(dirpath, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)

# ---- configs ---------------------------------------------------------------


def load_tiny(rel):
    with open(os.path.join(TINY, rel)) as f:
        return json.load(f)


def dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("size", choices=sorted(SIZES))
    ap.add_argument("out_dir")
    ap.add_argument("--no-vision", action="store_true",
                    help="skip the 3 GB of vision-tower weights (configs are still written)")
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    c = dict(SIZES[a.size])
    n_shards = c.pop("n_shards")
    D = c["hidden_size"]

    llm_t, conn_t = llm_tensors(c), connector_tensors(D)
    sig_t, iv2_t = siglip_tensors(), internvideo2_tensors()
    got = (n_params(llm_t), n_params(conn_t))
    exp = EXPECTED[a.size]
    if got != exp or n_params(sig_t) != SIGLIP_PARAMS:
        sys.exit("shape tables disagree with apollo-model.md 1.8: %r vs %r, %d"
                 % (got, exp, n_params(sig_t)))
    # The test fixture (our naming source) has clip_projector.cross_attn.k_bias, which the
    # byte-size estimate of section 1.7 leaves out: 1408 parameters more, in an unused head.
    if n_params(iv2_t) != IV2_PARAMS + 1408:
        sys.exit("InternVideo2 shape table: %d params" % n_params(iv2_t))

    out = os.path.abspath(a.out_dir)
    for sub in ("llm", "mm_connector", "vision_tower/siglip-so400m-patch14-384",
                "vision_tower/internvideo2"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)

    # configs: the tiny fixture's keys with the real sizes
    llm_cfg = load_tiny("llm/config.json")
    llm_cfg.update(c)
    llm_cfg["_name_or_path"] = "synthetic-apollo-%s/llm" % a.size
    conn_cfg = load_tiny("mm_connector/config.json")
    conn_cfg.update(text_hidden_size=D, vision_hidden_size=2560, num_output_tokens=128,
                    resampler_n_heads=16, resampler_head_dim=96, num_key_value_heads=4)
    top = load_tiny("config.json")
    top.update(hidden_size=D, intermediate_size=c["intermediate_size"],
               vocab_size=c["vocab_size"], llm_cfg=llm_cfg, mm_connector_cfg=conn_cfg)
    sig_cfg = load_tiny("vision_tower/siglip-so400m-patch14-384/config.json")
    sig_cfg.update(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27,
                   num_attention_heads=16, _name_or_path="synthetic/siglip-so400m-patch14-384")
    iv2_cfg = load_tiny("vision_tower/internvideo2/config.json")
    iv2_cfg.update(d_model=1408, num_heads=16, attn_pool_num_heads=16, clip_embed_dim=768,
                   clip_teacher_embed_dim=3200, clip_teacher_final_dim=768,
                   _name_or_path="synthetic/internvideo2")
    dump(os.path.join(out, "config.json"), top)
    dump(os.path.join(out, "llm", "config.json"), llm_cfg)
    dump(os.path.join(out, "mm_connector", "config.json"), conn_cfg)
    dump(os.path.join(out, "vision_tower", "config.json"), load_tiny("vision_tower/config.json"))
    dump(os.path.join(out, "vision_tower/siglip-so400m-patch14-384/config.json"), sig_cfg)
    dump(os.path.join(out, "vision_tower/internvideo2/config.json"), iv2_cfg)
    for rel in ("llm/generation_config.json",
                "vision_tower/siglip-so400m-patch14-384/preprocessor_config.json"):
        with open(os.path.join(TINY, rel)) as src, open(os.path.join(out, rel), "w") as dst:
            dst.write(src.read())
    for fn in TOKENIZER_FILES:
        link = os.path.join(out, "llm", fn)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.join(TOKENIZER, fn), link)

    rng = random.Random(a.seed)
    pool = Pool(rng)
    print("writing %s: LLM %d params in %d file(s), connector %d" % (out, got[0], n_shards, got[1]))
    write_sharded(os.path.join(out, "llm"), llm_t, n_shards, pool)
    write_safetensors(os.path.join(out, "mm_connector", "model.safetensors"), conn_t, pool)
    if not a.no_vision:
        write_safetensors(os.path.join(out, "vision_tower/siglip-so400m-patch14-384",
                                       "model.safetensors"), sig_t, pool)
        write_safetensors(os.path.join(out, "vision_tower/internvideo2", "model.safetensors"),
                          iv2_t, pool)
    print("done")


if __name__ == "__main__":
    main()
