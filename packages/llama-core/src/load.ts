/**
 * Loads a SEED-LLaMA (or any HF LLaMA) model directory as published: config.json, generation_config.json,
 * weights as safetensors (single or sharded) or PyTorch .bin (single or sharded), and the tokenizer files.
 * The weight table is checked before anything is allocated: missing, unexpected and misshapen tensors are
 * listed in one error, and a model that does not fit the device's memory is refused up front.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Device, LOAD_DTYPES, type LoadDType, loadWeights, openWeights, requireDevice } from '@seed/cuda-kernels';
import { type ChatTemplateName, chatTemplateFor } from './chat-template.js';
import { type LlamaConfig, parseLlamaConfig } from './config.js';
import { KvCache } from './kv-cache.js';
import { LlamaModel } from './model.js';
import { LlamaTokenizer } from './tokenizer/llama-tokenizer.js';
import { IGNORED_WEIGHTS, llamaWeightSpecs } from './weights/hf-llama-names.js';

/** Weight precision: as stored in the files, a float dtype, or int8 (per-row scales, quantized at load). */
export type WeightDType = LoadDType;

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

export async function loadLlama(dir: string, options: LoadLlamaOptions = {}): Promise<LoadedLlama> {
  const device = requireDevice(options.device ?? 'cpu');
  const dtype = options.dtype ?? 'auto';
  if (!LOAD_DTYPES.includes(dtype))
    throw new Error(`unknown weight dtype '${dtype}' (expected ${LOAD_DTYPES.join(', ')})`);
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

  const file = openWeights(dir);
  try {
    const loaded = await loadWeights({
      specs: llamaWeightSpecs(config),
      files: file,
      what: 'the model',
      source: dir,
      dtype,
      device,
      unexpected: 'error', // another size or architecture in the same folder layout must not load
      ignore: IGNORED_WEIGHTS,
      extra: { bytes: KvCache.bytes(config), what: `a ${config.maxSeqLen}-token KV cache` },
      memoryHint: 'try --dtype int8',
      onProgress: options.onProgress,
    });
    const model = new LlamaModel(config, loaded.weights, device);
    return {
      config,
      model,
      tokenizer,
      generationConfig,
      chatTemplate: chatTemplateFor(config),
      dispose: loaded.dispose,
    };
  } finally {
    file.close();
  }
}
