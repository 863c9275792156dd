/** Route handler answers: JSON errors the browser can show as they are, and event streams that stop with the client. */
import type { ErrorBody, WireEvent } from '../shared/protocol';
import { formatEvent } from '../shared/sse';
import { UserError } from './backend';

export function errorResponse(error: unknown): Response {
  const e =
    error instanceof UserError
      ? error
      : new UserError(500, `The server failed: ${(error as Error)?.message ?? String(error)}`, 'server_error');
  const body: ErrorBody = { error: { message: e.message, code: e.code } };
  return Response.json(body, { status: e.status });
}

/**
 * Stream `events` as server-sent events. The generation's signal fires when the browser goes away (the
 * request's own signal, or the stream being cancelled), which is what "stop" does: it aborts the fetch.
 * A failure after the stream began is sent as an `error` event, since the status line is long gone.
 */
export function eventStream(request: Request, start: (signal: AbortSignal) => AsyncIterable<WireEvent>): Response {
  const controller = new AbortController();
  request.signal.addEventListener('abort', () => controller.abort(), { once: true });
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(out) {
      try {
        for await (const event of start(controller.signal)) {
          if (controller.signal.aborted) break;
          out.enqueue(encoder.encode(formatEvent(event.type, event)));
        }
      } catch (error) {
        if (!controller.signal.aborted) {
          const message =
            error instanceof UserError ? error.message : `The server failed: ${(error as Error)?.message ?? error}`;
          const code = error instanceof UserError ? error.code : 'server_error';
          out.enqueue(encoder.encode(formatEvent('error', { type: 'error', message, code })));
        }
      }
      try {
        out.close();
      } catch {
        // Already closed by a cancelled client.
      }
    },
    cancel() {
      controller.abort();
    },
  });
  return new Response(body, {
    headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform' },
  });
}
