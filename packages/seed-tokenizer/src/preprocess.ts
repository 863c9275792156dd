/**
 * SEED's image preprocessing, as every SEED-LLaMA script does it (configs/transform/clip_transform.yaml):
 * `Image.open(...).convert('RGB')`, torchvision `Resize((224, 224))` — a squash, aspect ratio not kept, no
 * crop, with Pillow's bilinear filter, which widens its triangle kernel when shrinking — then `ToTensor`
 * and the OpenAI CLIP mean/std. Decoding is sharp's (PNG, JPEG, WebP, …); the resize reproduces Pillow's
 * separable fixed-point resampling (horizontal pass, 8-bit rounding, vertical pass) so the pixels match it.
 */
import sharp from 'sharp';

export const IMAGE_SIZE = 224;
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;
/** Inputs above this many pixels are refused (a 10k × 10k photo is fine; a decompression bomb is not). */
export const MAX_INPUT_PIXELS = 100_000_000;

/** Raw pixels: RGB (3 channels) or RGBA (4, alpha dropped as Pillow's convert('RGB') drops it). */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** A file path, encoded bytes (PNG / JPEG / WebP / …), or raw pixels. */
export type ImageInput = string | Uint8Array | RawImage;

export interface RgbImage {
  /** H × W × 3, row-major */
  data: Uint8Array;
  width: number;
  height: number;
}

function isRaw(x: ImageInput): x is RawImage {
  return typeof x === 'object' && !(x instanceof Uint8Array) && 'width' in x;
}

/** Decode any input to 8-bit RGB. Errors name the problem (unreadable file, not an image, too large). */
export async function decodeImage(input: ImageInput): Promise<RgbImage> {
  if (isRaw(input)) {
    const { data, width, height, channels } = input;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0)
      throw new Error(`raw image size ${width}×${height} is invalid`);
    if (channels !== 3 && channels !== 4)
      throw new Error(`raw images have 3 (RGB) or 4 (RGBA) channels, got ${channels}`);
    if (width * height > MAX_INPUT_PIXELS)
      throw new Error(`image is ${width}×${height}, more than ${MAX_INPUT_PIXELS} pixels`);
    if (data.length !== width * height * channels)
      throw new Error(
        `raw image data has ${data.length} bytes, expected ${width}×${height}×${channels} = ${width * height * channels}`,
      );
    if (channels === 3) return { data, width, height };
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0, j = 0; i < data.length; i += 4, j += 3) {
      rgb[j] = data[i];
      rgb[j + 1] = data[i + 1];
      rgb[j + 2] = data[i + 2];
    }
    return { data: rgb, width, height };
  }
  const what = typeof input === 'string' ? input : 'image bytes';
  try {
    const { data, info } = await sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
    };
  } catch (e) {
    const msg = (e as Error).message;
    if (/pixel limit/i.test(msg)) throw new Error(`${what}: image is larger than ${MAX_INPUT_PIXELS} pixels`);
    throw new Error(`${what}: cannot decode image (${msg})`);
  }
}

// ---- Pillow's bilinear resampling ----
const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;

/** Per output pixel: first input index and fixed-point weights of the triangle filter (support widened when shrinking). */
function coefficients(inSize: number, outSize: number): { start: Int32Array; weights: Int32Array[] } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 1.0 * filterScale; // bilinear: support 1
  const start = new Int32Array(outSize);
  const weights: Int32Array[] = [];
  for (let x = 0; x < outSize; x++) {
    const center = (x + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5));
    const k: number[] = [];
    let sum = 0;
    for (let i = xmin; i < xmax; i++) {
      const t = Math.abs((i - center + 0.5) / filterScale);
      const w = t < 1 ? 1 - t : 0;
      k.push(w);
      sum += w;
    }
    start[x] = xmin;
    // Normalised, then to fixed point rounding half away from zero (weights are never negative here).
    weights.push(Int32Array.from(k, (w) => Math.trunc(0.5 + (sum ? w / sum : 0) * ONE)));
  }
  return { start, weights };
}

const clip8 = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : v);

/** Resize 8-bit RGB with Pillow's BILINEAR (horizontal pass, round to 8 bits, vertical pass). */
export function resizeBilinear(img: RgbImage, outW: number, outH: number): RgbImage {
  const { width: W, height: H, data } = img;
  let tmp = data;
  let tmpW = W;
  if (outW !== W) {
    const { start, weights } = coefficients(W, outW);
    tmp = new Uint8Array(outW * H * 3);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < outW; x++) {
        const k = weights[x];
        for (let c = 0; c < 3; c++) {
          let s = ONE / 2;
          for (let i = 0; i < k.length; i++) s += data[(y * W + start[x] + i) * 3 + c] * k[i];
          tmp[(y * outW + x) * 3 + c] = clip8(Math.floor(s / ONE));
        }
      }
    tmpW = outW;
  }
  if (outH === H) return { data: tmp, width: tmpW, height: H };
  const { start, weights } = coefficients(H, outH);
  const out = new Uint8Array(tmpW * outH * 3);
  for (let y = 0; y < outH; y++) {
    const k = weights[y];
    for (let x = 0; x < tmpW; x++)
      for (let c = 0; c < 3; c++) {
        let s = ONE / 2;
        for (let i = 0; i < k.length; i++) s += tmp[((start[y] + i) * tmpW + x) * 3 + c] * k[i];
        out[(y * tmpW + x) * 3 + c] = clip8(Math.floor(s / ONE));
      }
  }
  return { data: out, width: tmpW, height: outH };
}

/** ToTensor + Normalize: HWC uint8 → CHW float32, (x/255 − mean) / std. */
export function normalizeClip(img: RgbImage): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < 3; c++) out[c * n + i] = (img.data[i * 3 + c] / 255 - CLIP_MEAN[c]) / CLIP_STD[c];
  return out;
}

/**
 * The whole preprocessing: any input → [3, size, size] CLIP-normalised pixels. `size` is the tokenizer
 * config's image_size: 224 for the released SEED tokenizer, smaller for scaled-down models.
 */
export async function preprocessImage(input: ImageInput, size: number = IMAGE_SIZE): Promise<Float32Array> {
  if (!Number.isInteger(size) || size < 1) throw new Error(`image size must be a positive integer, got ${size}`);
  return normalizeClip(resizeBilinear(await decodeImage(input), size, size));
}
