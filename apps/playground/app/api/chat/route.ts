/** POST /api/chat: answer the conversation's last message, streamed as server-sent events. */
import { UserError } from '@/lib/server/backend';
import { backend } from '@/lib/server/model-host';
import { errorResponse, eventStream } from '@/lib/server/responses';
import type { ChatRequest } from '@/lib/shared/protocol';

export const dynamic = 'force-dynamic';

export async function POST(request: Request): Promise<Response> {
  let body: ChatRequest;
  try {
    body = (await request.json()) as ChatRequest;
    if (!Array.isArray(body.messages) || body.messages.length === 0 || typeof body.settings !== 'object')
      throw new UserError(400, 'A chat request needs messages and settings.');
  } catch (e) {
    return errorResponse(e instanceof UserError ? e : new UserError(400, 'The request is not valid JSON.'));
  }
  return eventStream(request, (signal) => backend().turn(body, signal));
}
