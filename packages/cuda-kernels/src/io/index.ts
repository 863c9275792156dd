/**
 * Weight files without Python: safetensors (single or sharded) and PyTorch checkpoints (zip format, single
 * or sharded), behind one interface, {@link WeightFile}. `openWeights(path)` picks the reader from the
 * file's first bytes, so a `.bin` may hold either. Files are memory-mapped: tensors loaded as stored on the
 * CPU are views of the file's pages; conversions (F64, I64, …, or a `dtype` asked at load) copy.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PytorchCheckpoint } from './pytorch.js';
import { SafetensorsFile } from './safetensors.js';
import { ShardedWeights } from './sharded.js';
import type { WeightFile } from './types.js';

export { type ConvertOptions, type ConvertResult, convertToSafetensors, safetensorsName } from './convert-file.js';
export { PytorchCheckpoint } from './pytorch.js';
export { SafetensorsFile } from './safetensors.js';
export { writeSafetensors } from './safetensors-writer.js';
export { ShardedWeights } from './sharded.js';
export {
  FILE_DTYPE_SIZE,
  type FileDType,
  type LoadOptions,
  type StoredBytes,
  type TensorInfo,
  type WeightFile,
} from './types.js';
export { isTuple, type PickleValue, type StorageRef, type TensorRef, type Tuple, unpickle } from './unpickler.js';

/**
 * Open a safetensors file, or a sharded set through its `*.safetensors.index.json`. Throws an Error naming
 * the file and tensor when the header is malformed in any way (see docs/weight-files.md).
 */
export function openSafetensors(path: string): WeightFile {
  return isIndex(path) ? new ShardedWeights(path, (p) => new SafetensorsFile(p)) : new SafetensorsFile(path);
}

/**
 * Open a PyTorch checkpoint (`.pt` / `.pth` / `.bin` in torch.save's zip format), or a sharded set through
 * its `pytorch_model.bin.index.json`. Its pickle is read by a restricted unpickler that refuses every
 * global but tensors, storages and containers; nothing in the file is ever executed.
 */
export function openPytorch(path: string): WeightFile {
  return isIndex(path) ? new ShardedWeights(path, (p) => new PytorchCheckpoint(p)) : new PytorchCheckpoint(path);
}

/**
 * Open any weight file: a safetensors file or a PyTorch checkpoint (told apart by their first bytes), a
 * sharded index (`*.index.json`, each shard told apart the same way), or a model directory holding one of
 * model.safetensors.index.json, model.safetensors, pytorch_model.bin.index.json, pytorch_model.bin.
 */
export function openWeights(path: string): WeightFile {
  const file = weightsPath(path);
  return isIndex(file) ? new ShardedWeights(file, openSingle) : openSingle(file);
}

/** The weight files a model directory may hold, in the order openWeights prefers them. */
export const MODEL_WEIGHT_FILES = [
  'model.safetensors.index.json',
  'model.safetensors',
  'pytorch_model.bin.index.json',
  'pytorch_model.bin',
] as const;

/**
 * The file to open for `path`: itself when it is a file, else the first of `preference` (a model
 * directory's weight file names) that the directory holds. Errors name what was looked for.
 */
export function weightsPath(path: string, preference: readonly string[] = MODEL_WEIGHT_FILES): string {
  if (!existsSync(path)) throw new Error(`${path}: no such file or directory`);
  if (!statSync(path).isDirectory()) return path;
  const found = preference.map((n) => join(path, n)).find((p) => existsSync(p));
  if (!found) throw new Error(`${path}: no ${preference.join(', ')} in this directory`);
  return found;
}

export function isIndex(path: string): boolean {
  return path.endsWith('.index.json');
}

/** One file, by its magic bytes: "PK\x03\x04" is a zip (torch.save ≥ 1.6), a pickle or tar is torch's legacy format. */
function openSingle(path: string): WeightFile {
  const head = Buffer.alloc(264);
  const fd = openSync(path, 'r');
  let got: number;
  try {
    got = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const isZip = got >= 4 && head.readUInt32LE(0) === 0x04034b50;
  // A safetensors header length can start with 0x80 0x03 too, but then byte 8 opens its JSON object.
  const isLegacyPickle = got >= 9 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5 && head[8] !== 0x7b;
  const isTar = got >= 262 && head.toString('latin1', 257, 262) === 'ustar';
  if (isZip || isLegacyPickle || isTar) return new PytorchCheckpoint(path); // the legacy ones get a clear error there
  if (got >= 4 && head.toString('latin1', 0, 4) === 'GGUF')
    throw new Error(`${path}: a GGUF file, not safetensors or a PyTorch checkpoint`);
  return new SafetensorsFile(path);
}
