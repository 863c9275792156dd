/**
 * The checker of the shapes world: names shape, colour and background from pixels alone. The same
 * algorithm as tools/train/world.py `parse`, in integers (IoU per million), so both languages agree.
 *
 * Each pixel goes to its nearest palette colour; the background is the commonest background colour on the
 * border, the shape's colour the commonest shape colour anywhere. The shape is the template — each shape at
 * sides and corners within ±1 px of the colour's bounding box — with the best intersection over union with
 * the colour's mask; isolated pixels are left out of the box so that specks do not stretch it.
 */
import {
  BACKGROUND_NAMES,
  BACKGROUNDS,
  COLOUR_NAMES,
  COLOURS,
  insideShape,
  type SceneLabel,
  SHAPES,
  type Shape,
  WORLD_SIZE,
} from './scene.js';

const N = WORLD_SIZE;
const PALETTE: readonly (readonly number[])[] = [
  ...BACKGROUND_NAMES.map((b) => BACKGROUNDS[b]),
  ...COLOUR_NAMES.map((c) => COLOURS[c]),
];
const N_BG = BACKGROUND_NAMES.length;

/** Index into PALETTE of the nearest colour (squared RGB distance; the first wins ties). */
function nearest(r: number, g: number, b: number): number {
  let best = 0;
  let bestD = Number.POSITIVE_INFINITY;
  for (let k = 0; k < PALETTE.length; k++) {
    const [pr, pg, pb] = PALETTE[k];
    const d = (r - pr) ** 2 + (g - pg) ** 2 + (b - pb) ** 2;
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}

/** The index of the largest count; the first of equals wins (as Python's max over (count, −k)). */
function argmax(counts: readonly number[], from: number, to: number): number {
  let best = from;
  for (let k = from + 1; k < to; k++) if (counts[k] > counts[best]) best = k;
  return best;
}

/** Name the scene in an image: WORLD_SIZE² × 3 bytes, RGB, row-major. */
export function parseScene(img: Uint8Array): SceneLabel {
  if (img.length !== N * N * 3)
    throw new Error(`the checker reads ${N}×${N} RGB images (${N * N * 3} bytes), got ${img.length} bytes`);
  const labels = new Int32Array(N * N);
  for (let i = 0; i < N * N; i++) labels[i] = nearest(img[3 * i], img[3 * i + 1], img[3 * i + 2]);

  const border = new Array<number>(N_BG).fill(0);
  for (let y = 0; y < N; y++)
    for (let x = 0; x < N; x++)
      if (x === 0 || x === N - 1 || y === 0 || y === N - 1) {
        const k = labels[y * N + x];
        if (k < N_BG) border[k] += 1;
      }
  const bg = argmax(border, 0, N_BG);
  const counts = new Array<number>(PALETTE.length).fill(0);
  for (const k of labels) counts[k] += 1;
  const fg = argmax(counts, N_BG, PALETTE.length);
  const mask = new Uint8Array(N * N);
  for (let i = 0; i < N * N; i++) mask[i] = labels[i] === fg ? 1 : 0;

  let xLo = N;
  let yLo = N;
  let xHi = -1;
  let yHi = -1;
  for (let y = 0; y < N; y++)
    for (let x = 0; x < N; x++) {
      if (!mask[y * N + x]) continue;
      let neighbours = 0;
      for (let ny = Math.max(0, y - 1); ny < Math.min(N, y + 2); ny++)
        for (let nx = Math.max(0, x - 1); nx < Math.min(N, x + 2); nx++) neighbours += mask[ny * N + nx];
      if (neighbours > 1) {
        // itself plus at least one
        xLo = Math.min(xLo, x);
        yLo = Math.min(yLo, y);
        xHi = Math.max(xHi, x);
        yHi = Math.max(yHi, y);
      }
    }
  const colour = COLOUR_NAMES[fg - N_BG];
  const background = BACKGROUND_NAMES[bg];
  if (xHi < 0) return { shape: SHAPES[0], colour, background };
  const side0 = Math.floor((xHi - xLo + 1 + (yHi - yLo + 1) + 1) / 2);
  let maskArea = 0;
  for (const m of mask) maskArea += m;
  let bestShape: Shape = SHAPES[0];
  let bestScore = -1;
  for (const shape of SHAPES)
    for (let side = Math.max(2, side0 - 1); side < side0 + 2; side++)
      for (let y0 = yLo - 1; y0 < yLo + 2; y0++)
        for (let x0 = xLo - 1; x0 < xLo + 2; x0++) {
          const score = iouScore(mask, maskArea, shape, side, x0, y0);
          if (score > bestScore) {
            // strict: the first of equals wins, in a fixed order
            bestShape = shape;
            bestScore = score;
          }
        }
  return { shape: bestShape, colour, background };
}

/** IoU of the template and the mask, per 1,000,000 in integers (so both languages compare exactly). */
function iouScore(mask: Uint8Array, maskArea: number, shape: Shape, side: number, x0: number, y0: number): number {
  let inter = 0;
  let area = 0;
  for (let dy = 0; dy < side; dy++) {
    const y = y0 + dy;
    for (let dx = 0; dx < side; dx++) {
      const x = x0 + dx;
      if (insideShape(shape, side, dx, dy) && x >= 0 && x < N && y >= 0 && y < N) {
        area += 1;
        inter += mask[y * N + x];
      }
    }
  }
  const union = area + maskArea - inter;
  return union === 0 ? 0 : Math.floor((inter * 1_000_000) / union);
}
