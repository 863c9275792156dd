/**
 * The text context [1, L, D] the UNet cross-attends to. SEED always draws with the empty prompt, so its context
 * is a constant of the model (reference/unclip-decoder.md §1.6):
 * - with `text_encoder/`, it is computed once and cached next to the model as
 *   `text_context/empty_prompt.<sha256 of the text encoder's weight file, 16 hex>.<dtype>.safetensors` (tensor
 *   `text_context`, f32 values of the context in the load precision, the full hash in the metadata), so later
 *   loads neither run nor load the text encoder until a non-empty prompt is asked for;
 * - without it (`model_index.json` lists text_encoder null), the folder may ship the context as
 *   `text_context/empty_prompt.safetensors` (the bundled micro model does).
 */

import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SafetensorsFile, tensor, writeSafetensors } from '@seed/cuda-kernels';

/** Where a folder without a text encoder keeps its empty-prompt context. */
export const STORED_CONTEXT = join('text_context', 'empty_prompt.safetensors');

/** The name of the cached context for a text encoder file hash and a load precision. */
export const contextCacheName = (sha256: string, dtype: string): string =>
  `empty_prompt.${sha256.slice(0, 16)}.${dtype}.safetensors`;

export interface TextContext {
  /** [1, L, D] row-major. */
  values: Float32Array;
  tokens: number;
}

/** sha256 of a file, streamed (the SD-2.1 text encoder is 1.36 GB). */
export function fileSha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => h.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/**
 * Read `text_context` [1, L, width] from a safetensors file; `sha256`, when given, must equal the file's
 * `text_encoder_sha256` metadata (a cache written for another text encoder is not used).
 */
export async function readTextContext(path: string, width: number, sha256?: string): Promise<TextContext> {
  const file = new SafetensorsFile(path);
  try {
    if (!file.has('text_context')) throw new Error(`${path}: no tensor text_context`);
    const shape = file.info('text_context').shape.map(Number);
    if (shape.length !== 3 || shape[0] !== 1 || shape[1] < 1 || shape[2] !== width)
      throw new Error(
        `${path}: text_context is [${shape.join(', ')}], expected [1, L, ${width}] (the UNet's cross_attention_dim)`,
      );
    if (sha256 !== undefined && file.metadata.text_encoder_sha256 !== sha256)
      throw new Error(`${path}: written for another text encoder`);
    const t = file.load('text_context', { dtype: 'f32' });
    try {
      return { values: ((await t.data()) as Float32Array).slice(), tokens: shape[1] };
    } finally {
      t.dispose();
    }
  } finally {
    file.close();
  }
}

/** Write a context [1, L, D] with the hash of the text encoder it came from. */
export async function writeTextContext(path: string, dir: string, c: TextContext, sha256: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const width = c.values.length / c.tokens;
  const t = tensor(c.values, [1, c.tokens, width]);
  try {
    await writeSafetensors(path, { text_context: t }, { format: 'pt', text_encoder_sha256: sha256 });
  } finally {
    t.dispose();
  }
}

/** The stored context of a folder without a text encoder, if it ships one. */
export function storedContextPath(dir: string): string | undefined {
  const p = join(dir, STORED_CONTEXT);
  return existsSync(p) ? p : undefined;
}
