"""Shared pieces of the seed-micro training scripts: paths, logging, the scene pool, pixel conversions,
learning-rate schedule and the stage configs.

The torch modules come from the independent references in tools/golden (unclip_ref.py for the UNet and VAE,
seed_tokenizer_ref.py for the SEED tokenizer), so the trained tensors carry exactly the names the
TypeScript loaders read.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
BUILD = os.path.join(HERE, 'build')  # intermediate checkpoints and data (git-ignored)
LOGS = os.path.join(HERE, 'logs')
MODEL = os.path.join(ROOT, 'models', 'seed-micro')
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, 'tools', 'golden'))

import seed_tokenizer_ref as S  # noqa: E402,F401  (re-exported for the stages)
import unclip_ref as U  # noqa: E402,F401
import world  # noqa: E402

# ---- scene sets: training seeds and held-out evaluation seeds never overlap ----
TRAIN_SEEDS = range(0, 30000)
EVAL_SEEDS = range(1_000_000_000, 1_000_000_200)

# ---- sizes (every config the exported folders carry derives from these) ----
EMBED_DIM = 64  # the "unCLIP image embedding" width E (real model: 1024)
TEXT_TOKENS, TEXT_DIM = 4, 32  # the stored empty-prompt text context [1, L, D] (real: [1, 77, 1024])
VAE_OVERRIDES = {
    'block_out_channels': [16, 32, 32], 'down_block_types': ['DownEncoderBlock2D'] * 3,
    'up_block_types': ['UpDecoderBlock2D'] * 3, 'layers_per_block': 1, 'norm_num_groups': 8,
    'sample_size': world.SIZE,
}
UNET_OVERRIDES = {
    'block_out_channels': [32, 64], 'down_block_types': ['CrossAttnDownBlock2D', 'DownBlock2D'],
    'up_block_types': ['UpBlock2D', 'CrossAttnUpBlock2D'], 'attention_head_dim': [2, 4], 'layers_per_block': 1,
    'norm_num_groups': 8, 'cross_attention_dim': TEXT_DIM, 'projection_class_embeddings_input_dim': 2 * EMBED_DIM,
    'sample_size': world.SIZE // 4,
}
TOKENIZER_CONFIG = {
    'image_size': world.SIZE, 'patch_size': 4,
    'vit_width': 64, 'vit_depth': 2, 'vit_heads': 4, 'vit_mlp_dim': 128,
    'qformer_width': 64, 'qformer_layers': 2, 'qformer_heads': 4, 'qformer_ffn_dim': 128,
    'cross_attention_freq': 1, 'num_query_tokens': 16,
    'codebook_size': 256, 'code_dim': 8,
    'decoder_depth': 2, 'decoder_heads': 4, 'decoder_mlp_dim': 128,
    'image_down_dims': [32, 16, 8], 'embed_dim': EMBED_DIM,
}

_log_file = None


def setup(stage):
    """One thread, a log file per stage, and a warning when the BLAS speed traps are armed.

    One thread because the cores are shared: with two OpenMP threads on a loaded machine a VAE step took 10 s
    (threads spinning at barriers) against 0.7 s with one; on an idle machine two would be ~1.7x faster."""
    global _log_file
    torch.set_num_threads(1)
    os.makedirs(BUILD, exist_ok=True)
    os.makedirs(LOGS, exist_ok=True)
    _log_file = open(os.path.join(LOGS, f'{stage}.log'), 'w')
    for var in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'):
        if var in os.environ:
            log(f'warning: {var} is set; nn.Linear trains ~5x slower with it (see tools/train/README.md)')


def log(*parts):
    line = time.strftime('%H:%M:%S ') + ' '.join(str(p) for p in parts)
    print(line, flush=True)
    if _log_file is not None:
        _log_file.write(line + '\n')
        _log_file.flush()


def seeded(seed):
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def cosine_lr(step, total, base, warmup=100):
    if step < warmup:
        return base * (step + 1) / warmup
    return base * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def set_lr(opt, step, total, warmup=100):
    for g in opt.param_groups:
        g['lr'] = cosine_lr(step, total, g['base_lr'], warmup)


def label_of(sc):
    return (world.SHAPES.index(sc['shape']), [c for c, _ in world.COLOURS].index(sc['colour']),
            [b for b, _ in world.BACKGROUNDS].index(sc['background']))


def label_names(lab):
    return {'shape': world.SHAPES[lab[0]], 'colour': world.COLOURS[lab[1]][0],
            'background': world.BACKGROUNDS[lab[2]][0]}


def render_set(seeds):
    """uint8 images [N, 32, 32, 3] and labels int64 [N, 3] (shape, colour, background indices)."""
    imgs = np.empty((len(seeds), world.SIZE, world.SIZE, 3), dtype=np.uint8)
    labels = np.empty((len(seeds), 3), dtype=np.int64)
    for i, s in enumerate(seeds):
        sc = world.scene(s)
        imgs[i] = np.frombuffer(bytes(world.render(sc)), dtype=np.uint8).reshape(world.SIZE, world.SIZE, 3)
        labels[i] = label_of(sc)
    return torch.from_numpy(imgs), torch.from_numpy(labels)


def pool(name='train'):
    """The training (or evaluation) scenes, rendered once and cached under build/."""
    path = os.path.join(BUILD, f'{name}_scenes.pt')
    if not os.path.exists(path):
        seeds = TRAIN_SEEDS if name == 'train' else EVAL_SEEDS
        imgs, labels = render_set(seeds)
        torch.save({'images': imgs, 'labels': labels}, path)
    d = torch.load(path)
    return d['images'], d['labels']


def to_unit(u8):
    """uint8 NHWC -> float NCHW in [-1, 1]: what the VAE and the semantic encoder read."""
    return u8.permute(0, 3, 1, 2).float() / 127.5 - 1.0


def from_unit(x):
    """float NCHW in ~[-1, 1] -> uint8 NHWC, as diffusers' postprocess: (x/2 + 0.5) clamped, ×255, rounded."""
    return ((x / 2 + 0.5).clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()


CLIP_MEAN = torch.tensor(S.CLIP_MEAN).view(1, 3, 1, 1)
CLIP_STD = torch.tensor(S.CLIP_STD).view(1, 3, 1, 1)


def clip_pixels(u8):
    """uint8 NHWC -> the SEED tokenizer's input: the bilinear squash to image_size (the identity here, as scenes
    are already image_size square, and Pillow / @seed/seed-tokenizer's resize leave a same-size image as it
    is) then ToTensor and the CLIP mean/std, exactly packages/seed-tokenizer/src/preprocess.ts."""
    assert u8.shape[1] == u8.shape[2] == TOKENIZER_CONFIG['image_size']
    return (u8.permute(0, 3, 1, 2).float() / 255.0 - CLIP_MEAN) / CLIP_STD


def checker_accuracy(images_u8, labels):
    """Fraction of images the world's checker names right (all three of shape, colour, background), plus
    the per-field fractions."""
    right = {'all': 0, 'shape': 0, 'colour': 0, 'background': 0}
    for img, lab in zip(images_u8, labels):
        got = world.parse(bytes(img.numpy().tobytes()))
        want = label_names(lab.tolist())
        ok = [got[k] == want[k] for k in ('shape', 'colour', 'background')]
        right['shape'] += ok[0]
        right['colour'] += ok[1]
        right['background'] += ok[2]
        right['all'] += all(ok)
    n = len(labels)
    return {k: v / n for k, v in right.items()}


def save_json(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f, indent=2)
        f.write('\n')


def n_params(module):
    return sum(p.numel() for p in module.parameters())
