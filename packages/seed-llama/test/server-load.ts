/**
 * The load scenario of the server's load test and of `pnpm bench`: concurrent clients, each sending a
 * mix of requests — text chat, chat with an image, drawings, streamed answers it abandons after the first
 * chunk, malformed JSON, an unknown model — and the check that each was answered or refused cleanly.
 */

export const KINDS = ['chat', 'image-in', 'draw', 'stream-abort', 'malformed', 'unknown-model'] as const;
export type Kind = (typeof KINDS)[number];

export interface LoadResult {
  kind: Kind;
  /** The HTTP status; 'aborted' when the client left on purpose; 'failed' when the request broke. */
  status: number | 'aborted' | 'failed';
  seconds: number;
  /** Why a result is not clean (undefined when it is). */
  problem?: string;
}

export interface LoadOptions {
  clients: number;
  /** Requests per client. */
  rounds: number;
  /** An image as a data URL, for the image-input requests. */
  imageDataUrl: string;
}

/** Statuses each kind may end with: served, refused because the queue is full, or its own refusal. */
const CLEAN: Record<Kind, readonly (number | 'aborted')[]> = {
  chat: [200, 429],
  'image-in': [200, 429],
  draw: [200, 429],
  'stream-abort': ['aborted', 200, 429],
  malformed: [400],
  'unknown-model': [404],
};

function request(kind: Kind, client: number, image: string): { path: string; body: string } {
  const chat = (content: unknown, extra: object = {}) =>
    JSON.stringify({ messages: [{ role: 'user', content }], max_tokens: 16, seed: client, ...extra });
  switch (kind) {
    case 'chat':
      return { path: '/v1/chat/completions', body: chat('what is this?') };
    case 'image-in':
      return {
        path: '/v1/chat/completions',
        body: chat(
          [
            { type: 'image_url', image_url: { url: image } },
            { type: 'text', text: 'what is this?' },
          ],
          { max_tokens: 8 },
        ),
      };
    case 'draw':
      return {
        path: '/v1/images/generations',
        body: JSON.stringify({ prompt: 'a red circle', size: '16x16', decoder_steps: 2, seed: client }),
      };
    case 'stream-abort':
      return { path: '/v1/chat/completions', body: chat('tell me', { stream: true, max_tokens: 200 }) };
    case 'malformed':
      return { path: '/v1/chat/completions', body: '{"messages": [{"role": "user", "content": ' };
    case 'unknown-model':
      return { path: '/v1/chat/completions', body: chat('hi', { model: 'gpt-4o' }) };
  }
}

async function one(url: string, kind: Kind, client: number, image: string): Promise<LoadResult> {
  const { path, body } = request(kind, client, image);
  const controller = new AbortController();
  const t0 = performance.now();
  const result = (status: LoadResult['status'], problem?: string): LoadResult => ({
    kind,
    status,
    seconds: (performance.now() - t0) / 1000,
    problem: problem ?? (CLEAN[kind].includes(status as number) ? undefined : `unexpected status ${status}`),
  });
  try {
    const res = await fetch(url + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
      signal: controller.signal,
    });
    if (kind === 'stream-abort' && res.status === 200) {
      const reader = res.body?.getReader();
      const first = await reader?.read();
      controller.abort();
      return result('aborted', first?.value ? undefined : 'the stream ended before its first chunk');
    }
    const text = await res.text();
    let parsed: { error?: { message?: unknown }; choices?: unknown; data?: unknown } | undefined;
    try {
      parsed = JSON.parse(text);
    } catch {
      return result(res.status, `the answer is not JSON: ${text.slice(0, 80)}`);
    }
    if (res.status === 429 && !res.headers.get('retry-after')) return result(429, '429 without Retry-After');
    if (res.status >= 400 && typeof parsed?.error?.message !== 'string')
      return result(res.status, 'an error without an OpenAI error body');
    if (res.status === 200 && !parsed?.choices && !parsed?.data) return result(200, 'a 200 without choices or data');
    return result(res.status);
  } catch (e) {
    if (controller.signal.aborted) return result('aborted');
    return result('failed', `request failed: ${(e as Error).message}`);
  }
}

/** Run `clients` concurrent clients against the server at `url`. */
export async function runLoad(url: string, o: LoadOptions): Promise<{ results: LoadResult[]; seconds: number }> {
  const t0 = performance.now();
  const perClient = await Promise.all(
    Array.from({ length: o.clients }, async (_, c) => {
      const out: LoadResult[] = [];
      for (let r = 0; r < o.rounds; r++) out.push(await one(url, KINDS[(c + r) % KINDS.length], c, o.imageDataUrl));
      return out;
    }),
  );
  return { results: perClient.flat(), seconds: (performance.now() - t0) / 1000 };
}

const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

export interface LoadFigures {
  kind: Kind | 'all';
  requests: number;
  /** Answered 200 (or, for stream-abort, abandoned by the client as planned). */
  served: number;
  /** 429: the queue was full. */
  refused: number;
  p50_ms: number;
  p95_ms: number;
}

/** Per kind and overall: counts and latency quantiles of the requests that were served. */
export function figures(results: LoadResult[]): LoadFigures[] {
  const row = (kind: LoadFigures['kind'], rs: LoadResult[]): LoadFigures => {
    const served = rs.filter((r) => r.status === 200 || r.status === 'aborted' || r.status === 400 || r.status === 404);
    const ms = served.map((r) => r.seconds * 1000);
    return {
      kind,
      requests: rs.length,
      served: served.length,
      refused: rs.filter((r) => r.status === 429).length,
      p50_ms: quantile(ms, 0.5),
      p95_ms: quantile(ms, 0.95),
    };
  };
  return [
    ...KINDS.map((k) =>
      row(
        k,
        results.filter((r) => r.kind === k),
      ),
    ),
    row('all', results),
  ];
}
