/**
 * Loads the SEED tokenizer from a directory as published: `seed_quantizer.pt` (Q-Former, quantizer and
 * decoder; AILab-CVC/seed-tokenizer-2) and `eva_vit_g.pth` (LAVIS's EVA ViT-g), both PyTorch pickles read
 * by the restricted reader, or their safetensors conversions (`seed convert`), plus an optional
 * `config.json` that overrides the SEED-2 sizes. The weight table is checked before anything is allocated:
 * missing and misshapen tensors are fatal and listed together; tensors the tokenizer does not use (the
 * ViT's 40th block, training-only heads, position-id buffers) are listed in `unused`.
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
  type Tensor,
  type WeightFile,
  zeros,
} from '@seed/cuda-kernels';
import { parseSeedConfig, type SeedTokenizerConfig } from './config.js';
import { type SeedFile, type SeedWeightSpec, seedWeightSpecs, VIT_PREFIX } from './weights/seed-names.js';

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
  weights: Map<string, Tensor>;
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

const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;

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

/** Where one spec lives: the ViT file under its own name, or the quantizer file under `visual_encoder.`. */
interface Located {
  spec: SeedWeightSpec;
  file: WeightFile;
  name: string;
}

export async function loadSeedWeights(dir: string, options: LoadSeedTokenizerOptions = {}): Promise<LoadedSeedWeights> {
  const device = requireDevice(options.device ?? 'cpu');
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

    // ---- locate every tensor; collect all problems before failing ----
    const specs = seedWeightSpecs(config);
    const located: Located[] = [];
    const missing: string[] = [];
    const misshapen: string[] = [];
    for (const spec of specs) {
      let where: { file: WeightFile; name: string } | undefined;
      if (spec.file === 'quantizer')
        where = quantizer.has(spec.name) ? { file: quantizer, name: spec.name } : undefined;
      else if (vit?.has(spec.name)) where = { file: vit, name: spec.name };
      else if (quantizer.has(VIT_PREFIX + spec.name)) where = { file: quantizer, name: VIT_PREFIX + spec.name };
      if (!where) {
        missing.push(
          spec.file === 'vit' && !vit ? `${spec.name} (no eva_vit_g.pth or eva_vit_g.safetensors)` : spec.name,
        );
        continue;
      }
      const shape = where.file.info(where.name).shape;
      if (shape.join('x') !== spec.shape.join('x'))
        misshapen.push(`${where.name} is [${shape.join(', ')}], expected [${spec.shape.join(', ')}]`);
      located.push({ spec, ...where });
    }
    const list = (xs: string[], sep = ', ') =>
      `${xs.slice(0, 8).join(sep)}${xs.length > 8 ? ` (+${xs.length - 8} more)` : ''}`;
    const problems = [
      missing.length ? `missing: ${list(missing)}` : '',
      misshapen.length ? `misshapen: ${list(misshapen, '; ')}` : '',
    ].filter(Boolean);
    if (problems.length)
      throw new Error(`${dir}: the tokenizer weights do not match its configuration — ${problems.join(' | ')}`);
    const used = new Set(located.map((l) => `${l.file.path}\0${l.name}`));
    const unused = opened.flatMap((f) =>
      f.tensors.filter((t) => !used.has(`${f.path}\0${t.name}`)).map((t) => `${f.path}: ${t.name}`),
    );

    // ---- will it fit? ----
    let need = 0;
    for (const { spec, file, name } of located) {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      const stored = FILE_DTYPE_SIZE[file.info(name).dtype];
      const per = !spec.matrix ? 4 : dtype === 'f32' ? 4 : dtype === 'auto' ? Math.min(stored, 4) : 2;
      need += n * per;
    }
    const have =
      device === 'cpu' ? totalmem() : (runtimeInfo().cudaDevices.find((d) => d.name === device)?.memoryBytes ?? 0);
    if (need > have)
      throw new Error(
        `the tokenizer needs ${gb(need)} on ${device} (weights at ${dtype}) but ${device} has ${gb(have)}; try --dtype f16`,
      );

    // ---- load ----
    const weights = new Map<string, Tensor>();
    try {
      for (let i = 0; i < located.length; i++) {
        const { spec, file, name } = located[i];
        const stored = file.info(name).dtype;
        const as =
          !spec.matrix || dtype === 'f32'
            ? 'f32'
            : dtype === 'auto'
              ? stored === 'F16' || stored === 'BF16'
                ? undefined
                : 'f32'
              : dtype;
        let t = file.load(name, { dtype: as, device });
        if (spec.id === 'vit.patch.weight')
          t = t.reshape([spec.shape[0], spec.shape[1] * spec.shape[2] * spec.shape[3]]); // Conv2d → linear [W, 3·p·p]
        weights.set(spec.id, t);
        options.onProgress?.(i + 1, located.length, name);
        if (i % 16 === 15) await new Promise((r) => setImmediate(r)); // let progress bars draw
      }
      // EVA's attention has q and v biases but none for k: join them into one qkv bias [3W].
      for (let l = 0; l < config.vitDepth; l++) {
        const q = weights.get(`vit.${l}.qBias`) as Tensor;
        const v = weights.get(`vit.${l}.vBias`) as Tensor;
        const k = zeros([config.vitWidth], 'f32', device);
        weights.set(`vit.${l}.qkv.bias`, ops.concat([q, k, v], 0));
        for (const t of [q, k, v]) t.dispose();
        weights.delete(`vit.${l}.qBias`);
        weights.delete(`vit.${l}.vBias`);
      }
    } catch (e) {
      for (const t of weights.values()) t.dispose();
      throw e;
    }
    return { config, device, weights, files: { quantizer: quantizerPath, vit: vitPath ?? quantizerPath }, unused };
  } finally {
    for (const f of opened) f.close();
  }
}
