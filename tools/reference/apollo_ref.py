"""Reference building blocks for libapollo's golden fixtures.

Written for this project from the published definitions summarised in
docs/apollo-model.md (sections 2-5):
  * InternVideo2 backbone (PretrainInternVideo2: 3-D patch embed, CLS, RMSNorm,
    QK-norm, LayerScale, no qkv bias) plus its unused CLIP distillation heads, so that
    the state-dict names are those of the hub file;
  * the Apollo connector (Linear projection, then Idefics2-style Perceiver resampler
    with WeightedNorm, GQA cross-attention and a SwiGLU MLP);
  * Apollo's clip sampling, padding/resizing, prompt construction and tokenisation
    with -200 placeholders.
Everything runs in float32 on CPU.
"""
import datetime
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

X_TOKEN_INDEX = -200
VIDEO_TOKEN = "<|video_token|>"
SYSTEM = "<|im_start|>system\n\nYou are a helpful vision-language assistant."
SEP = "<|im_end|>"
ROLE_USER = "<|im_start|>user"
ROLE_ASSISTANT = "<|im_start|>assistant"

SIGLIP_MEAN = (0.5, 0.5, 0.5)
SIGLIP_STD = (0.5, 0.5, 0.5)
IV2_MEAN = (0.485, 0.456, 0.406)
IV2_STD = (0.229, 0.224, 0.225)


# --------------------------------------------------------------------------------------
# InternVideo2 backbone
# --------------------------------------------------------------------------------------
class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(dt)


class LayerScale(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.gamma = nn.Parameter(1e-5 * torch.ones(dim))

    def forward(self, x):
        return (x.float() * self.gamma.float()).to(x.dtype)


class IV2Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_norm = RMSNorm(dim)
        self.k_norm = RMSNorm(dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        H = self.heads
        hd = C // H
        qkv = self.qkv(x).reshape(B, N, 3, C)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        q = self.q_norm(q)  # over the full width, before the head split
        k = self.k_norm(k)
        q = q.reshape(B, N, H, hd).transpose(1, 2)
        k = k.reshape(B, N, H, hd).transpose(1, 2)
        v = v.reshape(B, N, H, hd).transpose(1, 2)
        a = ((q * hd ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        o = (a @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(o)


class IV2Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact (erf) GELU


class IV2Block(nn.Module):
    def __init__(self, dim, heads, mlp_hidden):
        super().__init__()
        self.norm1 = RMSNorm(dim)
        self.attn = IV2Attention(dim, heads)
        self.ls1 = LayerScale(dim)
        self.norm2 = RMSNorm(dim)
        self.mlp = IV2Mlp(dim, mlp_hidden)
        self.ls2 = LayerScale(dim)

    def forward(self, x):
        x = x + self.ls1(self.attn(self.norm1(x)))
        x = x + self.ls2(self.mlp(self.norm2(x)))
        return x


class IV2PatchEmbed(nn.Module):
    def __init__(self, dim, patch, tubelet):
        super().__init__()
        self.proj = nn.Conv3d(3, dim, kernel_size=(tubelet, patch, patch), stride=(tubelet, patch, patch))

    def forward(self, x):  # (B, 3, T, H, W) -> (B, T*h*w, C), t-major then row then col
        x = self.proj(x)
        B, C = x.shape[:2]
        return x.flatten(2).transpose(1, 2)


class IV2CrossAttention(nn.Module):  # CLIP attention-pool head (unused by Apollo)
    def __init__(self, dim, heads, out_dim):
        super().__init__()
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(dim, dim, bias=False)
        self.v = nn.Linear(dim, dim, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.k_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, out_dim)


class IV2AttentionPool(nn.Module):
    def __init__(self, dim, heads, out_dim):
        super().__init__()
        self.norm1_q = nn.LayerNorm(dim)
        self.norm1_k = nn.LayerNorm(dim)
        self.norm1_v = nn.LayerNorm(dim)
        self.cross_attn = IV2CrossAttention(dim, heads, out_dim)


class IV2LinearDecoder(nn.Module):  # CLIP distillation decoder (unused by Apollo)
    def __init__(self, cin, cout):
        super().__init__()
        self.head = nn.Linear(cin, cout)
        self.norm = nn.LayerNorm(cout)


def iv2_mlp_hidden(d_model):
    return int(d_model * 48 / 11)


class InternVideo2(nn.Module):
    """PretrainInternVideo2 with the module names of the hub checkpoint (no prefix)."""

    def __init__(self, cfg, depth, mlp_hidden=None):
        super().__init__()
        d = cfg["d_model"]
        p = cfg["patch_size"]
        T = cfg["num_frames"] // cfg["tubelet_size"]
        g = cfg["img_size"] // p
        self.depth = depth
        self.patch_embed = IV2PatchEmbed(d, p, cfg["tubelet_size"])
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + T * g * g, d))
        self.img_pos_embed = nn.Parameter(torch.zeros(1, 1 + g * g, d))
        self.clip_pos_embed = nn.Parameter(torch.zeros(1, 1 + T * g * g, d))
        self.clip_img_pos_embed = nn.Parameter(torch.zeros(1, 1 + g * g, d))
        mh = mlp_hidden if mlp_hidden is not None else iv2_mlp_hidden(d)
        self.blocks = nn.ModuleList([IV2Block(d, cfg["num_heads"], mh) for _ in range(depth)])
        self.clip_projector = IV2AttentionPool(d, cfg["attn_pool_num_heads"], cfg["clip_embed_dim"])
        self.clip_decoder = nn.ModuleList(
            [IV2LinearDecoder(d, cfg["clip_teacher_embed_dim"]) for _ in range(cfg["clip_return_layer"])])
        self.final_clip_decoder = IV2LinearDecoder(cfg["clip_embed_dim"], cfg["clip_teacher_final_dim"])

    def forward(self, x, x_vis_return_idx=-1):
        """x: (B, 3, T, H, W). Returns the block output (B, 1 + T*h*w, C) (x_vis_only path)."""
        x = self.patch_embed(x)
        B = x.shape[0]
        x = torch.cat([self.cls_token.expand(B, -1, -1), x], dim=1)
        x = x + self.pos_embed  # use_image=False: the video table
        for idx, blk in enumerate(self.blocks):
            x = blk(x)
            if idx == self.depth + x_vis_return_idx:
                break
        return x


# --------------------------------------------------------------------------------------
# Connector
# --------------------------------------------------------------------------------------
class WeightedNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.norm = nn.LayerNorm(d)  # eps 1e-5 (PyTorch default)
        self.wheight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return self.norm(x) * self.wheight


class PerceiverAttention(nn.Module):
    def __init__(self, d, n_heads, head_dim, n_kv):
        super().__init__()
        self.n_heads, self.head_dim, self.n_kv = n_heads, head_dim, n_kv
        self.q_proj = nn.Linear(d, n_heads * head_dim, bias=False)
        self.k_proj = nn.Linear(d, n_kv * head_dim, bias=False)
        self.v_proj = nn.Linear(d, n_kv * head_dim, bias=False)
        self.o_proj = nn.Linear(n_heads * head_dim, d, bias=False)

    def forward(self, latents, context):
        B, n, _ = latents.shape
        kv = torch.cat([context, latents], dim=-2)
        S = kv.shape[1]
        q = self.q_proj(latents).view(B, n, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(kv).view(B, S, self.n_kv, self.head_dim).transpose(1, 2)
        v = self.v_proj(kv).view(B, S, self.n_kv, self.head_dim).transpose(1, 2)
        rep = self.n_heads // self.n_kv
        k = k.repeat_interleave(rep, dim=1)  # head j uses kv head j // rep
        v = v.repeat_interleave(rep, dim=1)
        a = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
        a = F.softmax(a, dim=-1, dtype=torch.float32).to(q.dtype)
        o = torch.matmul(a, v).transpose(1, 2).reshape(B, n, self.n_heads * self.head_dim)
        return self.o_proj(o)


class PerceiverMLP(nn.Module):
    def __init__(self, d, inter, act):
        super().__init__()
        self.gate_proj = nn.Linear(d, inter, bias=False)
        self.up_proj = nn.Linear(d, inter, bias=False)
        self.down_proj = nn.Linear(inter, d, bias=False)
        assert act == "silu"

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class PerceiverLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["text_hidden_size"]
        self.input_latents_norm = WeightedNorm(d)
        self.input_context_norm = WeightedNorm(d)
        self.self_attn = PerceiverAttention(d, c["resampler_n_heads"], c["resampler_head_dim"],
                                            c["num_key_value_heads"])
        self.post_attention_layernorm = WeightedNorm(d)
        self.mlp = PerceiverMLP(d, d * c["ff_multi"], c["hidden_act"])

    def forward(self, latents, context):
        r = latents
        lat = self.input_latents_norm(latents)
        ctx = self.input_context_norm(context)
        latents = r + self.self_attn(lat, ctx)
        r = latents
        return r + self.mlp(self.post_attention_layernorm(latents))


class PerceiverResampler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.latents = nn.Parameter(torch.zeros(c["num_output_tokens"], c["text_hidden_size"]))
        self.layers = nn.ModuleList([PerceiverLayer(c) for _ in range(c["resampler_depth"])])
        self.norm = WeightedNorm(c["text_hidden_size"])

    def forward(self, context):
        lat = self.latents.unsqueeze(0).expand(context.shape[0], -1, -1)
        for layer in self.layers:
            lat = layer(lat, context)
        return self.norm(lat)


class Connector(nn.Module):
    def __init__(self, c):
        super().__init__()
        assert c["projector_type"] == "mlp1x_gelu" and c["resampler_type"] == "perciver"
        self.proj = nn.Sequential(nn.Linear(c["vision_hidden_size"], c["text_hidden_size"]))
        self.resampler = PerceiverResampler(c)

    def forward(self, x):
        p = self.proj(x)
        return p, self.resampler(p)


# --------------------------------------------------------------------------------------
# Sampling (calculate_sample_indices) and prompt text
# --------------------------------------------------------------------------------------
def budget_ratio(model_max_length, clip_sampling_ratio, duration, n_out, clip_duration):
    return min(1, (model_max_length * clip_sampling_ratio) / (duration * n_out / clip_duration))


def sample_indices(clip_duration, frames_per_clip, total_frames, fps, duration, ratio):
    """Returns (clip_indices list of int lists, timestamps list of (np.float64, np.float64), branch)."""
    target = frames_per_clip / clip_duration
    num_clips = math.ceil((duration / clip_duration) * ratio)
    step_f = fps / target
    partition = total_frames // num_clips
    clips, stamps = [], []
    if step_f > 0.5:
        step = max(1, int(fps / target))
        clip_len = int(frames_per_clip * step)
        sample_len = min(clip_len, total_frames)
        clip_step = (total_frames - clip_len) // max(1, num_clips - 1) if total_frames > clip_len else 0
        branch = "long" if partition > clip_len else "short"
        for i in range(num_clips):
            if partition > clip_len:
                s = (partition - clip_len) // 2
                idx = np.arange(s, s + clip_len, step)
                idx = np.clip(idx, 0, partition - 1).astype(np.int64) + i * partition
            else:
                idx = np.arange(0, sample_len, step)
                if len(idx) < frames_per_clip:
                    idx = np.concatenate((idx, np.full(frames_per_clip - len(idx), sample_len)))
                idx = np.clip(idx, 0, sample_len - 1).astype(np.int64) + i * clip_step
            clips.append([int(v) for v in idx])
            stamps.append((idx[0] / fps, idx[-1] / fps))
    else:
        branch = "low_fps"
        rep = int(np.ceil(1 / step_f))
        clip_len = int(frames_per_clip * step_f)
        base = np.repeat(np.arange(clip_len), rep)
        clip_len = min(clip_len, len(base))
        clip_step = (total_frames - clip_len) // max(1, num_clips - 1) if total_frames > clip_len else 0
        sample_len = min(clip_len, total_frames)
        if len(base) < frames_per_clip:
            base = np.concatenate((base, np.full(frames_per_clip - len(base), sample_len)))
        for i in range(num_clips):
            idx = np.clip(base, 0, sample_len - 1).astype(np.int64) + i * clip_step
            clips.append([int(v) for v in idx])
            stamps.append((idx[0] / fps, idx[-1] / fps))
    return clips, stamps, branch


def video_block(num_clips, clip_duration, duration, stamps, n_out):
    from num2words import num2words
    head = (f"You are provided the following series of {num2words(num_clips)}, {clip_duration} second "
            f"clips from a {datetime.timedelta(seconds=duration)} [H:MM:SS] video.\n")
    lines = [f"{round(t0, 1)}-{round(t1, 1)} seconds: {VIDEO_TOKEN * n_out}" for (t0, t1) in stamps]
    return head + ",\n".join(lines)


def render_conversation(turns):
    """turns: list of (role, text or None). conv_qwen (ChatML) rendering."""
    s = SYSTEM + SEP + "\n"
    for role, text in turns:
        r = ROLE_USER if role == "user" else ROLE_ASSISTANT
        if text is None:
            s += r + "\n"
        else:
            s += r + "\n" + text + SEP + "\n"
    return s


def tokenize_with_placeholders(tok, prompt):
    """tokenizer_mm_token: spans between <|video_token|> tokenised separately, -200 per placeholder."""
    parts = prompt.split(VIDEO_TOKEN)
    ids = []
    for i, part in enumerate(parts):
        if i > 0:
            ids.append(X_TOKEN_INDEX)
        if part:
            ids.extend(tok.encode(part, add_special_tokens=False).ids)
    return ids
