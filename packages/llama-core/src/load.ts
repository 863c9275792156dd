/**
 * Loads a SEED-LLaMA (or any HF LLaMA) model directory as published: config.json, generation_config.json,
 * weights as safetensors (single or sharded) or PyTorch .bin (single or sharded), and the tokenizer files.
 * The weight table is checked before anything is allocated: missing, unexpected and misshapen tensors are
 * listed in one error, and a model that does not fit the device's memory is refused up front.
 */
import { existsSync, readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import {
  type Device,
  FILE_DTYPE_SIZE,
  openWeights,
  ops,
  requireDevice,
  runtimeInfo,
  synchronize,
  type Tensor,
} from '@seed/cuda-kernels';
import { type ChatTemplateName, chatTemplateFor } from './chat-template.js';
import { type LlamaConfig, parseLlamaConfig } from './config.js';
import { KvCache } from './kv-cache.js';
import { LlamaModel } from './model.js';
import { LlamaTokenizer } from './tokenizer/llama-tokenizer.js';
import { IGNORED_WEIGHTS, llamaWeightSpecs } from './weights/hf-llama-names.js';

/** Weight precision: as stored in the files, a float dtype, or int8 (per-row scales, quantized at load). */
export type WeightDType = 'auto' | 'f32' | 'f16' | 'bf16' | 'int8';

export interface LoadLlamaOptions {
  /** Default 'auto' (as stored). */
  dtype?: WeightDType;
  /** Default 'cpu'. */
  device?: Device | string;
  /** Called after each tensor is loaded. */
  onProgress?: (loaded: number, total: number, name: string) => void;
}

export interface LoadedLlama {
  config: LlamaConfig;
  model: LlamaModel;
  tokenizer: LlamaTokenizer;
  /** generation_config.json as published (informational; SEED's scripts override it). */
  generationConfig: Record<string, unknown>;
  chatTemplate: ChatTemplateName;
  dispose(): void;
}

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;

export async function loadLlama(dir: string, options: LoadLlamaOptions = {}): Promise<LoadedLlama> {
  const device = requireDevice(options.device ?? 'cpu');
  const dtype = options.dtype ?? 'auto';
  if (!['auto', 'f32', 'f16', 'bf16', 'int8'].includes(dtype))
    throw new Error(`unknown weight dtype '${dtype}' (expected auto, f32, f16, bf16 or int8)`);
  if (!existsSync(join(dir, 'config.json'))) throw new Error(`${dir}: no config.json (not a model directory)`);
  const config = parseLlamaConfig(readJson(join(dir, 'config.json')));
  const generationConfig = existsSync(join(dir, 'generation_config.json'))
    ? readJson(join(dir, 'generation_config.json'))
    : {};
  const tokenizer = LlamaTokenizer.fromDirectory(dir);
  if (tokenizer.vocabSize !== config.vocabSize)
    throw new Error(
      `the tokenizer has ${tokenizer.vocabSize} tokens but config.json says vocab_size ${config.vocabSize}`,
    );

  // ---- check the weight table against the files ----
  const file = openWeights(dir);
  try {
    const specs = llamaWeightSpecs(config);
    const expected = new Map(specs.map((s) => [s.name, s]));
    const missing = specs.filter((s) => !file.has(s.name)).map((s) => s.name);
    const unexpected = file.tensors
      .filter((t) => !expected.has(t.name) && !IGNORED_WEIGHTS.some((re) => re.test(t.name)))
      .map((t) => t.name);
    const misshapen = specs
      .filter((s) => file.has(s.name) && file.info(s.name).shape.join('x') !== s.shape.join('x'))
      .map((s) => `${s.name} is [${file.info(s.name).shape.join(', ')}], expected [${s.shape.join(', ')}]`);
    const problems = [
      missing.length
        ? `missing: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ` (+${missing.length - 8} more)` : ''}`
        : '',
      unexpected.length
        ? `unexpected: ${unexpected.slice(0, 8).join(', ')}${unexpected.length > 8 ? ` (+${unexpected.length - 8} more)` : ''}`
        : '',
      misshapen.length ? `misshapen: ${misshapen.slice(0, 8).join('; ')}` : '',
    ].filter(Boolean);
    if (problems.length) throw new Error(`${dir}: the weights do not match config.json — ${problems.join(' | ')}`);

    // ---- will it fit? (weights at the chosen precision + a full-context KV cache) ----
    let need = KvCache.bytes(config);
    for (const s of specs) {
      const info = file.info(s.name);
      const n = s.shape.reduce((a, b) => a * b, 1);
      const stored = FILE_DTYPE_SIZE[info.dtype];
      const per =
        dtype === 'int8' && s.matrix
          ? 1
          : dtype === 'f32'
            ? 4
            : dtype === 'f16' || dtype === 'bf16'
              ? 2
              : stored === 8
                ? 4
                : stored;
      need += n * per + (dtype === 'int8' && s.matrix ? 4 * s.shape[0] : 0);
    }
    const have =
      device === 'cpu' ? totalmem() : (runtimeInfo().cudaDevices.find((d) => d.name === device)?.memoryBytes ?? 0);
    if (need > have)
      throw new Error(
        `the model needs ${gb(need)} on ${device} (weights at ${dtype} + a ${config.maxSeqLen}-token KV cache) but ${device} has ${gb(have)}; try --dtype int8`,
      );

    // ---- load ----
    const weights = new Map<string, Tensor>();
    try {
      for (let i = 0; i < specs.length; i++) {
        const s = specs[i];
        const floatDType = dtype === 'f32' || dtype === 'f16' || dtype === 'bf16' ? dtype : undefined;
        let t = file.load(s.name, { dtype: floatDType, device: dtype === 'int8' && s.matrix ? 'cpu' : device });
        if (dtype === 'int8' && s.matrix) {
          const q = ops.quantizeQ8(t);
          t.dispose();
          t = q;
          // Bound peak memory: let the quantization run before loading the next matrix.
          await synchronize('cpu');
          if (device !== 'cpu') {
            const moved = await t.to(device);
            t.dispose();
            t = moved;
          }
        }
        weights.set(s.id, t);
        options.onProgress?.(i + 1, specs.length, s.name);
        if (i % 16 === 15) await new Promise((r) => setImmediate(r)); // let progress bars draw
      }
    } catch (e) {
      for (const t of weights.values()) t.dispose();
      throw e;
    }
    const model = new LlamaModel(config, weights, device);
    return {
      config,
      model,
      tokenizer,
      generationConfig,
      chatTemplate: chatTemplateFor(config),
      dispose: () => {
        for (const t of weights.values()) t.dispose();
      },
    };
  } finally {
    file.close();
  }
}
