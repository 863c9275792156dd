'use client';
/** The conversation, kept scrolled to the newest words while an answer streams (unless the user scrolled up). */
import { useEffect, useRef } from 'react';
import type { Chat } from '@/lib/chat/use-chat';
import { MessageView } from './MessageView';

export function MessageList({ chat, canDraw, canRedraw }: { chat: Chat; canDraw: boolean; canRedraw: boolean }) {
  const end = useRef<HTMLDivElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const lastAnswer = chat.messages.findLastIndex((m) => m.role === 'assistant');

  // Whether the view follows the newest words: set by the reader's scrolling, so content that grows without a
  // render (a picture decoding to its full height) does not count as the reader having scrolled away.
  const pinned = useRef(true);
  useEffect(() => {
    if (pinned.current) end.current?.scrollIntoView({ block: 'end' });
  });
  useEffect(() => {
    const el = list.current;
    if (!el) return;
    const onScroll = () => {
      pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 160;
    };
    // `load` does not bubble, but it passes the list on its way down (capture).
    const onLoad = () => {
      if (pinned.current) end.current?.scrollIntoView({ block: 'end' });
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    el.addEventListener('load', onLoad, true);
    return () => {
      el.removeEventListener('scroll', onScroll);
      el.removeEventListener('load', onLoad, true);
    };
  }, []);

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
