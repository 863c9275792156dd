/** POST /api/redraw: draw an image again from its 32 codes alone, streamed as server-sent events. */
import { UserError } from '@/lib/server/backend';
import { backend } from '@/lib/server/model-host';
import { errorResponse, eventStream } from '@/lib/server/responses';
import type { RedrawRequest } from '@/lib/shared/protocol';

export const dynamic = 'force-dynamic';

export async function POST(request: Request): Promise<Response> {
  let body: RedrawRequest;
  try {
    body = (await request.json()) as RedrawRequest;
    if (!Array.isArray(body.codes) || typeof body.settings !== 'object')
      throw new UserError(400, 'A redraw request needs codes and settings.');
  } catch (e) {
    return errorResponse(e instanceof UserError ? e : new UserError(400, 'The request is not valid JSON.'));
  }
  return eventStream(request, (signal) => backend().redraw(body, signal));
}
