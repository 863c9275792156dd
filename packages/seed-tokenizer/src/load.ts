/**
 * Loads the SEED tokenizer from a directory as published: `seed_quantizer.pt` (Q-Former, quantizer and
 * decoder; AILab-CVC/seed-tokenizer-2) and `eva_vit_g.pth` (LAVIS's EVA ViT-g), both PyTorch pickles read
 * by the restricted reader, or their safetensors conversions (`seed convert`), plus an optional
 * `config.json` that overrides the SEED-2 sizes. The weight table (weights/seed-names.ts) is checked by the
 * shared loader before anything is allocated: missing and misshapen tensors are fatal and listed together;
 * tensors the tokenizer does not use (the ViT's 40th block, training-only heads, position-id buffers) are
 * listed in `unused`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Device, loadWeights, openWeights, type WeightFile } from '@seed/cuda-kernels';
import { parseSeedConfig, type SeedTokenizerConfig } from './config.js';
import { type SeedFile, type SeedWeights, seedWeightSpecs } from './weights/seed-names.js';

/** Precision of the matrices: as stored, or converted at load. Vectors, norms and the codebook stay f32. */
export type SeedWeightDType = 'auto' | 'f32' | 'f16' | 'bf16';

export interface LoadSeedTokenizerOptions {
  /** Default 'auto' (as stored: the released ViT is f16, the quantizer f32). */
  dtype?: SeedWeightDType;
  /** Default 'cpu'. */
  device?: Device | string;
  /** Called after each tensor is loaded. */
  onProgress?: (loaded: number, total: number, name: string) => void;
}

export interface LoadedSeedWeights {
  config: SeedTokenizerConfig;
  device: Device;
  weights: SeedWeights;
  /** Frees every weight. */
  dispose(): void;
  /** The files read, by role. */
  files: Record<SeedFile, string>;
  /** Tensors in the files that the tokenizer does not use, as "file: name". */
  unused: string[];
}

/** File names looked for, in order: safetensors conversions first. */
const FILE_NAMES: Record<SeedFile, string[]> = {
  quantizer: ['seed_quantizer.safetensors', 'seed_quantizer.pt', 'seed_quantizer.pth', 'seed_quantizer.bin'],
  vit: ['eva_vit_g.safetensors', 'eva_vit_g.pth', 'eva_vit_g.pt', 'eva_vit_g.bin'],
};

function findFile(dir: string, role: SeedFile): string | undefined {
  return FILE_NAMES[role].map((n) => join(dir, n)).find((p) => existsSync(p));
}

function readConfig(dir: string): SeedTokenizerConfig {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) return parseSeedConfig();
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${path}: not a JSON object`);
  return parseSeedConfig(json as Record<string, unknown>, path);
}

export async function loadSeedWeights(dir: string, options: LoadSeedTokenizerOptions = {}): Promise<LoadedSeedWeights> {
  const dtype = options.dtype ?? 'auto';
  if (!['auto', 'f32', 'f16', 'bf16'].includes(dtype))
    throw new Error(`unknown weight dtype '${dtype}' (expected auto, f32, f16 or bf16)`);
  if (!existsSync(dir)) throw new Error(`${dir}: no such directory`);
  const config = readConfig(dir);
  const quantizerPath = findFile(dir, 'quantizer');
  if (!quantizerPath)
    throw new Error(`${dir}: no seed_quantizer.pt or seed_quantizer.safetensors (not a SEED tokenizer directory)`);
  const vitPath = findFile(dir, 'vit');

  const opened: WeightFile[] = [];
  try {
    const quantizer = openWeights(quantizerPath);
    opened.push(quantizer);
    const vit = vitPath ? openWeights(vitPath) : undefined;
    if (vit) opened.push(vit);
    const loaded = await loadWeights({
      specs: seedWeightSpecs(config),
      files: { quantizer, vit: vit ?? 'no eva_vit_g.pth or eva_vit_g.safetensors' },
      what: 'the tokenizer',
      source: dir,
      dtype,
      device: options.device,
      // The released files carry more than inference uses (the ViT's 40th block, training-only heads).
      unexpected: 'list',
      memoryHint: 'try --dtype f16',
      onProgress: options.onProgress,
    });
    return {
      config,
      device: loaded.device,
      weights: loaded.weights,
      dispose: loaded.dispose,
      files: { quantizer: quantizerPath, vit: vitPath ?? quantizerPath },
      unused: loaded.unused,
    };
  } finally {
    for (const f of opened) f.close();
  }
}
