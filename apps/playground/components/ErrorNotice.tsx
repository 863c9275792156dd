import type { ChatError } from '@/lib/chat/types';

/** An error in place, where it happened, with a way on when there is one. */
export function ErrorNotice({ error, onRetry }: { error: ChatError; onRetry?: () => void }) {
  return (
    <div className="inline-error" role="alert">
      <span>{error.message}</span>
      {error.retry && onRetry && (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}
