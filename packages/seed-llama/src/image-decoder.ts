/**
 * What the pipeline needs from a diffusion decoder: an unCLIP image embedding → an RGB picture, with
 * per-step progress and abort. `@seed/diffusion-decoder`'s DiffusionDecoder is adapted to it in
 * seed-llama.ts; anything else that draws from SEED embeddings can be plugged in the same way.
 */
export interface DrawOptions {
  /** Diffusion steps (SEED uses 20). */
  steps?: number;
  /** Classifier-free guidance scale (SEED uses 10). */
  guidance?: number;
  scheduler?: string;
  /** Seed of the initial latents. */
  seed?: number;
  width?: number;
  height?: number;
  signal?: AbortSignal;
  onStep?: (step: number, total: number, seconds: number) => void;
}

export interface DrawnImage {
  /** Interleaved RGB, row-major, width × height × 3 bytes. */
  rgb: Uint8Array;
  width: number;
  height: number;
}

export interface ImageDecoder {
  draw(embedding: Float32Array, options: DrawOptions): Promise<DrawnImage>;
  dispose(): void;
}
