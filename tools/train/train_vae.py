"""Stage 1: the AutoencoderKL (diffusers structure, unclip_ref's modules): 32×32×3 ↔ 8×8×4 latents.

Loss: L1 + MSE on pixels, an L1 on image gradients (shape fidelity bounds every later accuracy: plain pixel
losses round corners), and a tiny KL so the posterior stays a Gaussian as AutoencoderKL's is. After training
the latent spread sets `scaling_factor` (SD's 0.18215 plays the same role): the UNet sees unit-std latents.
"""
import os

import torch
import torch.nn.functional as F

from common import BUILD, U, VAE_OVERRIDES, checker_accuracy, from_unit, log, n_params, pool, seeded, set_lr, \
    setup, to_unit

STEPS = 1000
BATCH = 64
LR = 2e-3


def vae_config():
    return U.merged(U.FULL_VAE, VAE_OVERRIDES)


def encode_moments(vae, x):
    """Encoder → quant_conv → (mean, logvar), as AutoencoderKL.encode's DiagonalGaussianDistribution."""
    mean, logvar = vae.quant_conv(vae.encoder(x)).chunk(2, dim=1)
    return mean, logvar.clamp(-30.0, 20.0)


def gradients(x):
    return x[..., 1:, :] - x[..., :-1, :], x[..., :, 1:] - x[..., :, :-1]


def train(steps=STEPS):
    setup('1-vae')
    gen = seeded(1)
    images, _ = pool('train')
    vae = U.AutoencoderKL(vae_config())
    log(f'VAE {n_params(vae)} params, {steps} steps of {BATCH}')
    opt = torch.optim.Adam(vae.parameters(), lr=LR)
    for g in opt.param_groups:
        g['base_lr'] = LR
    for step in range(steps):
        set_lr(opt, step, steps)
        idx = torch.randint(0, len(images), (BATCH,), generator=gen)
        x = to_unit(images[idx])
        mean, logvar = encode_moments(vae, x)
        z = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=gen)
        y = vae.decoder(vae.post_quant_conv(z))
        (gy, gx), (ty, tx) = gradients(y), gradients(x)
        rec = (y - x).abs().mean() + F.mse_loss(y, x)
        edge = (gy - ty).abs().mean() + (gx - tx).abs().mean()
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).mean()
        loss = rec + 0.5 * edge + 1e-6 * kl
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            log(f'step {step} loss {loss.item():.4f} rec {rec.item():.4f} edge {edge.item():.4f} kl {kl.item():.2f}')
    vae.eval()
    with torch.no_grad():
        means = torch.cat([encode_moments(vae, to_unit(images[i:i + 500]))[0] for i in range(0, 5000, 500)])
        std = means.std().item()
    vae.cfg['scaling_factor'] = round(1.0 / std, 5)
    log(f'latent std {std:.4f} -> scaling_factor {vae.cfg["scaling_factor"]}')
    ev_images, ev_labels = pool('eval')
    with torch.no_grad():
        lat = encode_moments(vae, to_unit(ev_images))[0] * vae.cfg['scaling_factor']
        rt = from_unit(vae.decode_latents(lat))
    acc = checker_accuracy(rt, ev_labels)
    log(f'VAE round trip on {len(ev_labels)} held-out scenes: {acc}')
    torch.save({'cfg': dict(vae.cfg), 'state': vae.state_dict(), 'eval': acc}, os.path.join(BUILD, 'vae.pt'))
    return acc


def load():
    ck = torch.load(os.path.join(BUILD, 'vae.pt'))
    vae = U.AutoencoderKL(U.merged(U.FULL_VAE, ck['cfg']))
    vae.load_state_dict(ck['state'])
    return vae.eval(), ck


if __name__ == '__main__':
    import sys
    train(int(sys.argv[1]) if len(sys.argv) > 1 else STEPS)
