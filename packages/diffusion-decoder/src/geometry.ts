/**
 * Image sizes from the configs: the VAE decoder doubles the side once per up block but the last, and the UNet
 * halves it once per down block but the last, so an image side must be a multiple of
 *   vaeScale · unetScale = 2^(VAE blocks − 1) · 2^(UNet levels − 1)
 * (8 · 8 = 64 for SD-2.1-unCLIP; 4 · 2 = 8 for the bundled micro model). The default side is the UNet's
 * sample_size in latents times the VAE's scale (96 · 8 = 768), else the VAE's sample_size.
 */
import type { UNetConfig } from './config/unet.js';
import type { VaeConfig } from './config/vae.js';

export interface ImageGeometry {
  /** Pixels per latent (8 for SD). */
  vaeScale: number;
  /** Every width and height is a multiple of this (64 for SD-2.1). */
  multiple: number;
  /** The side the model was trained at (768 for SD-2.1-unCLIP). */
  defaultSize: number;
}

export function imageGeometry(c: { unet: UNetConfig; vae: VaeConfig }): ImageGeometry {
  const vaeScale = 2 ** (c.vae.blockOutChannels.length - 1);
  const multiple = vaeScale * 2 ** (c.unet.blockOutChannels.length - 1);
  const fromUnet = c.unet.sampleSize !== undefined ? c.unet.sampleSize * vaeScale : undefined;
  const side = fromUnet ?? c.vae.sampleSize ?? 96 * vaeScale;
  // A config whose sample size is not itself allowed gets the nearest allowed side above it.
  const defaultSize = Math.max(multiple, Math.ceil(side / multiple) * multiple);
  return { vaeScale, multiple, defaultSize };
}

/** An Error naming the field when a width or height is not a positive multiple of `multiple`. */
export function checkImageSize(g: ImageGeometry, width: number, height: number): void {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const)
    if (!Number.isInteger(v) || v < g.multiple || v % g.multiple !== 0)
      throw new Error(
        `${name} must be a positive multiple of ${g.multiple} for this model (VAE ×${g.vaeScale}, UNet ×${g.multiple / g.vaeScale}), got ${v}`,
      );
}
