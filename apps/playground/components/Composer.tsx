'use client';
/**
 * Where a message is written: text, images (button, drag and drop onto the page, or paste), the "draw"
 * switch that asks for a picture, and Send — which becomes Stop while an answer streams. Enter sends,
 * Shift+Enter starts a new line, Escape stops.
 */
import { useRef, useState } from 'react';
import type { Attachments } from '@/lib/chat/use-attachments';
import { formatBytes } from '@/lib/shared/image-check';
import { AttachmentChip } from './AttachmentChip';

interface Props {
  attachments: Attachments;
  busy: boolean;
  /** The model is loaded and can take a message. */
  enabled: boolean;
  maxImageBytes: number;
  imageTypes: string[];
  onSend: (text: string, draw: boolean) => boolean;
  onStop: () => void;
}

export function Composer({ attachments, busy, enabled, maxImageBytes, imageTypes, onSend, onStop }: Props) {
  const [text, setText] = useState('');
  const [draw, setDraw] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const canSend = enabled && !busy && attachments.ready && (text.trim() !== '' || attachments.items.length > 0);

  const submit = () => {
    if (!canSend) return;
    if (onSend(text.trim(), draw)) {
      setText('');
      setDraw(false);
    }
  };

  return (
    <form
      className="composer"
      aria-label="Write a message"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      {attachments.items.length > 0 && (
        <ul className="attachments" aria-label="Attached images">
          {attachments.items.map((a) => (
            <AttachmentChip key={a.id} item={a} onRemove={() => attachments.remove(a.id)} />
          ))}
        </ul>
      )}
      {attachments.problem && (
        <p className="inline-error" role="alert">
          {attachments.problem}
        </p>
      )}
      <div className="composer-row">
        <input
          ref={fileInput}
          type="file"
          accept={imageTypes.join(',')}
          multiple
          hidden
          aria-label="Choose images"
          onChange={(e) => {
            if (e.target.files) attachments.add(Array.from(e.target.files));
            e.target.value = '';
          }}
        />
        <button
          type="button"
          className="icon-button"
          onClick={() => fileInput.current?.click()}
          aria-label={`Attach images (PNG, JPEG, WebP or GIF, up to ${formatBytes(maxImageBytes)})`}
          title={`Attach images (up to ${formatBytes(maxImageBytes)} each)`}
        >
          +
        </button>
        <textarea
          className="composer-input"
          aria-label="Message"
          placeholder={draw ? 'Describe the picture to draw…' : 'Ask about an image, or anything…'}
          value={text}
          rows={1}
          onChange={(e) => setText(e.target.value)}
          onPaste={(e) => {
            const files = Array.from(e.clipboardData.files);
            if (files.length > 0) {
              e.preventDefault();
              attachments.add(files);
            }
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
              e.preventDefault();
              submit();
            } else if (e.key === 'Escape' && busy) {
              e.preventDefault();
              onStop();
            }
          }}
        />
        <button
          type="button"
          className="toggle"
          aria-pressed={draw}
          onClick={() => setDraw((d) => !d)}
          title="Ask for a picture: the answer is an image"
        >
          Draw
        </button>
        {busy ? (
          <button type="button" className="primary" onClick={onStop}>
            Stop
          </button>
        ) : (
          <button type="submit" className="primary" disabled={!canSend}>
            Send
          </button>
        )}
      </div>
      <p className="hint">Enter sends · Shift+Enter new line · Esc stops · drop or paste images</p>
    </form>
  );
}
