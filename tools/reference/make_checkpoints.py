#!/usr/bin/env python3
"""Build the tiny random Apollo checkpoints in the hub layout (docs/apollo-model.md §1).

    tests/fixtures/models/tiny-tied/      LLM in one model.safetensors, tied head (no lm_head.weight stored)
    tests/fixtures/models/tiny-sharded/   LLM in two shards + index, untied head

Deterministic: every tensor is drawn from its own torch.Generator seeded from
(variant seed, crc32(tensor name)), then rounded to bf16 and written with safetensors.
Configs are written as `json.dumps(sort_keys=True, indent=2)` + "\n" (the Transformers
to_json_string format), except where the real file is known to put `auto_map` last.
"""
import argparse
import json
import os
import zlib
from collections import OrderedDict

import torch
from safetensors.torch import save_file

import apollo_ref as ar

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOKENIZER_FILES = ["added_tokens.json", "merges.txt", "special_tokens_map.json", "tokenizer.json",
                   "tokenizer_config.json", "vocab.json"]
TF_VERSION = "4.44.0"  # the version string of the real checkpoint files (the runtime ignores it)

VARIANTS = {
    "tiny-tied": dict(
        seed=1002, llm_seed=4003, out_scale=4.0, final_norm=6.0, select_layer=-2, sharded=False, tied=True,
        llm=dict(hidden=8, inter=32, layers=3, heads=2, kv=1),
        siglip=dict(hidden=8, inter=24, layers=3, heads=2),
        iv2=dict(d=16, heads=2, depth=3, pool_heads=2, clip_embed=12, teacher=20, final=12, ret=6),
        conn=dict(n_heads=4, head_dim=3, kv=2, n_out=8, depth=1),
    ),
    "tiny-sharded": dict(
        seed=2004, llm_seed=3005, out_scale=2.0, final_norm=10.0, select_layer=-1, sharded=True, tied=False,
        llm=dict(hidden=4, inter=16, layers=2, heads=1, kv=1),
        siglip=dict(hidden=8, inter=20, layers=3, heads=2),
        iv2=dict(d=16, heads=4, depth=3, pool_heads=4, clip_embed=12, teacher=20, final=12, ret=6),
        conn=dict(n_heads=2, head_dim=4, kv=1, n_out=6, depth=1),
    ),
}
VOCAB = 151936


def dump_json(path, obj, auto_map_last=False):
    if auto_map_last and "auto_map" in obj:
        am = obj.pop("auto_map")
        s = json.dumps(obj, sort_keys=True, indent=2)
        inner = json.dumps({"auto_map": am}, indent=2)[1:-1].rstrip()
        s = s[:-2] + "," + inner + "\n}"
        obj["auto_map"] = am
    else:
        s = json.dumps(obj, sort_keys=True, indent=2)
    with open(path, "w") as f:
        f.write(s + "\n")


def gen(seed, name):
    g = torch.Generator().manual_seed(seed * 1000003 + zlib.crc32(name.encode()))
    return g


def randn(seed, name, shape, std=1.0, mean=0.0):
    return torch.randn(*shape, generator=gen(seed, name)) * std + mean


def rand_uniform(seed, name, shape, lo, hi):
    return torch.rand(*shape, generator=gen(seed, name)) * (hi - lo) + lo


def init_tensor(seed, name, shape, kind):
    """Non-trivial random values for every tensor. `kind` selects the distribution."""
    if kind == "norm_w":            # norm weights around 1
        return randn(seed, name, shape, 0.1, 1.0)
    if kind == "norm_b" or kind == "bias":
        return randn(seed, name, shape, 0.1)
    if kind == "layerscale":        # O(0.1 - 1) so every block matters
        return rand_uniform(seed, name, shape, 0.2, 0.8)
    if kind == "embed":
        return randn(seed, name, shape, 1.0)
    if kind == "pos":
        return randn(seed, name, shape, 0.5)
    if kind == "weight":            # fan-in scaled
        fan_in = 1
        for s in shape[1:]:
            fan_in *= s
        return randn(seed, name, shape, 1.0 / fan_in ** 0.5)
    raise ValueError(kind)


def classify(name, shape):
    last = name.rsplit(".", 1)[-1]
    if "embed_tokens" in name or name == "lm_head.weight":
        return "embed"
    if last == "gamma":
        return "layerscale"
    if last in ("probe", "cls_token", "latents") or "pos_embed" in name or "position_embedding" in name:
        return "pos"
    if last == "wheight":
        return "norm_w"
    if last in ("q_bias", "k_bias", "v_bias"):
        return "bias"
    is_norm = any(k in name for k in ("norm", "layer_norm", "layernorm"))
    if last == "weight" and is_norm and len(shape) == 1:
        return "norm_w"
    if last == "bias" and is_norm:
        return "norm_b"
    if last in ("bias", "in_proj_bias"):
        return "bias"
    if len(shape) >= 2:
        return "weight"
    raise ValueError(f"unclassified tensor {name} {shape}")


def fill(module, seed, overrides=None):
    sd = module.state_dict()
    out = OrderedDict()
    for name in sorted(sd):
        t = sd[name]
        kind = (overrides or {}).get(name) or classify(name, tuple(t.shape))
        v = init_tensor(seed, name, tuple(t.shape), kind)
        out[name] = v.to(torch.bfloat16).contiguous()
    return out


def save_st(path, tensors):
    save_file(dict(tensors), path, metadata={"format": "pt"})


# --------------------------------------------------------------------------------------
def llm_config(v):
    L = v["llm"]
    return OrderedDict(
        _name_or_path="tiny-qwen2.5-random/llm",
        architectures=["Qwen2ForCausalLM"],
        attention_dropout=0.0,
        bos_token_id=151643,
        eos_token_id=151645,
        hidden_act="silu",
        hidden_size=L["hidden"],
        initializer_range=0.02,
        intermediate_size=L["inter"],
        max_position_embeddings=32768,
        max_window_layers=L["layers"],
        model_max_length=16384,
        model_type="qwen2",
        num_attention_heads=L["heads"],
        num_hidden_layers=L["layers"],
        num_key_value_heads=L["kv"],
        rms_norm_eps=1e-06,
        rope_theta=1000000.0,
        sliding_window=None,
        tie_word_embeddings=v["tied"],
        tokenizer_model_max_length=16384,
        tokenizer_padding_side="right",
        torch_dtype="bfloat16",
        transformers_version=TF_VERSION,
        use_cache=True,
        use_sliding_window=False,
        vocab_size=VOCAB,
    )


GENERATION_CONFIG = """{
  "bos_token_id": 151643,
  "pad_token_id": 151643,
  "do_sample": true,
  "eos_token_id": [
    151645,
    151643
  ],
  "repetition_penalty": 1.1,
  "temperature": 0.7,
  "top_p": 0.8,
  "top_k": 20,
  "transformers_version": "4.37.0"
}
"""


def build_llm(v, out_dir):
    from transformers import Qwen2Config, Qwen2ForCausalLM
    cfgd = llm_config(v)
    os.makedirs(out_dir, exist_ok=True)
    dump_json(os.path.join(out_dir, "config.json"), dict(cfgd))
    with open(os.path.join(out_dir, "generation_config.json"), "w") as f:
        f.write(GENERATION_CONFIG)
    for fn in TOKENIZER_FILES:
        p = os.path.join(out_dir, fn)
        if os.path.lexists(p):
            os.remove(p)
        os.symlink(os.path.join("..", "..", "..", "tokenizer", "qwen2.5", fn), p)

    L = v["llm"]
    qcfg = Qwen2Config(vocab_size=VOCAB, hidden_size=L["hidden"], intermediate_size=L["inter"],
                       num_hidden_layers=L["layers"], num_attention_heads=L["heads"],
                       num_key_value_heads=L["kv"], tie_word_embeddings=False,
                       rope_theta=1000000.0, rms_norm_eps=1e-6, max_position_embeddings=32768)
    with torch.device("meta"):
        model = Qwen2ForCausalLM(qcfg)
    seed = v.get("llm_seed", v["seed"])  # LLM drawn separately (chosen for clear greedy margins)
    tensors = fill(model, seed)
    # residual-branch outputs scaled up so the layers (not the token's own embedding) dominate
    # the final state; otherwise a tied random model just repeats one token.
    for n in list(tensors):
        if n.endswith("o_proj.weight") or n.endswith("down_proj.weight"):
            tensors[n] = (tensors[n].float() * v["out_scale"]).to(torch.bfloat16)
    # final norm weights ~3-4 so logits have a wide spread (greedy margins >> fp32 noise)
    fn = v["final_norm"]
    tensors["model.norm.weight"] = randn(seed, "model.norm.weight", (L["hidden"],), 0.1 * fn, fn).to(torch.bfloat16)
    if v["tied"]:
        # tied: the head IS the embedding, so the file stores only model.embed_tokens.weight
        # (151936 x D bf16, ~2.4 MB saved). fill() drew lm_head.weight from its own generator,
        # so dropping it leaves every other tensor's values unchanged.
        del tensors["lm_head.weight"]
    names = sorted(tensors)
    if not v["sharded"]:
        save_st(os.path.join(out_dir, "model.safetensors"), tensors)
    else:
        shard1 = [n for n in names if n.startswith("model.embed_tokens") or n.startswith("model.layers.")]
        shard2 = [n for n in names if n not in shard1]
        files = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
        weight_map = {}
        for fn, part in zip(files, (shard1, shard2)):
            save_st(os.path.join(out_dir, fn), OrderedDict((n, tensors[n]) for n in part))
            for n in part:
                weight_map[n] = fn
        total = sum(t.numel() * t.element_size() for t in tensors.values())
        idx = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
        with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
            f.write(json.dumps(idx, indent=2) + "\n")
    return cfgd


# --------------------------------------------------------------------------------------
def siglip_config(v):
    S = v["siglip"]
    return OrderedDict(
        _name_or_path="tiny-random/siglip-so400m-patch14-384",
        architectures=["SiglipVisionModel"],
        attention_dropout=0.0,
        hidden_act="gelu_pytorch_tanh",
        hidden_size=S["hidden"],
        image_size=384,
        intermediate_size=S["inter"],
        layer_norm_eps=1e-06,
        model_type="siglip_vision_model",
        num_attention_heads=S["heads"],
        num_channels=3,
        num_hidden_layers=S["layers"],
        patch_size=14,
        torch_dtype="bfloat16",
        transformers_version=TF_VERSION,
    )


SIGLIP_PREPROCESSOR = OrderedDict(
    do_convert_rgb=None, do_normalize=True, do_rescale=True, do_resize=True,
    image_mean=[0.5, 0.5, 0.5], image_processor_type="SiglipImageProcessor",
    image_std=[0.5, 0.5, 0.5], processor_class="SiglipProcessor", resample=3,
    rescale_factor=0.00392156862745098, size={"height": 384, "width": 384})


def build_siglip(v, out_dir):
    from transformers import SiglipVisionConfig, SiglipVisionModel
    S = v["siglip"]
    os.makedirs(out_dir, exist_ok=True)
    cfgd = siglip_config(v)
    dump_json(os.path.join(out_dir, "config.json"), dict(cfgd))
    dump_json(os.path.join(out_dir, "preprocessor_config.json"), dict(SIGLIP_PREPROCESSOR))
    scfg = SiglipVisionConfig(hidden_size=S["hidden"], intermediate_size=S["inter"],
                              num_hidden_layers=S["layers"], num_attention_heads=S["heads"],
                              image_size=384, patch_size=14, hidden_act="gelu_pytorch_tanh",
                              layer_norm_eps=1e-6, vision_use_head=True)
    with torch.device("meta"):
        model = SiglipVisionModel(scfg)
    # Transformers 4.44 (which wrote the real file) names SigLIP tensors "vision_model.*";
    # Transformers 5 drops that level from the module tree, so add the prefix back.
    tensors = fill(model, v["seed"] + 11)
    tensors = OrderedDict(((n if n.startswith("vision_model.") else "vision_model." + n), t)
                          for n, t in tensors.items())
    assert any(n.startswith("vision_model.head.") for n in tensors), "pooling head missing"
    save_st(os.path.join(out_dir, "model.safetensors"), tensors)
    return cfgd


def iv2_config(v):
    I = v["iv2"]
    return OrderedDict(
        _name_or_path="tiny-random/internvideo2",
        architectures=["PretrainInternVideo2"],
        attention_probs_dropout_prob=0.0,
        attn_pool_num_heads=I["pool_heads"],
        auto_map={"AutoConfig": "configuration_internvideo2.InternVideo2Config",
                  "AutoModel": "modeling_internvideo2.InternVideo2Model"},
        checkpoint_num=40,
        clip_embed_dim=I["clip_embed"],
        clip_input_resolution=224,
        clip_norm_type="l2",
        clip_return_layer=I["ret"],
        clip_student_return_interval=1,
        clip_teacher=None,
        clip_teacher_embed_dim=I["teacher"],
        clip_teacher_final_dim=I["final"],
        clip_teacher_return_interval=1,
        d_model=I["d"],
        encoder_stride=16,
        hidden_act="gelu",
        hidden_dropout_prob=0.0,
        hidden_size=768,
        image_mask_ratio=0.5,
        image_mask_type="random",
        image_size=224,
        img_size=224,
        initializer_range=0.02,
        intermediate_size=3072,
        keep_temporal=False,
        layer_norm_eps=1e-12,
        model_type="internvideo2",
        name="pretrain_internvideo2_1b_patch14_224",
        num_attention_heads=12,
        num_frames=4,
        num_heads=I["heads"],
        num_hidden_layers=12,
        only_mask=True,
        patch_size=14,
        qkv_bias=False,
        sep_image_video_pos_embed=True,
        torch_dtype="bfloat16",
        transformers_version=TF_VERSION,
        tubelet_size=1,
        use_checkpoint=True,
        use_flash_attn=False,
        use_fused_mlp=False,
        use_fused_rmsnorm=False,
        video_mask_ratio=0.8,
        video_mask_type="random",
    )


def build_iv2(v, out_dir):
    I = v["iv2"]
    os.makedirs(out_dir, exist_ok=True)
    cfgd = iv2_config(v)
    dump_json(os.path.join(out_dir, "config.json"), dict(cfgd))
    with torch.device("meta"):
        model = ar.InternVideo2(cfgd, depth=I["depth"])
    tensors = fill(model, v["seed"] + 22)
    save_st(os.path.join(out_dir, "model.safetensors"), tensors)
    return cfgd


def hybrid_config():
    return OrderedDict(
        auto_map={"AutoConfig": "configuration_hybrid.HybridTowerConfig"},
        configs={},
        model_type="hybrid_vision_tower",
        num_vision_encoders=2,
        token_output_shape=[4, 27, 27],
        transformers_version=TF_VERSION,
        vision_towers=["siglip-so400m-patch14-384", "internvideo2"],
    )


def connector_config(v):
    C = v["conn"]
    return OrderedDict(
        architectures=["Connector"],
        attention_dropout=0.0,
        auto_map={"AutoConfig": "configuration_connector.ConnectorConfig"},
        ff_multi=4,
        hidden_act="silu",
        model_type="mm_connector",
        num_key_value_heads=C["kv"],
        num_output_tokens=C["n_out"],
        num_patches=24,
        projector_type="mlp1x_gelu",
        resampler_depth=C["depth"],
        resampler_head_dim=C["head_dim"],
        resampler_n_heads=C["n_heads"],
        resampler_type="perciver",
        rms_norm_eps=1e-06,
        text_hidden_size=v["llm"]["hidden"],
        token_input_shape=[4, 27, 27],
        torch_dtype="bfloat16",
        transformers_version=TF_VERSION,
        vision_hidden_size=v["siglip"]["hidden"] + v["iv2"]["d"],
    )


def build_connector(v, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    cfgd = connector_config(v)
    dump_json(os.path.join(out_dir, "config.json"), dict(cfgd), auto_map_last=True)
    with torch.device("meta"):
        model = ar.Connector(cfgd)
    tensors = fill(model, v["seed"] + 33)
    assert len(tensors) == 22 or cfgd["resampler_depth"] != 1, len(tensors)
    save_st(os.path.join(out_dir, "model.safetensors"), tensors)
    return cfgd


def root_config(v, llm_cfg, conn_cfg, hyb_cfg):
    L = v["llm"]
    cfg = OrderedDict(
        architectures=["ApolloForCausalLM"],
        attention_dropout=0.0,
        attn_implementation="flash_attention_2",
        clip_duration=2,
        drop_path_rate=0.0,
        encode_batch_size=25,
        hidden_act="silu",
        hidden_size=L["hidden"],
        image_aspect_ratio="square",
        initializer_range=0.02,
        intermediate_size=L["inter"],
        interpolate_mode="linear",
        llm_cfg=dict(llm_cfg),
        mm_connector_cfg=dict(conn_cfg),
        mm_connector_lr=None,
        mm_vision_select_feature="patch",
        mm_vision_select_layer=v["select_layer"],
        model_dtype="torch.bfloat16",
        model_max_length=16384,
        model_type="apollo",
        num_video_frames=None,
        resume_path=None,
        transformers_version=TF_VERSION,
        use_mm_patch_token=False,
        use_mm_start_end=False,
        vision_resolution=-1,
        vision_tower_cfg=dict(hyb_cfg),
        vocab_size=VOCAB,
        auto_map={"AutoConfig": "configuration_apollo.ApolloConfig",
                  "AutoModelForCausalLM": "modeling_apollo.ApolloForCausalLM"},
    )
    return cfg


def build_variant(name, v, models_dir):
    root = os.path.join(models_dir, name)
    os.makedirs(root, exist_ok=True)
    llm_cfg = build_llm(v, os.path.join(root, "llm"))
    vt = os.path.join(root, "vision_tower")
    os.makedirs(vt, exist_ok=True)
    hyb = hybrid_config()
    dump_json(os.path.join(vt, "config.json"), dict(hyb), auto_map_last=True)
    build_siglip(v, os.path.join(vt, "siglip-so400m-patch14-384"))
    build_iv2(v, os.path.join(vt, "internvideo2"))
    conn = build_connector(v, os.path.join(root, "mm_connector"))
    dump_json(os.path.join(root, "config.json"), dict(root_config(v, llm_cfg, conn, hyb)), auto_map_last=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "models"))
    a = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    for name, v in VARIANTS.items():
        build_variant(name, v, a.out)
        print("wrote", os.path.join(a.out, name))


if __name__ == "__main__":
    main()
