/**
 * The default drawer: `@seed/diffusion-decoder`'s SD-2.1-unCLIP (or the micro model's unCLIP-structured)
 * decoder behind the pipeline's ImageDecoder interface. Loaded lazily by SeedLlama on the first image to draw.
 */
import type { Device } from '@seed/cuda-kernels';
import { type DecoderDType, DiffusionDecoder, SCHEDULER_NAMES, type SchedulerName } from '@seed/diffusion-decoder';
import type { DrawnImage, DrawOptions, ImageDecoder } from './image-decoder.js';

export async function loadDiffusionDrawer(dir: string, device: Device, dtype?: DecoderDType): Promise<ImageDecoder> {
  const decoder = await DiffusionDecoder.load(dir, { device, dtype });
  return {
    async draw(embedding: Float32Array, o: DrawOptions): Promise<DrawnImage> {
      if (o.scheduler !== undefined && !SCHEDULER_NAMES.includes(o.scheduler as SchedulerName))
        throw new Error(`unknown scheduler '${o.scheduler}' (expected ${SCHEDULER_NAMES.join(', ')})`);
      const [image] = await decoder.generate(embedding, {
        steps: o.steps,
        guidance: o.guidance,
        scheduler: o.scheduler as SchedulerName | undefined,
        seed: o.seed,
        width: o.width,
        height: o.height,
        signal: o.signal,
        onStep: o.onStep,
      });
      return { rgb: image.pixels, width: image.width, height: image.height };
    },
    dispose: () => decoder.dispose(),
  };
}
