/**
 * What the server tests share: a tiny SEED-LLaMA set served on an ephemeral loopback port, a small test
 * decoder (the real diffusion decoder is not needed to test the HTTP layer), and request helpers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DrawOptions, ImageDecoder } from '../src/index.js';
import { IMAGES } from './helpers/tiny-seed-llama.js';

/** A real PNG from seed-tokenizer's preprocessing fixtures. */
export const PNG_PATH = join(IMAGES, 'shrink-320x240.png');
export const PNG = readFileSync(PNG_PATH);
export const PNG_DATA_URL = `data:image/png;base64,${PNG.toString('base64')}`;

/** Paints the sign pattern of the embedding, one step at a time (each step yields to the event loop). */
export class PatternDecoder implements ImageDecoder {
  draws = 0;
  constructor(private readonly stepDelayMs = 0) {}
  async draw(embedding: Float32Array, o: DrawOptions) {
    this.draws++;
    const steps = o.steps ?? 3;
    for (let s = 1; s <= steps; s++) {
      o.signal?.throwIfAborted();
      await new Promise((r) => (this.stepDelayMs ? setTimeout(r, this.stepDelayMs) : setImmediate(r)));
      o.onStep?.(s, steps, this.stepDelayMs / 1000);
    }
    const width = o.width ?? 16;
    const height = o.height ?? 16;
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = embedding[i % embedding.length] > 0 ? 230 : 20;
    return { rgb, width, height };
  }
  dispose() {}
}

/** Read a server-sent-event response to its end: each event's name (if any) and parsed data. */
export async function readSse(res: Response): Promise<{ event?: string; data: unknown }[]> {
  const text = await res.text();
  const out: { event?: string; data: unknown }[] = [];
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l && !l.startsWith(':'));
    if (lines.length === 0) continue;
    const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
    const data = lines
      .filter((l) => l.startsWith('data: '))
      .map((l) => l.slice(6))
      .join('\n');
    out.push({ event, data: data === '[DONE]' ? data : JSON.parse(data) });
  }
  return out;
}
