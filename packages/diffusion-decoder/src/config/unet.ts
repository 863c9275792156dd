/**
 * `unet/config.json` (diffusers UNet2DConditionModel) → {@link UNetConfig}. Defaults are diffusers'
 * constructor defaults; the SD-2.1-unCLIP values are in reference/unclip-decoder.md §1.3.
 *
 * Naming quirk: `attention_head_dim` is, for this model family, the NUMBER OF HEADS per block (diffusers
 * passes it on as `num_attention_heads` when that field is absent), so head size = channels / it
 * (SD-2.1: [5, 10, 20, 20] → 64 everywhere). `num_attention_heads` itself is refused by diffusers' UNet
 * and here too.
 */
import { ConfigFields, type Json } from './fields.js';

export type DownBlockType = 'CrossAttnDownBlock2D' | 'DownBlock2D';
export type UpBlockType = 'CrossAttnUpBlock2D' | 'UpBlock2D';

export interface UNetConfig {
  inChannels: number;
  outChannels: number;
  /** Latent side the model was trained at (96 for 768×768), or undefined. */
  sampleSize: number | undefined;
  /** C per level, e.g. [320, 640, 1280, 1280]. */
  blockOutChannels: number[];
  downBlockTypes: DownBlockType[];
  upBlockTypes: UpBlockType[];
  /** Resnets per down block (per level); up blocks have one more. */
  layersPerBlock: number[];
  /** Attention heads per level (from the legacy `attention_head_dim`); head dim = C / heads. */
  heads: number[];
  /** BasicTransformerBlocks per Transformer2D, per level. */
  transformerLayers: number[];
  /** Width of the text context (1024). */
  crossAttentionDim: number;
  /** Transformer2D proj_in/proj_out as Linear (true) or as 1×1 Conv (false: weights [C, C, 1, 1]). */
  useLinearProjection: boolean;
  /** "projection": class_labels [B, projectionClassInputDim] → TimestepEmbedding, added to temb. */
  classEmbedType: 'projection' | undefined;
  projectionClassInputDim: number;
  normNumGroups: number;
  /** ResnetBlock2D and conv_norm_out GroupNorm eps (Transformer2D's own GroupNorm uses 1e-6). */
  normEps: number;
  flipSinToCos: boolean;
  freqShift: number;
  /** Width of temb: block_out_channels[0] · 4 unless time_embedding_dim says otherwise. */
  timeEmbedDim: number;
  /** Resnets of the mid block divide their output by this (1). */
  midBlockScaleFactor: number;
  /** Upstream flag; attention here always accumulates and softmaxes in f32, so it changes nothing. */
  upcastAttention: boolean;
}

const DOWN: readonly DownBlockType[] = ['CrossAttnDownBlock2D', 'DownBlock2D'];
const UP: readonly UpBlockType[] = ['CrossAttnUpBlock2D', 'UpBlock2D'];

export function parseUNetConfig(json: Json, notes: string[] = [], what = 'unet/config.json'): UNetConfig {
  const f = new ConfigFields(json, what, notes);
  const blockOutChannels = f.intList('block_out_channels', [320, 640, 1280, 1280]);
  const n = blockOutChannels.length;
  const downBlockTypes = f.stringList('down_block_types', [DOWN[0], DOWN[0], DOWN[0], DOWN[1]], DOWN);
  const upBlockTypes = f.stringList('up_block_types', [UP[1], UP[0], UP[0], UP[0]], UP);
  if (downBlockTypes.length !== n)
    f.fail('down_block_types', `has ${downBlockTypes.length} entries but block_out_channels has ${n}`);
  if (upBlockTypes.length !== n)
    f.fail('up_block_types', `has ${upBlockTypes.length} entries but block_out_channels has ${n}`);
  f.oneOf('mid_block_type', 'UNetMidBlock2DCrossAttn', ['UNetMidBlock2DCrossAttn']);
  f.absent(
    'num_attention_heads',
    '(diffusers refuses it for UNet2DConditionModel; heads come from attention_head_dim)',
  );
  const heads = f.intOrList('attention_head_dim', 8, n);
  const layersPerBlock = f.intOrList('layers_per_block', 2, n);
  const transformerLayers = f.intOrList('transformer_layers_per_block', 1, n);
  const normNumGroups = f.int('norm_num_groups', 32, 1);
  for (const [i, c] of blockOutChannels.entries()) {
    if (c % normNumGroups !== 0)
      f.fail('block_out_channels', `[${i}] = ${c} is not divisible by norm_num_groups ${normNumGroups}`);
    const hasAttention =
      downBlockTypes[i] === 'CrossAttnDownBlock2D' || upBlockTypes[n - 1 - i] === 'CrossAttnUpBlock2D';
    if ((hasAttention || i === n - 1) && c % heads[i] !== 0)
      f.fail(
        'attention_head_dim',
        `[${i}] = ${heads[i]} heads (legacy meaning: the number of heads) does not divide block_out_channels[${i}] = ${c}`,
      );
  }
  const classEmbedType = f.optional('class_embed_type', () =>
    f.oneOf<'projection'>('class_embed_type', 'projection', ['projection']),
  );
  const projectionInput = f.optional('projection_class_embeddings_input_dim', () =>
    f.int('projection_class_embeddings_input_dim', 0, 1),
  );
  if (classEmbedType === 'projection' && projectionInput === undefined)
    f.fail('projection_class_embeddings_input_dim', 'is required when class_embed_type is "projection"');
  const projectionClassInputDim = classEmbedType === 'projection' ? (projectionInput as number) : 0;
  const timeEmbedDim =
    f.optional('time_embedding_dim', () => f.int('time_embedding_dim', 0, 1)) ?? blockOutChannels[0] * 4;
  const freqShift = f.num('freq_shift', 0);
  const cfg: UNetConfig = {
    inChannels: f.int('in_channels', 4, 1),
    outChannels: f.int('out_channels', 4, 1),
    sampleSize: f.optional('sample_size', () => f.int('sample_size', 0, 1)),
    blockOutChannels,
    downBlockTypes,
    upBlockTypes,
    layersPerBlock,
    heads,
    transformerLayers,
    crossAttentionDim: f.int('cross_attention_dim', 1280, 1),
    useLinearProjection: f.bool('use_linear_projection', false),
    classEmbedType,
    projectionClassInputDim,
    normNumGroups,
    normEps: f.num('norm_eps', 1e-5, (v) => v > 0, 'a positive number'),
    flipSinToCos: f.bool('flip_sin_to_cos', true),
    freqShift,
    timeEmbedDim,
    midBlockScaleFactor: f.num('mid_block_scale_factor', 1, (v) => v > 0, 'a positive number'),
    upcastAttention: f.bool('upcast_attention', false),
  };
  // Variants diffusers knows that this package does not run: refused by name rather than run wrongly.
  f.fixed('act_fn', 'silu');
  f.fixed('center_input_sample', false);
  f.fixed('downsample_padding', 1);
  f.fixed('only_cross_attention', false);
  f.fixed('mid_block_only_cross_attention', false);
  f.fixed('dual_cross_attention', false);
  f.fixed('resnet_time_scale_shift', 'default');
  f.fixed('resnet_skip_time_act', false);
  f.fixed('resnet_out_scale_factor', 1);
  f.fixed('time_embedding_type', 'positional');
  f.fixed('conv_in_kernel', 3);
  f.fixed('conv_out_kernel', 3);
  f.fixed('class_embeddings_concat', false);
  f.fixed('attention_type', 'default');
  f.fixed('reverse_transformer_layers_per_block', null);
  for (const k of [
    'time_embedding_act_fn',
    'timestep_post_act',
    'time_cond_proj_dim',
    'encoder_hid_dim',
    'encoder_hid_dim_type',
    'addition_embed_type',
    'addition_time_embed_dim',
    'num_class_embeds',
    'cross_attention_norm',
  ])
    f.absent(k);
  f.accept('dropout', 'addition_embed_type_num_heads');
  f.finish();
  return cfg;
}

/** Head size of level i's attention (64 for SD-2.1 everywhere). */
export const headDim = (c: UNetConfig, level: number): number => c.blockOutChannels[level] / c.heads[level];
