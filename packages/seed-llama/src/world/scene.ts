/**
 * The shapes world of seed-micro: procedural 32×32 scenes and their captions, mirrored exactly from
 * tools/train/world.py (the training scripts' copy). Integer RNG and integer rasteriser, so a seed gives
 * the same pixels in both languages — the committed fixture PNGs (written by the Python side) check it.
 */

export const WORLD_SIZE = 32;
export const SHAPES = ['circle', 'square', 'triangle', 'cross'] as const;
export type Shape = (typeof SHAPES)[number];

export const COLOURS = {
  red: [220, 40, 40],
  green: [40, 170, 60],
  blue: [40, 80, 220],
  yellow: [240, 210, 40],
  purple: [150, 60, 190],
  orange: [245, 140, 30],
} as const;
export type Colour = keyof typeof COLOURS;

export const BACKGROUNDS = {
  white: [255, 255, 255],
  black: [0, 0, 0],
  gray: [128, 128, 128],
} as const;
export type Background = keyof typeof BACKGROUNDS;

/** Object key order is insertion order, the same as the tuples of world.py. */
export const COLOUR_NAMES = Object.keys(COLOURS) as Colour[];
export const BACKGROUND_NAMES = Object.keys(BACKGROUNDS) as Background[];

const MIN_SIDE = 11;
const MAX_SIDE = 22;

/** What a scene shows: the part a caption names. */
export interface SceneLabel {
  shape: Shape;
  colour: Colour;
  background: Background;
}

export interface Scene extends SceneLabel {
  /** Side of the shape's box in pixels (11–22) and its top-left corner. */
  side: number;
  x: number;
  y: number;
}

/** xorshift32 seeded through one multiply-xorshift round: integer-only, identical to world.py's Rng. */
export class WorldRng {
  private state: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0) throw new Error(`a world seed is a non-negative integer, got ${seed}`);
    // (seed · 2654435761 + 0x9E3779B9) mod 2³²: Math.imul keeps the product exact in 32 bits.
    let s = (Math.imul(seed >>> 0, 2654435761 | 0) + 0x9e3779b9) >>> 0;
    s = (s ^ (s >>> 16)) >>> 0;
    this.state = s || 0x1234567; // xorshift has one fixed point, 0
  }

  next(): number {
    let x = this.state;
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    this.state = x;
    return x;
  }

  below(n: number): number {
    return this.next() % n;
  }
}

/** The scene of a seed. */
export function scene(seed: number): Scene {
  const r = new WorldRng(seed);
  const shape = SHAPES[r.below(SHAPES.length)];
  const colour = COLOUR_NAMES[r.below(COLOUR_NAMES.length)];
  const background = BACKGROUND_NAMES[r.below(BACKGROUND_NAMES.length)];
  const side = MIN_SIDE + r.below(MAX_SIDE - MIN_SIDE + 1);
  const x = r.below(WORLD_SIZE - side + 1);
  const y = r.below(WORLD_SIZE - side + 1);
  return { shape, colour, background, side, x, y };
}

/**
 * Whether pixel (dx, dy) of a side×side box belongs to the shape. Pixel centres in doubled coordinates
 * (2·dx + 1) keep every test in integers; the box centre is then (side, side).
 */
export function insideShape(shape: Shape, side: number, dx: number, dy: number): boolean {
  const px = 2 * dx + 1;
  const py = 2 * dy + 1;
  switch (shape) {
    case 'square':
      return true;
    case 'circle':
      return (px - side) ** 2 + (py - side) ** 2 <= side * side;
    case 'triangle': // apex at the top centre, base along the bottom edge
      return 2 * Math.abs(px - side) <= py;
    case 'cross': // a plus sign, arms a third of the side thick
      return 3 * Math.abs(px - side) <= side || 3 * Math.abs(py - side) <= side;
  }
}

/** The scene's pixels: WORLD_SIZE² × 3 bytes, RGB, row-major. */
export function render(s: Scene): Uint8Array {
  const bg = BACKGROUNDS[s.background];
  const fg = COLOURS[s.colour];
  const img = new Uint8Array(WORLD_SIZE * WORLD_SIZE * 3);
  for (let i = 0; i < WORLD_SIZE * WORLD_SIZE; i++) img.set(bg, i * 3);
  for (let dy = 0; dy < s.side; dy++)
    for (let dx = 0; dx < s.side; dx++)
      if (insideShape(s.shape, s.side, dx, dy)) img.set(fg, ((s.y + dy) * WORLD_SIZE + s.x + dx) * 3);
  return img;
}

/** "a red circle on a white background" */
export function caption(s: SceneLabel): string {
  return `a ${s.colour} ${s.shape} on a ${s.background} background`;
}

const CAPTION_RE = new RegExp(
  `\\b(${COLOUR_NAMES.join('|')})\\s+(${SHAPES.join('|')})\\s+on\\s+an?\\s+(${BACKGROUND_NAMES.join('|')})\\s+background`,
);

/** The scene a caption names, or undefined when it names none. */
export function parseCaption(text: string): SceneLabel | undefined {
  const m = CAPTION_RE.exec(text.toLowerCase());
  return m ? { shape: m[2] as Shape, colour: m[1] as Colour, background: m[3] as Background } : undefined;
}
