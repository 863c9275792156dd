/**
 * Images a request carries, turned into bytes the SEED tokenizer can read: `data:` URLs, and local files
 * only from a directory the operator allowed (never remote URLs: the server fetches nothing on a
 * client's behalf). The bytes are checked here — size, real format by their magic numbers, decodable,
 * pixel count — so that a bad image is refused with a 4xx before the request ever waits for the model.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { invalid, tooLarge } from './errors.js';
import { formatBytes } from './http-io.js';

export interface ImageLimits {
  /** Largest image file, in bytes. */
  maxImageBytes: number;
  /** Largest image, in pixels (width × height). */
  maxImagePixels: number;
  /** Local image paths are read only from inside this directory; without it, not at all. */
  allowFilesFrom?: string;
}

/** The formats accepted (those OpenAI's API accepts), by MIME type. */
export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'] as const;
type ImageType = (typeof IMAGE_TYPES)[number];

/** The format of `bytes` by its magic numbers (what a data URL declares is not trusted). */
export function sniffImageType(bytes: Uint8Array): ImageType | undefined {
  const at = (offset: number, ascii: string) =>
    bytes.length >= offset + ascii.length &&
    Buffer.from(bytes.subarray(offset, offset + ascii.length)).toString('latin1') === ascii;
  if (at(0, '\x89PNG\r\n\x1a\n')) return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (at(0, 'RIFF') && at(8, 'WEBP')) return 'image/webp';
  if (at(0, 'GIF87a') || at(0, 'GIF89a')) return 'image/gif';
  return undefined;
}

/**
 * The bytes of the image at `url` (an `image_url.url`), checked. `param` names the field in errors.
 * Throws 400 (not an image, wrong type, unreadable, not allowed) or 413 (over a limit).
 */
export async function loadImageUrl(url: string, limits: ImageLimits, param: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  if (url.startsWith('data:')) bytes = decodeDataUrl(url, limits, param);
  else if (/^https?:\/\//i.test(url))
    throw invalid(
      'remote image URLs are not fetched by this server: send the image as a data URL (data:image/png;base64,…)',
      param,
      'unsupported_image_url',
    );
  else if (url.startsWith('file://') || isAbsolute(url)) bytes = await readAllowedFile(url, limits, param);
  else throw invalid('an image URL is a data: URL (or, where the server allows it, a local file path)', param);
  return checkImage(bytes, limits, param);
}

function decodeDataUrl(url: string, limits: ImageLimits, param: string): Uint8Array {
  const comma = url.indexOf(',');
  const header = comma < 0 ? '' : url.slice(5, comma).toLowerCase();
  if (comma < 0 || !header.split(';').includes('base64'))
    throw invalid('an image data URL is base64: data:image/png;base64,…', param, 'invalid_image_url');
  const declared = header.split(';')[0];
  if (declared && !(IMAGE_TYPES as readonly string[]).includes(declared))
    throw invalid(
      `image type ${declared} is not supported; send one of ${IMAGE_TYPES.join(', ')}`,
      param,
      'invalid_image_format',
    );
  // Refuse by the encoded length, before decoding: base64 carries 3 bytes per 4 characters.
  if (Math.floor(((url.length - comma - 1) * 3) / 4) > limits.maxImageBytes + 2) throw imageTooLarge(limits, param);
  return Buffer.from(url.slice(comma + 1), 'base64');
}

async function readAllowedFile(url: string, limits: ImageLimits, param: string): Promise<Uint8Array> {
  if (!limits.allowFilesFrom)
    throw invalid(
      'local image files are not allowed by this server (it reads them only from a directory given with --allow-files): send a data URL',
      param,
      'local_files_not_allowed',
    );
  let path: string;
  try {
    path = url.startsWith('file://') ? fileURLToPath(url) : url;
  } catch {
    throw invalid(`${url} is not a valid file URL`, param, 'invalid_image_url');
  }
  // Resolve links and `..` first: the real file must lie inside the real allowed directory.
  const root = await realpath(limits.allowFilesFrom);
  const real = await realpath(path).catch(() => {
    throw invalid(`image file ${path} does not exist or cannot be read`, param, 'image_not_found');
  });
  if (!real.startsWith(root.endsWith(sep) ? root : root + sep))
    throw invalid(
      `image file ${path} is outside the directory this server reads images from`,
      param,
      'local_files_not_allowed',
    );
  const info = await stat(real);
  if (!info.isFile()) throw invalid(`image path ${path} is not a file`, param, 'image_not_found');
  if (info.size > limits.maxImageBytes) throw imageTooLarge(limits, param);
  return new Uint8Array(await readFile(real));
}

async function checkImage(bytes: Uint8Array, limits: ImageLimits, param: string): Promise<Uint8Array> {
  if (bytes.length > limits.maxImageBytes) throw imageTooLarge(limits, param);
  if (!sniffImageType(bytes))
    throw invalid(
      `the image is not a ${IMAGE_TYPES.map((t) => t.slice(6).toUpperCase()).join(', ')} file`,
      param,
      'invalid_image_format',
    );
  // Reads the header only: enough to refuse a broken file or one too many pixels before decoding it.
  const meta = await sharp(bytes)
    .metadata()
    .catch((e: Error) => {
      throw invalid(`the image cannot be read: ${e.message}`, param, 'invalid_image');
    });
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (pixels === 0) throw invalid('the image has no pixels', param, 'invalid_image');
  if (pixels > limits.maxImagePixels)
    throw tooLarge(
      `the image is ${meta.width}×${meta.height}, more than the server's limit of ${limits.maxImagePixels} pixels`,
      param,
      'image_too_large',
    );
  return bytes;
}

const imageTooLarge = (limits: ImageLimits, param: string) =>
  tooLarge(
    `the image is larger than the server's limit of ${formatBytes(limits.maxImageBytes)}`,
    param,
    'image_too_large',
  );
