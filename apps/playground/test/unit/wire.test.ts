import { describe, expect, it } from 'vitest';
import { checkImage, formatBytes, MAX_IMAGE_BYTES, sniffImageType } from '@/lib/shared/image-check';
import { formatEvent, readEvents } from '@/lib/shared/sse';

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

describe('server-sent events', () => {
  it('round-trip, whatever the chunking, skipping comments', async () => {
    const text = `: queued\n\n${formatEvent('text', { type: 'text', text: 'a\nb' })}${formatEvent('done', { type: 'done' })}`;
    const bytes = new TextEncoder().encode(text);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 5) c.enqueue(bytes.slice(i, i + 5));
        c.close();
      },
    });
    const events = [];
    for await (const e of readEvents(body)) events.push(e);
    expect(events.map((e) => [e.event, JSON.parse(e.data)])).toEqual([
      ['text', { type: 'text', text: 'a\nb' }],
      ['done', { type: 'done' }],
    ]);
  });
});

describe('upload checks', () => {
  it('know images by their first bytes, not their names', () => {
    expect(sniffImageType(PNG)).toBe('image/png');
    expect(sniffImageType(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg');
    expect(sniffImageType(new TextEncoder().encode('RIFF....WEBPVP8 '))).toBe('image/webp');
    expect(sniffImageType(new TextEncoder().encode('hello, world'))).toBeUndefined();
  });

  it('say what is wrong, with the limit', () => {
    expect(checkImage('big.png', 30 * 1024 * 1024, PNG)).toBe(
      'big.png is too large: 30 MB, and images can be at most 16 MB.',
    );
    expect(checkImage('notes.png', 12, new TextEncoder().encode('hello world!'))).toMatch(
      /^notes\.png is not an image: its contents are not PNG, JPEG, WebP or GIF/,
    );
    expect(checkImage('ok.png', 1000, PNG)).toBeUndefined();
    expect(formatBytes(MAX_IMAGE_BYTES)).toBe('16 MB');
    expect(formatBytes(1536)).toBe('1.5 KB');
  });
});
