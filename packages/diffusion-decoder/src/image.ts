/**
 * Decoder output → pixels, as diffusers' image processor does it: (x/2 + 0.5) clamped to [0, 1], NCHW →
 * HWC, ×255 rounded half to even (numpy `round`), uint8; then PNG / JPEG / WebP through sharp.
 */
import sharp from 'sharp';

export interface RgbImage {
  width: number;
  height: number;
  /** HWC, 3 channels, row-major. */
  pixels: Uint8Array;
}

const roundHalfEven = (x: number) => {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** One image [3, H, W] (values about [−1, 1]) → RGB8. */
export function toRgb8(chw: Float32Array, height: number, width: number): RgbImage {
  if (chw.length !== 3 * height * width)
    throw new Error(`image has ${chw.length} values, expected 3 × ${height} × ${width}`);
  const plane = height * width;
  const pixels = new Uint8Array(3 * plane);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < plane; i++) {
      const v = Math.fround(Math.fround(chw[c * plane + i] / 2) + 0.5);
      const clamped = v < 0 ? 0 : Math.min(v, 1); // NaN → 0, like a uint8 cast of NaN in practice
      pixels[i * 3 + c] = roundHalfEven(Math.fround(clamped * 255)) || 0;
    }
  return { width, height, pixels };
}

/** The decoder's output [3, H, W] as diffusers' float image: (x/2 + 0.5) clamped to [0, 1], float32. */
export function toUnitRange(chw: Float32Array): Float32Array {
  return chw.map((x) => {
    const v = Math.fround(Math.fround(x / 2) + 0.5);
    return v < 0 ? 0 : Math.min(v, 1);
  });
}

export type ImageFormat = 'png' | 'jpeg' | 'webp';

/** Encode an RGB8 image. */
export async function encodeImage(img: RgbImage, format: ImageFormat = 'png', quality = 90): Promise<Buffer> {
  const s = sharp(Buffer.from(img.pixels.buffer, img.pixels.byteOffset, img.pixels.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  });
  if (format === 'png') return s.png().toBuffer();
  if (format === 'jpeg') return s.jpeg({ quality }).toBuffer();
  if (format === 'webp') return s.webp({ quality }).toBuffer();
  throw new Error(`unknown image format '${String(format)}' (expected png, jpeg or webp)`);
}
