import { describe, expect, it } from 'vitest';
import { chatReducer, initialState, messageText, restored, toWire } from '@/lib/chat/reducer';
import type { ChatMessage } from '@/lib/chat/types';
import type { WireEvent } from '@/lib/shared/protocol';

const user = (text: string, id = 'u1'): ChatMessage => ({
  id,
  role: 'user',
  parts: [{ type: 'text', text }],
  status: 'done',
});

function run(events: WireEvent[], draw = false) {
  let s = chatReducer(initialState, { type: 'start', user: user('hi'), assistantId: 'a1', draw });
  for (const event of events) s = chatReducer(s, { type: 'event', id: 'a1', event });
  return s;
}

describe('chat reducer', () => {
  it('starts a turn with the user message and an answer waiting for the model', () => {
    const s = run([]);
    expect(s.messages.map((m) => [m.role, m.status])).toEqual([
      ['user', 'done'],
      ['assistant', 'pending'],
    ]);
  });

  it('shows the queue position, then streams text into one part', () => {
    let s = run([{ type: 'queued', position: 2 }]);
    expect(s.messages[1].queuePosition).toBe(2);
    s = run([
      { type: 'queued', position: 1 },
      { type: 'text', text: 'a red ' },
      { type: 'text', text: 'circle' },
    ]);
    expect(s.messages[1]).toMatchObject({ status: 'streaming', queuePosition: undefined });
    expect(messageText(s.messages[1])).toBe('a red circle');
    expect(s.messages[1].parts).toHaveLength(1);
  });

  it('follows a drawing: span opened, codes, decoder steps, then the PNG', () => {
    const codes = Array.from({ length: 32 }, (_, i) => i);
    let s = run([
      { type: 'image-start', index: 0 },
      { type: 'image-codes', index: 0, codes },
      { type: 'decoder-step', index: 0, step: 3, total: 20, seconds: 0.1 },
    ]);
    expect(s.messages[1].parts[0]).toMatchObject({ type: 'image', codes, progress: { step: 3, total: 20 } });
    s = chatReducer(s, { type: 'event', id: 'a1', event: { type: 'image', index: 0, codes, png: 'AAAA' } });
    s = chatReducer(s, { type: 'event', id: 'a1', event: { type: 'done', reason: 'max-tokens' } });
    const image = s.messages[1].parts[0];
    expect(image).toMatchObject({ src: 'data:image/png;base64,AAAA', progress: undefined });
    expect(s.messages[1].status).toBe('done');
  });

  it('notes the token limit for text answers but not for pictures (which always end there)', () => {
    expect(run([{ type: 'done', reason: 'max-tokens' }]).messages[1].note).toMatch(/token limit/);
    expect(run([{ type: 'done', reason: 'max-tokens' }], true).messages[1].note).toBeUndefined();
  });

  it('stopping keeps the words so far and drops progress; a finished answer is not touched', () => {
    let s = run([
      { type: 'text', text: 'so far' },
      { type: 'image-start', index: 0 },
      { type: 'image-codes', index: 0, codes: [1] },
      { type: 'decoder-step', index: 0, step: 1, total: 9, seconds: 0 },
    ]);
    s = chatReducer(s, { type: 'stop', id: 'a1' });
    expect(s.messages[1].status).toBe('stopped');
    expect(messageText(s.messages[1])).toBe('so far');
    expect(s.messages[1].parts[1]).toMatchObject({ progress: undefined });
    const done = run([{ type: 'done', reason: 'eos' }]);
    expect(chatReducer(done, { type: 'stop', id: 'a1' }).messages[1].status).toBe('done');
  });

  it('an error event or a failed request puts the error on the answer', () => {
    const s = run([{ type: 'error', message: 'boom', code: 'server_error' }]);
    expect(s.messages[1]).toMatchObject({ status: 'error', error: { message: 'boom', retry: true } });
    const f = chatReducer(run([]), { type: 'fail', id: 'a1', error: { message: 'lost', retry: true } });
    expect(f.messages[1]).toMatchObject({ status: 'error', error: { message: 'lost' } });
  });

  it('truncates for regenerate and edit, and replaces for new chat', () => {
    const s = run([{ type: 'text', text: 'x' }]);
    expect(chatReducer(s, { type: 'truncate', from: 1 }).messages).toHaveLength(1);
    expect(chatReducer(s, { type: 'replace', messages: [] }).messages).toHaveLength(0);
  });

  it('tracks a redraw on one image only', () => {
    let s = run([
      { type: 'image-start', index: 0 },
      { type: 'image-codes', index: 0, codes: [5] },
    ]);
    const id = (s.messages[1].parts[0] as { id: string }).id;
    s = chatReducer(s, { type: 'redraw', messageId: 'a1', imageId: id, redraw: { status: 'drawing' } });
    s = chatReducer(s, { type: 'redraw', messageId: 'a1', imageId: id, redraw: { progress: { step: 1, total: 2 } } });
    expect(s.messages[1].parts[0]).toMatchObject({ redraw: { status: 'drawing', progress: { step: 1, total: 2 } } });
  });
});

describe('toWire', () => {
  it('sends images as codes, uploads without codes as their picture, and leaves out unfinished images', () => {
    const messages: ChatMessage[] = [
      {
        id: 'u',
        role: 'user',
        status: 'done',
        parts: [
          { type: 'image', id: 'i1', origin: 'upload', src: 'data:image/png;base64,AA', codes: [1, 2] },
          { type: 'image', id: 'i2', origin: 'upload', src: 'data:image/png;base64,BB' },
          { type: 'text', text: 'what is it?' },
        ],
      },
      {
        id: 'a',
        role: 'assistant',
        status: 'stopped',
        parts: [
          { type: 'text', text: 'a ' },
          { type: 'image', id: 'g', origin: 'generated', index: 0 },
          { type: 'text', text: '' },
        ],
      },
    ];
    expect(toWire(messages)).toEqual([
      {
        role: 'user',
        parts: [
          { type: 'image', codes: [1, 2] },
          { type: 'image', dataUrl: 'data:image/png;base64,BB' },
          { type: 'text', text: 'what is it?' },
        ],
      },
      { role: 'assistant', parts: [{ type: 'text', text: 'a ' }] },
    ]);
  });
});

describe('restored', () => {
  it('marks answers that were streaming at reload as stopped', () => {
    const m: ChatMessage = { id: 'a', role: 'assistant', parts: [], status: 'streaming', queuePosition: 3 };
    expect(restored([m])[0]).toMatchObject({ status: 'stopped', queuePosition: undefined });
  });
});
