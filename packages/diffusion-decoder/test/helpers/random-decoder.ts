/**
 * A random unCLIP decoder folder in diffusers' layout, shaped by config overrides of the tiny golden model
 * (fixtures/tiny-unclip): every tensor the loaders' tables name, seeded values at a scale that keeps
 * activations finite. model_index lists the text encoder and tokenizer as null; the empty prompt's context
 * is shipped as text_context/empty_prompt.safetensors unless `textTokens` is 0. For tests that need another
 * shape than the golden one (the micro model's 32×32 images, the tiny SEED tokenizer's embedding width).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listSpecs, type Tensor, tensor, type WeightTree, writeSafetensors } from '@seed/cuda-kernels';
import { gaussianNoise, parseUNetConfig, parseVaeConfig, unetWeightSpecs, vaeWeightSpecs } from '../../src/index.js';

export const TINY = join(import.meta.dirname, '..', 'fixtures', 'tiny-unclip');

/** The micro model's shape at the tiny model's widths: VAE ×4, UNet ×2 → sides in multiples of 8, default 32. */
export const MICRO_SHAPE = {
  unet: {
    block_out_channels: [8, 16],
    down_block_types: ['CrossAttnDownBlock2D', 'DownBlock2D'],
    up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D'],
    attention_head_dim: [2, 4],
    layers_per_block: 1,
    sample_size: 8,
  },
  vae: {
    block_out_channels: [8, 16, 16],
    down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D'],
    up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D'],
    layers_per_block: 1,
    sample_size: 32,
  },
};

export interface RandomDecoderOptions {
  embeddingDim?: number;
  unet?: Record<string, unknown>;
  vae?: Record<string, unknown>;
  /** Tokens of the stored empty-prompt context (0: none); default 4. */
  textTokens?: number;
  /** Width of the stored context; default the UNet's cross_attention_dim. */
  textWidth?: number;
  seed?: number;
}

const readJson = (...p: string[]) => JSON.parse(readFileSync(join(TINY, ...p), 'utf8')) as Record<string, unknown>;
const writeJson = (path: string, v: unknown) => writeFileSync(path, `${JSON.stringify(v, null, 2)}\n`);

async function writeRandom(path: string, specs: WeightTree, seed: number): Promise<void> {
  const tensors: [string, Tensor][] = [];
  for (const [i, s] of listSpecs(specs).entries()) {
    const shape = s.shape.map(Number);
    const count = shape.reduce((a, b) => a * b, 1);
    const n = gaussianNoise(count, seed, i);
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    const isNormWeight = shape.length === 1 && /norm/.test(s.name) && s.name.endsWith('.weight');
    const values = n.map((v) => (shape.length === 1 ? (isNormWeight ? 1 : 0) + 0.1 * v : v / Math.sqrt(fanIn)));
    tensors.push([s.name, tensor(values, shape)]);
  }
  try {
    await writeSafetensors(path, tensors, { format: 'pt' });
  } finally {
    for (const [, t] of tensors) t.dispose();
  }
}

export async function writeRandomDecoder(dir: string, o: RandomDecoderOptions = {}): Promise<void> {
  const E = o.embeddingDim ?? 32;
  const seed = o.seed ?? 1;
  for (const d of ['unet', 'vae', 'scheduler', 'image_noising_scheduler', 'image_normalizer'])
    mkdirSync(join(dir, d), { recursive: true });
  writeJson(join(dir, 'model_index.json'), {
    ...readJson('model_index.json'),
    text_encoder: [null, null],
    tokenizer: [null, null],
  });
  for (const d of ['scheduler', 'image_noising_scheduler'])
    copyFileSync(join(TINY, d, 'scheduler_config.json'), join(dir, d, 'scheduler_config.json'));
  const unetJson = { ...readJson('unet', 'config.json'), ...o.unet, projection_class_embeddings_input_dim: 2 * E };
  const vaeJson = { ...readJson('vae', 'config.json'), ...o.vae };
  writeJson(join(dir, 'unet', 'config.json'), unetJson);
  writeJson(join(dir, 'vae', 'config.json'), vaeJson);
  writeJson(join(dir, 'image_normalizer', 'config.json'), {
    ...readJson('image_normalizer', 'config.json'),
    embedding_dim: E,
  });
  const unet = parseUNetConfig(unetJson);
  await writeRandom(join(dir, 'unet', 'diffusion_pytorch_model.safetensors'), unetWeightSpecs(unet), seed);
  await writeRandom(
    join(dir, 'vae', 'diffusion_pytorch_model.safetensors'),
    vaeWeightSpecs(parseVaeConfig(vaeJson)),
    seed + 1,
  );
  const mean = tensor(new Float32Array(E), [1, E]);
  const std = tensor(new Float32Array(E).fill(1), [1, E]);
  await writeSafetensors(join(dir, 'image_normalizer', 'diffusion_pytorch_model.safetensors'), { mean, std });
  mean.dispose();
  std.dispose();
  const tokens = o.textTokens ?? 4;
  if (tokens > 0) {
    const D = o.textWidth ?? unet.crossAttentionDim;
    mkdirSync(join(dir, 'text_context'), { recursive: true });
    const ctx = tensor(gaussianNoise(tokens * D, seed + 2), [1, tokens, D]);
    await writeSafetensors(join(dir, 'text_context', 'empty_prompt.safetensors'), { text_context: ctx });
    ctx.dispose();
  }
}
