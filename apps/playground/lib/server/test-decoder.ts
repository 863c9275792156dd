/**
 * TEST ONLY. A stand-in diffusion decoder for the browser tests, used when the server runs with
 * SEED_PLAYGROUND_TEST_DECODER=grid (never set by `pnpm playground`). The real diffusion decoder is heavy and
 * the tiny test model set has none; this one draws a deterministic pattern from the embedding, step by
 * step with a short pause per step, so that the tests can watch progress and abort in the middle of it.
 */
import type { DrawOptions, ImageDecoder } from '@seed/seed-llama';

export class TestGridDecoder implements ImageDecoder {
  constructor(private readonly msPerStep = Number(process.env.SEED_PLAYGROUND_TEST_STEP_MS ?? 40)) {}

  async draw(embedding: Float32Array, o: DrawOptions) {
    const steps = o.steps ?? 20;
    for (let s = 1; s <= steps; s++) {
      o.signal?.throwIfAborted();
      await new Promise((r) => setTimeout(r, this.msPerStep));
      o.onStep?.(s, steps, this.msPerStep / 1000);
    }
    const width = 64;
    const height = 64;
    const rgb = new Uint8Array(width * height * 3);
    // 8×8 blocks, each coloured from three embedding values: different codes give visibly different pictures.
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        for (let c = 0; c < 3; c++) {
          const v = embedding[(((y >> 3) * 8 + (x >> 3)) * 3 + c) % embedding.length];
          rgb[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(128 + 96 * v)));
        }
    return { rgb, width, height };
  }

  dispose() {}
}
