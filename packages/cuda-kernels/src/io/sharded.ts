/**
 * Sharded checkpoints: an index file (`model.safetensors.index.json`, `pytorch_model.bin.index.json`) whose
 * `weight_map` names the shard holding each tensor. The set is seen as one WeightFile; each shard is opened
 * once by the caller's `open` (which picks the reader).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { repeatedKey } from './json.js';
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
   * Throws when the index is malformed or lists a name twice, a shard is missing, or a shard does not hold
   * exactly the tensors the index puts there.
   */
  constructor(
    readonly path: string,
    open: (shardPath: string) => WeightFile,
  ) {
    const where = basename(path);
    let text: string;
    let index: unknown;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(path));
      index = JSON.parse(text);
    } catch (e) {
      throw new Error(`${where}: not a valid index JSON (${(e as Error).message})`);
    }
    const map = (index as { weight_map?: unknown } | null)?.weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map))
      throw new Error(`${where}: no weight_map object`);
    // JSON.parse keeps the last of two equal keys: a name listed twice would silently lose one shard.
    const repeated = repeatedKey(text);
    if (repeated)
      throw new Error(
        repeated.length === 2 && repeated[0] === 'weight_map'
          ? `${where}: tensor ${repeated[1]} is listed twice in weight_map`
          : `${where}: key ${repeated.join('.')} appears twice`,
      );
    const meta = (index as { metadata?: unknown }).metadata;
    if (typeof meta === 'object' && meta !== null) Object.assign(this.metadata, meta);

    const shardOf = new Map<string, string>();
    for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
      // Shards are plain file names next to the index: an index must not point anywhere else on disk.
      if (typeof shard !== 'string' || shard === '' || /[/\\]/.test(shard) || shard.startsWith('.'))
        throw new Error(
          `${where}: tensor ${name} names an invalid shard ${JSON.stringify(shard)} (expected a file name next to the index)`,
        );
      shardOf.set(name, shard);
    }
    try {
      // File order: shards by name (model-00001-of-…, model-00002-of-…), tensors in each shard's own order.
      // Each shard holds exactly the tensors the index puts there: a tensor also present in another shard,
      // or in none of the index's entries, would make the set mean different things to different readers.
      const shards = [...new Set(shardOf.values())].sort();
      for (const shard of shards) {
        const shardPath = join(dirname(path), shard);
        if (!existsSync(shardPath)) throw new Error(`${where}: shard ${shard} is missing`);
        const file = open(shardPath);
        this.#shards.push(file);
        for (const t of file.tensors) {
          const listed = shardOf.get(t.name);
          if (listed === undefined)
            throw new Error(`${where}: shard ${shard} holds tensor ${t.name}, which the index does not list`);
          if (listed !== shard)
            throw new Error(`${where}: tensor ${t.name} is in shard ${shard}, but the index puts it in ${listed}`);
          this.#owner.set(t.name, file);
          this.tensors.push(t);
        }
      }
      for (const [name, shard] of shardOf)
        if (!this.#owner.has(name)) throw new Error(`${where}: shard ${shard} does not hold tensor ${name}`);
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
