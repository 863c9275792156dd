/**
 * Weight files without Python: safetensors (single or sharded) and PyTorch checkpoints, behind one
 * interface. `openWeights(path)` picks the reader from the file's first bytes (or the index file's name).
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PytorchCheckpoint } from './pytorch.js';
import { SafetensorsFile, ShardedWeights } from './safetensors.js';
import type { WeightFile } from './types.js';

export { writeSafetensors } from './safetensors-writer.js';
export { PytorchCheckpoint } from './pytorch.js';
export { SafetensorsFile, ShardedWeights } from './safetensors.js';
export { unpickle, type PickleValue, type TensorRef } from './unpickler.js';
export type { FileDType, LoadOptions, TensorInfo, WeightFile } from './types.js';

/** Open a safetensors file. */
export function openSafetensors(path: string): WeightFile {
  return path.endsWith('.index.json') ? new ShardedWeights(path, (p) => new SafetensorsFile(p)) : new SafetensorsFile(path);
}

/** Open a PyTorch checkpoint (.pt / .pth / .bin), or a sharded set through its pytorch_model.bin.index.json. */
export function openPytorch(path: string): WeightFile {
  return path.endsWith('.index.json') ? new ShardedWeights(path, (p) => new PytorchCheckpoint(p)) : new PytorchCheckpoint(path);
}

/**
 * Open any weight file: a safetensors file, a PyTorch checkpoint, a sharded index (`*.index.json`), or a
 * model directory holding one of model.safetensors(.index.json) / pytorch_model.bin(.index.json).
 */
export function openWeights(path: string): WeightFile {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  if (statSync(path).isDirectory()) {
    for (const name of ['model.safetensors.index.json', 'model.safetensors', 'pytorch_model.bin.index.json', 'pytorch_model.bin']) {
      const p = join(path, name);
      if (existsSync(p)) return openWeights(p);
    }
    throw new Error(`${path}: no model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json in this directory`);
  }
  if (path.endsWith('.index.json')) {
    const shardsAreBin = /pytorch_model|\.bin\.index\.json$/.test(basename(path));
    return shardsAreBin ? openPytorch(path) : openSafetensors(path);
  }
  const head = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (head[0] === 0x50 && head[1] === 0x4b) return new PytorchCheckpoint(path); // "PK": a zip archive
  if (head[0] === 0x80 && head[1] <= 5) return new PytorchCheckpoint(path); // legacy pickle: says it is unsupported
  return new SafetensorsFile(path);
}
