'use client';
/**
 * One message: its text and images in order, its state (waiting in the queue, streaming, stopped, failed)
 * and its actions — copy and regenerate for answers, edit and resend for the user's messages.
 */
import { useState } from 'react';
import { messageText } from '@/lib/chat/reducer';
import type { ChatMessage } from '@/lib/chat/types';
import { ErrorNotice } from './ErrorNotice';
import { ImageCard } from './ImageCard';
import { MessageEditor } from './MessageEditor';

interface Props {
  message: ChatMessage;
  /** The last answer: the one that can be regenerated. */
  isLast: boolean;
  busy: boolean;
  canDraw: boolean;
  canRedraw: boolean;
  onRegenerate: () => void;
  onEdit: (text: string) => void;
  onRedraw: (imageId: string, codes: number[]) => void;
}

export function MessageView({ message, isLast, busy, canDraw, canRedraw, onRegenerate, onEdit, onRedraw }: Props) {
  const [editing, setEditing] = useState(false);
  const [copied, setCopied] = useState(false);
  const text = messageText(message);
  const mine = message.role === 'user';
  const live = message.status === 'pending' || message.status === 'streaming';

  const copy = async () => {
    await navigator.clipboard?.writeText(text);
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };

  return (
    <article
      className={`message ${message.role}`}
      aria-label={mine ? 'Your message' : 'Answer'}
      aria-busy={live}
      data-status={message.status}
    >
      <h2 className="visually-hidden">{mine ? 'You' : 'SEED-LLaMA'}</h2>
      {editing ? (
        <MessageEditor
          initial={text}
          onCancel={() => setEditing(false)}
          onSave={(t) => {
            setEditing(false);
            onEdit(t);
          }}
        />
      ) : (
        <div className="bubble">
          {message.parts.map((p) =>
            p.type === 'text' ? (
              <p key={`text-${message.parts.indexOf(p)}`} className="text">
                {p.text}
              </p>
            ) : (
              <ImageCard
                key={p.id}
                image={p}
                canDraw={canDraw}
                canRedraw={canRedraw}
                onRedraw={() => p.codes && onRedraw(p.id, p.codes)}
              />
            ),
          )}
          {message.status === 'pending' && (
            <p className="waiting" role="status">
              {message.queuePosition
                ? `The model is busy: you are number ${message.queuePosition} in the queue.`
                : 'Thinking…'}
            </p>
          )}
          {message.status === 'streaming' && <span className="cursor" aria-hidden="true" />}
          {message.status === 'stopped' && <p className="muted">Stopped.</p>}
          {message.note && <p className="muted">{message.note}</p>}
          {message.error && <ErrorNotice error={message.error} onRetry={isLast && !busy ? onRegenerate : undefined} />}
        </div>
      )}
      {!editing && !live && (
        <div className="message-actions">
          {text && !mine && (
            <button type="button" onClick={copy}>
              {copied ? 'Copied' : 'Copy'}
            </button>
          )}
          {!mine && isLast && !busy && (
            <button type="button" onClick={onRegenerate}>
              Regenerate
            </button>
          )}
          {mine && !busy && (
            <button type="button" onClick={() => setEditing(true)}>
              Edit
            </button>
          )}
        </div>
      )}
    </article>
  );
}
