#!/usr/bin/python3
"""Independent PyTorch reference of the SEED tokenizer v2 (AILab-CVC/SEED, the tokenizer SEED-LLaMA uses).

Written from the architecture facts in /work/shared/reference/seed-architecture.md (sections 1.2-1.6, 7),
not from upstream code. Plain torch.nn, fp32 compute on the CPU; the module's state_dict uses the upstream key
names (`visual_encoder.*` = the keys of LAVIS's eva_vit_g.pth, everything else = seed_quantizer.pt).

Run by hand, never by CI (needs python3-torch, python3-numpy, python3-pil):

    tools/golden/seed_tokenizer_ref.py make-tiny OUTDIR [--seed N] [--codebook-seed N]
    tools/golden/seed_tokenizer_ref.py golden MODELDIR OUTDIR IMAGE...
    tools/golden/seed_tokenizer_ref.py search-seeds IMAGE... [--seeds A:B] [--codebook-trials N]
    tools/golden/seed_tokenizer_ref.py check MODELDIR IMAGE...       (robustness: pixel jitter, f16/bf16)
    tools/golden/seed_tokenizer_ref.py make-full OUTDIR [--seed N]
    tools/golden/seed_tokenizer_ref.py bench MODELDIR [--threads 2] [--repeat 3] [--json]

Shapes (SEED-2 defaults, every config.json key optional):
  pixels [B,3,224,224] -> EVA ViT-g/14 (vit_depth of the file's vit_depth+1 blocks, no final norm) [B,257,W]
  -> ln_vision (eps 1e-5) -> causal Q-Former (BERT post-LN, 32 queries, x-attn on layers i % freq == 0) [B,32,Q]
  -> encode_task_layer (Q->Q, tanh, ->code_dim) = z -> argmin squared L2 over the codebook -> ids [B,32]
  ids -> codebook -> decode_task_layer (code_dim->code_dim, tanh, ->Q) + pos_embed_image -> decoder_depth
  pre-norm blocks -> image_down (ReLU, no bias) -> flatten [B, 32*d2] -> distill_image_proj [B, embed_dim]
"""
import argparse
import json
import math
import os
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

SEED2 = {
    'image_size': 224, 'patch_size': 14,
    'vit_width': 1408, 'vit_depth': 39, 'vit_heads': 16, 'vit_mlp_dim': 6144,
    'qformer_width': 768, 'qformer_layers': 12, 'qformer_heads': 12, 'qformer_ffn_dim': 3072,
    'cross_attention_freq': 2, 'num_query_tokens': 32,
    'codebook_size': 8192, 'code_dim': 32,
    'decoder_depth': 4, 'decoder_heads': 12, 'decoder_mlp_dim': 3072,
    'image_down_dims': [256, 128, 32], 'embed_dim': 1024,
}
TINY = {
    'vit_width': 176, 'vit_depth': 2, 'vit_heads': 2, 'vit_mlp_dim': 352,
    'qformer_width': 64, 'qformer_layers': 4, 'qformer_heads': 4, 'qformer_ffn_dim': 128,
    'cross_attention_freq': 2, 'num_query_tokens': 32,
    'codebook_size': 1024, 'code_dim': 32,
    'decoder_depth': 2, 'decoder_heads': 4, 'decoder_mlp_dim': 128,
    'image_down_dims': [32, 16, 8], 'embed_dim': 128,
}
# Chosen by `search-seeds` over the five preprocessing PNGs (see tools/golden/README.md).
TINY_SEED = 3
TINY_CODEBOOK_SEED = 5742

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
VIT_FILE = 'eva_vit_g.pth'
QUANTIZER_FILE = 'seed_quantizer.pt'


def load_config(path=None, overrides=None):
    cfg = dict(SEED2)
    if path and os.path.exists(path):
        with open(path) as f:
            user = json.load(f)
        unknown = set(user) - set(SEED2)
        if unknown:
            raise SystemExit(f'{path}: unknown config keys {sorted(unknown)}')
        cfg.update(user)
    if overrides:
        cfg.update(overrides)
    return cfg


# ----------------------------------------------------------------------------------------------------------
# Modules (parameter names = upstream state_dict names)

class EvaAttention(nn.Module):
    """EVA attention: one qkv matrix without bias, learned q and v biases (k bias is zero)."""

    def __init__(self, dim, heads, device=None):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False, device=device)
        self.q_bias = nn.Parameter(torch.empty(dim, device=device))
        self.v_bias = nn.Parameter(torch.empty(dim, device=device))
        self.proj = nn.Linear(dim, dim, device=device)

    def forward(self, x):
        b, n, c = x.shape
        bias = torch.cat([self.q_bias, torch.zeros_like(self.q_bias), self.v_bias])
        qkv = F.linear(x, self.qkv.weight, bias).reshape(b, n, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each [b, heads, n, head_dim]
        att = (q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5
        y = att.softmax(-1) @ v
        return self.proj(y.transpose(1, 2).reshape(b, n, c))


class TimmAttention(nn.Module):
    """Plain ViT attention: one qkv matrix with bias."""

    def __init__(self, dim, heads, device=None):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, device=device)
        self.proj = nn.Linear(dim, dim, device=device)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5
        y = att.softmax(-1) @ v
        return self.proj(y.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim, hidden, device=None):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden, device=device)
        self.fc2 = nn.Linear(hidden, dim, device=device)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact (erf) GELU


class Block(nn.Module):
    """Pre-norm transformer block, LayerNorm eps 1e-6, no layer scale."""

    def __init__(self, dim, heads, mlp_dim, eva, device=None):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6, device=device)
        self.attn = (EvaAttention if eva else TimmAttention)(dim, heads, device=device)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6, device=device)
        self.mlp = Mlp(dim, mlp_dim, device=device)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, patch, dim, device=None):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch, device=device)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # [B, (H/p)*(W/p) row-major, dim]


class EvaViT(nn.Module):
    """EVA ViT-g/14 as in LAVIS: CLS + learned absolute positions, no final norm.

    Holds `n_blocks` blocks (the released file has vit_depth + 1) and runs only the first `depth`."""

    def __init__(self, cfg, n_blocks=None, device=None):
        super().__init__()
        w, p = cfg['vit_width'], cfg['patch_size']
        self.image_size = cfg['image_size']
        self.depth = cfg['vit_depth']
        tokens = (cfg['image_size'] // p) ** 2 + 1
        self.cls_token = nn.Parameter(torch.empty(1, 1, w, device=device))
        self.pos_embed = nn.Parameter(torch.empty(1, tokens, w, device=device))
        self.patch_embed = PatchEmbed(p, w, device=device)
        n = self.depth if n_blocks is None else n_blocks
        self.blocks = nn.ModuleList(
            Block(w, cfg['vit_heads'], cfg['vit_mlp_dim'], eva=True, device=device) for _ in range(n))

    def forward(self, pixels):
        assert pixels.shape[-2:] == (self.image_size, self.image_size), pixels.shape
        x = self.patch_embed(pixels)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for blk in self.blocks[:self.depth]:
            x = blk(x)
        return x


class BertAttentionPart(nn.Module):
    """`self.{query,key,value}` + `output.{dense,LayerNorm}`: LN(dense(attention) + input), eps 1e-12."""

    def __init__(self, dim, kv_dim, heads, device=None):
        super().__init__()
        self.heads = heads
        self.self = nn.Module()
        self.self.query = nn.Linear(dim, dim, device=device)
        self.self.key = nn.Linear(kv_dim, dim, device=device)
        self.self.value = nn.Linear(kv_dim, dim, device=device)
        self.output = nn.Module()
        self.output.dense = nn.Linear(dim, dim, device=device)
        self.output.LayerNorm = nn.LayerNorm(dim, eps=1e-12, device=device)

    def forward(self, h, kv, additive_mask=None):
        b, n, c = h.shape
        d = c // self.heads

        def split(t):
            return t.reshape(b, t.shape[1], self.heads, d).transpose(1, 2)

        q, k, v = split(self.self.query(h)), split(self.self.key(kv)), split(self.self.value(kv))
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(d)
        if additive_mask is not None:
            scores = scores + additive_mask
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c)
        return self.output.LayerNorm(self.output.dense(ctx) + h)


class QformerLayer(nn.Module):
    def __init__(self, cfg, cross, device=None):
        super().__init__()
        q, heads = cfg['qformer_width'], cfg['qformer_heads']
        self.attention = BertAttentionPart(q, q, heads, device=device)
        if cross:
            self.crossattention = BertAttentionPart(q, cfg['vit_width'], heads, device=device)
        self.intermediate_query = nn.Module()
        self.intermediate_query.dense = nn.Linear(q, cfg['qformer_ffn_dim'], device=device)
        self.output_query = nn.Module()
        self.output_query.dense = nn.Linear(cfg['qformer_ffn_dim'], q, device=device)
        self.output_query.LayerNorm = nn.LayerNorm(q, eps=1e-12, device=device)

    def forward(self, h, image, causal):
        h = self.attention(h, h, causal)
        if hasattr(self, 'crossattention'):
            h = self.crossattention(h, image)  # all image tokens visible
        f = self.output_query.dense(F.gelu(self.intermediate_query.dense(h)))
        return self.output_query.LayerNorm(f + h)


class Qformer(nn.Module):
    """`Qformer.bert.{embeddings.LayerNorm, encoder.layer.N}`; queries only (no text)."""

    def __init__(self, cfg, device=None):
        super().__init__()
        q = cfg['qformer_width']
        self.bert = nn.Module()
        self.bert.embeddings = nn.Module()
        self.bert.embeddings.LayerNorm = nn.LayerNorm(q, eps=1e-12, device=device)
        self.bert.encoder = nn.Module()
        self.bert.encoder.layer = nn.ModuleList(
            QformerLayer(cfg, i % cfg['cross_attention_freq'] == 0, device=device)
            for i in range(cfg['qformer_layers']))

    def forward(self, queries, image):
        n = queries.shape[1]
        # lower-triangular causal mask, additive: 0 where key j <= query i, -10000.0 where j > i
        causal = (1.0 - torch.ones(n, n).tril()) * -10000.0
        h = self.bert.embeddings.LayerNorm(queries)
        for layer in self.bert.encoder.layer:
            h = layer(h, image, causal)
        return h


class SeedTokenizerRef(nn.Module):
    def __init__(self, cfg, n_vit_blocks=None, device=None):
        super().__init__()
        self.cfg = cfg
        q, nq, cd = cfg['qformer_width'], cfg['num_query_tokens'], cfg['code_dim']
        d0, d1, d2 = cfg['image_down_dims']
        self.visual_encoder = EvaViT(cfg, n_vit_blocks, device=device)
        self.ln_vision = nn.LayerNorm(cfg['vit_width'], eps=1e-5, device=device)
        self.query_tokens = nn.Parameter(torch.empty(1, nq, q, device=device))
        self.Qformer = Qformer(cfg, device=device)
        self.encode_task_layer = nn.Sequential(
            nn.Linear(q, q, device=device), nn.Tanh(), nn.Linear(q, cd, device=device))
        self.quantize = nn.Module()
        self.quantize.embedding = nn.Embedding(cfg['codebook_size'], cd, device=device)
        self.decode_task_layer = nn.Sequential(
            nn.Linear(cd, cd, device=device), nn.Tanh(), nn.Linear(cd, q, device=device))
        self.pos_embed_image = nn.Parameter(torch.empty(1, nq, q, device=device))
        self.blocks_image = nn.ModuleList(
            Block(q, cfg['decoder_heads'], cfg['decoder_mlp_dim'], eva=False, device=device)
            for _ in range(cfg['decoder_depth']))
        self.image_down = nn.Sequential(
            nn.Linear(q, d0, bias=False, device=device), nn.ReLU(),
            nn.Linear(d0, d1, bias=False, device=device), nn.ReLU(),
            nn.Linear(d1, d2, bias=False, device=device))
        self.distill_image_proj = nn.Linear(nq * d2, cfg['embed_dim'], device=device)

    # encode ------------------------------------------------------------------------------------------
    def encode(self, pixels):
        """pixels [B,3,H,W] (normalised) -> dict of every intermediate and the codes."""
        vit = self.visual_encoder(pixels)
        ln = self.ln_vision(vit)
        qf = self.Qformer(self.query_tokens.expand(pixels.shape[0], -1, -1), ln)
        z = self.encode_task_layer(qf)
        d = self.distances(z)
        codes = d.argmin(-1)  # first index on ties
        return {'vit': vit, 'ln_vision': ln, 'qformer': qf, 'z': z, 'dist': d, 'codes': codes}

    def distances(self, z):
        """Squared L2 from each z row to every code, [B, 32, codebook_size]."""
        e = self.quantize.embedding.weight
        return (z * z).sum(-1, keepdim=True) + (e * e).sum(-1) - 2.0 * (z @ e.t())

    # decode ------------------------------------------------------------------------------------------
    def decode(self, codes):
        """codes int64 [B, 32] -> embedding [B, embed_dim]."""
        x = self.decode_task_layer(self.quantize.embedding(codes)) + self.pos_embed_image
        for blk in self.blocks_image:
            x = blk(x)
        x = self.image_down(x)
        return self.distill_image_proj(x.reshape(x.shape[0], -1))


# ----------------------------------------------------------------------------------------------------------
# Preprocessing (the bilinear squash every SEED inference script uses)

def load_pixels(path, size=224):
    img = Image.open(path).convert('RGB').resize((size, size), Image.BILINEAR)
    return pixels_from_uint8(np.asarray(img))


def pixels_from_uint8(arr):
    x = torch.from_numpy(np.array(arr, dtype=np.uint8)).permute(2, 0, 1).to(torch.float32) / 255.0
    mean = torch.tensor(CLIP_MEAN, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(CLIP_STD, dtype=torch.float32).view(3, 1, 1)
    return ((x - mean) / std).contiguous()


def load_uint8(path, size=224):
    return np.asarray(Image.open(path).convert('RGB').resize((size, size), Image.BILINEAR))


# ----------------------------------------------------------------------------------------------------------
# Checkpoints

def load_model(model_dir, dtype=torch.float32):
    """Build the reference from config.json + eva_vit_g.pth + seed_quantizer.pt (weights upcast to fp32)."""
    cfg = load_config(os.path.join(model_dir, 'config.json'))
    vit_sd = torch.load(os.path.join(model_dir, VIT_FILE), map_location='cpu', weights_only=True)
    n_blocks = 1 + max(int(k.split('.')[1]) for k in vit_sd if k.startswith('blocks.'))
    if n_blocks < cfg['vit_depth']:
        raise SystemExit(f'{VIT_FILE} has {n_blocks} blocks, config needs {cfg["vit_depth"]}')
    model = SeedTokenizerRef(cfg, n_vit_blocks=n_blocks, device='meta')
    model = model.to_empty(device='cpu').to(dtype)
    model.visual_encoder.load_state_dict(vit_sd, strict=True)
    del vit_sd
    q_sd = torch.load(os.path.join(model_dir, QUANTIZER_FILE), map_location='cpu', weights_only=True)
    own = {k for k in model.state_dict() if not k.startswith('visual_encoder.')}
    missing = sorted(own - set(q_sd))
    if missing:
        raise SystemExit(f'{QUANTIZER_FILE} lacks {missing}')
    unexpected = sorted(set(q_sd) - own)
    res = model.load_state_dict({k: v for k, v in q_sd.items() if k in own}, strict=False)
    assert not res.unexpected_keys and all(k.startswith('visual_encoder.') for k in res.missing_keys)
    del q_sd
    model.eval()
    return model, unexpected


def layernorm_weights(model):
    return {f'{n}.weight' for n, m in model.named_modules() if isinstance(m, nn.LayerNorm)}


def split_state(model):
    sd = model.state_dict()
    vit = OrderedDict((k[len('visual_encoder.'):], v) for k, v in sd.items() if k.startswith('visual_encoder.'))
    q = OrderedDict((k, v) for k, v in sd.items() if not k.startswith('visual_encoder.'))
    return vit, q


def init_tiny(cfg, seed, codebook_seed, codebook_scale=None):
    """Random weights that keep activations O(1) and image-dependent (not BERT's degenerate std-0.02 init):
    Linear/Conv weights N(0, 1/fan_in) (patch filters smooth, see below), LayerNorm gains 1 + 0.1 N, biases
    0.1 N, cls token / query tokens / pos_embed_image 0.5 N, ViT pos_embed 0.3 N; z gets a power-law spread of
    dimension scales; the codebook is drawn around z's distribution on seeded probe images. The ViT is
    rounded to fp16 (as it is stored). `seed` drives the network, `codebook_seed` only the codebook."""
    g = torch.Generator().manual_seed(seed)

    def normal(shape, std):
        return torch.randn(*shape, generator=g) * std

    model = SeedTokenizerRef(cfg, n_vit_blocks=cfg['vit_depth'] + 1, device='meta').to_empty(device='cpu')
    ln_gains = layernorm_weights(model)
    with torch.no_grad():
        for name, p in model.named_parameters():  # deterministic order
            if name.startswith('quantize.'):
                continue
            if name in ('query_tokens', 'pos_embed_image', 'visual_encoder.cls_token'):
                p.copy_(normal(p.shape, 0.5))
            elif name == 'visual_encoder.pos_embed':
                p.copy_(normal(p.shape, 0.3))
            elif name == 'visual_encoder.patch_embed.proj.weight':
                # smooth filters, like trained patch embeddings: 4x4 noise per channel, bilinearly upsampled
                # to the patch, scaled to N(0, 1/fan_in)'s norm. Content then outweighs pixel-level noise.
                low = normal((p.shape[0], p.shape[1], 4, 4), 1.0)
                w = F.interpolate(low, size=p.shape[2:], mode='bilinear', align_corners=True)
                w = w / w.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
                p.copy_(w * 0.3)  # smooth content adds up coherently: keep the patch tokens O(1)
            elif p.dim() >= 2:  # Linear / Conv weight: N(0, 1/fan_in)
                fan_in = p[0].numel()
                p.copy_(normal(p.shape, 1.0 / math.sqrt(fan_in)))
            elif name in ln_gains:  # LayerNorm gains
                p.copy_(1.0 + normal(p.shape, 0.1))
            else:  # biases (incl. q_bias, v_bias, LayerNorm biases)
                p.copy_(normal(p.shape, 0.1))
        # Learned features have a decaying spectrum: give z's dimensions a power-law spread of scales
        # (dimension i scaled by (i+1)^-alpha). Besides realism, this keeps the nearest code clearly nearest,
        # which 32 equally important random dimensions (distances concentrate) would not.
        s = torch.arange(1, cfg['code_dim'] + 1, dtype=torch.float32) ** -Z_SPECTRUM_ALPHA
        model.encode_task_layer[2].weight.mul_(s[:, None])
        model.encode_task_layer[2].bias.mul_(s)
    # the released ViT is fp16: round it so that every later computation sees the stored values
    with torch.no_grad():
        for p in model.visual_encoder.parameters():
            p.copy_(p.half().float())
        # A trained codebook lives where the encoder's z lives: estimate z's per-dimension mean and spread on
        # a few smooth random images (seeded), then draw the codes from that Gaussian.
        z = model.encode(probe_images(seed))['z'].reshape(-1, cfg['code_dim'])
        model.z_mean, model.z_std = z.mean(0), z.std(0)
        model.quantize.embedding.weight.copy_(
            make_codebook(cfg, codebook_seed, model.z_mean, model.z_std, CODEBOOK_SCALE if codebook_scale is None
                          else codebook_scale))
    model.eval()
    return model


CODEBOOK_SCALE = 1.0
Z_SPECTRUM_ALPHA = 1.5


def probe_images(seed, n=8, size=224):
    """n smooth random images (8x8 noise, bilinearly upsampled), normalised like real inputs."""
    g = torch.Generator().manual_seed(5_000_011 + seed)
    low = torch.rand(n, 3, 8, 8, generator=g)
    img = F.interpolate(low, size=(size, size), mode='bilinear', align_corners=False)
    img = (img * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return torch.stack([pixels_from_uint8(a) for a in img])


def make_codebook(cfg, codebook_seed, mean, std, scale):
    g = torch.Generator().manual_seed(10_000_019 + codebook_seed)
    return mean + torch.randn(cfg['codebook_size'], cfg['code_dim'], generator=g) * std * scale


def tiny_extras(cfg, seed):
    """Realistic keys of seed_quantizer.pt that inference does not use."""
    g = torch.Generator().manual_seed(7_000_003 + seed)
    q, nq = cfg['qformer_width'], cfg['num_query_tokens']
    ex = OrderedDict()
    ex['Qformer.bert.embeddings.position_ids'] = torch.arange(512, dtype=torch.int64).unsqueeze(0)
    ex['pos_embed'] = torch.randn(1, nq, q, generator=g) * 0.5
    recon = Block(q, cfg['decoder_heads'], cfg['decoder_mlp_dim'], eva=False)
    for k, v in recon.state_dict().items():
        ex[f'blocks.0.{k}'] = torch.randn(v.shape, generator=g) * 0.05
    return ex


def write_checkpoints(model, cfg, outdir, extras=None):
    os.makedirs(outdir, exist_ok=True)
    vit, q = split_state(model)
    vit = OrderedDict((k, v.detach().half().contiguous().clone()) for k, v in vit.items())
    q = OrderedDict((k, v.detach().float().contiguous().clone()) for k, v in q.items())
    if extras:
        q.update(extras)
    with open(os.path.join(outdir, 'config.json'), 'w') as f:
        json.dump({k: cfg[k] for k in SEED2}, f, indent=1)
        f.write('\n')
    torch.save(vit, os.path.join(outdir, VIT_FILE))
    torch.save(q, os.path.join(outdir, QUANTIZER_FILE))


# ----------------------------------------------------------------------------------------------------------
# Margins

def margins(dist):
    """dist [N, 32, K] -> (margin [N,32], rel [N,32]): second-smallest minus smallest, and that / smallest."""
    two = dist.topk(2, dim=-1, largest=False).values
    m = two[..., 1] - two[..., 0]
    return m, m / two[..., 0]


def cmd_make_tiny(args):
    cfg = load_config(None, TINY)
    model = init_tiny(cfg, args.seed, args.codebook_seed)
    write_checkpoints(model, cfg, args.outdir, tiny_extras(cfg, args.seed))
    for f in ('config.json', VIT_FILE, QUANTIZER_FILE):
        print(f'{os.path.join(args.outdir, f)}: {os.path.getsize(os.path.join(args.outdir, f))} bytes')


def jittered(paths, rng):
    """The images with every channel of every pixel moved by -1, 0 or +1 (of 255): a stress test far harsher
    than the TS engine's Pillow-exact resize."""
    out = []
    for p in paths:
        u = load_uint8(p).astype(np.int16) + rng.integers(-1, 2, (224, 224, 3))
        out.append(pixels_from_uint8(np.clip(u, 0, 255).astype(np.uint8)))
    return torch.stack(out)


def cmd_search_seeds(args):
    """Pick (model seed, codebook seed) for the golden images: the largest min_rel_margin among codebooks whose
    codes are diverse (over a quarter distinct) and survive `--jitter` rounds of +-1/255 noise on every pixel
    (jittered margin = (nearest other code - the clean code's distance) / the clean code's distance > 0)."""
    cfg = load_config(None, TINY)
    pix = torch.stack([load_pixels(p) for p in args.images])
    lo, hi = (int(s) for s in args.seeds.split(':'))
    torch.set_num_threads(args.threads)
    best = None
    n_img = len(args.images)
    for seed in range(lo, hi):
        model = init_tiny(cfg, seed, 0)
        rng = np.random.default_rng(seed)
        with torch.inference_mode():
            z = model.encode(pix)['z'].reshape(-1, cfg['code_dim'])
            zj = [model.encode(jittered(args.images, rng))['z'].reshape(-1, cfg['code_dim'])
                  for _ in range(args.jitter)]
        zm, zs = model.z_mean, model.z_std
        rows = torch.arange(z.shape[0])
        zz, zjj = (z * z).sum(-1, keepdim=True), [(v * v).sum(-1, keepdim=True) for v in zj]
        seed_best = (-1.0, None)
        for cb_seed in range(args.codebook_trials):
            e = make_codebook(cfg, cb_seed, zm, zs, args.codebook_scale)
            ee = (e * e).sum(-1)
            d = zz + ee - 2.0 * (z @ e.t())
            two = d.topk(2, dim=-1, largest=False)
            rel = ((two.values[:, 1] - two.values[:, 0]) / two.values[:, 0]).min().item()
            if rel <= seed_best[0]:
                continue
            codes = two.indices[:, 0]
            if len(set(codes.tolist())) <= codes.numel() // 4:
                continue
            jit = float('inf')
            for zv, vv in zip(zj, zjj):
                dv = vv + ee - 2.0 * (zv @ e.t())
                own = dv[rows, codes]
                dv[rows, codes] = float('inf')
                jit = min(jit, ((dv.min(-1).values - own) / own).min().item())
                if jit <= 0:
                    break
            if jit > 0:
                seed_best = (rel, cb_seed, jit, len(set(codes.tolist())), codes.reshape(n_img, -1))
        rel, cb_seed, jit, distinct, codes = seed_best
        if cb_seed is None:
            print(f'seed {seed}: no diverse, jitter-stable codebook', flush=True)
            continue
        varying = sum(len(set(codes[:, j].tolist())) > 1 for j in range(codes.shape[1]))
        print(f'seed {seed}: codebook seed {cb_seed}: min_rel_margin {rel:.4g} (jittered {jit:.4g}), '
              f'{distinct} distinct codes, {varying} positions differ between images', flush=True)
        if best is None or rel > best[0]:
            best = (rel, seed, cb_seed, jit)
    print('BEST (min_rel_margin, seed, codebook seed, jittered margin):', best)


def encode_images(model, paths):
    pix = torch.stack([load_pixels(p) for p in paths])
    with torch.inference_mode():
        out = model.encode(pix)
    return pix, out


def cmd_golden(args):
    torch.manual_seed(0)
    model, unexpected = load_model(args.modeldir)
    cfg = model.cfg
    print(f'unused keys in {QUANTIZER_FILE}: {unexpected}')
    os.makedirs(args.outdir, exist_ok=True)
    tensors = OrderedDict()
    report = {'images': [], 'random_codes': []}
    for index, path in enumerate(args.images):
        stem = os.path.splitext(os.path.basename(path))[0]
        pix, out = encode_images(model, [path])
        with torch.inference_mode():
            emb = model.decode(out['codes'])
        m, rel = margins(out['dist'])
        # The big per-token tensors (input pixels, ViT and ln_vision outputs) only for the first
        # --full-activations images, to keep the committed fixtures small.
        big = (('pixels', pix[0]), ('vit', out['vit'][0]), ('ln_vision', out['ln_vision'][0]))
        small = (('qformer', out['qformer'][0]), ('z', out['z'][0]), ('codes', out['codes'][0]), ('embedding', emb[0]))
        for name, t in (big if index < args.full_activations else ()) + small:
            tensors[f'{stem}.{name}'] = t.detach().clone().contiguous()
        codes = out['codes'][0].tolist()
        report['images'].append({'file': os.path.basename(path), 'codes': codes,
                                 'min_margin': float(m.min()), 'min_rel_margin': float(rel.min())})
        print(f'{os.path.basename(path)}: codes {codes} min_margin {float(m.min()):.5g} '
              f'min_rel_margin {float(rel.min()):.5g}')
    g = torch.Generator().manual_seed(20231001)
    rnd = torch.randint(0, cfg['codebook_size'], (cfg['num_query_tokens'],), generator=g, dtype=torch.int64)
    rnd[0] = 0
    rnd[cfg['num_query_tokens'] // 2] = cfg['codebook_size'] - 1
    with torch.inference_mode():
        remb = model.decode(rnd.unsqueeze(0))[0]
    tensors['random.codes'] = rnd.clone()
    tensors['random.embedding'] = remb.clone().contiguous()
    report['random_codes'] = rnd.tolist()
    torch.save(dict(tensors), os.path.join(args.outdir, 'expected.pt'))
    with open(os.path.join(args.outdir, 'golden.json'), 'w') as f:
        json.dump(report, f, indent=1)
        f.write('\n')
    all_codes = [c for i in report['images'] for c in i['codes']]
    print(f'distinct codes: {len(set(all_codes))} of {len(all_codes)}')
    for k, v in tensors.items():
        print(f'  {k}: {tuple(v.shape)} {v.dtype} std {v.float().std().item():.4g}')


def cmd_check(args):
    """Robustness of the golden codes: +-1/255 pixel jitter, and f16 / bf16 matrices (compute stays fp32)."""
    model, _ = load_model(args.modeldir)
    paths = args.images
    base_pix, base = encode_images(model, paths)
    codes = base['codes']
    rng = np.random.default_rng(1)
    worst = 0
    for trial in range(args.trials):
        with torch.inference_mode():
            c = model.encode(jittered(paths, rng))['codes']
        diff = int((c != codes).sum())
        worst = max(worst, diff)
    print(f'pixel jitter +-1/255 ({args.trials} trials): worst changed codes {worst} of {codes.numel()}')
    for dt in (torch.float16, torch.bfloat16):
        m2, _ = load_model(args.modeldir)
        with torch.no_grad():
            for name, p in m2.named_parameters():
                if p.dim() >= 2 and not name.startswith('quantize.') and 'pos_embed' not in name \
                        and name not in ('query_tokens', 'visual_encoder.cls_token'):
                    p.copy_(p.to(dt).float())
        with torch.inference_mode():
            c = m2.encode(base_pix)['codes']
            e32 = model.decode(codes)
            e16 = m2.decode(codes)
        cos = F.cosine_similarity(e32, e16, dim=-1).min().item()
        print(f'{dt} matrices: same codes {(c == codes).float().mean().item():.4f}, '
              f'embedding cosine min {cos:.6f}')


def cmd_make_full(args):
    """Full SEED-2 size random weights, written without holding two copies of the ViT."""
    cfg = load_config(None, {})
    os.makedirs(args.outdir, exist_ok=True)
    g = torch.Generator().manual_seed(args.seed)

    meta = SeedTokenizerRef(cfg, n_vit_blocks=cfg['vit_depth'] + 1, device='meta')
    ln_gains = layernorm_weights(meta)

    def fill(shape, name):
        if name in ('visual_encoder.cls_token', 'visual_encoder.pos_embed', 'query_tokens', 'pos_embed_image'):
            return torch.randn(*shape, generator=g) * 0.5
        if len(shape) >= 2:
            return torch.randn(*shape, generator=g) / math.sqrt(int(np.prod(shape[1:])))
        if name in ln_gains:
            return 1.0 + torch.randn(*shape, generator=g) * 0.1
        return torch.randn(*shape, generator=g) * 0.1

    t0 = time.time()
    vit = OrderedDict()
    for k, v in meta.visual_encoder.state_dict().items():
        vit[k] = fill(v.shape, 'visual_encoder.' + k).half()  # one fp32 tensor at a time
    torch.save(vit, os.path.join(args.outdir, VIT_FILE))
    del vit
    q = OrderedDict()
    for k, v in meta.state_dict().items():
        if not k.startswith('visual_encoder.'):
            q[k] = fill(v.shape, k)
    torch.save(q, os.path.join(args.outdir, QUANTIZER_FILE))
    del q
    with open(os.path.join(args.outdir, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=1)
        f.write('\n')
    for f in ('config.json', VIT_FILE, QUANTIZER_FILE):
        print(f'{os.path.join(args.outdir, f)}: {os.path.getsize(os.path.join(args.outdir, f))} bytes')
    print(f'{time.time() - t0:.1f} s')


def cmd_bench(args):
    torch.set_num_threads(args.threads)
    t0 = time.time()
    model, _ = load_model(args.modeldir)
    load_s = time.time() - t0
    cfg = model.cfg
    g = torch.Generator().manual_seed(0)
    pix = pixels_from_uint8(torch.randint(0, 256, (cfg['image_size'], cfg['image_size'], 3),
                                          generator=g, dtype=torch.uint8).numpy()).unsqueeze(0)
    codes = torch.randint(0, cfg['codebook_size'], (1, cfg['num_query_tokens']), generator=g)
    enc, dec = [], []
    with torch.inference_mode():
        for i in range(args.repeat + 1):
            t = time.perf_counter()
            out = model.encode(pix)
            t1 = time.perf_counter()
            emb = model.decode(codes)
            t2 = time.perf_counter()
            assert torch.isfinite(out['z']).all() and torch.isfinite(emb).all()
            if i > 0:  # the first run is the warm-up
                enc.append(t1 - t)
                dec.append(t2 - t1)
    if args.json:
        print(json.dumps({'encode_s': enc, 'decode_s': dec, 'threads': args.threads, 'torch': torch.__version__}))
    else:
        print(f'torch {torch.__version__}, {args.threads} threads, load {load_s:.1f} s, fp32 compute')
        print(f'{"run":>4} {"encode (s)":>12} {"decode (s)":>12}')
        for i, (a, b) in enumerate(zip(enc, dec)):
            print(f'{i:>4} {a:>12.4f} {b:>12.4f}')
        print(f'{"min":>4} {min(enc):>12.4f} {min(dec):>12.4f}')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('make-tiny')
    p.add_argument('outdir')
    p.add_argument('--seed', type=int, default=TINY_SEED)
    p.add_argument('--codebook-seed', type=int, default=TINY_CODEBOOK_SEED)
    p.set_defaults(fn=cmd_make_tiny)
    p = sub.add_parser('search-seeds')
    p.add_argument('images', nargs='+')
    p.add_argument('--seeds', default='0:50')
    p.add_argument('--codebook-trials', type=int, default=20000)
    p.add_argument('--jitter', type=int, default=3)
    p.add_argument('--codebook-scale', type=float, default=CODEBOOK_SCALE)
    p.add_argument('--threads', type=int, default=2)
    p.set_defaults(fn=cmd_search_seeds)
    p = sub.add_parser('golden')
    p.add_argument('modeldir')
    p.add_argument('outdir')
    p.add_argument('images', nargs='+')
    p.add_argument('--full-activations', type=int, default=2,
                   help='images (the first N) that also get pixels, vit and ln_vision tensors')
    p.set_defaults(fn=cmd_golden)
    p = sub.add_parser('check')
    p.add_argument('modeldir')
    p.add_argument('images', nargs='+')
    p.add_argument('--trials', type=int, default=8)
    p.set_defaults(fn=cmd_check)
    p = sub.add_parser('make-full')
    p.add_argument('outdir')
    p.add_argument('--seed', type=int, default=0)
    p.set_defaults(fn=cmd_make_full)
    p = sub.add_parser('bench')
    p.add_argument('modeldir')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--repeat', type=int, default=3)
    p.add_argument('--json', action='store_true')
    p.set_defaults(fn=cmd_bench)
    args = ap.parse_args(argv)
    args.fn(args)


if __name__ == '__main__':
    main()
