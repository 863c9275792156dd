'use client';
/** The conversation, kept scrolled to the newest words while an answer streams (unless the user scrolled up). */
import { useEffect, useRef } from 'react';
import type { Chat } from '@/lib/chat/use-chat';
import { MessageView } from './MessageView';

export function MessageList({ chat, canDraw, canRedraw }: { chat: Chat; canDraw: boolean; canRedraw: boolean }) {
  const end = useRef<HTMLDivElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const lastAnswer = chat.messages.findLastIndex((m) => m.role === 'assistant');

  useEffect(() => {
    const el = list.current;
    if (!el) return;
    const nearBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 160;
    if (nearBottom) end.current?.scrollIntoView({ block: 'end' });
  });

  return (
    <div className="message-list" ref={list} role="log" aria-label="Conversation">
      {chat.messages.map((m, i) => (
        <MessageView
          key={m.id}
          message={m}
          isLast={i === lastAnswer && i === chat.messages.length - 1}
          busy={chat.busy}
          canDraw={canDraw}
          canRedraw={canRedraw}
          onRegenerate={chat.regenerate}
          onEdit={(text) => chat.edit(m.id, text)}
          onRedraw={(imageId, codes) => chat.redraw(m.id, imageId, codes)}
        />
      ))}
      <div ref={end} />
    </div>
  );
}
