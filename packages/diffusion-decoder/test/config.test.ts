import { InMemoryWeights, listSpecs, loadWeights } from '@seed/cuda-kernels';
import { describe, expect, it } from 'vitest';
import {
  headDim,
  parseClipTextConfig,
  parseModelIndex,
  parseUNetConfig,
  parseVaeConfig,
  unetLayout,
  unetWeightSpecs,
} from '../src/index.js';

/** unet/config.json of SD-2.1-unCLIP as reference §1.3 gives it. */
const SD21_UNCLIP_UNET = {
  _class_name: 'UNet2DConditionModel',
  _diffusers_version: '0.15.0.dev0',
  act_fn: 'silu',
  attention_head_dim: [5, 10, 20, 20],
  block_out_channels: [320, 640, 1280, 1280],
  center_input_sample: false,
  class_embed_type: 'projection',
  cross_attention_dim: 1024,
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  downsample_padding: 1,
  dual_cross_attention: false,
  flip_sin_to_cos: true,
  freq_shift: 0,
  in_channels: 4,
  layers_per_block: 2,
  mid_block_scale_factor: 1,
  mid_block_type: 'UNetMidBlock2DCrossAttn',
  norm_eps: 1e-5,
  norm_num_groups: 32,
  num_class_embeds: null,
  only_cross_attention: false,
  out_channels: 4,
  projection_class_embeddings_input_dim: 2048,
  resnet_time_scale_shift: 'default',
  sample_size: 96,
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  upcast_attention: false,
  use_linear_projection: true,
};

describe('unet/config.json', () => {
  it('SD-2.1-unCLIP: attention_head_dim is the number of heads → head dim 64 everywhere; temb 1280', () => {
    const c = parseUNetConfig(SD21_UNCLIP_UNET);
    expect(c.heads).toEqual([5, 10, 20, 20]);
    expect([0, 1, 2, 3].map((i) => headDim(c, i))).toEqual([64, 64, 64, 64]);
    expect(c.timeEmbedDim).toBe(1280);
    expect(c.classEmbedType).toBe('projection');
    expect(c.projectionClassInputDim).toBe(2048);
    expect(c.layersPerBlock).toEqual([2, 2, 2, 2]);
    expect(c.transformerLayers).toEqual([1, 1, 1, 1]);
  });

  it('up-block resnet widths (h + skip) are those of reference §2.7', () => {
    const L = unetLayout(parseUNetConfig(SD21_UNCLIP_UNET));
    expect(L.up.map((b) => b.resnetIn)).toEqual([
      [2560, 2560, 2560],
      [2560, 2560, 1920],
      [1920, 1280, 960],
      [960, 640, 640],
    ]);
    expect(L.up.map((b) => b.heads)).toEqual([20, 20, 10, 5]);
  });

  it('diffusers defaults for absent fields; unknown fields noted, not fatal', () => {
    const notes: string[] = [];
    const c = parseUNetConfig({ something_new: 1 }, notes);
    expect(c.blockOutChannels).toEqual([320, 640, 1280, 1280]);
    expect(c.heads).toEqual([8, 8, 8, 8]);
    expect(c.crossAttentionDim).toBe(1280);
    expect(c.useLinearProjection).toBe(false);
    expect(c.classEmbedType).toBeUndefined();
    expect(notes).toEqual(["unet/config.json: ignored unknown field 'something_new'"]);
  });

  it('impossible or unsupported values are Errors naming the field', () => {
    const bad = (patch: Record<string, unknown>) => () => parseUNetConfig({ ...SD21_UNCLIP_UNET, ...patch });
    expect(bad({ attention_head_dim: [6, 10, 20, 20] })).toThrow(
      /attention_head_dim \[0\] = 6 heads \(legacy meaning: the number of heads\) does not divide block_out_channels\[0\] = 320/,
    );
    expect(bad({ attention_head_dim: [5, 10] })).toThrow(/attention_head_dim must have 4 entries/);
    expect(bad({ norm_num_groups: 48 })).toThrow(
      /block_out_channels \[0\] = 320 is not divisible by norm_num_groups 48/,
    );
    expect(bad({ resnet_time_scale_shift: 'scale_shift' })).toThrow(
      /resnet_time_scale_shift "scale_shift" is not supported/,
    );
    expect(bad({ class_embed_type: 'timestep' })).toThrow(/class_embed_type "timestep" is not supported/);
    expect(bad({ projection_class_embeddings_input_dim: null })).toThrow(
      /projection_class_embeddings_input_dim is required/,
    );
    expect(bad({ num_attention_heads: 8 })).toThrow(/num_attention_heads/);
    expect(bad({ down_block_types: ['DownBlock2D'] })).toThrow(/down_block_types has 1 entries/);
    expect(bad({ layers_per_block: 0 })).toThrow(/layers_per_block must hold integers ≥ 1/);
  });
});

describe('other configs', () => {
  it('vae: SD defaults (scaling 0.18215); text encoder: heads must divide hidden_size', () => {
    const v = parseVaeConfig({
      block_out_channels: [128, 256, 512, 512],
      up_block_types: new Array(4).fill('UpDecoderBlock2D'),
      down_block_types: new Array(4).fill('DownEncoderBlock2D'),
      layers_per_block: 2,
    });
    expect(v.scalingFactor).toBe(0.18215);
    expect(v.latentChannels).toBe(4);
    expect(() => parseVaeConfig({ scaling_factor: -1 })).toThrow(
      /vae\/config.json: scaling_factor must be a positive number/,
    );
    const t = parseClipTextConfig({
      hidden_size: 1024,
      num_attention_heads: 16,
      num_hidden_layers: 23,
      hidden_act: 'gelu',
    });
    expect([t.numLayers, t.hiddenAct, t.hiddenSize / t.numHeads]).toEqual([23, 'gelu', 64]);
    expect(() => parseClipTextConfig({ hidden_size: 1024, num_attention_heads: 15 })).toThrow(
      /num_attention_heads 15 does not divide hidden_size 1024/,
    );
    expect(() => parseClipTextConfig({ hidden_act: 'relu' })).toThrow(/hidden_act "relu" is not supported/);
  });

  it('model_index.json: image_encoder / feature_extractor noted as not loaded; text side may be null', () => {
    const notes: string[] = [];
    const base = {
      _class_name: 'StableUnCLIPImg2ImgPipeline',
      feature_extractor: ['transformers', 'CLIPImageProcessor'],
      image_encoder: ['transformers', 'CLIPVisionModelWithProjection'],
      image_noising_scheduler: ['diffusers', 'DDPMScheduler'],
      image_normalizer: ['stable_diffusion', 'StableUnCLIPImageNormalizer'],
      scheduler: ['diffusers', 'PNDMScheduler'],
      text_encoder: [null, null],
      tokenizer: [null, null],
      unet: ['diffusers', 'UNet2DConditionModel'],
      vae: ['diffusers', 'AutoencoderKL'],
    };
    const m = parseModelIndex(base, notes);
    expect(m.components.text_encoder).toBeNull();
    expect(notes.filter((n) => n.includes('is not loaded'))).toHaveLength(2);
    expect(() => parseModelIndex({ ...base, unet: [null, null] })).toThrow(/model_index.json: unet is null/);
  });
});

describe('weight tables at full size', () => {
  it('SD-2.1-unCLIP UNet: 686 tensors of an SD UNet + 4 of class_embedding, shapes from the config', () => {
    const specs = listSpecs(unetWeightSpecs(parseUNetConfig(SD21_UNCLIP_UNET)));
    expect(specs).toHaveLength(690);
    const shape = (n: string) => specs.find((s) => s.name === n)?.shape;
    expect(shape('class_embedding.linear_1.weight')).toEqual([1280, 2048]);
    expect(shape('down_blocks.1.resnets.0.conv_shortcut.weight')).toEqual([640, 320, 1, 1]);
    expect(shape('up_blocks.2.resnets.2.conv1.weight')).toEqual([640, 960, 3, 3]);
    expect(shape('up_blocks.3.attentions.2.transformer_blocks.0.ff.net.0.proj.weight')).toEqual([2560, 320]);
    expect(shape('mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight')).toEqual([1280, 1024]);
    expect(shape('down_blocks.0.attentions.0.proj_in.weight')).toEqual([320, 320]); // use_linear_projection
    expect(shape('down_blocks.3.attentions.0.norm.weight')).toBeUndefined(); // DownBlock2D has none
  });

  it('missing and misshapen tensors are one Error from the loader, listing them', async () => {
    const tiny = parseUNetConfig({
      ...SD21_UNCLIP_UNET,
      block_out_channels: [8, 8, 16, 16],
      attention_head_dim: [2, 2, 4, 4],
      norm_num_groups: 4,
      cross_attention_dim: 8,
      projection_class_embeddings_input_dim: 16,
    });
    const specs = unetWeightSpecs(tiny);
    const entries = listSpecs(specs)
      .filter((s) => s.name !== 'conv_in.bias')
      .map(
        (s) =>
          [
            s.name,
            {
              shape: s.name === 'conv_out.weight' ? [4, 8, 1, 1] : [...s.shape],
              data: new Float32Array(s.name === 'conv_out.weight' ? 32 : s.shape.reduce((a, b) => a * b, 1)),
            },
          ] as const,
      );
    await expect(
      loadWeights({
        specs,
        files: new InMemoryWeights(entries),
        what: 'the UNet',
        source: 'tiny',
        unexpected: 'error',
      }),
    ).rejects.toThrow(/missing: conv_in.bias \| misshapen: conv_out.weight is \[4, 8, 1, 1\], expected \[4, 8, 3, 3\]/);
  });
});
