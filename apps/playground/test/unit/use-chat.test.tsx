// @vitest-environment happy-dom
/**
 * The chat hook against a fake server (fetch replaced): streaming, stop, a lost connection with retry,
 * regenerate, edit, and the conversation kept in sessionStorage across a remount (a reload).
 */
import { act, cleanup, renderHook, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { messageText } from '@/lib/chat/reducer';
import { useChat } from '@/lib/chat/use-chat';
import { formatEvent } from '@/lib/shared/sse';

type Reply = (body: { messages: { parts: { text?: string }[] }[]; draw: boolean }, signal: AbortSignal) => Response;
let reply: Reply;
const requests: unknown[] = [];

/** A response whose body streams `events`, then (unless `cut`) ends; stays open while `hold` is pending. */
function sse(events: object[], o: { hold?: Promise<void>; cut?: boolean; signal?: AbortSignal } = {}) {
  const enc = new TextEncoder();
  return new Response(
    new ReadableStream({
      async start(c) {
        for (const e of events) c.enqueue(enc.encode(formatEvent((e as { type: string }).type, e)));
        if (o.hold) {
          o.signal?.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError')));
          await o.hold.catch(() => {});
        }
        if (o.cut) c.error(new TypeError('network error'));
        else c.close();
      },
    }),
    { headers: { 'Content-Type': 'text/event-stream' } },
  );
}

beforeEach(() => {
  sessionStorage.clear();
  requests.length = 0;
  vi.stubGlobal(
    'fetch',
    vi.fn(async (_url: string, init: RequestInit) => {
      const body = JSON.parse(init.body as string);
      requests.push(body);
      return reply(body, init.signal as AbortSignal);
    }),
  );
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const text = (t: string) => [{ type: 'text' as const, text: t }];

describe('useChat', () => {
  it('streams an answer and sends the whole conversation each turn', async () => {
    reply = (body) =>
      sse([
        { type: 'text', text: `re: ${body.messages.at(-1)?.parts[0].text}` },
        { type: 'done', reason: 'eos' },
      ]);
    const { result } = renderHook(() => useChat());
    await act(async () => result.current.send(text('one'), false));
    await waitFor(() => expect(result.current.messages[1]?.status).toBe('done'));
    expect(messageText(result.current.messages[1])).toBe('re: one');
    await act(async () => result.current.send(text('two'), false));
    await waitFor(() => expect(result.current.messages[3]?.status).toBe('done'));
    expect((requests[1] as { messages: unknown[] }).messages).toHaveLength(3);
  });

  it('stop aborts the request; the words so far stay and the chat is usable again', async () => {
    let release = () => {};
    const hold = new Promise<void>((r) => (release = r));
    reply = (_b, signal) => sse([{ type: 'text', text: 'partial' }], { hold, signal });
    const { result } = renderHook(() => useChat());
    await act(async () => result.current.send(text('long'), false));
    await waitFor(() => expect(messageText(result.current.messages[1])).toBe('partial'));
    expect(result.current.busy).toBe(true);
    await act(async () => result.current.stop());
    await waitFor(() => expect(result.current.messages[1].status).toBe('stopped'));
    expect(result.current.busy).toBe(false);
    release();
  });

  it('a lost connection is an error with retry, and retry answers again', async () => {
    reply = () => sse([{ type: 'text', text: 'half' }], { cut: true });
    const { result } = renderHook(() => useChat());
    await act(async () => result.current.send(text('q'), false));
    await waitFor(() => expect(result.current.messages[1].status).toBe('error'));
    expect(result.current.messages[1].error).toMatchObject({
      message: expect.stringMatching(/connection/),
      retry: true,
    });
    reply = () =>
      sse([
        { type: 'text', text: 'whole' },
        { type: 'done', reason: 'eos' },
      ]);
    await act(async () => result.current.regenerate());
    await waitFor(() => expect(result.current.messages[1].status).toBe('done'));
    expect(result.current.messages).toHaveLength(2);
    expect(messageText(result.current.messages[1])).toBe('whole');
  });

  it('a server error is shown with its message', async () => {
    reply = () => Response.json({ error: { message: 'The model could not be loaded: no llm/' } }, { status: 503 });
    const { result } = renderHook(() => useChat());
    await act(async () => result.current.send(text('q'), false));
    await waitFor(() => expect(result.current.messages[1].status).toBe('error'));
    expect(result.current.messages[1].error?.message).toBe('The model could not be loaded: no llm/');
  });

  it('edit and resend replaces the message and everything after it', async () => {
    reply = (body) =>
      sse([
        { type: 'text', text: `re: ${body.messages.at(-1)?.parts[0].text}` },
        { type: 'done', reason: 'eos' },
      ]);
    const { result } = renderHook(() => useChat());
    await act(async () => result.current.send(text('first'), false));
    await waitFor(() => expect(result.current.busy).toBe(false));
    await act(async () => result.current.send(text('second'), false));
    await waitFor(() => expect(result.current.messages).toHaveLength(4));
    await waitFor(() => expect(result.current.busy).toBe(false));
    await act(async () => result.current.edit(result.current.messages[0].id, 'FIRST'));
    await waitFor(() => expect(result.current.messages[1]?.status).toBe('done'));
    expect(result.current.messages.map(messageText)).toEqual(['FIRST', 're: FIRST']);
  });

  it('keeps the conversation and settings across a reload (sessionStorage), and new chat clears it', async () => {
    reply = () =>
      sse([
        { type: 'text', text: 'kept' },
        { type: 'done', reason: 'eos' },
      ]);
    const first = renderHook(() => useChat());
    await act(async () => first.result.current.send(text('remember me'), false));
    await waitFor(() => expect(first.result.current.messages[1]?.status).toBe('done'));
    act(() => first.result.current.setSettings({ ...first.result.current.settings, temperature: 1.3 }));
    await waitFor(() => expect(sessionStorage.getItem('seed-playground:chat:v1')).toContain('kept'));
    first.unmount();

    const again = renderHook(() => useChat());
    await waitFor(() => expect(again.result.current.messages).toHaveLength(2));
    expect(again.result.current.messages.map(messageText)).toEqual(['remember me', 'kept']);
    expect(again.result.current.settings.temperature).toBe(1.3);
    act(() => again.result.current.newChat());
    await waitFor(() => expect(sessionStorage.getItem('seed-playground:chat:v1')).toBeNull());
  });
});
