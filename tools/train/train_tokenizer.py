"""Stage 3: the SEED tokenizer (seed_tokenizer_ref's modules, upstream names), trained as SEED-2 trained
its own: to regress the frozen generator's image embedding through a discrete bottleneck.

  pixels (CLIP-normalised) → ViT blocks → ln_vision → causal Q-Former (learned queries, −10000 mask)
  → encode_task_layer → nearest code (plain squared L2) → decode_task_layer → code-decoder blocks
  → image_down → distill_image_proj ≈ the frozen semantic embedding

Loss: MSE + (1 − cosine) to the target embedding, the VQ codebook and commitment terms (straight-through),
and the frozen encoder's naming heads on the prediction (cross-entropy, weight 1): the codes must at least
keep what the scene is, which is what every accuracy measures (with weight 0.1, 2,000 steps and learning rate
1e-3 the held-out cosine stopped at 0.78 and the heads' loss at ~1.1). The study's lessons for the codebook: 150 steps
without quantisation first, then the codebook initialised from encoder outputs, and codes unused for 100
steps moved onto current outputs (without that, it collapsed to 2 codes).
"""
import os

import torch
import torch.nn.functional as F
from torch import nn

import train_decoder
from common import BUILD, S, TOKENIZER_CONFIG, clip_pixels, log, n_params, pool, seeded, set_lr, setup, to_unit

STEPS = 5000
BATCH = 64
LR = 2e-3
QUERY_LR = 5e-3
NAMES_WEIGHT = 1.0
WARMUP_NO_VQ = 150
RESET_EVERY = 100


def init_params(model, gen):
    """The reference builds its free parameters with torch.empty; give them small random values (Linear,
    LayerNorm and Embedding keep PyTorch's defaults)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in ('query_tokens', 'pos_embed_image', 'visual_encoder.cls_token', 'visual_encoder.pos_embed'):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
            elif name.endswith('q_bias') or name.endswith('v_bias'):
                p.zero_()


def encode_vectors(model, pixels):
    """pixels → z [B, N, code_dim]: the continuous vectors the codebook quantises."""
    image = model.ln_vision(model.visual_encoder(pixels))
    q = model.Qformer(model.query_tokens.expand(pixels.shape[0], -1, -1), image)
    return model.encode_task_layer(q)


def decode_vectors(model, zq):
    """SeedTokenizerRef.decode from code vectors instead of ids (the same layers, so gradients reach them)."""
    x = model.decode_task_layer(zq) + model.pos_embed_image
    for blk in model.blocks_image:
        x = blk(x)
    x = model.image_down(x)
    return model.distill_image_proj(x.reshape(x.shape[0], -1))


def train(steps=STEPS):
    setup('3-tokenizer')
    gen = seeded(3)
    images, labels = pool('train')
    _, encoder, _ = train_decoder.load()
    for p in encoder.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        targets = torch.cat([encoder(to_unit(images[i:i + 500])) for i in range(0, len(images), 500)])
    model = S.SeedTokenizerRef(TOKENIZER_CONFIG)
    init_params(model, gen)
    log(f'tokenizer {n_params(model)} params, {steps} steps of {BATCH}')
    queries = [model.query_tokens]
    rest = [p for n, p in model.named_parameters() if n != 'query_tokens']
    opt = torch.optim.AdamW([{'params': rest, 'base_lr': LR}, {'params': queries, 'base_lr': QUERY_LR}],
                            lr=LR, weight_decay=0.0)
    codebook = model.quantize.embedding.weight
    n_codes = codebook.shape[0]
    used = torch.zeros(n_codes, dtype=torch.bool)
    for step in range(steps):
        set_lr(opt, step, steps)
        idx = torch.randint(0, len(images), (BATCH,), generator=gen)
        target, lab = targets[idx], labels[idx]
        z = encode_vectors(model, clip_pixels(images[idx]))
        flat = z.reshape(-1, z.shape[-1])
        if step < WARMUP_NO_VQ:
            zq, vq = z, torch.zeros(())
        else:
            if step == WARMUP_NO_VQ:  # the codebook starts where the encoder's outputs are
                with torch.no_grad():
                    pick = torch.randint(0, flat.shape[0], (n_codes,), generator=gen)
                    codebook.copy_(flat[pick] + 0.01 * torch.randn(codebook.shape, generator=gen))
            dist = (flat * flat).sum(-1, keepdim=True) + (codebook * codebook).sum(-1) - 2 * flat @ codebook.t()
            ids = dist.argmin(-1)
            used[ids] = True
            e = codebook[ids].view_as(z)
            vq = F.mse_loss(e, z.detach()) + 0.25 * F.mse_loss(z, e.detach())
            zq = z + (e - z).detach()  # straight-through
        pred = decode_vectors(model, zq)
        mse = F.mse_loss(pred, target)
        cos = 1 - F.cosine_similarity(pred, target, dim=-1).mean()
        names = encoder.name_loss(pred, lab)
        loss = mse + cos + NAMES_WEIGHT * names + vq
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step > WARMUP_NO_VQ and step % RESET_EVERY == 0:
            dead = (~used).nonzero().flatten()
            if len(dead):
                with torch.no_grad():
                    pick = torch.randint(0, flat.shape[0], (len(dead),), generator=gen)
                    codebook[dead] = flat.detach()[pick] + 0.01 * torch.randn(len(dead), flat.shape[1], generator=gen)
            if step % 500 == 0 or len(dead) > n_codes // 4:
                log(f'step {step}: {n_codes - len(dead)} codes used in the last {RESET_EVERY} steps')
            used.zero_()
        if step % 100 == 0 or step == steps - 1:
            log(f'step {step} loss {loss.item():.4f} mse {mse.item():.4f} cos {1 - cos.item():.4f} '
                f'names {names.item():.4f} vq {vq.item():.4f}')
    model.eval()
    torch.save({'cfg': dict(TOKENIZER_CONFIG), 'state': model.state_dict()}, os.path.join(BUILD, 'tokenizer.pt'))
    codes = encode_codes(model, images)
    torch.save({'codes': codes, 'labels': labels}, os.path.join(BUILD, 'train_codes.pt'))
    distinct = len({tuple(c) for c in codes.tolist()})
    log(f'{len(codes.unique())} of {n_codes} codes used over the pool; {distinct} distinct sequences for '
        f'{len(codes)} images')
    ev_images, ev_labels = pool('eval')
    with torch.no_grad():
        ev_codes = encode_codes(model, ev_images)
        pred = model.decode(ev_codes)
        cos = F.cosine_similarity(pred, encoder(to_unit(ev_images)), dim=-1).mean().item()
    torch.save({'codes': ev_codes, 'labels': ev_labels}, os.path.join(BUILD, 'eval_codes.pt'))
    log(f'held-out embedding cosine (image -> codes -> embedding vs the encoder): {cos:.4f}')
    return cos


@torch.no_grad()
def encode_codes(model, images_u8):
    return torch.cat([model.encode(clip_pixels(images_u8[i:i + 500]))['codes'] for i in range(0, len(images_u8), 500)])


def load():
    ck = torch.load(os.path.join(BUILD, 'tokenizer.pt'))
    model = S.SeedTokenizerRef(ck['cfg'])
    model.load_state_dict(ck['state'])
    return model.eval()


if __name__ == '__main__':
    import sys
    train(int(sys.argv[1]) if len(sys.argv) > 1 else STEPS)
