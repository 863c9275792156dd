import type { Attachment } from '@/lib/chat/types';

/** An image waiting to be sent: its preview, whether its codes are ready, and a way to take it off. */
export function AttachmentChip({ item, onRemove }: { item: Attachment; onRemove: () => void }) {
  const state =
    item.status === 'reading'
      ? 'Reading…'
      : item.status === 'encoding'
        ? 'Encoding to SEED codes…'
        : item.status === 'ready'
          ? 'Ready'
          : undefined;
  return (
    <li className={`attachment ${item.status}`} data-status={item.status}>
      {item.preview && (
        // biome-ignore lint/performance/noImgElement: a local preview data URL
        <img src={item.preview} alt="" width={40} height={40} />
      )}
      <span className="attachment-name">{item.name}</span>
      {state && <span className="muted">{state}</span>}
      {item.error && (
        <span className="inline-error" role="alert">
          {item.error}
        </span>
      )}
      <button type="button" onClick={onRemove} aria-label={`Remove ${item.name}`}>
        ×
      </button>
    </li>
  );
}
