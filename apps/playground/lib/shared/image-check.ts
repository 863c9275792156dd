/**
 * Upload checks shared by the browser (instant feedback) and the server (the authority): the size limit, and
 * whether the bytes really are an image — a text file renamed `.png` has the right extension and MIME type,
 * so only its first bytes tell.
 */
export const MAX_IMAGE_BYTES = 16 * 1024 * 1024;
export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'];

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}

/** The image format the leading bytes announce, or undefined. */
export function sniffImageType(head: Uint8Array): string | undefined {
  const starts = (sig: number[], at = 0) => sig.every((b, i) => head[at + i] === b);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts([0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (starts([0x47, 0x49, 0x46, 0x38])) return 'image/gif';
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp';
  return undefined;
}

const KINDS = 'PNG, JPEG, WebP or GIF';

/** Why a file cannot be attached (a sentence for the user), or undefined when it can. */
export function checkImage(name: string, size: number, head: Uint8Array, maxBytes = MAX_IMAGE_BYTES) {
  if (size > maxBytes)
    return `${name} is too large: ${formatBytes(size)}, and images can be at most ${formatBytes(maxBytes)}.`;
  if (size === 0) return `${name} is empty.`;
  if (!sniffImageType(head)) return `${name} is not an image: its contents are not ${KINDS}, whatever its name says.`;
  return undefined;
}
