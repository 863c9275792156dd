/**
 * Checkpoint → safetensors conversion that streams: the header is computed from the listing, then each
 * tensor's stored bytes are copied with plain file reads in 16 MiB chunks (a strided PyTorch view is
 * gathered first; a float tensor converted to another dtype is converted alone), so memory stays bounded
 * by one chunk or one converted tensor whatever the checkpoint's size. Every output file (each shard and the
 * index of a sharded set) is written under a temporary name, and all are renamed into place only once all
 * are complete: nobody sees a half-written file, and a failure leaves none behind (nor a partial shard set).
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { type FileHandle, open, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { isIndex, openWeights, weightsPath } from './index.js';
import { safetensorsHeader, writeAll } from './safetensors-writer.js';
import { FILE_DTYPE_SIZE, type FileDType, type WeightFile } from './types.js';

export interface ConvertOptions {
  /** Convert float tensors (F64/F32/F16/BF16) to this dtype; integer tensors are kept as stored. */
  dtype?: 'f32' | 'f16' | 'bf16';
  /** Called as bytes are written: bytes done, bytes in all, the tensor being written. */
  onProgress?: (doneBytes: number, totalBytes: number, name: string) => void;
}

export interface ConvertResult {
  /** Safetensors files written (shards first, then nothing else). */
  files: string[];
  /** The index written for a sharded input, else undefined. */
  index?: string;
  tensors: number;
  bytes: number;
}

const CHUNK = 16 << 20;
const TARGET: Record<'f32' | 'f16' | 'bf16', FileDType> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };
const isFloat = (d: FileDType) => d === 'F64' || d === 'F32' || d === 'F16' || d === 'BF16';

/** The shard name a PyTorch shard becomes: pytorch_model-00001-of-00002.bin → model-00001-of-00002.safetensors. */
export function safetensorsName(name: string): string {
  const stem = name.replace(/\.(bin|pt|pth|ckpt|safetensors)$/i, '');
  return `${stem.replace(/^pytorch_model/, 'model')}.safetensors`;
}

/** A directory's weights for conversion: PyTorch first (converting safetensors again is the rare case). */
function resolveInput(input: string): { path: string; sharded: boolean } {
  const path = weightsPath(input, [
    'pytorch_model.bin.index.json',
    'model.safetensors.index.json',
    'pytorch_model.bin',
    'model.safetensors',
  ]);
  return { path, sharded: isIndex(path) };
}

/**
 * Rewrite a PyTorch checkpoint (`.pt` / `.pth` / `.bin`), a sharded set (its `*.index.json` or the directory
 * holding it) or a safetensors file as safetensors. A single input becomes the file `output` (or
 * `output/<name>.safetensors` when `output` is a directory); a sharded input becomes one safetensors shard
 * per input shard plus `model.safetensors.index.json` in the directory `output` (created if missing).
 */
export async function convertToSafetensors(
  input: string,
  output: string,
  options: ConvertOptions = {},
): Promise<ConvertResult> {
  if (options.dtype !== undefined && !(options.dtype in TARGET))
    throw new Error(`convert: unknown dtype '${options.dtype}' (expected f32, f16 or bf16)`);
  const src = resolveInput(input);
  const weights = openWeights(src.path);
  try {
    // ---- plan every output file before writing anything ----
    const plan: { path: string; names: string[] }[] = [];
    const inputs = new Set([resolve(src.path)]);
    if (src.sharded) {
      if (existsSync(output) && !statSync(output).isDirectory())
        throw new Error(`${output}: a sharded checkpoint converts into a directory, and this is a file`);
      if (!existsSync(dirname(resolve(output)))) throw new Error(`${dirname(resolve(output))}: no such directory`);
      const byShard = new Map<string, string[]>();
      const map = shardMap(src.path);
      for (const t of weights.tensors) {
        const shard = map.get(t.name) as string;
        if (!byShard.has(shard)) byShard.set(shard, []);
        byShard.get(shard)?.push(t.name);
      }
      for (const shard of map.values()) inputs.add(resolve(dirname(src.path), shard));
      for (const [shard, names] of [...byShard].sort(([a], [b]) => a.localeCompare(b)))
        plan.push({ path: join(output, safetensorsName(shard)), names });
    } else {
      const target =
        existsSync(output) && statSync(output).isDirectory()
          ? join(output, safetensorsName(basename(src.path)))
          : output;
      if (!existsSync(dirname(resolve(target)))) throw new Error(`${dirname(resolve(target))}: no such directory`);
      plan.push({ path: target, names: weights.tensors.map((t) => t.name) });
    }
    const index = src.sharded ? join(output, 'model.safetensors.index.json') : undefined;
    for (const p of [...plan.map((x) => x.path), ...(index ? [index] : [])])
      if (inputs.has(resolve(p))) throw new Error(`${p}: the output would overwrite the input`);

    const outDType = (d: FileDType): FileDType => (options.dtype && isFloat(d) ? TARGET[options.dtype] : d);
    const sizeOf = (name: string) => {
      const info = weights.info(name);
      return info.shape.reduce((a, b) => a * b, 1) * FILE_DTYPE_SIZE[outDType(info.dtype)];
    };
    const total = plan.reduce((s, p) => s + p.names.reduce((a, n) => a + sizeOf(n), 0), 0);

    // ---- write every file under a temporary name; rename them all only once every one is complete ----
    const createdDir = src.sharded && !existsSync(output);
    if (createdDir) mkdirSync(output);
    const temps: [tmp: string, path: string][] = [];
    const tmpName = (path: string) => `${path}.tmp-${process.pid}-${Date.now()}`;
    try {
      let done = 0;
      const weightMap: Record<string, string> = {};
      for (const p of plan) {
        const tmp = tmpName(p.path);
        temps.push([tmp, p.path]);
        await writeOne(weights, tmp, p.names, outDType, options, (n, name) => {
          done += n;
          options.onProgress?.(done, total, name);
        });
        for (const n of p.names) weightMap[n] = basename(p.path);
      }
      if (index) {
        const tmp = tmpName(index);
        temps.push([tmp, index]);
        await writeFile(
          tmp,
          `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`,
        );
      }
      for (const [tmp, path] of temps) await rename(tmp, path);
    } catch (e) {
      for (const [tmp] of temps) await rm(tmp, { force: true });
      if (createdDir) await rmdir(output).catch(() => {}); // only if still empty
      throw e;
    }
    return { files: plan.map((p) => p.path), index, tensors: weights.tensors.length, bytes: total };
  } finally {
    weights.close();
  }
}

/** tensor name → shard file, from an index (already validated by openWeights). */
function shardMap(indexPath: string): Map<string, string> {
  const json = JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map: Record<string, string> };
  return new Map(Object.entries(json.weight_map));
}

/** Write one safetensors file at `path` (a temporary name): header, then each tensor streamed; removed on error. */
async function writeOne(
  weights: WeightFile,
  path: string,
  names: readonly string[],
  outDType: (d: FileDType) => FileDType,
  options: ConvertOptions,
  progress: (bytes: number, name: string) => void,
): Promise<void> {
  const prefix = safetensorsHeader(
    names.map((name) => {
      const info = weights.info(name);
      const dtype = outDType(info.dtype);
      return {
        name,
        dtype,
        shape: info.shape,
        byteLength: info.shape.reduce((a, b) => a * b, 1) * FILE_DTYPE_SIZE[dtype],
      };
    }),
    { __metadata__: { format: 'pt' } },
    'convert',
  );

  const out = await open(path, 'w');
  const sources = new Map<string, FileHandle>();
  try {
    const put = (bytes: Uint8Array) => writeAll(out, bytes);
    await put(prefix);
    const chunk = Buffer.alloc(CHUNK);
    for (const name of names) {
      const info = weights.info(name);
      if (outDType(info.dtype) !== info.dtype) {
        // A dtype conversion: this one tensor is converted in memory, then written.
        const t = weights.load(name, { dtype: options.dtype });
        try {
          const bytes = await t.bytes();
          await put(bytes);
          progress(bytes.byteLength, name);
        } finally {
          t.dispose();
        }
        continue;
      }
      const stored = weights.stored(name);
      if ('bytes' in stored) {
        await put(stored.bytes);
        progress(stored.bytes.byteLength, name);
        continue;
      }
      let fh = sources.get(stored.path);
      if (!fh) {
        fh = await open(stored.path, 'r');
        sources.set(stored.path, fh);
      }
      for (let o = 0; o < stored.byteLength; ) {
        const want = Math.min(CHUNK, stored.byteLength - o);
        const { bytesRead } = await fh.read(chunk, 0, want, stored.byteOffset + o);
        if (bytesRead <= 0) throw new Error(`${stored.path}: ended while reading tensor ${name}`);
        await put(chunk.subarray(0, bytesRead));
        o += bytesRead;
        progress(bytesRead, name);
      }
    }
    await out.close();
  } catch (e) {
    await out.close().catch(() => {});
    await rm(path, { force: true });
    throw e;
  } finally {
    for (const fh of sources.values()) await fh.close().catch(() => {});
  }
}
