// @vitest-environment happy-dom
/** The composer's keyboard and its states: Enter sends, Shift+Enter does not, Escape stops, Send waits for codes. */
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Composer } from '@/components/Composer';
import type { Attachment } from '@/lib/chat/types';
import type { Attachments } from '@/lib/chat/use-attachments';

afterEach(cleanup);

function setup(o: { busy?: boolean; items?: Attachment[]; problem?: string } = {}) {
  const onSend = vi.fn(() => true);
  const onStop = vi.fn();
  const items = o.items ?? [];
  const attachments: Attachments = {
    items,
    problem: o.problem,
    ready: items.every((a) => a.status === 'ready'),
    add: vi.fn(),
    remove: vi.fn(),
    clear: vi.fn(),
  };
  render(
    <Composer
      attachments={attachments}
      busy={o.busy ?? false}
      enabled
      maxImageBytes={16 * 1024 * 1024}
      imageTypes={['image/png']}
      onSend={onSend}
      onStop={onStop}
    />,
  );
  return { onSend, onStop, input: screen.getByRole('textbox', { name: 'Message' }) };
}

describe('Composer', () => {
  it('Enter sends the text; Shift+Enter does not', () => {
    const { onSend, input } = setup();
    fireEvent.change(input, { target: { value: 'hello' } });
    fireEvent.keyDown(input, { key: 'Enter', shiftKey: true });
    expect(onSend).not.toHaveBeenCalled();
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(onSend).toHaveBeenCalledWith('hello', false);
  });

  it('the Draw switch asks for a picture', () => {
    const { onSend, input } = setup();
    fireEvent.click(screen.getByRole('button', { name: 'Draw' }));
    expect(screen.getByRole('button', { name: 'Draw' }).getAttribute('aria-pressed')).toBe('true');
    fireEvent.change(input, { target: { value: 'a red circle' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send' }));
    expect(onSend).toHaveBeenCalledWith('a red circle', true);
  });

  it('while an answer streams, Stop replaces Send and Escape stops', () => {
    const { onStop, input } = setup({ busy: true });
    expect(screen.queryByRole('button', { name: 'Send' })).toBeNull();
    fireEvent.keyDown(input, { key: 'Escape' });
    fireEvent.click(screen.getByRole('button', { name: 'Stop' }));
    expect(onStop).toHaveBeenCalledTimes(2);
  });

  it('cannot send while an image is still being encoded, and shows why a file was refused', () => {
    setup({
      items: [{ id: 'i', name: 'cat.png', status: 'encoding' }],
      problem: 'big.png is too large: 30 MB, and images can be at most 16 MB.',
    });
    expect((screen.getByRole('button', { name: 'Send' }) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText('Encoding to SEED codes…')).toBeTruthy();
    expect(screen.getByRole('alert').textContent).toMatch(/at most 16 MB/);
    expect(screen.getByRole('button', { name: /Attach images .*16 MB/ })).toBeTruthy();
  });
});
