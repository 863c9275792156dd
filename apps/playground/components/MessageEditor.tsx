'use client';
import { useState } from 'react';

/** Editing a sent message: saving resends it, and what came after it is replaced by the new answer. */
export function MessageEditor({
  initial,
  onSave,
  onCancel,
}: {
  initial: string;
  onSave: (text: string) => void;
  onCancel: () => void;
}) {
  const [text, setText] = useState(initial);
  return (
    <form
      className="message-editor"
      onSubmit={(e) => {
        e.preventDefault();
        onSave(text.trim());
      }}
    >
      <textarea
        aria-label="Edit your message"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') onCancel();
          else if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            onSave(text.trim());
          }
        }}
        // biome-ignore lint/a11y/noAutofocus: the user just asked to edit this message
        autoFocus
        rows={3}
      />
      <div className="message-actions">
        <button type="submit">Save and send</button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
