/**
 * The shapes world of seed-micro: the TypeScript scenes must be pixel-identical to the Python ones the model
 * was trained on (fixture PNGs written by tools/train/make_world_fixtures.py), and the checker must name
 * fresh scenes right (≥ 99 %), as the evaluation and the demo rely on it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { world } from '../src/index.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/world');

interface Entry {
  seed: number;
  scene: world.Scene;
  caption: string;
  parsed: world.SceneLabel;
}
const entries = JSON.parse(readFileSync(join(FIXTURES, 'scenes.json'), 'utf8')) as Entry[];

const label = (s: world.SceneLabel) => ({ shape: s.shape, colour: s.colour, background: s.background });

describe('world', () => {
  it('renders the same scenes and pixels as the Python world', async () => {
    for (const e of entries) {
      const s = world.scene(e.seed);
      expect(s, `seed ${e.seed}`).toEqual(e.scene);
      expect(world.caption(s)).toBe(e.caption);
      const { data, info } = await sharp(join(FIXTURES, `seed-${e.seed}.png`))
        .raw()
        .toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([32, 32, 3]);
      const pixels = world.render(s);
      expect(Buffer.from(pixels).equals(data), `seed ${e.seed}: pixels differ from the Python render`).toBe(true);
      expect(world.parseScene(pixels)).toEqual(label(e.parsed));
    }
  });

  it('names ≥ 99 % of 500 fresh scenes right', () => {
    let right = 0;
    for (let seed = 5_000_000; seed < 5_000_500; seed++) {
      const s = world.scene(seed);
      if (JSON.stringify(world.parseScene(world.render(s))) === JSON.stringify(label(s))) right++;
    }
    expect(right / 500).toBeGreaterThanOrEqual(0.99);
  });

  it('covers every shape, colour and background', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 2000; seed++) {
      const s = world.scene(seed);
      seen.add(s.shape).add(s.colour).add(s.background);
      expect(s.side).toBeGreaterThanOrEqual(11);
      expect(s.side).toBeLessThanOrEqual(22);
      expect(s.x + s.side).toBeLessThanOrEqual(32);
      expect(s.y + s.side).toBeLessThanOrEqual(32);
    }
    expect(seen.size).toBe(4 + 6 + 3);
  });

  it('reads captions back', () => {
    expect(world.parseCaption('Here: A Red circle on a white background.')).toEqual({
      shape: 'circle',
      colour: 'red',
      background: 'white',
    });
    expect(world.parseCaption('a red blob on a white background')).toBeUndefined();
  });

  it('refuses images of the wrong size', () => {
    expect(() => world.parseScene(new Uint8Array(10))).toThrow(/32×32 RGB/);
    expect(() => world.scene(-1)).toThrow(/non-negative integer/);
  });
});
