/**
 * Sharded checkpoints: an index file (`model.safetensors.index.json`, `pytorch_model.bin.index.json`) whose
 * `weight_map` names the shard holding each tensor. The set is seen as one WeightFile; each shard is opened
 * once by the caller's `open` (which picks the reader).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { LoadOptions, StoredBytes, TensorInfo, WeightFile } from './types.js';

/** A sharded checkpoint read through its `*.index.json`. */
export class ShardedWeights implements WeightFile {
  readonly tensors: TensorInfo[] = [];
  /** The index's `metadata` (e.g. total_size), as written. */
  readonly metadata: Record<string, unknown> = {};
  readonly #owner = new Map<string, WeightFile>();
  readonly #shards: WeightFile[] = [];

  /**
   * Read the index at `path` and open every shard it names (shards live next to the index) with `open`.
   * Throws when the index is malformed, a shard is missing, or a shard lacks a tensor the index puts there.
   */
  constructor(
    readonly path: string,
    open: (shardPath: string) => WeightFile,
  ) {
    const where = basename(path);
    let index: unknown;
    try {
      index = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`${where}: not a valid index JSON (${(e as Error).message})`);
    }
    const map = (index as { weight_map?: unknown } | null)?.weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map))
      throw new Error(`${where}: no weight_map object`);
    const meta = (index as { metadata?: unknown }).metadata;
    if (typeof meta === 'object' && meta !== null) Object.assign(this.metadata, meta);

    const byShard = new Map<string, Set<string>>();
    for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
      // Shards are plain file names next to the index: an index must not point anywhere else on disk.
      if (typeof shard !== 'string' || shard === '' || /[/\\]/.test(shard) || shard.startsWith('.'))
        throw new Error(
          `${where}: tensor ${name} names an invalid shard ${JSON.stringify(shard)} (expected a file name next to the index)`,
        );
      if (!byShard.has(shard)) byShard.set(shard, new Set());
      byShard.get(shard)!.add(name);
    }
    try {
      // File order: shards by name (model-00001-of-…, model-00002-of-…), tensors in each shard's own order.
      for (const shard of [...byShard.keys()].sort()) {
        const names = byShard.get(shard)!;
        const shardPath = join(dirname(path), shard);
        if (!existsSync(shardPath)) throw new Error(`${where}: shard ${shard} is missing`);
        const file = open(shardPath);
        this.#shards.push(file);
        for (const name of names)
          if (!file.has(name)) throw new Error(`${where}: shard ${shard} does not hold tensor ${name}`);
        for (const t of file.tensors) {
          if (!names.has(t.name)) continue; // a tensor the index assigns to another shard (or to none)
          this.#owner.set(t.name, file);
          this.tensors.push(t);
        }
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  has(name: string): boolean {
    return this.#owner.has(name);
  }

  info(name: string): TensorInfo {
    return this.#shard(name).info(name);
  }

  load(name: string, options?: LoadOptions) {
    return this.#shard(name).load(name, options);
  }

  stored(name: string): StoredBytes {
    return this.#shard(name).stored(name);
  }

  close(): void {
    for (const s of this.#shards) s.close();
  }

  #shard(name: string): WeightFile {
    const f = this.#owner.get(name);
    if (!f) throw new Error(`${basename(this.path)} has no tensor ${name}`);
    return f;
  }
}
