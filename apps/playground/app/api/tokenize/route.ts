/**
 * POST /api/tokenize: an uploaded image (the raw file as the body) → its 32 SEED codes. Checked here too,
 * not only in the browser: the size limit, and that the bytes are an image whatever the file is called.
 */
import { UserError } from '@/lib/server/backend';
import { backend } from '@/lib/server/model-host';
import { errorResponse } from '@/lib/server/responses';
import { checkImage, MAX_IMAGE_BYTES } from '@/lib/shared/image-check';
import type { TokenizeResponse } from '@/lib/shared/protocol';

export const dynamic = 'force-dynamic';

export async function POST(request: Request): Promise<Response> {
  try {
    const name = decodeURIComponent(request.headers.get('x-file-name') ?? 'the image');
    const declared = Number(request.headers.get('content-length') ?? 0);
    // Refuse before reading a body that is known to be too large.
    if (declared > MAX_IMAGE_BYTES) throw new UserError(413, checkImage(name, declared, new Uint8Array()) as string);
    const bytes = new Uint8Array(await request.arrayBuffer());
    const problem = checkImage(name, bytes.length, bytes.subarray(0, 16));
    if (problem) throw new UserError(bytes.length > MAX_IMAGE_BYTES ? 413 : 415, problem, 'invalid_image');
    const codes = await backend().tokenize(bytes, request.signal);
    return Response.json({ codes } satisfies TokenizeResponse);
  } catch (e) {
    return errorResponse(e);
  }
}
