#!/usr/bin/env python3
"""Compute the fp32 reference outputs of the tiny Apollo checkpoints.

SigLIP and Qwen2 are the real transformers classes (eager attention); the InternVideo2
backbone and the connector come from apollo_ref.py. Sampling, preprocessing, fusion,
prompt construction and splicing follow docs/apollo-model.md §2-§5. Weights are bf16 on
disk and upcast to fp32; pixels are fed in fp32 (NOT rounded to bf16 as the Python
reference loader does) and the fused tokens are not rounded to bf16 either.

Output layout: see tools/reference/README.md.
"""
import argparse
import hashlib
import json
import os
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

import apollo_ref as ar

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "tests", "fixtures")
MODELS = os.path.join(FIX, "models")
VIDEOS = os.path.join(FIX, "videos")
REF = os.path.join(FIX, "reference")
TOKDIR = os.path.join(FIX, "tokenizer", "qwen2.5")

FRAMES_PER_CLIP = 4
CLIP_SAMPLING_RATIO = 0.65
N_GREEDY = 32
VARIANTS = ["tiny-tied", "tiny-sharded"]
VIDEO_FILES = OrderedDict([("video-cfr", "cfr_161x97_2997.mp4"), ("video-vfr", "vfr_400x226.mp4")])

Q1_VIDEO = "Describe what happens in this video."
A1_VIDEO = "A colourful test pattern scrolls across the frame while a counter in the corner counts up."
Q2_VIDEO = "At which second does the counter first show 3? Answer with a number, then explain."
Q1_TEXT = "What is the capital of France? Reply in one word."
A1_TEXT = "Paris."
Q2_TEXT = ("And of Japan (日本)? 🙂 Also, compute 12345 + 67890 and write it in a Python snippet:\n"
           "```python\nprint(12345 + 67890)\n```")

SUBSET_STRIDE = 149


def sha256(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def f32(t):
    return t.detach().to(torch.float32).contiguous()


def write_st(path, tensors):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file(OrderedDict((k, v.contiguous()) for k, v in tensors.items()), path, metadata={"format": "pt"})


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(json.dumps(obj, indent=1, ensure_ascii=False) + "\n")


def read_json(path):
    with open(path) as f:
        return json.load(f)


# --------------------------------------------------------------------------------------
# Video: metadata, sampling, decoding, preprocessing
# --------------------------------------------------------------------------------------
def video_details(path):
    from decord import VideoReader, cpu
    assert os.path.getsize(path) >= 1024
    vr = VideoReader(path, num_threads=1, ctx=cpu(0))
    total = len(vr)
    fps = vr.get_avg_fps()
    return total, fps, total / fps


def decode(path, indices):
    from decord import VideoReader
    vr = VideoReader(path)  # eval_=True path of the reference loader
    return vr.get_batch(indices).asnumpy()


def container_info(path):
    import av
    with av.open(path) as c:
        s = c.streams.video[0]
        pts = [int(fr.pts) for fr in c.decode(s)]
        info = dict(codec=s.codec_context.name, pix_fmt=s.codec_context.pix_fmt,
                    width=s.codec_context.width, height=s.codec_context.height,
                    avg_frame_rate=f"{s.average_rate.numerator}/{s.average_rate.denominator}",
                    time_base=f"{s.time_base.numerator}/{s.time_base.denominator}",
                    frame_pts_presentation_order=sorted(pts))
    return info


def pad_to_square(frames, mean):
    N, H, W, C = frames.shape
    side = max(H, W)
    color = np.array([int(m * 255) for m in mean], dtype=frames.dtype)
    out = np.full((N, side, side, C), color, dtype=frames.dtype)
    top, left = (side - H) // 2, (side - W) // 2
    out[:, top:top + H, left:left + W, :] = frames
    return out


def siglip_resize(padded):
    from PIL import Image
    return np.stack([np.asarray(Image.fromarray(f).resize((384, 384), resample=Image.BICUBIC)) for f in padded])


def iv2_resize(padded):
    import cv2
    out = []
    for f in padded:
        if f.shape[0] != 224 or f.shape[1] != 224:
            f = cv2.resize(f, (224, 224), interpolation=cv2.INTER_LINEAR)
        out.append(f)
    return np.stack(out)


def siglip_normalize(u8):
    """(N,384,384,3) uint8 -> (N,3,384,384) float32: x*(1/255) in float64 -> f32, (x-0.5)/0.5."""
    x = (u8.astype(np.float64) * (1 / 255)).astype(np.float32)
    mean = np.array(ar.SIGLIP_MEAN, dtype=np.float32)
    std = np.array(ar.SIGLIP_STD, dtype=np.float32)
    x = (x - mean) / std
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def iv2_normalize(u8_clip):
    """(4,224,224,3) uint8 -> (3,4,224,224) float32: /255 then ImageNet mean/std (torch f32)."""
    t = torch.from_numpy(np.ascontiguousarray(u8_clip.transpose(3, 0, 1, 2))).float().div(255)
    mean = torch.tensor(ar.IV2_MEAN, dtype=torch.float32).view(3, 1, 1, 1)
    std = torch.tensor(ar.IV2_STD, dtype=torch.float32).view(3, 1, 1, 1)
    return t.sub(mean).div(std)


def crosscheck_siglip_processor(padded_clip, our_u8):
    """Check our Pillow path against transformers' SiglipImageProcessor (PIL backend)."""
    try:
        from transformers import SiglipImageProcessorPil as P
    except Exception:
        return "unavailable"
    proc = P(**{k: v for k, v in read_json(os.path.join(MODELS, "tiny-tied", "vision_tower",
                                                        "siglip-so400m-patch14-384",
                                                        "preprocessor_config.json")).items()
                if k not in ("image_processor_type", "processor_class")})
    got = proc.preprocess(list(padded_clip), return_tensors="np")["pixel_values"]
    ours = siglip_normalize(our_u8).numpy()
    return "identical" if np.array_equal(got, ours) else f"max abs diff {np.abs(got - ours).max()}"


# --------------------------------------------------------------------------------------
# Model loading
# --------------------------------------------------------------------------------------
class Apollo:
    def __init__(self, variant):
        from transformers import Qwen2ForCausalLM, SiglipVisionModel
        d = os.path.join(MODELS, variant)
        self.variant = variant
        self.cfg = read_json(os.path.join(d, "config.json"))
        self.select_layer = self.cfg["mm_vision_select_layer"]
        assert self.cfg["mm_vision_select_feature"] == "patch"
        self.llm = Qwen2ForCausalLM.from_pretrained(os.path.join(d, "llm"), dtype=torch.float32,
                                                    attn_implementation="eager").eval()
        self.siglip = SiglipVisionModel.from_pretrained(
            os.path.join(d, "vision_tower", "siglip-so400m-patch14-384"), dtype=torch.float32,
            attn_implementation="eager").eval()
        ivd = os.path.join(d, "vision_tower", "internvideo2")
        self.iv2_cfg = read_json(os.path.join(ivd, "config.json"))
        sd = load_file(os.path.join(ivd, "model.safetensors"))
        depth = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))
        mlp_hidden = sd["blocks.0.mlp.fc1.weight"].shape[0]  # derived from shapes, as the runtime does
        self.iv2 = ar.InternVideo2(self.iv2_cfg, depth=depth, mlp_hidden=mlp_hidden)
        self.iv2.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
        self.iv2.eval()
        cd = os.path.join(d, "mm_connector")
        self.conn_cfg = read_json(os.path.join(cd, "config.json"))
        self.conn = ar.Connector(self.conn_cfg)
        self.conn.load_state_dict({k: v.float() for k, v in load_file(os.path.join(cd, "model.safetensors")).items()},
                                  strict=True)
        self.conn.eval()
        self.n_out = self.cfg["mm_connector_cfg"]["num_output_tokens"]
        assert self.n_out == self.conn_cfg["num_output_tokens"]
        self.embed = self.llm.get_input_embeddings().weight

    @torch.no_grad()
    def encode_video(self, sig_px, iv_px):
        """sig_px (Nc,4,3,384,384), iv_px (Nc,3,4,224,224) float32."""
        Nc = sig_px.shape[0]
        out = self.siglip(pixel_values=sig_px.reshape(Nc * 4, 3, 384, 384), output_hidden_states=True)
        s = out.hidden_states[self.select_layer]  # all 729 tokens (cls_patch: SigLIP has no CLS)
        Ds = s.shape[-1]
        g = 384 // 14
        sig = s.reshape(Nc, 4, g, g, Ds)
        v = self.iv2(iv_px, x_vis_return_idx=self.select_layer)
        v = v[:, 1:]  # "patch": drop CLS
        gi = self.iv2_cfg["img_size"] // self.iv2_cfg["patch_size"]
        Ti = self.iv2_cfg["num_frames"] // self.iv2_cfg["tubelet_size"]
        Di = v.shape[-1]
        iv = v.reshape(Nc, Ti, gi, gi, Di)
        # fusion: resize IV2 (T,16,16) -> (4,27,27), trilinear, align_corners=False, fp32
        T, W, H = self.cfg["vision_tower_cfg"]["token_output_shape"]
        ivr = F.interpolate(iv.permute(0, 4, 1, 2, 3).float(), size=(T, W, H), mode="trilinear",
                            align_corners=False).permute(0, 2, 3, 4, 1)
        fused = torch.cat([sig, ivr], dim=-1).reshape(Nc, T * W * H, Ds + Di)
        proj, res = self.conn(fused)
        return dict(siglip=sig, iv2=iv, fused=fused, proj=proj, conn=res)

    @torch.no_grad()
    def merge(self, ids, visual):
        ids_t = torch.tensor(ids, dtype=torch.long)
        emb = self.embed[torch.where(ids_t == ar.X_TOKEN_INDEX, torch.zeros_like(ids_t), ids_t)].clone()
        pos = (ids_t == ar.X_TOKEN_INDEX).nonzero().flatten()
        if visual is None:
            assert len(pos) == 0
        else:
            assert len(pos) == visual.shape[0], (len(pos), visual.shape)
            emb[pos] = visual
        return emb

    @torch.no_grad()
    def run_llm(self, emb):
        out = self.llm(inputs_embeds=emb.unsqueeze(0), output_hidden_states=True, use_cache=False)
        hs = torch.stack([h[0] for h in out.hidden_states])
        return out.logits[0], hs

    @torch.no_grad()
    def greedy(self, emb, n, repetition_penalty=None):
        from transformers import RepetitionPenaltyLogitsProcessor
        rp = RepetitionPenaltyLogitsProcessor(repetition_penalty) if repetition_penalty else None
        cur = emb
        toks, margins = [], []
        for _ in range(n):
            logits = self.llm(inputs_embeds=cur.unsqueeze(0), use_cache=False, logits_to_keep=1).logits[0, -1].float()
            if rp is not None and toks:
                logits = rp(torch.tensor([toks], dtype=torch.long), logits.unsqueeze(0))[0]
            top2 = torch.topk(logits, 2)
            t = int(top2.indices[0])
            toks.append(t)
            margins.append(float(top2.values[0] - top2.values[1]))
            cur = torch.cat([cur, self.embed[t].unsqueeze(0)], dim=0)
        return toks, margins


def gen_config(variant):
    return read_json(os.path.join(MODELS, variant, "llm", "generation_config.json"))


# --------------------------------------------------------------------------------------
def llm_outputs(model, tok, ids, visual, prompt, extra_meta):
    emb = model.merge(ids, visual)
    logits, hs = model.run_llm(emb)
    L = len(ids)
    ph = [i for i, t in enumerate(ids) if t == ar.X_TOKEN_INDEX]
    if ph:
        positions = [0, ph[0], ph[-1], ph[-1] + 1, L - 2, L - 1]
    else:
        positions = [0, L // 2, L - 2, L - 1]
    V = logits.shape[-1]
    subset = sorted(set(range(0, V, SUBSET_STRIDE)) | set(range(151643, 151665)) | {V - 1})
    sel = logits[positions]
    top = torch.topk(sel, 64, dim=-1)
    gids, gmar = model.greedy(emb, N_GREEDY)
    rp_val = gen_config(model.variant)["repetition_penalty"]
    rids, rmar = model.greedy(emb, N_GREEDY, repetition_penalty=rp_val)
    eos = {151645, 151643}
    tensors = OrderedDict(
        prompt_ids=torch.tensor(ids, dtype=torch.int64),
        inputs_embeds=f32(emb),
        llm_hidden_states=f32(hs),
        logits_positions=torch.tensor(positions, dtype=torch.int64),
        logits_top64_ids=top.indices.to(torch.int64).contiguous(),
        logits_top64=f32(top.values),
        logits_subset_ids=torch.tensor(subset, dtype=torch.int64),
        logits_subset=f32(sel[:, subset]),
        greedy_ids=torch.tensor(gids, dtype=torch.int64),
        greedy_margins=torch.tensor(gmar, dtype=torch.float32),
        greedy_rp_ids=torch.tensor(rids, dtype=torch.int64),
        greedy_rp_margins=torch.tensor(rmar, dtype=torch.float32),
    )
    meta = OrderedDict(
        variant=model.variant,
        prompt_text=prompt,
        prompt_len=L,
        num_placeholders=len(ph),
        placeholder_first=ph[0] if ph else None,
        placeholder_last=ph[-1] if ph else None,
        prompt_ids=ids,
        logits_positions=positions,
        greedy_ids=gids,
        greedy_text=tok.decode(gids, skip_special_tokens=False),
        greedy_min_margin=min(gmar),
        greedy_first_eos=next((i for i, t in enumerate(gids) if t in eos), None),
        repetition_penalty=rp_val,
        greedy_rp_ids=rids,
        greedy_rp_text=tok.decode(rids, skip_special_tokens=False),
        greedy_rp_min_margin=min(rmar),
        greedy_rp_first_eos=next((i for i, t in enumerate(rids) if t in eos), None),
    )
    meta.update(extra_meta)
    return tensors, meta


def conversation(video_text, q1, a1, q2):
    first = (video_text + "\n\n" + q1) if video_text is not None else q1
    return ar.render_conversation([("user", first), ("assistant", a1), ("user", q2), ("assistant", None)])


def video_level(name, fname):
    """Model-independent part (decode + preprocess). Sampling args come from tiny-tied's config
    and are re-checked per variant."""
    path = os.path.join(VIDEOS, fname)
    total, fps, duration = video_details(path)
    return path, total, fps, duration


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=REF)
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # reproducible reductions
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(TOKDIR, "tokenizer.json"))

    models = {v: Apollo(v) for v in VARIANTS}
    min_margin = float("inf")

    # ---------------- videos ----------------
    for vname, fname in VIDEO_FILES.items():
        path = os.path.join(VIDEOS, fname)
        total, fps, duration = video_details(path)
        samp = {}
        for v, m in models.items():
            cfg = m.cfg
            ratio = ar.budget_ratio(cfg["model_max_length"], CLIP_SAMPLING_RATIO, duration, m.n_out,
                                    cfg["clip_duration"])
            clips, stamps, branch = ar.sample_indices(cfg["clip_duration"], FRAMES_PER_CLIP, total, fps,
                                                      duration, ratio)
            samp[v] = (ratio, clips, stamps, branch)
        assert samp["tiny-tied"][1] == samp["tiny-sharded"][1]
        ratio, clips, stamps, branch = samp["tiny-tied"]
        all_idx = [i for c in clips for i in c]
        frames = decode(path, all_idx)  # (N, H, W, 3) RGB uint8
        Nc = len(clips)
        sig_pad = pad_to_square(frames, ar.SIGLIP_MEAN)
        iv_pad = pad_to_square(frames, ar.IV2_MEAN)
        sig_u8 = siglip_resize(sig_pad)  # (N,384,384,3)
        iv_u8 = iv2_resize(iv_pad)       # (N,224,224,3)
        sig_px = torch.stack([siglip_normalize(sig_u8[4 * c:4 * c + 4]) for c in range(Nc)])
        iv_px = torch.stack([iv2_normalize(iv_u8[4 * c:4 * c + 4]) for c in range(Nc)])
        xcheck = crosscheck_siglip_processor(sig_pad[:4], sig_u8[:4])
        cinfo = container_info(path)
        vmeta = OrderedDict(
            file="videos/" + fname,
            decoder="decord 0.6.0 VideoReader (bundled FFmpeg); RGB24",
            total_frames=total, fps=fps, fps_container_avg_frame_rate=cinfo["avg_frame_rate"],
            duration=duration, duration_str=str(__import__("datetime").timedelta(seconds=duration)),
            container=cinfo,
            frames_per_clip=FRAMES_PER_CLIP, clip_sampling_ratio=CLIP_SAMPLING_RATIO,
            model_max_length=models["tiny-tied"].cfg["model_max_length"],
            clip_duration=models["tiny-tied"].cfg["clip_duration"],
            budget_ratio={v: samp[v][0] for v in VARIANTS},
            num_clips=Nc, branch=branch, clip_indices=clips,
            timestamps=[[float(t0), float(t1)] for t0, t1 in stamps],
            timestamps_rounded=[[float(round(t0, 1)), float(round(t1, 1))] for t0, t1 in stamps],
            frame_shape=list(frames.shape[1:]),
            sha256_decoded=[sha256(f) for f in frames],
            sha256_siglip_resized=[sha256(f) for f in sig_u8],
            sha256_iv2_resized=[sha256(f) for f in iv_u8],
            siglip_processor_crosscheck=xcheck,
        )
        write_json(os.path.join(a.out, vname, "meta.json"), vmeta)
        write_st(os.path.join(a.out, vname, "pixels.safetensors"), OrderedDict(
            decoded_f0=torch.from_numpy(frames[0].copy()),
            **({"siglip_resized_f0": torch.from_numpy(sig_u8[0].copy())} if vname == "video-vfr" else {}),
            iv2_resized_f0=torch.from_numpy(iv_u8[0].copy()),
            # encoder inputs of a whole clip (clip 0) for the C encoder tests (video-cfr only: size budget)
            **({"siglip_resized_clip0": torch.from_numpy(np.ascontiguousarray(sig_u8[0:4])),
                "iv2_resized_clip0": torch.from_numpy(np.ascontiguousarray(iv_u8[0:4]))}
               if vname == "video-cfr" else {}),
        ))
        print(vname, total, fps, duration, clips, branch, "siglip processor:", xcheck)

        for v, m in models.items():
            enc = m.encode_video(sig_px, iv_px)
            vis = enc["conn"].reshape(Nc * m.n_out, -1)
            block = ar.video_block(Nc, m.cfg["clip_duration"], duration, stamps, m.n_out)
            prompt = conversation(block, Q1_VIDEO, A1_VIDEO, Q2_VIDEO)
            ids = ar.tokenize_with_placeholders(tok, prompt)
            tensors, meta = llm_outputs(m, tok, ids, vis, prompt, OrderedDict(
                video=vname, num_clips=Nc, n_out=m.n_out, mm_vision_select_layer=m.select_layer,
                video_block=block))
            t = OrderedDict()
            if vname == "video-cfr":
                t["siglip_selected_clip0"] = f32(enc["siglip"][:1])
                t["iv2_selected_clip0"] = f32(enc["iv2"][:1])
                if v == "tiny-tied":  # frame t=0 of clip 0 only (size budget)
                    t["fused_clip0_t0"] = f32(enc["fused"][0, :729])
                t["projector_clip0"] = f32(enc["proj"][:1])
            t["connector"] = f32(enc["conn"])
            t.update(tensors)
            write_st(os.path.join(a.out, v, vname, "tensors.safetensors"), t)
            write_json(os.path.join(a.out, v, vname, "scenario.json"), meta)
            min_margin = min(min_margin, meta["greedy_min_margin"], meta["greedy_rp_min_margin"])
            print(v, vname, "L", len(ids), "greedy", meta["greedy_ids"][:8], "min margin",
                  meta["greedy_min_margin"], meta["greedy_rp_min_margin"])

    # ---------------- text only ----------------
    for v, m in models.items():
        prompt = conversation(None, Q1_TEXT, A1_TEXT, Q2_TEXT)
        ids = ar.tokenize_with_placeholders(tok, prompt)
        tensors, meta = llm_outputs(m, tok, ids, None, prompt, OrderedDict(video=None))
        write_st(os.path.join(a.out, v, "text", "tensors.safetensors"), tensors)
        write_json(os.path.join(a.out, v, "text", "scenario.json"), meta)
        min_margin = min(min_margin, meta["greedy_min_margin"], meta["greedy_rp_min_margin"])
        print(v, "text L", len(ids), "greedy", meta["greedy_ids"][:8], "min margin",
              meta["greedy_min_margin"], meta["greedy_rp_min_margin"])

    # ---------------- sampling / prompt-text table ----------------
    with open(os.path.join(a.out, "sampling_cases.json"), "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in sampling_cases()) + "\n]\n")
    print("overall min greedy margin", min_margin)
    assert min_margin > 1e-2, "greedy margin too small: change the seeds"


def sampling_cases():
    import datetime
    from num2words import num2words
    cases = [
        # (total_frames, fps, model_max_length, n_out, clip_duration)
        (300, 30.0, 16384, 128, 2), (250, 25.0, 16384, 128, 2),
        (107892, 30000 / 1001, 16384, 128, 2), (107892, 30000 / 1001, 32768, 128, 2),
        (135, 30000 / 1001, 16384, 8, 2), (70, 70000 / 4173, 16384, 6, 2),
        (1, 30.0, 16384, 128, 2), (3, 30.0, 16384, 128, 2), (59, 29.97, 16384, 128, 2),
        (601, 24000 / 1001, 16384, 128, 2), (3601, 60000 / 1001, 16384, 128, 2),
        (7, 1.0, 16384, 128, 2), (10, 0.5, 16384, 128, 2), (20, 0.8, 16384, 128, 2),
        (5, 0.25, 16384, 128, 2), (12, 2.0, 16384, 128, 2), (13, 3.0, 16384, 128, 2),
        (30, 15.0, 16384, 128, 2), (27000, 25.0, 16384, 128, 2), (31500, 25.0, 16384, 128, 2),
        (2592300, 30.0, 16384, 128, 2), (12345, 29.97, 16384, 128, 2), (100003, 50.0, 16384, 128, 2),
        (4500, 30.0, 16384, 128, 2), (4500, 30.0, 4096, 128, 2), (4500, 30.0, 16384, 64, 2),
        (9000, 30.0, 16384, 128, 4), (606, 30.3, 16384, 128, 2), (1001, 30000 / 1001, 16384, 128, 2),
    ]
    out = []
    for total, fps, mml, n_out, cd in cases:
        duration = total / fps
        ratio = ar.budget_ratio(mml, CLIP_SAMPLING_RATIO, duration, n_out, cd)
        clips, stamps, branch = ar.sample_indices(cd, FRAMES_PER_CLIP, total, fps, duration, ratio)
        header = (f"You are provided the following series of {num2words(len(clips))}, {cd} second "
                  f"clips from a {datetime.timedelta(seconds=duration)} [H:MM:SS] video.\n")
        out.append(OrderedDict(
            total_frames=total, fps=fps, model_max_length=mml, num_output_tokens=n_out, clip_duration=cd,
            clip_sampling_ratio=CLIP_SAMPLING_RATIO, frames_per_clip=FRAMES_PER_CLIP,
            duration=duration, budget_ratio=ratio, num_clips=len(clips), branch=branch,
            degenerate=any(i < 0 or i >= total for c in clips for i in c),
            clip_indices=clips, timestamps=[[float(x), float(y)] for x, y in stamps],
            header=header, clip_prefixes=[f"{round(x, 1)}-{round(y, 1)} seconds: " for x, y in stamps]))
    return out


if __name__ == "__main__":
    main()
