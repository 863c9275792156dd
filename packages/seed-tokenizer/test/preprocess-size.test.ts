// Preprocessing at the config's image_size, for scaled-down tokenizers (seed-micro reads 32×32 images):
// the same Pillow-exact bilinear squash at another size. The .32.png files are Pillow's own output:
//   Image.open(f).convert('RGB').resize((32, 32), Image.BILINEAR)   for each fixtures/preprocess/<name>.png
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLIP_MEAN, CLIP_STD, decodeImage, normalizeClip, preprocessImage, resizeBilinear } from '../src/index.js';

const dir = join(__dirname, 'fixtures');

describe('preprocessing at image_size 32', () => {
  for (const name of ['shrink-320x240', 'mixed-500x90', 'gray-233x180']) {
    it(`${name} matches Pillow's 32×32 bilinear squash`, async () => {
      const ours = resizeBilinear(await decodeImage(join(dir, 'preprocess', `${name}.png`)), 32, 32);
      const pillow = await decodeImage(join(dir, 'preprocess-32', `${name}.32.png`));
      let maxDiff = 0;
      for (let i = 0; i < pillow.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours.data[i] - pillow.data[i]));
      expect(maxDiff).toBeLessThanOrEqual(1);
      const pixels = await preprocessImage(join(dir, 'preprocess', `${name}.png`), 32);
      expect(pixels).toEqual(normalizeClip(ours));
      expect(pixels.length).toBe(3 * 32 * 32);
    });
  }

  it('leaves an image already at the size as it is (only normalised)', async () => {
    const data = Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => (i * 37) % 256);
    const pixels = await preprocessImage({ data, width: 32, height: 32, channels: 3 }, 32);
    for (const i of [0, 1, 2, 3 * 500 + 1, 3 * 1023 + 2]) {
      const c = i % 3;
      const p = Math.floor(i / 3);
      expect(pixels[c * 1024 + p]).toBeCloseTo((data[i] / 255 - CLIP_MEAN[c]) / CLIP_STD[c], 6);
    }
  });

  it('keeps 224 as the default and refuses a bad size', async () => {
    const path = join(dir, 'preprocess', 'shrink-320x240.png');
    expect(await preprocessImage(path)).toEqual(await preprocessImage(path, 224));
    await expect(preprocessImage(path, 0)).rejects.toThrow(/positive integer/);
  });
});
