/**
 * Declarations shared by the UNet and VAE tables: a checkpoint tensor under its diffusers name with its
 * shape from the config. Conv kernels [Cout, Cin, kh, kw] stay 4-D (conv2d takes them as stored) and take
 * the load precision like linear weights ('matrix'); norms and biases load as f32.
 */
import { type Tensor, type WeightSpec, weight } from '@seed/cuda-kernels';

/** `${p}.weight` [out, in, k, k] + `${p}.bias` [out]. */
export const conv = (p: string, out: number, inp: number, k: number) => ({
  weight: weight(`${p}.weight`, [out, inp, k, k], { precision: 'matrix' }), // [Cout, Cin, k, k]
  bias: weight(`${p}.bias`, [out], { precision: 'f32' }),
});

/** `${p}.weight` [out, in] (+ `${p}.bias` [out]); `aliases`: the same tensors under older names. */
export const linear = (p: string, out: number, inp: number, bias = true, aliases: string[] = []) => ({
  weight: weight(`${p}.weight`, [out, inp], { precision: 'matrix', aliases: aliases.map((a) => `${a}.weight`) }), // [N, K]
  bias: bias ? weight(`${p}.bias`, [out], { precision: 'f32', aliases: aliases.map((a) => `${a}.bias`) }) : undefined,
});

/** A GroupNorm or LayerNorm: `${p}.weight`, `${p}.bias`, both [C]. */
export const norm = (p: string, c: number, aliases: string[] = []) => ({
  weight: weight(`${p}.weight`, [c], { precision: 'f32', aliases: aliases.map((a) => `${a}.weight`) }),
  bias: weight(`${p}.bias`, [c], { precision: 'f32', aliases: aliases.map((a) => `${a}.bias`) }),
});

/** A 1×1 Conv2d stored [out, in, 1, 1], loaded as the equivalent linear weight [out, in]. */
export const conv1x1AsLinear = (p: string, out: number, inp: number) => ({
  weight: weight(`${p}.weight`, [out, inp, 1, 1], {
    precision: 'matrix',
    transform: (t: Tensor) => t.reshape([out, inp]),
  }) as WeightSpec, // loaded [out, in]
  bias: weight(`${p}.bias`, [out], { precision: 'f32' }) as WeightSpec | undefined,
});

/**
 * ResnetBlock2D (diffusers resnet.py): norm1, conv1, time_emb_proj (only with a time embedding of width
 * `temb`), norm2, conv2, and a 1×1 conv_shortcut when the width changes.
 */
export function resnet(p: string, cin: number, cout: number, temb: number | undefined) {
  return {
    norm1: norm(`${p}.norm1`, cin),
    conv1: conv(`${p}.conv1`, cout, cin, 3),
    timeEmbProj: temb === undefined ? undefined : linear(`${p}.time_emb_proj`, cout, temb),
    norm2: norm(`${p}.norm2`, cout),
    conv2: conv(`${p}.conv2`, cout, cout, 3),
    convShortcut: cin === cout ? undefined : conv(`${p}.conv_shortcut`, cout, cin, 1),
  };
}

/** Diffusers Attention: to_q/to_k/to_v (bias or not), to_out.0 with bias. */
export function attention(p: string, c: number, kvWidth: number, qkvBias: boolean) {
  return {
    toQ: linear(`${p}.to_q`, c, c, qkvBias),
    toK: linear(`${p}.to_k`, c, kvWidth, qkvBias),
    toV: linear(`${p}.to_v`, c, kvWidth, qkvBias),
    toOut: linear(`${p}.to_out.0`, c, c),
  };
}

/**
 * Transformer2DModel (continuous input): GroupNorm `norm`, proj_in, `layers` BasicTransformerBlocks
 * (self-attention, cross-attention to a context of width `crossDim`, GEGLU feed-forward of inner 4C),
 * proj_out. Projections are Linear [C, C] or, in older configs, 1×1 convs loaded as the same [C, C].
 */
export function transformer2d(p: string, c: number, layers: number, crossDim: number, linearProjection: boolean) {
  const proj = (name: string) =>
    linearProjection ? linear(`${p}.${name}`, c, c) : conv1x1AsLinear(`${p}.${name}`, c, c);
  return {
    norm: norm(`${p}.norm`, c),
    projIn: proj('proj_in'),
    blocks: Array.from({ length: layers }, (_, k) => {
      const b = `${p}.transformer_blocks.${k}`;
      return {
        norm1: norm(`${b}.norm1`, c),
        attn1: attention(`${b}.attn1`, c, c, false),
        norm2: norm(`${b}.norm2`, c),
        attn2: attention(`${b}.attn2`, c, crossDim, false),
        norm3: norm(`${b}.norm3`, c),
        ffIn: linear(`${b}.ff.net.0.proj`, 8 * c, c), // GEGLU: [a | gate], 2 × inner 4C
        ffOut: linear(`${b}.ff.net.2`, c, 4 * c),
      };
    }),
    projOut: proj('proj_out'),
  };
}

/** Upsample2D / Downsample2D: one 3×3 conv C → C named `${p}.conv`. */
export const resample = (p: string, c: number) => ({ conv: conv(`${p}.conv`, c, c, 3) });
