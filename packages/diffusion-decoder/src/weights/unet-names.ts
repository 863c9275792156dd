/**
 * The UNet2DConditionModel weight table: diffusers' state-dict names (no prefix) with shapes from
 * unet/config.json (reference/unclip-decoder.md §1.2, §2.7), as a tree `loadWeights` turns into
 * {@link UNetWeights}: `w.down[0].resnets[1].conv1.weight`.
 */
import type { Loaded } from '@seed/cuda-kernels';
import type { UNetConfig } from '../config/unet.js';
import { conv, linear, norm, resample, resnet, transformer2d } from './common.js';

/** Channel widths of every block, derived once from the config (used by the table and the forward pass). */
export interface UNetLayout {
  down: { cin: number; cout: number; resnets: number; attention: boolean; downsample: boolean }[];
  /** Up block k: each resnet's input width (h + skip) and output width. */
  up: { resnetIn: number[]; cout: number; attention: boolean; upsample: boolean; heads: number; layers: number }[];
}

export function unetLayout(c: UNetConfig): UNetLayout {
  const C = c.blockOutChannels;
  const n = C.length;
  const down = C.map((cout, i) => ({
    cin: i === 0 ? C[0] : C[i - 1],
    cout,
    resnets: c.layersPerBlock[i],
    attention: c.downBlockTypes[i] === 'CrossAttnDownBlock2D',
    downsample: i < n - 1,
  }));
  const R = [...C].reverse();
  const up: UNetLayout['up'] = [];
  let prevOut = R[0];
  for (let i = 0; i < n; i++) {
    const cout = R[i];
    const inputChannel = R[Math.min(i + 1, n - 1)];
    const count = c.layersPerBlock[n - 1 - i] + 1;
    const resnetIn = Array.from(
      { length: count },
      (_, j) => (j === 0 ? prevOut : cout) + (j === count - 1 ? inputChannel : cout),
    );
    up.push({
      resnetIn,
      cout,
      attention: c.upBlockTypes[i] === 'CrossAttnUpBlock2D',
      upsample: i < n - 1,
      heads: c.heads[n - 1 - i],
      layers: c.transformerLayers[n - 1 - i],
    });
    prevOut = cout;
  }
  return { down, up };
}

export function unetWeightSpecs(c: UNetConfig) {
  const C = c.blockOutChannels;
  const n = C.length;
  const T = c.timeEmbedDim;
  const L = unetLayout(c);
  const tx = (p: string, width: number, layers: number) =>
    transformer2d(p, width, layers, c.crossAttentionDim, c.useLinearProjection);
  return {
    convIn: conv('conv_in', C[0], c.inChannels, 3),
    timeEmbedding: {
      linear1: linear('time_embedding.linear_1', T, C[0]),
      linear2: linear('time_embedding.linear_2', T, T),
    },
    classEmbedding:
      c.classEmbedType === 'projection'
        ? {
            linear1: linear('class_embedding.linear_1', T, c.projectionClassInputDim),
            linear2: linear('class_embedding.linear_2', T, T),
          }
        : undefined,
    down: L.down.map((b, i) => ({
      resnets: Array.from({ length: b.resnets }, (_, j) =>
        resnet(`down_blocks.${i}.resnets.${j}`, j === 0 ? b.cin : b.cout, b.cout, T),
      ),
      attentions: b.attention
        ? Array.from({ length: b.resnets }, (_, j) =>
            tx(`down_blocks.${i}.attentions.${j}`, b.cout, c.transformerLayers[i]),
          )
        : undefined,
      downsample: b.downsample ? resample(`down_blocks.${i}.downsamplers.0`, b.cout) : undefined,
    })),
    mid: {
      resnets: [
        resnet('mid_block.resnets.0', C[n - 1], C[n - 1], T),
        resnet('mid_block.resnets.1', C[n - 1], C[n - 1], T),
      ],
      attention: tx('mid_block.attentions.0', C[n - 1], c.transformerLayers[n - 1]),
    },
    up: L.up.map((b, i) => ({
      resnets: b.resnetIn.map((cin, j) => resnet(`up_blocks.${i}.resnets.${j}`, cin, b.cout, T)),
      attentions: b.attention
        ? b.resnetIn.map((_, j) => tx(`up_blocks.${i}.attentions.${j}`, b.cout, b.layers))
        : undefined,
      upsample: b.upsample ? resample(`up_blocks.${i}.upsamplers.0`, b.cout) : undefined,
    })),
    convNormOut: norm('conv_norm_out', C[0]),
    convOut: conv('conv_out', c.outChannels, C[0], 3),
  };
}

export type UNetWeightSpecs = ReturnType<typeof unetWeightSpecs>;
export type UNetWeights = Loaded<UNetWeightSpecs>;
export type ResnetWeights = UNetWeights['mid']['resnets'][number];
export type Transformer2DWeights = UNetWeights['mid']['attention'];
export type ConvWeights = UNetWeights['convIn'];
export type NormWeights = UNetWeights['convNormOut'];
