'use client';
/**
 * The playground's one screen: header (model, new chat, settings), the conversation, the composer, and the
 * settings panel. Images can be dropped anywhere on it; Escape stops an answer from anywhere.
 */
import { useEffect, useState } from 'react';
import type { ChatPart } from '@/lib/chat/types';
import { useAttachments } from '@/lib/chat/use-attachments';
import { useChat } from '@/lib/chat/use-chat';
import { useModelInfo } from '@/lib/chat/use-model-info';
import { IMAGE_TYPES, MAX_IMAGE_BYTES } from '@/lib/shared/image-check';
import { Composer } from './Composer';
import { EmptyState } from './EmptyState';
import { MessageList } from './MessageList';
import { ModelStatus } from './ModelStatus';
import { SettingsPanel } from './SettingsPanel';

export function ChatApp() {
  const chat = useChat();
  const { info, error: unreachable } = useModelInfo();
  const limits = info?.limits ?? { maxImageBytes: MAX_IMAGE_BYTES, imageTypes: IMAGE_TYPES };
  const attachments = useAttachments(limits.maxImageBytes);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [dragging, setDragging] = useState(false);
  const ready = info?.state === 'ready';

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && chat.busy) chat.stop();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [chat.busy, chat.stop]);

  const send = (text: string, draw: boolean): boolean => {
    if (!attachments.ready) return false;
    const parts: ChatPart[] = attachments.items.map((a) => ({
      type: 'image',
      id: a.id,
      origin: 'upload',
      name: a.name,
      src: a.preview,
      codes: a.codes ?? undefined,
    }));
    if (text) parts.push({ type: 'text', text });
    if (parts.length === 0) return false;
    chat.send(parts, draw);
    attachments.clear();
    return true;
  };

  return (
    // Drops are accepted anywhere on the page: the composer is a small target on a phone.
    // biome-ignore lint/a11y/noStaticElementInteractions: drag and drop has a keyboard equivalent (the attach button)
    <div
      className="app"
      data-dragging={dragging || undefined}
      onDragOver={(e) => {
        if (!e.dataTransfer.types.includes('Files')) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDragging(false);
      }}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        if (e.dataTransfer.files.length > 0) attachments.add(Array.from(e.dataTransfer.files));
      }}
    >
      <header className="app-header">
        <h1>seed playground</h1>
        <ModelStatus info={info} error={unreachable} />
        <div className="header-actions">
          <button type="button" onClick={chat.newChat} disabled={chat.messages.length === 0}>
            New chat
          </button>
          <button
            type="button"
            aria-expanded={settingsOpen}
            aria-controls="settings"
            onClick={() => setSettingsOpen((o) => !o)}
          >
            Settings
          </button>
        </div>
      </header>

      <div className="app-body">
        <main className="chat">
          {unreachable && (
            <p className="banner error" role="alert">
              {unreachable} Retrying…
            </p>
          )}
          {info?.state === 'error' && (
            <p className="banner error" role="alert">
              {info.error} Start the playground with <code>--model DIR</code> or <code>SEED_MODEL_DIR</code>.
            </p>
          )}
          {info?.state === 'loading' && (
            <p className="banner" role="status">
              Loading {info.name}…
            </p>
          )}
          {ready && !info.canDraw && (
            <p className="banner" role="note">
              This model set has no decoder, so it cannot draw: pictures it writes are shown as their SEED codes.
            </p>
          )}
          {chat.messages.length === 0 ? (
            <EmptyState codesPerImage={info?.codesPerImage} onExample={(text, draw) => ready && send(text, draw)} />
          ) : (
            <MessageList chat={chat} canDraw={info?.canDraw ?? false} canRedraw={info?.canRedraw ?? false} />
          )}
          {!chat.saved && (
            <p className="muted small" role="status">
              This conversation is too large to keep across reloads; it stays until you leave the page.
            </p>
          )}
          <Composer
            attachments={attachments}
            busy={chat.busy}
            enabled={ready}
            maxImageBytes={limits.maxImageBytes}
            imageTypes={limits.imageTypes}
            onSend={send}
            onStop={chat.stop}
          />
        </main>
        {settingsOpen && (
          <div id="settings" className="settings-wrap">
            <SettingsPanel
              settings={chat.settings}
              onChange={chat.setSettings}
              info={info}
              onClose={() => setSettingsOpen(false)}
            />
          </div>
        )}
      </div>
      {dragging && (
        <div className="drop-overlay" aria-hidden="true">
          Drop images to attach them
        </div>
      )}
    </div>
  );
}
