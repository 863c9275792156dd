#!/usr/bin/python3
"""Independent PyTorch reference of the SD-2.1-unCLIP decoder as SEED-LLaMA calls it (StableUnCLIPImg2ImgPipeline
with given image_embeds, empty prompt, guidance 10, noise level 0, PNDM/PLMS, v-prediction).

Written from the facts in /work/shared/reference/unclip-decoder.md (sections 1-5) and seed-architecture.md §2,
not from diffusers/transformers code (neither is installed or imported). Plain torch.nn, CPU, float32 or float64;
module/tensor names, config field names and folder layout are diffusers' (UNet2DConditionModel, AutoencoderKL,
transformers CLIPTextModel, StableUnCLIPImageNormalizer). Run by hand, never by CI (python3-torch, python3-numpy):

    tools/golden/unclip_ref.py make-tiny FIXTURES_DIR     writes FIXTURES_DIR/tiny-unclip (the model folder) and
                                                          FIXTURES_DIR/tiny-unclip-golden (golden.safetensors + .json)
    tools/golden/unclip_ref.py make-full OUTDIR [--unet-base 320 --vae-base 128]   full-size random UNet + VAE
    tools/golden/unclip_ref.py bench MODELDIR [--threads N] [--repeat 2] [--sizes 64,96] [--vae-size 512]

Determinism: fixed torch seeds, one thread, safetensors written by hand (sorted names, space-padded header),
torch.save zip (torch 1.13) for the one .bin; two make-tiny runs into different folders gave byte-identical files
(sha256 of all 19 files compared by hand, 2026-11-30).

Golden tolerances: every float result is computed twice, with all arithmetic in float64 (weights = the stored fp32
values widened; scheduler tables computed in double) and in float32 exactly as diffusers does it (fp32 tables,
fp32 sinusoids). The entry `X` holds the float64 result, `X.f32` the float32 one; golden.json records
spread = max|X.f32 − X| and tolerance = max(4·spread, 1e-6·max|X|) — an f32 re-implementation should land within the
reference's own f32 error of the f64 truth, with margin for a different summation order.

Self-checks run by make-tiny (it raises on failure), i.e. what this file verifies:
  - PNDM 20-step timesteps == [951, 901, 901, 851, ..., 51, 1] (21 entries), 5-step == [801, 601, 601, 401, 201, 1];
    DDIM 20 == [951, 901, ..., 1]; DPM-Solver++ 20 == [999, 949, ..., 549, 500, 450, ..., 50] (doc §4)
  - squaredcos_cap_v2: beta_0 = 4.1284e-5 (doc §3.1); alphas_cumprod_0 = 0.99995872 exactly (the doc's 0.99995875
    is 4e-8 off), 0.99995869 in diffusers' fp32 table, whose sqrt(1 - acp0) = 0.0064270 is the doc's fp32 figure
    (exact: 0.0064253); scaled_linear beta_0 = 0.00085, beta_999 = 0.012
  - the noise-level-0 sinusoid is [1.0 x E/2, 0.0 x E/2]; the unconditional class row is all zeros, first
  - tokenizer: empty prompt -> [bos, eos, 0 x 75]; the BPE reproduces each training word it merged completely
  - output shapes of every stage; the UNet graph's skip widths equal the doc's table for the full config
    (2560,2560,2560 / 2560,2560,1920 / 1920,1280,960 / 960,640,640) and the tiny one's own
  - the written files read back (own safetensors + torch.load reader, VAE old attention names mapped back) give
    bit-identical UNet / VAE / text-encoder outputs; the .bin and the .safetensors UNet hold identical tensors
  - PLMS with 4 stored outputs equals the explicit formula (55E3 - 59E2 + 37E1 - 9E0)/24 path (via the m1-never-
    stored rule: the 3rd call combines (m2, m0))
"""
import argparse
import hashlib
import io
import json
import math
import os
import struct
import sys
import time
import unicodedata
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# ----------------------------------------------------------------------------------------------------------
# Configs (diffusers / transformers field names)

FULL_UNET = OrderedDict([
    ('_class_name', 'UNet2DConditionModel'), ('_diffusers_version', '0.15.0.dev0'),
    ('act_fn', 'silu'), ('attention_head_dim', [5, 10, 20, 20]), ('block_out_channels', [320, 640, 1280, 1280]),
    ('center_input_sample', False), ('class_embed_type', 'projection'), ('conv_in_kernel', 3), ('conv_out_kernel', 3),
    ('cross_attention_dim', 1024),
    ('down_block_types', ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D']),
    ('downsample_padding', 1), ('dual_cross_attention', False), ('flip_sin_to_cos', True), ('freq_shift', 0),
    ('in_channels', 4), ('layers_per_block', 2), ('mid_block_scale_factor', 1), ('mid_block_type', 'UNetMidBlock2DCrossAttn'),
    ('norm_eps', 1e-05), ('norm_num_groups', 32), ('num_class_embeds', None), ('only_cross_attention', False),
    ('out_channels', 4), ('projection_class_embeddings_input_dim', 2048), ('resnet_time_scale_shift', 'default'),
    ('sample_size', 96), ('time_cond_proj_dim', None), ('time_embedding_type', 'positional'),
    ('timestep_post_act', None),
    ('up_block_types', ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D']),
    ('upcast_attention', True), ('use_linear_projection', True),
])
FULL_VAE = OrderedDict([
    ('_class_name', 'AutoencoderKL'), ('_diffusers_version', '0.15.0.dev0'), ('act_fn', 'silu'),
    ('block_out_channels', [128, 256, 512, 512]),
    ('down_block_types', ['DownEncoderBlock2D'] * 4), ('in_channels', 3), ('latent_channels', 4),
    ('layers_per_block', 2), ('norm_num_groups', 32), ('out_channels', 3), ('sample_size', 768),
    ('scaling_factor', 0.18215), ('up_block_types', ['UpDecoderBlock2D'] * 4),
])
FULL_TEXT = OrderedDict([
    ('_name_or_path', 'stabilityai/stable-diffusion-2-1-unclip'), ('architectures', ['CLIPTextModel']),
    ('attention_dropout', 0.0), ('bos_token_id', 0), ('dropout', 0.0), ('eos_token_id', 2), ('hidden_act', 'gelu'),
    ('hidden_size', 1024), ('initializer_factor', 1.0), ('initializer_range', 0.02), ('intermediate_size', 4096),
    ('layer_norm_eps', 1e-05), ('max_position_embeddings', 77), ('model_type', 'clip_text_model'),
    ('num_attention_heads', 16), ('num_hidden_layers', 23), ('pad_token_id', 1), ('projection_dim', 512),
    ('torch_dtype', 'float32'), ('transformers_version', '4.26.0.dev0'), ('vocab_size', 49408),
])
PNDM_CONFIG = OrderedDict([
    ('_class_name', 'PNDMScheduler'), ('_diffusers_version', '0.15.0.dev0'), ('beta_end', 0.012),
    ('beta_schedule', 'scaled_linear'), ('beta_start', 0.00085), ('clip_sample', False), ('num_train_timesteps', 1000),
    ('prediction_type', 'v_prediction'), ('set_alpha_to_one', False), ('skip_prk_steps', True), ('steps_offset', 1),
    ('thresholding', False), ('trained_betas', None),
])
DDPM_CONFIG = OrderedDict([
    ('_class_name', 'DDPMScheduler'), ('_diffusers_version', '0.15.0.dev0'), ('beta_end', 0.02),
    ('beta_schedule', 'squaredcos_cap_v2'), ('beta_start', 0.0001), ('clip_sample', True), ('clip_sample_range', 1.0),
    ('num_train_timesteps', 1000), ('prediction_type', 'epsilon'), ('trained_betas', None), ('variance_type', 'fixed_small'),
])
MODEL_INDEX = OrderedDict([
    ('_class_name', 'StableUnCLIPImg2ImgPipeline'), ('_diffusers_version', '0.15.0.dev0'),
    ('feature_extractor', ['transformers', 'CLIPImageProcessor']),
    ('image_encoder', ['transformers', 'CLIPVisionModelWithProjection']),
    ('image_noising_scheduler', ['diffusers', 'DDPMScheduler']),
    ('image_normalizer', ['stable_diffusion', 'StableUnCLIPImageNormalizer']),
    ('scheduler', ['diffusers', 'PNDMScheduler']), ('text_encoder', ['transformers', 'CLIPTextModel']),
    ('tokenizer', ['transformers', 'CLIPTokenizer']), ('unet', ['diffusers', 'UNet2DConditionModel']),
    ('vae', ['diffusers', 'AutoencoderKL']),
])

# Tiny model: same architecture, scaled down via the configs.
TINY_E = 32          # image-embedding width (full: 1024)
TINY_TEXT_WIDTH = 32  # text hidden size = UNet cross_attention_dim (full: 1024)
TINY_UNET_OVERRIDES = {
    'block_out_channels': [8, 8, 16, 16], 'attention_head_dim': [2, 2, 4, 4], 'norm_num_groups': 4,
    'cross_attention_dim': TINY_TEXT_WIDTH, 'projection_class_embeddings_input_dim': 2 * TINY_E, 'sample_size': 16,
}
TINY_VAE_OVERRIDES = {'block_out_channels': [8, 8, 16, 16], 'norm_num_groups': 4, 'sample_size': 128}
TINY_TEXT_OVERRIDES = {'hidden_size': TINY_TEXT_WIDTH, 'intermediate_size': 64, 'num_attention_heads': 2,
                       'num_hidden_layers': 3}
TINY_LATENT_HW = (16, 8)  # non-square on purpose: image 128 (H) x 64 (W)
TINY_STEPS = 5
GUIDANCE = 10.0
NOISE_LEVELS = (0, 100)
PROMPTS = ['', 'a photo of a zebra', 'A Red Car, parked by the sea!', "it's 2 dogs playing in snow"]


def merged(base, overrides):
    cfg = OrderedDict(base)
    cfg.update(overrides)
    return cfg


# ----------------------------------------------------------------------------------------------------------
# safetensors (written and read by hand; the python package is not available)

ST_DTYPES = {torch.float64: 'F64', torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16',
             torch.int64: 'I64', torch.int32: 'I32'}
ST_TORCH = {v: k for k, v in ST_DTYPES.items()}


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype('<i2').tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder('<')).tobytes()


def write_safetensors(path, tensors, metadata=None):
    header = OrderedDict()
    if metadata is not None:
        header['__metadata__'] = metadata
    blobs, off = [], 0
    for name in sorted(tensors):
        t = tensors[name]
        b = tensor_bytes(t)
        header[name] = OrderedDict([('dtype', ST_DTYPES[t.dtype]), ('shape', list(t.shape)),
                                    ('data_offsets', [off, off + len(b)])])
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(',', ':')).encode('utf-8')
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = OrderedDict()
    for name, info in header.items():
        if name == '__metadata__':
            continue
        s, e = info['data_offsets']
        dt = ST_TORCH[info['dtype']]
        raw = bytearray(data[base + s:base + e])
        if dt == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(raw, dtype=dt) if len(raw) else torch.zeros(0, dtype=dt)
        out[name] = t.reshape(info['shape']).clone()
    return out


def write_json(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f, indent=2)
        f.write('\n')


# ----------------------------------------------------------------------------------------------------------
# Embeddings (doc §2.1, §2.2)

def timestep_embedding(t, dim, flip_sin_to_cos=True, shift=0.0, dtype=torch.float32, max_period=10000):
    """Sinusoid of integer timesteps t [N]: frequencies exp(-ln(max_period)·k/(half - shift)), [sin, cos] ->
    [cos, sin] when flipped. `dtype` is the compute dtype (diffusers: fp32)."""
    half = dim // 2
    k = torch.arange(half, dtype=dtype)
    freq = torch.exp(-math.log(max_period) * k / (half - shift))
    arg = t.to(dtype)[:, None] * freq[None, :]
    emb = torch.cat([torch.sin(arg), torch.cos(arg)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if dim % 2 == 1:
        emb = F.pad(emb, (0, 1))
    return emb


class TimestepEmbedding(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.linear_1 = nn.Linear(cin, cout)
        self.linear_2 = nn.Linear(cout, cout)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


# ----------------------------------------------------------------------------------------------------------
# UNet / VAE building blocks (doc §2.3-2.8)

class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, groups, eps, temb_dim=None):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_dim, cout) if temb_dim else None
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, emb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time_emb_proj is not None:
            h = h + self.time_emb_proj(F.silu(emb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        sc = self.conv_shortcut(x) if self.conv_shortcut is not None else x
        return sc + h


def attention(q, k, v, heads):
    """q [B,N,C], k/v [B,M,C] -> [B,N,C]; scores scaled by head_dim^-0.5, softmax over keys, no mask."""
    b, n, c = q.shape
    d = c // heads
    q = q.reshape(b, n, heads, d).transpose(1, 2)
    k = k.reshape(b, k.shape[1], heads, d).transpose(1, 2)
    v = v.reshape(b, v.shape[1], heads, d).transpose(1, 2)
    p = torch.softmax((q @ k.transpose(-1, -2)) * (d ** -0.5), dim=-1)
    return (p @ v).transpose(1, 2).reshape(b, n, c)


class Attention(nn.Module):
    """diffusers Attention: to_q/to_k/to_v (bias as given), to_out.0 (bias)."""

    def __init__(self, dim, heads, kv_dim=None, bias=False):
        super().__init__()
        kv_dim = kv_dim or dim
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=bias)
        self.to_k = nn.Linear(kv_dim, dim, bias=bias)
        self.to_v = nn.Linear(kv_dim, dim, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim)])

    def forward(self, x, ctx=None):
        ctx = x if ctx is None else ctx
        return self.to_out[0](attention(self.to_q(x), self.to_k(ctx), self.to_v(ctx), self.heads))


class GEGLU(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, 2 * inner)

    def forward(self, x):
        a, g = self.proj(x).chunk(2, dim=-1)
        return a * F.gelu(g)


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, dim * mult), nn.Identity(), nn.Linear(dim * mult, dim)])

    def forward(self, x):
        for m in self.net:
            x = m(x)
        return x


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, ctx_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn1 = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.attn2 = Attention(dim, heads, kv_dim=ctx_dim)
        self.norm3 = nn.LayerNorm(dim, eps=1e-5)
        self.ff = FeedForward(dim)

    def forward(self, h, ctx):
        h = h + self.attn1(self.norm1(h))
        h = h + self.attn2(self.norm2(h), ctx)
        return h + self.ff(self.norm3(h))


class Transformer2DModel(nn.Module):
    """Continuous input, use_linear_projection: GroupNorm(eps 1e-6) -> NHWC tokens -> proj_in -> block -> proj_out."""

    def __init__(self, dim, heads, ctx_dim, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, dim, eps=1e-6)
        self.proj_in = nn.Linear(dim, dim)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(dim, heads, ctx_dim)])
        self.proj_out = nn.Linear(dim, dim)

    def forward(self, x, ctx):
        b, c, hh, ww = x.shape
        h = self.norm(x).permute(0, 2, 3, 1).reshape(b, hh * ww, c)
        h = self.proj_in(h)
        for blk in self.transformer_blocks:
            h = blk(h, ctx)
        h = self.proj_out(h)
        return h.reshape(b, hh, ww, c).permute(0, 3, 1, 2) + x


class Downsample2D(nn.Module):
    def __init__(self, c, padding=1):
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=padding)

    def forward(self, x):
        if self.padding == 0:  # VAE encoder: asymmetric pad (right, bottom)
            x = F.pad(x, (0, 1, 0, 1))
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode='nearest'))


class DownBlock(nn.Module):
    """CrossAttnDownBlock2D (heads given) or DownBlock2D (heads None)."""

    def __init__(self, cin, cout, temb, groups, eps, layers, heads, ctx_dim, add_down):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if j == 0 else cout, cout, groups, eps, temb)
                                      for j in range(layers)])
        if heads:
            self.attentions = nn.ModuleList([Transformer2DModel(cout, heads, ctx_dim, groups) for _ in range(layers)])
        else:
            self.attentions = None
        self.downsamplers = nn.ModuleList([Downsample2D(cout)]) if add_down else None

    def forward(self, h, emb, ctx):
        out = []
        for j, r in enumerate(self.resnets):
            h = r(h, emb)
            if self.attentions is not None:
                h = self.attentions[j](h, ctx)
            out.append(h)
        if self.downsamplers is not None:
            h = self.downsamplers[0](h)
            out.append(h)
        return h, out


class UpBlock(nn.Module):
    """CrossAttnUpBlock2D / UpBlock2D: each resnet takes cat([h, skip]) with skip popped from the end."""

    def __init__(self, in_ch, prev_ch, cout, temb, groups, eps, layers, heads, ctx_dim, add_up):
        super().__init__()
        n = layers + 1
        self.in_widths = []
        res = []
        for j in range(n):
            skip = in_ch if j == n - 1 else cout
            rin = prev_ch if j == 0 else cout
            self.in_widths.append(rin + skip)
            res.append(ResnetBlock2D(rin + skip, cout, groups, eps, temb))
        self.resnets = nn.ModuleList(res)
        if heads:
            self.attentions = nn.ModuleList([Transformer2DModel(cout, heads, ctx_dim, groups) for _ in range(n)])
        else:
            self.attentions = None
        self.upsamplers = nn.ModuleList([Upsample2D(cout)]) if add_up else None

    def forward(self, h, skips, emb, ctx):
        for j, r in enumerate(self.resnets):
            h = torch.cat([h, skips.pop()], dim=1)
            h = r(h, emb)
            if self.attentions is not None:
                h = self.attentions[j](h, ctx)
        if self.upsamplers is not None:
            h = self.upsamplers[0](h)
        return h


class MidBlockCrossAttn(nn.Module):
    def __init__(self, c, temb, groups, eps, heads, ctx_dim):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, groups, eps, temb), ResnetBlock2D(c, c, groups, eps, temb)])
        self.attentions = nn.ModuleList([Transformer2DModel(c, heads, ctx_dim, groups)])

    def forward(self, h, emb, ctx):
        h = self.resnets[0](h, emb)
        h = self.attentions[0](h, ctx)
        return self.resnets[1](h, emb)


class UNet2DConditionModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        assert cfg['class_embed_type'] == 'projection' and cfg['use_linear_projection']
        assert cfg['time_embedding_type'] == 'positional' and cfg['resnet_time_scale_shift'] == 'default'
        self.cfg = cfg
        ch = cfg['block_out_channels']
        heads = cfg['attention_head_dim']  # legacy name: number of heads per level
        heads = heads if isinstance(heads, list) else [heads] * len(ch)
        g, eps, L, ctx = cfg['norm_num_groups'], cfg['norm_eps'], cfg['layers_per_block'], cfg['cross_attention_dim']
        temb = ch[0] * 4
        self.conv_in = nn.Conv2d(cfg['in_channels'], ch[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(ch[0], temb)
        self.class_embedding = TimestepEmbedding(cfg['projection_class_embeddings_input_dim'], temb)
        downs, prev = [], ch[0]
        for i, kind in enumerate(cfg['down_block_types']):
            cross = kind == 'CrossAttnDownBlock2D'
            downs.append(DownBlock(prev, ch[i], temb, g, eps, L, heads[i] if cross else None, ctx, i < len(ch) - 1))
            prev = ch[i]
        self.down_blocks = nn.ModuleList(downs)
        self.mid_block = MidBlockCrossAttn(ch[-1], temb, g, eps, heads[-1], ctx)
        rch, rheads = list(reversed(ch)), list(reversed(heads))
        ups, prev = [], rch[0]
        for i, kind in enumerate(cfg['up_block_types']):
            cross = kind == 'CrossAttnUpBlock2D'
            in_ch = rch[min(i + 1, len(ch) - 1)]
            ups.append(UpBlock(in_ch, prev, rch[i], temb, g, eps, L, rheads[i] if cross else None, ctx, i < len(ch) - 1))
            prev = rch[i]
        self.up_blocks = nn.ModuleList(ups)
        self.conv_norm_out = nn.GroupNorm(g, ch[0], eps=eps)
        self.conv_out = nn.Conv2d(ch[0], cfg['out_channels'], 3, padding=1)

    def time_sinusoid(self, t, dtype):
        return timestep_embedding(t, self.cfg['block_out_channels'][0], self.cfg['flip_sin_to_cos'],
                                  self.cfg['freq_shift'], dtype)

    def temb(self, t, dtype):
        return self.time_embedding(self.time_sinusoid(t, dtype).to(dtype))

    def forward(self, x, t, ctx, class_labels):
        dtype = x.dtype
        tt = torch.full((x.shape[0],), int(t), dtype=torch.int64)
        emb = self.temb(tt, dtype) + self.class_embedding(class_labels.to(dtype))
        h = self.conv_in(x)
        skips = [h]
        for blk in self.down_blocks:
            h, res = blk(h, emb, ctx)
            skips += res
        h = self.mid_block(h, emb, ctx)
        for blk in self.up_blocks:
            h = blk(h, skips, emb, ctx)
        assert not skips
        return self.conv_out(F.silu(self.conv_norm_out(h)))


class VaeAttention(nn.Module):
    """UNetMidBlock2D attention: single head over all pixels, group_norm inside, q/k/v/out with bias, residual."""

    def __init__(self, c, groups):
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, c, eps=1e-6)
        self.to_q = nn.Linear(c, c)
        self.to_k = nn.Linear(c, c)
        self.to_v = nn.Linear(c, c)
        self.to_out = nn.ModuleList([nn.Linear(c, c)])

    def forward(self, x):
        b, c, hh, ww = x.shape
        h = self.group_norm(x).reshape(b, c, hh * ww).transpose(1, 2)
        h = attention(self.to_q(h), self.to_k(h), self.to_v(h), 1)
        h = self.to_out[0](h)
        return h.transpose(1, 2).reshape(b, c, hh, ww) + x


class VaeMid(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, groups, 1e-6), ResnetBlock2D(c, c, groups, 1e-6)])
        self.attentions = nn.ModuleList([VaeAttention(c, groups)])

    def forward(self, h):
        return self.resnets[1](self.attentions[0](self.resnets[0](h)))


class VaeDownBlock(nn.Module):
    def __init__(self, cin, cout, groups, layers, add_down):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if j == 0 else cout, cout, groups, 1e-6) for j in range(layers)])
        self.downsamplers = nn.ModuleList([Downsample2D(cout, padding=0)]) if add_down else None

    def forward(self, h):
        for r in self.resnets:
            h = r(h)
        return self.downsamplers[0](h) if self.downsamplers is not None else h


class VaeUpBlock(nn.Module):
    def __init__(self, cin, cout, groups, layers, add_up):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if j == 0 else cout, cout, groups, 1e-6)
                                      for j in range(layers + 1)])
        self.upsamplers = nn.ModuleList([Upsample2D(cout)]) if add_up else None

    def forward(self, h):
        for r in self.resnets:
            h = r(h)
        return self.upsamplers[0](h) if self.upsamplers is not None else h


class Encoder(nn.Module):
    """Only so the file holds the real encoder.* tensors (decoding does not use them); forward given for completeness."""

    def __init__(self, cfg):
        super().__init__()
        ch, g, L = cfg['block_out_channels'], cfg['norm_num_groups'], cfg['layers_per_block']
        self.conv_in = nn.Conv2d(cfg['in_channels'], ch[0], 3, padding=1)
        self.down_blocks = nn.ModuleList([VaeDownBlock(ch[max(i - 1, 0)], ch[i], g, L, i < len(ch) - 1)
                                          for i in range(len(ch))])
        self.mid_block = VaeMid(ch[-1], g)
        self.conv_norm_out = nn.GroupNorm(g, ch[-1], eps=1e-6)
        self.conv_out = nn.Conv2d(ch[-1], 2 * cfg['latent_channels'], 3, padding=1)

    def forward(self, x):
        h = self.conv_in(x)
        for b in self.down_blocks:
            h = b(h)
        return self.conv_out(F.silu(self.conv_norm_out(self.mid_block(h))))


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, g, L = cfg['block_out_channels'], cfg['norm_num_groups'], cfg['layers_per_block']
        rch = list(reversed(ch))
        self.conv_in = nn.Conv2d(cfg['latent_channels'], rch[0], 3, padding=1)
        self.mid_block = VaeMid(rch[0], g)
        self.up_blocks = nn.ModuleList([VaeUpBlock(rch[max(i - 1, 0)], rch[i], g, L, i < len(ch) - 1)
                                        for i in range(len(ch))])
        self.conv_norm_out = nn.GroupNorm(g, ch[0], eps=1e-6)
        self.conv_out = nn.Conv2d(ch[0], cfg['out_channels'], 3, padding=1)

    def forward(self, z):
        h = self.mid_block(self.conv_in(z))
        for b in self.up_blocks:
            h = b(h)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


class AutoencoderKL(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        lc = cfg['latent_channels']
        self.encoder = Encoder(cfg)
        self.quant_conv = nn.Conv2d(2 * lc, 2 * lc, 1)
        self.post_quant_conv = nn.Conv2d(lc, lc, 1)
        self.decoder = Decoder(cfg)

    def decode_latents(self, latents):
        """Pipeline decode: latents / scaling_factor -> post_quant_conv -> decoder (raw image in ~[-1, 1])."""
        return self.decoder(self.post_quant_conv(latents / self.cfg['scaling_factor']))


VAE_OLD_NAMES = {'to_q': 'query', 'to_k': 'key', 'to_v': 'value', 'to_out.0': 'proj_attn'}


def vae_state_old_names(sd):
    """The published (diffusers 0.15) naming of the VAE mid attention: query/key/value/proj_attn."""
    out = OrderedDict()
    for k, v in sd.items():
        if '.attentions.0.' in k:
            for new, old in VAE_OLD_NAMES.items():
                if f'.attentions.0.{new}.' in k:
                    k = k.replace(f'.attentions.0.{new}.', f'.attentions.0.{old}.')
        out[k] = v
    return out


def vae_state_new_names(sd):
    out = OrderedDict()
    for k, v in sd.items():
        for new, old in VAE_OLD_NAMES.items():
            if f'.attentions.0.{old}.' in k:
                k = k.replace(f'.attentions.0.{old}.', f'.attentions.0.{new}.')
        out[k] = v
    return out


# ----------------------------------------------------------------------------------------------------------
# CLIPTextModel (doc §2.9; transformers names text_model.*)

class CLIPAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x):
        b, n, d = x.shape
        hd = d // self.heads
        split = lambda t: t.reshape(b, n, self.heads, hd).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        s = (q @ k.transpose(-1, -2)) * hd ** -0.5
        causal = torch.ones(n, n, dtype=torch.bool).triu(1)  # key j > query i hidden
        s = s.masked_fill(causal, float('-inf'))
        o = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(b, n, d)
        return self.out_proj(o)


class CLIPMLP(nn.Module):
    def __init__(self, d, inner):
        super().__init__()
        self.fc1 = nn.Linear(d, inner)
        self.fc2 = nn.Linear(inner, d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class CLIPLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, eps = cfg['hidden_size'], cfg['layer_norm_eps']
        self.layer_norm1 = nn.LayerNorm(d, eps=eps)
        self.self_attn = CLIPAttention(d, cfg['num_attention_heads'])
        self.layer_norm2 = nn.LayerNorm(d, eps=eps)
        self.mlp = CLIPMLP(d, cfg['intermediate_size'])

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class _Embeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.token_embedding = nn.Embedding(cfg['vocab_size'], cfg['hidden_size'])
        self.position_embedding = nn.Embedding(cfg['max_position_embeddings'], cfg['hidden_size'])


class _Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList([CLIPLayer(cfg) for _ in range(cfg['num_hidden_layers'])])


class _TextTransformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = _Embeddings(cfg)
        self.encoder = _Encoder(cfg)
        self.final_layer_norm = nn.LayerNorm(cfg['hidden_size'], eps=cfg['layer_norm_eps'])


class CLIPTextModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        assert cfg['hidden_act'] == 'gelu'
        self.cfg = cfg
        self.text_model = _TextTransformer(cfg)

    def forward(self, ids):
        tm = self.text_model
        x = tm.embeddings.token_embedding(ids) + tm.embeddings.position_embedding(torch.arange(ids.shape[1]))[None]
        for layer in tm.encoder.layers:
            x = layer(x)
        return tm.final_layer_norm(x)  # last_hidden_state


class ImageNormalizer(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.mean = nn.Parameter(torch.zeros(1, dim))
        self.std = nn.Parameter(torch.ones(1, dim))

    def scale(self, x):
        return (x - self.mean) * 1.0 / self.std

    def unscale(self, x):
        return x * self.std + self.mean


# ----------------------------------------------------------------------------------------------------------
# Schedulers (doc §3.1, §4)

def scaled_linear_alphas_cumprod(dtype):
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=dtype) ** 2
    return torch.cumprod(1.0 - betas, dim=0), betas


def squaredcos_alphas_cumprod(dtype):
    f = lambda u: math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    betas = [min(1 - f((i + 1) / 1000) / f(i / 1000), 0.999) for i in range(1000)]  # float64 math
    betas = torch.tensor(betas, dtype=dtype)
    return torch.cumprod(1.0 - betas, dim=0), betas


def pndm_timesteps(n, train=1000, offset=1):
    ratio = train // n
    base = [i * ratio + offset for i in range(n)]
    seq = base[:-1] + base[-2:-1] + base[-1:]
    return list(reversed(seq))


def ddim_timesteps(n, train=1000, offset=1):
    ratio = train // n
    return [i * ratio + offset for i in reversed(range(n))]


def dpm_timesteps(n, train=1000):
    return [int(v) for v in np.linspace(0, train - 1, n + 1).round()[::-1][:-1]]


class PNDM:
    """PLMS with skip_prk_steps, v-prediction (converted after the linear combination), leading spacing."""

    def __init__(self, n, acp):
        self.acp, self.final = acp, acp[0]
        self.delta = 1000 // n
        self.timesteps = pndm_timesteps(n)
        self.counter, self.ets, self.cur = 0, [], None

    def prev_sample(self, x, t, tp, m):
        a = self.acp[t]
        ap = self.acp[tp] if tp >= 0 else self.final
        b, bp = 1 - a, 1 - ap
        eps = a ** 0.5 * m + b ** 0.5 * x
        coeff = (ap / a) ** 0.5
        denom = a * bp ** 0.5 + (a * b * ap) ** 0.5
        return coeff * x - (ap - a) * eps / denom

    def step(self, m, t, x):
        tp = t - self.delta
        if self.counter != 1:
            self.ets = self.ets[-3:]
            self.ets.append(m)
        else:
            tp, t = t, t + self.delta
        E = self.ets
        if len(E) == 1 and self.counter == 0:
            use, self.cur = m, x
        elif len(E) == 1 and self.counter == 1:
            use, x, self.cur = (m + E[-1]) / 2, self.cur, None
        elif len(E) == 2:
            use = (3 * E[-1] - E[-2]) / 2
        elif len(E) == 3:
            use = (23 * E[-1] - 16 * E[-2] + 5 * E[-3]) / 12
        else:
            use = (55 * E[-1] - 59 * E[-2] + 37 * E[-3] - 9 * E[-4]) / 24
        self.counter += 1
        return self.prev_sample(x, t, tp, use)


class DDIM:
    """eta 0, v-prediction, leading spacing + steps_offset 1, set_alpha_to_one false."""

    def __init__(self, n, acp):
        self.acp, self.final = acp, acp[0]
        self.delta = 1000 // n
        self.timesteps = ddim_timesteps(n)

    def step(self, v, t, x):
        tp = t - self.delta
        a = self.acp[t]
        ap = self.acp[tp] if tp >= 0 else self.final
        b = 1 - a
        x0 = a ** 0.5 * x - b ** 0.5 * v
        eps = a ** 0.5 * v + b ** 0.5 * x
        return ap ** 0.5 * x0 + (1 - ap) ** 0.5 * eps


class DPMSolverPP2M:
    """DPM-Solver++ order 2, midpoint, lower_order_final, final sigma 0, linspace spacing, v-prediction."""

    def __init__(self, n, acp):
        self.timesteps = dpm_timesteps(n)
        sig = ((1 - acp) / acp) ** 0.5
        self.sigmas = torch.cat([sig[self.timesteps], torch.zeros(1, dtype=acp.dtype)])
        self.i, self.prev_x0, self.lower = 0, None, 0

    @staticmethod
    def alpha_sigma(s):
        a = 1 / (s ** 2 + 1) ** 0.5
        return a, s * a

    def step(self, v, t, x):
        i = self.i
        s_s, s_t = self.sigmas[i], self.sigmas[i + 1]
        a_s, sg_s = self.alpha_sigma(s_s)
        a_t, sg_t = self.alpha_sigma(s_t)
        x0 = a_s * x - sg_s * v
        last = i == len(self.timesteps) - 1
        if float(s_t) == 0.0:
            out = x0  # (sigma_t/sigma_s)·x − alpha_t(e^{−h} − 1)·x̂0 with sigma_t = 0, h = +inf
        else:
            lam_s = torch.log(a_s) - torch.log(sg_s)
            lam_t = torch.log(a_t) - torch.log(sg_t)
            h = lam_t - lam_s
            if self.lower < 1 or last:
                out = (sg_t / sg_s) * x - a_t * (torch.exp(-h) - 1.0) * x0
            else:
                a_p, sg_p = self.alpha_sigma(self.sigmas[i - 1])
                lam_p = torch.log(a_p) - torch.log(sg_p)
                r = (lam_s - lam_p) / h
                d1 = (x0 - self.prev_x0) / r
                out = (sg_t / sg_s) * x - a_t * (torch.exp(-h) - 1.0) * x0 - 0.5 * a_t * (torch.exp(-h) - 1.0) * d1
        self.prev_x0 = x0
        self.lower = min(self.lower + 1, 2)
        self.i += 1
        return out


SCHEDULERS = {'pndm': PNDM, 'ddim': DDIM, 'dpmpp2m': DPMSolverPP2M}


# ----------------------------------------------------------------------------------------------------------
# CLIP byte-level BPE tokenizer (written from the CLIP algorithm)

def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return OrderedDict(zip(bs, [chr(c) for c in cs]))


BYTE_ENC = bytes_to_unicode()
SOT, EOT = '<|startoftext|>', '<|endoftext|>'
CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")


def _is_letter(c):
    return unicodedata.category(c).startswith('L')


def _is_number(c):
    return unicodedata.category(c).startswith('N')


def clip_pretokenize(text):
    """The CLIP pattern <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+
    (case-insensitive), alternatives tried in order at each position; whitespace is skipped."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        low = text[i:].lower()
        hit = next((s for s in (SOT, EOT) + CONTRACTIONS if low.startswith(s)), None)
        if hit:
            out.append(text[i:i + len(hit)])
            i += len(hit)
        elif _is_letter(c):
            j = i
            while j < n and _is_letter(text[j]):
                j += 1
            out.append(text[i:j])
            i = j
        elif _is_number(c):
            out.append(c)
            i += 1
        else:
            j = i
            while j < n and not (text[j].isspace() or _is_letter(text[j]) or _is_number(text[j])):
                j += 1
            out.append(text[i:j])
            i = j
    return out


def clean_text(text):
    """transformers CLIPTokenizer without ftfy (BasicTokenizer, lower case, no accent stripping) == whitespace
    collapse + lower for the text used here."""
    return ' '.join(text.split()).lower()


def bpe_word(token, ranks):
    word = list(token[:-1]) + [token[-1] + '</w>']
    while len(word) > 1:
        pairs = [(ranks.get((word[i], word[i + 1]), None), i) for i in range(len(word) - 1)]
        pairs = [p for p in pairs if p[0] is not None]
        if not pairs:
            break
        best = min(pairs)[0]
        first, second = next((word[i], word[i + 1]) for r, i in pairs if r == best)
        new, i = [], 0
        while i < len(word):
            if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                new.append(first + second)
                i += 2
            else:
                new.append(word[i])
                i += 1
        word = new
    return word


class ClipTokenizer:
    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.ranks = {tuple(m): i for i, m in enumerate(merges)}

    @classmethod
    def load(cls, d):
        with open(os.path.join(d, 'vocab.json'), encoding='utf-8') as f:
            vocab = json.load(f)
        with open(os.path.join(d, 'merges.txt'), encoding='utf-8') as f:
            lines = f.read().strip().split('\n')[1:]  # first line is the '#version' header
        return cls(vocab, [tuple(l.split()) for l in lines])

    def encode(self, text, max_length=77):
        ids = []
        for tok in clip_pretokenize(clean_text(text)):
            if tok in (SOT, EOT):
                ids.append(self.vocab[tok])
                continue
            mapped = ''.join(BYTE_ENC[b] for b in tok.encode('utf-8'))
            ids += [self.vocab.get(p, self.vocab[EOT]) for p in bpe_word(mapped, self.ranks)]
        ids = [self.vocab[SOT]] + ids[:max_length - 2] + [self.vocab[EOT]]
        pad = self.vocab['!']  # special_tokens_map.json pad_token "!" (id 0)
        return ids + [pad] * (max_length - len(ids))


TOKENIZER_CORPUS = (
    "a photo of a cat sitting on the table. a photo of a dog. a red car parked by the sea. two dogs playing in "
    "the snow. the cat and the dog are friends. a painting of a red house by the lake. it's a sunny day at the "
    "beach, the sea is blue! a photograph of the city at night. playing cards on a wooden table. the snow is "
    "white and the car is red. parked cars by the road. a cat, a dog and a bird. photos of cats and dogs."
)


def train_bpe(corpus, n_merges):
    """Plain BPE training (most frequent adjacent pair, ties -> lexicographically smallest) over CLIP-pretokenized
    lower-case words with </w> on the last symbol; gives a small but real merges list."""
    counts = OrderedDict()
    for tok in clip_pretokenize(clean_text(corpus)):
        mapped = ''.join(BYTE_ENC[b] for b in tok.encode('utf-8'))
        w = tuple(list(mapped[:-1]) + [mapped[-1] + '</w>'])
        counts[w] = counts.get(w, 0) + 1
    merges, made = [], set()
    for _ in range(n_merges):
        pc = {}
        for w, c in counts.items():
            for i in range(len(w) - 1):
                pc[(w[i], w[i + 1])] = pc.get((w[i], w[i + 1]), 0) + c
        pc = {p: c for p, c in pc.items() if ''.join(p) not in made}
        if not pc:
            break
        best = min(pc, key=lambda p: (-pc[p], p))
        merges.append(best)
        made.add(''.join(best))
        new = OrderedDict()
        for w, c in counts.items():
            out, i = [], 0
            while i < len(w):
                if i < len(w) - 1 and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + c
        counts = new
    return merges, counts


def clip_vocab(merges):
    """CLIP's vocab order: 256 byte symbols, the same with </w>, one entry per merge, <|startoftext|>, <|endoftext|>."""
    syms = list(BYTE_ENC.values())
    syms += [s + '</w>' for s in syms]
    syms += [''.join(m) for m in merges]
    syms += [SOT, EOT]
    assert len(set(syms)) == len(syms)
    return OrderedDict((s, i) for i, s in enumerate(syms))


def write_tokenizer(d, n_merges=80):
    os.makedirs(d, exist_ok=True)
    merges, words = train_bpe(TOKENIZER_CORPUS, n_merges)
    vocab = clip_vocab(merges)
    with open(os.path.join(d, 'vocab.json'), 'w', encoding='utf-8') as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(d, 'merges.txt'), 'w', encoding='utf-8') as f:
        f.write('#version: 0.2\n' + ''.join(f'{a} {b}\n' for a, b in merges))
    tok = lambda s: OrderedDict([('content', s), ('lstrip', False), ('normalized', True), ('rstrip', False),  # noqa: E731
                                 ('single_word', False)])
    write_json(os.path.join(d, 'special_tokens_map.json'), OrderedDict([
        ('bos_token', tok(SOT)), ('eos_token', tok(EOT)), ('pad_token', '!'), ('unk_token', tok(EOT))]))
    cfg = OrderedDict([('add_prefix_space', False), ('bos_token', tok(SOT)), ('do_lower_case', True),
                       ('eos_token', tok(EOT)), ('errors', 'replace'), ('model_max_length', 77),
                       ('name_or_path', 'stabilityai/stable-diffusion-2-1-unclip'), ('pad_token', tok(EOT)),
                       ('special_tokens_map_file', './special_tokens_map.json'), ('tokenizer_class', 'CLIPTokenizer'),
                       ('unk_token', tok(EOT))])
    cfg['bos_token']['__type'] = 'AddedToken'
    write_json(os.path.join(d, 'tokenizer_config.json'), cfg)
    return vocab, merges, words


# ----------------------------------------------------------------------------------------------------------
# Pipeline (doc §3, §5)

class Decoder2:
    """The pipeline pieces in one dtype: unet, vae, text encoder, normalizer, DDPM table."""

    def __init__(self, unet, vae, text, normalizer, dtype):
        self.dtype = dtype
        self.unet = unet.to(dtype)
        self.vae = vae.to(dtype)
        self.text = text.to(dtype) if text is not None else None
        self.normalizer = normalizer.to(dtype)
        self.ddpm_acp = squaredcos_alphas_cumprod(dtype)[0]
        self.pndm_acp = scaled_linear_alphas_cumprod(dtype)[0]

    def noise_image_embeddings(self, embeds, level, noise):
        """scale -> DDPM add_noise(level) -> unscale -> append sinusoid(level, E) -> [B, 2E]."""
        dt = self.dtype
        x = self.normalizer.scale(embeds.to(dt))
        a = self.ddpm_acp.to(dt)[level]
        x = a ** 0.5 * x + (1 - a) ** 0.5 * noise.to(dt)
        x = self.normalizer.unscale(x)
        lv = torch.full((embeds.shape[0],), level, dtype=torch.int64)
        e = timestep_embedding(lv, embeds.shape[1], True, 0, dt).to(dt)
        return torch.cat([x, e], dim=1)

    def class_labels(self, embeds, level, noise):
        c = self.noise_image_embeddings(embeds, level, noise)
        return torch.cat([torch.zeros_like(c), c])  # unconditional row (all zeros) FIRST

    def run(self, sched_name, steps, embeds, level, noise, latents, ctx, guidance=GUIDANCE, record=None):
        dt = self.dtype
        sched = SCHEDULERS[sched_name](steps, self.pndm_acp)
        labels = self.class_labels(embeds, level, noise)
        ctx2 = torch.cat([ctx, ctx]).to(dt)  # uncond ("") first, cond ("") second
        x = latents.to(dt) * 1.0  # init_noise_sigma 1
        outs, guided, lat = [], [], []
        for t in sched.timesteps:
            o = self.unet(torch.cat([x, x]), t, ctx2, labels)
            u, c = o.chunk(2)
            g = u + guidance * (c - u)
            x = sched.step(g, t, x)
            outs.append(o)
            guided.append(g)
            lat.append(x)
        return {'timesteps': sched.timesteps, 'class_labels': labels, 'unet_out': torch.stack(outs),
                'guided': torch.cat(guided), 'latents': torch.cat(lat), 'final': x}

    def decode(self, latents):
        raw = self.vae.decode_latents(latents.to(self.dtype))
        return raw, (raw / 2 + 0.5).clamp(0, 1)


# ----------------------------------------------------------------------------------------------------------
# Weights: init, save, load

def init_weights(module, gen, norm_jitter=0.1):
    """Default PyTorch init for Linear/Conv/Embedding (reseeded), norms jittered around 1/0 so weight and bias
    mix-ups show; every tensor derived from `gen` deterministically, in state_dict order."""
    torch.manual_seed(int(torch.randint(0, 2 ** 31 - 1, (1,), generator=gen)))
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            m.reset_parameters()
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.5)
        elif isinstance(m, (nn.GroupNorm, nn.LayerNorm)):
            with torch.no_grad():
                m.weight.copy_(1 + norm_jitter * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(norm_jitter * torch.randn(m.bias.shape, generator=gen))


def state_f32(module):
    return OrderedDict((k, v.detach().to(torch.float32).contiguous().clone()) for k, v in module.state_dict().items())


def text_state(text_model):
    sd = state_f32(text_model)
    n = text_model.cfg['max_position_embeddings']
    # transformers <4.31 saved the persistent position_ids buffer; the published file probably holds it.
    sd['text_model.embeddings.position_ids'] = torch.arange(n, dtype=torch.int64)[None]
    return sd


def load_module(module, sd):
    sd = OrderedDict((k, v) for k, v in sd.items() if not k.endswith('position_ids'))
    missing, unexpected = module.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise SystemExit(f'{type(module).__name__}: missing {missing[:5]} unexpected {unexpected[:5]}')
    return module


def load_config(path):
    with open(path) as f:
        return json.load(f, object_pairs_hook=OrderedDict)


def load_pipeline(d, dtype=torch.float32, unet_file='diffusion_pytorch_model.safetensors'):
    ucfg = load_config(os.path.join(d, 'unet', 'config.json'))
    vcfg = load_config(os.path.join(d, 'vae', 'config.json'))
    upath = os.path.join(d, 'unet', unet_file)
    usd = torch.load(upath, map_location='cpu') if upath.endswith('.bin') else read_safetensors(upath)
    unet = load_module(UNet2DConditionModel(ucfg), usd)
    vae = load_module(AutoencoderKL(vcfg), vae_state_new_names(read_safetensors(
        os.path.join(d, 'vae', 'diffusion_pytorch_model.safetensors'))))
    text = None
    if os.path.exists(os.path.join(d, 'text_encoder', 'config.json')):
        tcfg = load_config(os.path.join(d, 'text_encoder', 'config.json'))
        text = load_module(CLIPTextModel(tcfg), read_safetensors(os.path.join(d, 'text_encoder', 'model.safetensors')))
    ncfg = load_config(os.path.join(d, 'image_normalizer', 'config.json'))
    norm = ImageNormalizer(ncfg['embedding_dim'])
    nsd = os.path.join(d, 'image_normalizer', 'diffusion_pytorch_model.safetensors')
    if os.path.exists(nsd):
        load_module(norm, read_safetensors(nsd))
    for m in (unet, vae, text, norm):
        if m is not None:
            m.eval()
    return Decoder2(unet, vae, text, norm, dtype)


def write_model_folder(d, unet, vae, text, normalizer, tokenizer=True, unet_bin=False, vae_fp16=False,
                       n_merges=80):
    """The StableUnCLIPImg2ImgPipeline folder layout (image_encoder/feature_extractor left out, as SEED does)."""
    sub = lambda *p: os.path.join(d, *p)  # noqa: E731
    for s in ('unet', 'vae', 'scheduler', 'image_noising_scheduler', 'image_normalizer'):
        os.makedirs(sub(s), exist_ok=True)
    index = OrderedDict(MODEL_INDEX)
    if text is None:
        index['text_encoder'] = [None, None]
        index['tokenizer'] = [None, None]
    write_json(sub('model_index.json'), index)
    write_json(sub('unet', 'config.json'), unet.cfg)
    usd = state_f32(unet)
    write_safetensors(sub('unet', 'diffusion_pytorch_model.safetensors'), usd, {'format': 'pt'})
    if unet_bin:
        torch.save(usd, sub('unet', 'diffusion_pytorch_model.bin'))
    write_json(sub('vae', 'config.json'), vae.cfg)
    vsd = vae_state_old_names(state_f32(vae))
    write_safetensors(sub('vae', 'diffusion_pytorch_model.safetensors'), vsd, {'format': 'pt'})
    if vae_fp16:
        write_safetensors(sub('vae', 'diffusion_pytorch_model.fp16.safetensors'),
                          OrderedDict((k, v.half()) for k, v in vsd.items()), {'format': 'pt'})
    if text is not None:
        os.makedirs(sub('text_encoder'), exist_ok=True)
        write_json(sub('text_encoder', 'config.json'), text.cfg)
        write_safetensors(sub('text_encoder', 'model.safetensors'), text_state(text), {'format': 'pt'})
    if tokenizer and text is not None:
        write_tokenizer(sub('tokenizer'), n_merges)
    write_json(sub('scheduler', 'scheduler_config.json'), PNDM_CONFIG)
    write_json(sub('image_noising_scheduler', 'scheduler_config.json'), DDPM_CONFIG)
    write_json(sub('image_normalizer', 'config.json'), OrderedDict([
        ('_class_name', 'StableUnCLIPImageNormalizer'), ('_diffusers_version', '0.15.0.dev0'),
        ('embedding_dim', normalizer.mean.shape[1])]))
    write_safetensors(sub('image_normalizer', 'diffusion_pytorch_model.safetensors'), state_f32(normalizer),
                      {'format': 'pt'})


# ----------------------------------------------------------------------------------------------------------
# make-tiny

def build_tiny(seed=20240):
    gen = torch.Generator().manual_seed(seed)
    ucfg = merged(FULL_UNET, TINY_UNET_OVERRIDES)
    vcfg = merged(FULL_VAE, TINY_VAE_OVERRIDES)
    n_merges = 80
    vocab_size = 512 + n_merges + 2
    tcfg = merged(FULL_TEXT, dict(TINY_TEXT_OVERRIDES, vocab_size=vocab_size))
    unet, vae, text = UNet2DConditionModel(ucfg), AutoencoderKL(vcfg), CLIPTextModel(tcfg)
    for m in (unet, vae, text):
        init_weights(m, gen)
    with torch.no_grad():  # a stronger time/class signal, so guidance and the noise level visibly matter
        for lin in (unet.class_embedding.linear_1, unet.class_embedding.linear_2, unet.time_embedding.linear_2):
            lin.weight.mul_(3.0)
        for name, m in unet.named_modules():
            if name.endswith('time_emb_proj'):
                m.weight.mul_(3.0)
    norm = ImageNormalizer(TINY_E)
    with torch.no_grad():
        norm.mean.copy_(0.2 * torch.randn(1, TINY_E, generator=gen))
        norm.std.copy_(0.5 + torch.rand(1, TINY_E, generator=gen))
    h, w = TINY_LATENT_HW
    inputs = OrderedDict([
        ('inputs.image_embeds', torch.randn(1, TINY_E, generator=gen)),
        ('inputs.embed_noise', torch.randn(1, TINY_E, generator=gen)),
        ('inputs.latents', torch.randn(1, 4, h, w, generator=gen)),
    ])
    return unet, vae, text, norm, inputs, n_merges


def file_hashes(root):
    out = {}
    for dp, _, fs in sorted(os.walk(root)):
        for f in sorted(fs):
            p = os.path.join(dp, f)
            with open(p, 'rb') as fh:
                out[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def check(cond, msg):
    if not cond:
        raise SystemExit(f'SELF-CHECK FAILED: {msg}')


def scheduler_checks():
    t20 = pndm_timesteps(20)
    check(t20 == [951, 901, 901] + list(range(851, 0, -50)) and len(t20) == 21, f'pndm 20 {t20}')
    check(pndm_timesteps(5) == [801, 601, 601, 401, 201, 1], f'pndm 5 {pndm_timesteps(5)}')
    check(ddim_timesteps(20) == list(range(951, 0, -50)), 'ddim 20')
    check(dpm_timesteps(20) == [999, 949, 899, 849, 799, 749, 699, 649, 599, 549, 500, 450, 400, 350, 300, 250, 200,
                                150, 100, 50], f'dpm 20 {dpm_timesteps(20)}')
    acp, betas = squaredcos_alphas_cumprod(torch.float64)
    check(abs(float(betas[0]) - 4.1284e-5) < 5e-9, f'beta0 {float(betas[0])}')
    # exact: 1 - 4.12842e-5 = 0.99995872; the doc's 0.99995875 is 4e-8 off. diffusers' fp32 table holds the fp32
    # neighbour 0.99995869, whose sqrt(1 - acp0) = 0.0064270 is the doc's (fp32) noise coefficient at level 0.
    check(abs(float(acp[0]) - 0.99995872) < 1e-8, f'acp0 {float(acp[0])}')
    acp32 = squaredcos_alphas_cumprod(torch.float32)[0]
    check(float(acp32[0]) == 0.9999586939811707, f'acp0 f32 {float(acp32[0])}')
    check(abs(math.sqrt(1 - float(acp32[0])) - 0.0064270) < 5e-8, 'sqrt(1-acp0) f32')
    check(abs(math.sqrt(1 - float(acp[0])) - 0.0064253) < 5e-8, 'sqrt(1-acp0) f64')
    _, b = scaled_linear_alphas_cumprod(torch.float64)
    check(abs(float(b[0]) - 0.00085) < 1e-12 and abs(float(b[-1]) - 0.012) < 1e-12, 'scaled_linear ends')
    e0 = timestep_embedding(torch.zeros(1, dtype=torch.int64), 32, True, 0, torch.float64)
    check(torch.equal(e0, torch.cat([torch.ones(1, 16), torch.zeros(1, 16)], dim=1).double()), 'level-0 sinusoid')
    # PLMS bookkeeping: feed outputs m_c = c+1 (scalar tensors) and compare the combination used at each call
    s = PNDM(5, torch.linspace(0.99, 0.1, 1000, dtype=torch.float64))
    used = []
    s.prev_sample = lambda x, t, tp, m: (used.append((t, tp, float(m))), x)[1]  # noqa: E731
    x = torch.zeros(())
    for c, t in enumerate(s.timesteps):
        s.step(torch.tensor(float(c + 1), dtype=torch.float64), t, x)
    m = [1, 2, 3, 4, 5, 6]
    want = [(801, 601, 1), (801, 601, (2 + 1) / 2), (601, 401, (3 * 3 - 1) / 2),
            (401, 201, (23 * 4 - 16 * 3 + 5 * 1) / 12), (201, 1, (55 * 5 - 59 * 4 + 37 * 3 - 9 * 1) / 24),
            (1, -199, (55 * 6 - 59 * 5 + 37 * 4 - 9 * 3) / 24)]
    check(used == [(a, b, float(c)) for a, b, c in want], f'plms bookkeeping {used}')
    del m


def up_widths(cfg):
    ch = cfg['block_out_channels']
    rch, prev, out = list(reversed(ch)), list(reversed(ch))[0], []
    for i in range(len(ch)):
        in_ch, w = rch[min(i + 1, len(ch) - 1)], []
        for j in range(cfg['layers_per_block'] + 1):
            w.append((prev if j == 0 else rch[i]) + (in_ch if j == cfg['layers_per_block'] else rch[i]))
        out.append(w)
        prev = rch[i]
    return out


def tokenizer_checks(tok, words):
    empty = tok.encode('')
    check(empty == [tok.vocab[SOT], tok.vocab[EOT]] + [0] * 75, 'empty prompt ids')
    check(tok.vocab['!'] == 0 and tok.vocab['!</w>'] == 256, 'byte vocab order')
    for w in words:  # words the training merged into one symbol come back as one id
        if len(w) == 1:
            word = w[0][:-4]
            check(bpe_word(word, tok.ranks) == [w[0]], f'bpe {word}')


def run_both(f32, f64, fn):
    with torch.no_grad():
        return fn(f64), fn(f32)


class Golden:
    def __init__(self):
        self.tensors = OrderedDict()
        self.entries = []

    def exact(self, name, t, meaning, inputs=''):
        t = torch.as_tensor(t)
        self.tensors[name] = t.detach().clone().contiguous()
        self.entries.append(OrderedDict([('name', name), ('dtype', ST_DTYPES[t.dtype]), ('shape', list(t.shape)),
                                         ('meaning', meaning), ('inputs', inputs), ('tolerance', 0)]))

    def pair(self, name, t64, t32, meaning, inputs='', floor_rel=1e-6, keep_f32=True):
        t64, t32 = t64.detach().double().contiguous(), t32.detach().float().contiguous()
        check(t64.shape == t32.shape and torch.isfinite(t64).all() and torch.isfinite(t32).all(), f'{name} finite')
        spread = float((t32.double() - t64).abs().max()) if t64.numel() else 0.0
        mx = float(t64.abs().max()) if t64.numel() else 0.0
        tol = max(4 * spread, floor_rel * mx)
        self.tensors[name] = t64
        if keep_f32:
            self.tensors[name + '.f32'] = t32
        self.entries.append(OrderedDict([
            ('name', name), ('f32_name', name + '.f32' if keep_f32 else None), ('dtype', 'F64'), ('shape', list(t64.shape)),
            ('meaning', meaning), ('inputs', inputs), ('max_abs', mx), ('spread', spread),
            ('spread_rel', spread / mx if mx else 0.0), ('tolerance', tol)]))


def make_golden(model_dir, inputs, g):
    p32 = load_pipeline(model_dir, torch.float32)
    p64 = load_pipeline(model_dir, torch.float64)
    tok = ClipTokenizer.load(os.path.join(model_dir, 'tokenizer'))
    emb, noise, lat = inputs['inputs.image_embeds'], inputs['inputs.embed_noise'], inputs['inputs.latents']
    for k, v in inputs.items():
        g.exact(k, v, {'inputs.image_embeds': 'image embedding fed to the pipeline [1,E] (the SEED embedding)',
                       'inputs.embed_noise': 'the DDPM noise epsilon for noise_image_embeddings [1,E] (imageNoise)',
                       'inputs.latents': 'initial latents [1,4,h,w] (pipeline `latents`, x init_noise_sigma 1)'}[k])
    # schedules and timesteps
    g.exact('pndm.timesteps.20', torch.tensor(pndm_timesteps(20)), 'PNDM/PLMS timesteps for 20 steps (21 calls)')
    g.exact(f'pndm.timesteps.{TINY_STEPS}', torch.tensor(pndm_timesteps(TINY_STEPS)), f'PNDM/PLMS timesteps, {TINY_STEPS} steps')
    g.exact('ddim.timesteps.20', torch.tensor(ddim_timesteps(20)), 'DDIM timesteps (leading, offset 1), 20 steps')
    g.exact(f'ddim.timesteps.{TINY_STEPS}', torch.tensor(ddim_timesteps(TINY_STEPS)), f'DDIM timesteps, {TINY_STEPS} steps')
    g.exact('dpmpp2m.timesteps.20', torch.tensor(dpm_timesteps(20)), 'DPM-Solver++(2M) timesteps (linspace), 20 steps')
    g.exact(f'dpmpp2m.timesteps.{TINY_STEPS}', torch.tensor(dpm_timesteps(TINY_STEPS)),
            f'DPM-Solver++(2M) timesteps, {TINY_STEPS} steps')
    g.pair('pndm.alphas_cumprod', scaled_linear_alphas_cumprod(torch.float64)[0],
           scaled_linear_alphas_cumprod(torch.float32)[0], 'scaled_linear(0.00085, 0.012) alphas_cumprod [1000]; '
           '.f32 = diffusers fp32 table')
    g.pair('ddpm.alphas_cumprod', squaredcos_alphas_cumprod(torch.float64)[0],
           squaredcos_alphas_cumprod(torch.float32)[0], 'squaredcos_cap_v2 alphas_cumprod [1000]; .f32 = diffusers '
           '(float64 betas stored fp32, fp32 cumprod)')
    s32 = ((1 - scaled_linear_alphas_cumprod(torch.float32)[0]) / scaled_linear_alphas_cumprod(torch.float32)[0]) ** 0.5
    s64 = ((1 - scaled_linear_alphas_cumprod(torch.float64)[0]) / scaled_linear_alphas_cumprod(torch.float64)[0]) ** 0.5
    g.pair('dpmpp2m.sigmas.20', torch.cat([s64[dpm_timesteps(20)], torch.zeros(1, dtype=torch.float64)]),
           torch.cat([s32[dpm_timesteps(20)], torch.zeros(1)]), 'DPM-Solver++ sigmas sqrt((1-acp)/acp) at the 20 '
           'timesteps, then 0 (final_sigmas_type zero) [21]')
    # tokenizer and text context
    ids = torch.tensor([tok.encode(p) for p in PROMPTS], dtype=torch.int64)
    g.exact('tokenizer.ids', ids, 'CLIP BPE ids, padding max_length 77 with pad "!" = 0, one row per prompt',
            {'prompts': PROMPTS})
    c64, c32 = run_both(p32, p64, lambda p: p.text(ids))
    g.pair('text.context', c64, c32, 'CLIPTextModel last_hidden_state (final LN) for each prompt [4,77,D]; row 0 = '
           'the empty prompt (the pipeline context)', {'ids': 'tokenizer.ids'})
    ctx64, ctx32 = c64[:1], c32[:1]
    # time embedding
    ts = torch.tensor([0, 1, 100, 500, 951, 999])
    a, b = run_both(p32, p64, lambda p: p.unet.time_sinusoid(ts, p.dtype))
    g.pair('unet.time_sinusoid', a, b, 'UNet time_proj: sinusoid(t, block_out_channels[0], flip, shift 0) [6,C0]',
           {'t': ts.tolist()})
    a, b = run_both(p32, p64, lambda p: p.unet.temb(ts, p.dtype))
    g.pair('unet.time_embedding', a, b, 'time_embedding(time_proj(t)) [6,4*C0]', {'t': ts.tolist()})
    # conditioning
    for lv in NOISE_LEVELS:
        a, b = run_both(p32, p64, lambda p: p.class_labels(emb, lv, noise))
        g.pair(f'cond.nl{lv}', a, b, f'class_labels [2,2E] at noise level {lv}: row 0 zeros (uncond), row 1 = '
               'cat(unscale(add_noise(scale(image_embeds), embed_noise, level)), sinusoid(level, E))',
               {'image_embeds': 'inputs.image_embeds', 'noise': 'inputs.embed_noise', 'noise_level': lv})
        check(torch.equal(a[0], torch.zeros_like(a[0])), 'uncond row zeros')
        a, b = run_both(p32, p64, lambda p: p.unet.class_embedding(p.class_labels(emb, lv, noise)))
        g.pair(f'unet.class_embedding.nl{lv}', a, b, f'class_embedding(cond.nl{lv}) [2,4*C0]')
    # first UNet call
    t0 = pndm_timesteps(TINY_STEPS)[0]
    own_ctx = lambda p: ctx64 if p.dtype == torch.float64 else ctx32  # noqa: E731
    a, b = run_both(p32, p64, lambda p: p.unet(torch.cat([lat, lat]).to(p.dtype), t0,
                                              torch.cat([own_ctx(p)] * 2), p.class_labels(emb, 0, noise)))
    g.pair('unet.first_call', a, b, f'UNet output (v) for cat([latents, latents]), t={t0}, context = empty-prompt '
           'context for both rows, class_labels = cond.nl0 [2,4,h,w]; row 0 = uncond, row 1 = cond',
           {'latents': 'inputs.latents', 't': t0, 'context': 'text.context[0] (its own dtype)', 'class_labels': 'cond.nl0'})
    # runs
    results = {}
    for sched in ('pndm', 'ddim', 'dpmpp2m'):
        for lv in NOISE_LEVELS:
            r64, r32 = run_both(p32, p64, lambda p: p.run(sched, TINY_STEPS, emb, lv, noise, lat,
                                                          ctx64 if p.dtype == torch.float64 else ctx32))
            results[(sched, lv)] = (r64, r32)
            n = len(r64['timesteps'])
            common = {'scheduler': sched, 'steps': TINY_STEPS, 'calls': n, 'timesteps': r64['timesteps'],
                      'guidance': GUIDANCE, 'noise_level': lv, 'latents': 'inputs.latents',
                      'image_embeds': 'inputs.image_embeds', 'noise': 'inputs.embed_noise',
                      'context': 'text.context[0] (empty prompt) for both CFG rows'}
            g.pair(f'{sched}.nl{lv}.latents', r64['latents'], r32['latents'],
                   f'latents after each of the {n} scheduler steps [{n},4,h,w] (last = final latents)', common)
            if lv == 0:
                g.pair(f'{sched}.nl{lv}.guided', r64['guided'], r32['guided'],
                       f'guided model output uncond + g(cond - uncond) at each call [{n},4,h,w]', common)
    # VAE alone: both dtypes decode the f64 final latents of the PNDM noise-level-0 run (rounded to the run dtype)
    fin = results[('pndm', 0)][0]['final']
    (raw64, img64), (raw32, img32) = run_both(p32, p64, lambda p: p.decode(fin.to(p.dtype)))
    common = {'latents': 'pndm.nl0.latents[-1] (the f64 entry)', 'scaling_factor': p32.vae.cfg['scaling_factor']}
    g.pair('vae.nl0.raw', raw64, raw32, 'VAE decode(latents / scaling_factor) [1,3,H,W] before post-processing; '
           'the VAE alone (both dtypes fed the same latents)', common, keep_f32=False)
    g.pair('vae.nl0.image', img64, img32, '(vae.nl0.raw / 2 + 0.5).clamp(0, 1) [1,3,H,W]', common, keep_f32=False)
    # end to end: each dtype decodes its own final latents of the noise-level-100 PNDM run
    r64, r32 = results[('pndm', 100)]
    (_, img64), (_, img32) = run_both(p32, p64, lambda p: p.decode(
        r64['final'] if p.dtype == torch.float64 else r32['final']))
    g.pair('vae.nl100.image', img64, img32, 'end to end: (decode(final latents of pndm.nl100) / 2 + 0.5).clamp(0, 1) '
           '[1,3,H,W]; each dtype decodes its own final latents (spread = whole-pipeline f32 error)',
           {'latents': 'pndm.nl100.latents[-1] (own dtype)', 'run': 'pndm.nl100'}, keep_f32=False)
    return p32, results


def make_tiny(root, seed=20240):
    model_dir = os.path.join(root, 'tiny-unclip')
    gold_dir = os.path.join(root, 'tiny-unclip-golden')
    os.makedirs(model_dir, exist_ok=True)
    os.makedirs(gold_dir, exist_ok=True)
    torch.set_num_threads(1)
    scheduler_checks()
    check(up_widths(FULL_UNET) == [[2560, 2560, 2560], [2560, 2560, 1920], [1920, 1280, 960], [960, 640, 640]],
          'full up widths')
    unet, vae, text, norm, inputs, n_merges = build_tiny(seed)
    check([b.in_widths for b in unet.up_blocks] == up_widths(unet.cfg), 'tiny up widths')
    write_model_folder(model_dir, unet, vae, text, norm, unet_bin=True, vae_fp16=True, n_merges=n_merges)
    # read-back checks
    usd = read_safetensors(os.path.join(model_dir, 'unet', 'diffusion_pytorch_model.safetensors'))
    ubin = torch.load(os.path.join(model_dir, 'unet', 'diffusion_pytorch_model.bin'), map_location='cpu')
    check(list(usd) == sorted(unet.state_dict()) and all(torch.equal(usd[k], ubin[k]) for k in usd), 'unet bin == st')
    vsd = read_safetensors(os.path.join(model_dir, 'vae', 'diffusion_pytorch_model.safetensors'))
    check('decoder.mid_block.attentions.0.query.weight' in vsd and 'decoder.mid_block.attentions.0.to_q.weight'
          not in vsd, 'vae old names')
    tok = ClipTokenizer.load(os.path.join(model_dir, 'tokenizer'))
    check(len(tok.vocab) == text.cfg['vocab_size'], 'vocab size')
    _, words = train_bpe(TOKENIZER_CORPUS, n_merges)
    tokenizer_checks(tok, words)
    g = Golden()
    p32, _ = make_golden(model_dir, inputs, g)
    # the in-memory modules (never saved) give the same f32 numbers as the reloaded ones
    with torch.no_grad():
        ctx = text.eval()(torch.tensor([tok.encode('')]))
        lab = p32.class_labels(inputs['inputs.image_embeds'], 0, inputs['inputs.embed_noise'])
        lat = inputs['inputs.latents']
        o = unet.eval()(torch.cat([lat, lat]), pndm_timesteps(TINY_STEPS)[0], torch.cat([ctx, ctx]), lab)
    check(torch.equal(o, g.tensors['unet.first_call.f32']), 'reloaded unet == in-memory unet')
    check(torch.equal(ctx, g.tensors['text.context.f32'][:1]), 'reloaded text encoder == in-memory')
    h, w = TINY_LATENT_HW
    check(list(g.tensors['vae.nl0.image'].shape) == [1, 3, 8 * h, 8 * w], 'image shape')
    check(list(g.tensors['pndm.nl0.latents'].shape) == [len(pndm_timesteps(TINY_STEPS)), 4, h, w], 'latents shape')
    write_safetensors(os.path.join(gold_dir, 'golden.safetensors'), g.tensors, {'format': 'pt'})
    meta = OrderedDict([
        ('about', 'Made by tools/golden/unclip_ref.py make-tiny (independent PyTorch reference, no diffusers). '
                  'Entry X = float64 computation, X.f32 = float32 computation (kept for all but the three images); tolerance = max(4*spread, '
                  '1e-6*max_abs) where spread = max|X.f32 - X|. Integer entries are exact.'),
        ('model_dir', 'tiny-unclip'), ('seed', seed), ('latent_hw', list(TINY_LATENT_HW)),
        ('image_hw', [8 * h, 8 * w]), ('embedding_dim', TINY_E), ('steps', TINY_STEPS), ('guidance', GUIDANCE),
        ('noise_levels', list(NOISE_LEVELS)), ('prompts', PROMPTS),
        ('schedulers', OrderedDict([
            ('pndm', 'PLMS, skip_prk_steps, leading spacing, steps_offset 1, set_alpha_to_one false, v_prediction'),
            ('ddim', 'DDIM eta 0, leading spacing, steps_offset 1, set_alpha_to_one false, v_prediction'),
            ('dpmpp2m', 'DPM-Solver++ order 2 midpoint, linspace spacing, lower_order_final, final sigma 0 '
                        '(last step returns x0), first step first order, v_prediction')])),
        ('cfg', 'UNet batch 2: row 0 uncond (class_labels zeros, context = empty prompt), row 1 cond; guided = '
                'uncond + guidance * (cond - uncond)'),
        ('entries', g.entries)])
    write_json(os.path.join(gold_dir, 'golden.json'), meta)
    return model_dir, gold_dir, g


# ----------------------------------------------------------------------------------------------------------
# make-full / bench

def full_configs(unet_base=320, vae_base=128):
    ucfg = OrderedDict(FULL_UNET)
    if unet_base != 320:
        check(unet_base % 64 == 0, '--unet-base must be a multiple of 64')
        ucfg['block_out_channels'] = [unet_base * m for m in (1, 2, 4, 4)]
        ucfg['attention_head_dim'] = [c // 64 for c in ucfg['block_out_channels']]  # head size 64 as in the full
    vcfg = OrderedDict(FULL_VAE)
    if vae_base != 128:
        vcfg['block_out_channels'] = [vae_base * m for m in (1, 2, 4, 4)]
    return ucfg, vcfg


def make_full(out, seed=0, unet_base=320, vae_base=128):
    ucfg, vcfg = full_configs(unet_base, vae_base)
    gen = torch.Generator().manual_seed(seed)
    unet, vae = UNet2DConditionModel(ucfg), AutoencoderKL(vcfg)
    for m in (unet, vae):
        init_weights(m, gen)
    norm = ImageNormalizer(1024)  # published values: mean 0, std 1 (doc §1.7)
    write_model_folder(out, unet, vae, None, norm)
    n_u = sum(p.numel() for p in unet.parameters())
    n_v = sum(p.numel() for p in vae.parameters())
    print(json.dumps({'dir': out, 'unet_params': n_u, 'vae_params': n_v,
                      'block_out_channels': ucfg['block_out_channels']}))


def loaded_blas():
    """The BLAS library this process loaded (Debian's torch uses whatever libblas.so.3 resolves to)."""
    with open('/proc/self/maps') as f:
        libs = {line.split()[-1] for line in f if 'blas' in line.split()[-1]}
    return ', '.join(sorted(os.path.basename(os.path.dirname(p)) + '/' + os.path.basename(p) for p in libs)) or 'none'


def bench(model_dir, threads=None, repeat=2, sizes=(64, 96), vae_size=512):
    if threads:
        torch.set_num_threads(threads)
    p = load_pipeline(model_dir, torch.float32)
    E = p.normalizer.mean.shape[1]
    ctx_dim = p.unet.cfg['cross_attention_dim']
    gen = torch.Generator().manual_seed(0)
    ctx = torch.randn(2, 77, ctx_dim, generator=gen)
    labels = p.class_labels(torch.randn(1, E, generator=gen), 0, torch.zeros(1, E))
    res = OrderedDict([('torch', torch.__version__), ('threads', torch.get_num_threads()), ('repeat', repeat),
                       ('blas', loaded_blas())])
    with torch.no_grad():
        for s in sizes:
            x = torch.randn(2, 4, s, s, generator=gen)
            p.unet(x, 951, ctx, labels)  # warm-up
            ts = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                p.unet(x, 951, ctx, labels)
                ts.append(time.perf_counter() - t0)
            res[f'unet_cfg_{s}x{s}_s'] = min(ts)
        z = torch.randn(1, 4, vae_size // 8, vae_size // 8, generator=gen)
        ts = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            p.decode(z)
            ts.append(time.perf_counter() - t0)
        res[f'vae_decode_{vae_size}_s'] = min(ts)
    if 'unet_cfg_96x96_s' in res:
        res['projected_768_image_s'] = 21 * res['unet_cfg_96x96_s'] + res[f'vae_decode_{vae_size}_s'] * (
            (768 / vae_size) ** 2)
    print(json.dumps(res))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    a = sub.add_parser('make-tiny')
    a.add_argument('fixtures_dir')
    a.add_argument('--seed', type=int, default=20240)
    a = sub.add_parser('make-full')
    a.add_argument('out')
    a.add_argument('--seed', type=int, default=0)
    a.add_argument('--unet-base', type=int, default=320)
    a.add_argument('--vae-base', type=int, default=128)
    a = sub.add_parser('bench')
    a.add_argument('model_dir')
    a.add_argument('--threads', type=int, default=None)
    a.add_argument('--repeat', type=int, default=2)
    a.add_argument('--sizes', default='64,96')
    a.add_argument('--vae-size', type=int, default=512)
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    if args.cmd == 'make-tiny':
        md, gd, g = make_tiny(args.fixtures_dir, args.seed)
        sizes = {d: sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(d) for f in fs) for d in (md, gd)}
        print(json.dumps({'files': len(file_hashes(md)) + len(file_hashes(gd)), 'bytes': sizes,
                          'entries': len(g.entries)}))
    elif args.cmd == 'make-full':
        make_full(args.out, args.seed, args.unet_base, args.vae_base)
    else:
        bench(args.model_dir, args.threads, args.repeat, tuple(int(s) for s in args.sizes.split(',')), args.vae_size)


if __name__ == '__main__':
    main()
