/**
 * The AutoencoderKL decoder's weight table (post_quant_conv + decoder.*), shapes from vae/config.json
 * (reference/unclip-decoder.md §2.8). The mid attention is read under diffusers' current names
 * (group_norm, to_q, to_k, to_v, to_out.0) or the names older files were written with (query, key, value,
 * proj_attn). The encoder half of the file (encoder.*, quant_conv.*) is not used.
 */
import type { Loaded } from '@seed/cuda-kernels';
import type { VaeConfig } from '../config/vae.js';
import { conv, linear, norm, resample, resnet } from './common.js';

/** Tensors of the file the decoder never reads. */
export const VAE_UNUSED = [/^encoder\./, /^quant_conv\./];

/** Decoder up block i: its resnets' (in, out) widths and whether it upsamples. */
export function vaeDecoderLayout(c: VaeConfig) {
  const R = [...c.blockOutChannels].reverse();
  let prev = R[0];
  return R.map((cout, i) => {
    const resnets = Array.from({ length: c.layersPerBlock + 1 }, (_, j) => ({ cin: j === 0 ? prev : cout, cout }));
    prev = cout;
    return { resnets, upsample: i < R.length - 1 };
  });
}

export function vaeWeightSpecs(c: VaeConfig) {
  const C = c.blockOutChannels;
  const top = C[C.length - 1];
  const L = c.latentChannels;
  const a = 'decoder.mid_block.attentions.0';
  return {
    postQuantConv: c.usePostQuantConv ? conv('post_quant_conv', L, L, 1) : undefined,
    convIn: conv('decoder.conv_in', top, L, 3),
    mid: {
      resnets: [
        resnet('decoder.mid_block.resnets.0', top, top, undefined),
        resnet('decoder.mid_block.resnets.1', top, top, undefined),
      ],
      attention: c.midBlockAttention
        ? {
            groupNorm: norm(`${a}.group_norm`, top),
            toQ: linear(`${a}.to_q`, top, top, true, [`${a}.query`]),
            toK: linear(`${a}.to_k`, top, top, true, [`${a}.key`]),
            toV: linear(`${a}.to_v`, top, top, true, [`${a}.value`]),
            toOut: linear(`${a}.to_out.0`, top, top, true, [`${a}.proj_attn`]),
          }
        : undefined,
    },
    up: vaeDecoderLayout(c).map((b, i) => ({
      resnets: b.resnets.map((r, j) => resnet(`decoder.up_blocks.${i}.resnets.${j}`, r.cin, r.cout, undefined)),
      upsample: b.upsample ? resample(`decoder.up_blocks.${i}.upsamplers.0`, b.resnets[0].cout) : undefined,
    })),
    convNormOut: norm('decoder.conv_norm_out', C[0]),
    convOut: conv('decoder.conv_out', c.outChannels, C[0], 3),
  };
}

export type VaeWeightSpecs = ReturnType<typeof vaeWeightSpecs>;
export type VaeWeights = Loaded<VaeWeightSpecs>;
export type VaeAttentionWeights = NonNullable<VaeWeights['mid']['attention']>;
