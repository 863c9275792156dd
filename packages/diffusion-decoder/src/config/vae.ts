/**
 * `vae/config.json` (diffusers AutoencoderKL) → {@link VaeConfig}. Only the decoder side is used: latents /
 * scaling_factor (+ shift_factor) → post_quant_conv → decoder. Defaults are diffusers' constructor defaults.
 */
import { ConfigFields, type Json } from './fields.js';

export interface VaeConfig {
  /** Image channels out of the decoder (3). */
  outChannels: number;
  latentChannels: number;
  /** Encoder order, e.g. [128, 256, 512, 512]; the decoder walks it reversed. */
  blockOutChannels: number[];
  /** Encoder resnets per block; decoder up blocks have one more. */
  layersPerBlock: number;
  normNumGroups: number;
  /** Latents are divided by this before decoding (0.18215 for SD). */
  scalingFactor: number;
  /** Added after the division (SD3/Flux VAEs; 0 here). */
  shiftFactor: number;
  /** Image side the VAE was trained at, or undefined. */
  sampleSize: number | undefined;
  /** Whether post_quant_conv exists (true for SD). */
  usePostQuantConv: boolean;
  /** Whether the decoder's mid block has its attention (true for SD). */
  midBlockAttention: boolean;
}

/** The decoder's GroupNorm eps (fixed in diffusers' Decoder, not a config field). */
export const VAE_NORM_EPS = 1e-6;

export function parseVaeConfig(json: Json, notes: string[] = [], what = 'vae/config.json'): VaeConfig {
  const f = new ConfigFields(json, what, notes);
  const blockOutChannels = f.intList('block_out_channels', [64]);
  f.stringList('down_block_types', ['DownEncoderBlock2D'], ['DownEncoderBlock2D']);
  const up = f.stringList('up_block_types', ['UpDecoderBlock2D'], ['UpDecoderBlock2D']);
  if (up.length !== blockOutChannels.length)
    f.fail('up_block_types', `has ${up.length} entries but block_out_channels has ${blockOutChannels.length}`);
  const normNumGroups = f.int('norm_num_groups', 32, 1);
  for (const [i, c] of blockOutChannels.entries())
    if (c % normNumGroups !== 0)
      f.fail('block_out_channels', `[${i}] = ${c} is not divisible by norm_num_groups ${normNumGroups}`);
  f.fixed('act_fn', 'silu');
  f.accept('in_channels', 'force_upcast', 'use_quant_conv', 'latents_mean', 'latents_std');
  const cfg: VaeConfig = {
    outChannels: f.int('out_channels', 3, 1),
    latentChannels: f.int('latent_channels', 4, 1),
    blockOutChannels,
    layersPerBlock: f.int('layers_per_block', 1, 1),
    normNumGroups,
    scalingFactor: f.num('scaling_factor', 0.18215, (v) => v > 0, 'a positive number'),
    shiftFactor: f.optional('shift_factor', () => f.num('shift_factor', 0)) ?? 0,
    sampleSize: f.optional('sample_size', () => f.int('sample_size', 0, 1)),
    usePostQuantConv: f.bool('use_post_quant_conv', true),
    midBlockAttention: f.bool('mid_block_add_attention', true),
  };
  f.finish();
  return cfg;
}
