/**
 * The browser's side of the wire: POST a request and relay its server-sent events, turning every way it can
 * fail into one of three errors the UI words differently — the server said no (`ServerError`, its message),
 * the connection broke (`ConnectionLost`), or the user stopped it (an AbortError, which is not a failure).
 */
import type { ErrorBody, ModelInfo, ServerStatus, TokenizeResponse, WireEvent } from '../shared/protocol';
import { readEvents } from '../shared/sse';

export class ServerError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

export class ConnectionLost extends Error {
  constructor() {
    super('The connection to the server was lost before the answer was complete.');
  }
}

async function post(url: string, body: BodyInit, signal?: AbortSignal, headers?: HeadersInit): Promise<Response> {
  let r: Response;
  try {
    r = await fetch(url, { method: 'POST', body, signal, headers });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ConnectionLost();
  }
  if (!r.ok) throw await serverError(r);
  return r;
}

async function serverError(r: Response): Promise<ServerError> {
  const body = (await r.json().catch(() => undefined)) as ErrorBody | undefined;
  return new ServerError(
    body?.error?.message ?? `The server answered ${r.status} ${r.statusText}.`,
    r.status,
    body?.error?.code,
  );
}

/** Stream a turn (or a redraw): each event to `onEvent`, until `done` or `error` arrives. */
export async function streamEvents(
  url: string,
  body: unknown,
  signal: AbortSignal,
  onEvent: (e: WireEvent) => void,
): Promise<void> {
  const r = await post(url, JSON.stringify(body), signal, { 'Content-Type': 'application/json' });
  if (!r.body) throw new ConnectionLost();
  let finished = false;
  try {
    for await (const raw of readEvents(r.body)) {
      const event = JSON.parse(raw.data) as WireEvent;
      onEvent(event);
      if (event.type === 'done' || event.type === 'error') finished = true;
    }
  } catch (e) {
    if ((e as Error).name === 'AbortError' || signal.aborted) throw e;
    throw new ConnectionLost();
  }
  // A stream that ends without its last event was cut (server restarted, network gone).
  if (!finished && !signal.aborted) throw new ConnectionLost();
}

export async function tokenize(file: Blob, name: string, signal?: AbortSignal): Promise<number[] | null> {
  const r = await post('/api/tokenize', file, signal, {
    'Content-Type': 'application/octet-stream',
    'X-File-Name': encodeURIComponent(name),
  });
  return ((await r.json()) as TokenizeResponse).codes;
}

export async function fetchModelInfo(): Promise<ModelInfo> {
  const r = await fetch('/api/model', { cache: 'no-store' }).catch(() => {
    throw new ConnectionLost();
  });
  if (!r.ok) throw await serverError(r);
  return (await r.json()) as ModelInfo;
}

export async function fetchStatus(): Promise<ServerStatus> {
  const r = await fetch('/api/status', { cache: 'no-store' });
  return (await r.json()) as ServerStatus;
}

/** The sentence to show for a failed request. */
export function describeFailure(e: unknown): { message: string; retry: boolean } {
  if (e instanceof ConnectionLost) return { message: e.message, retry: true };
  if (e instanceof ServerError)
    return {
      message: e.message,
      retry: e.status >= 500 || e.status === 429 || e.status === 503,
    };
  return { message: `Something went wrong: ${(e as Error)?.message ?? e}`, retry: true };
}
