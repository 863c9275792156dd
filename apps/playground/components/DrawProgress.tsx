import type { ImageProgress } from '@/lib/chat/types';

/** The decoder's step count while a picture is drawn (a determinate progress bar with its words). */
export function DrawProgress({ progress, label }: { progress: ImageProgress | undefined; label: string }) {
  return (
    <div className="draw-progress" role="status">
      <progress aria-label={label} value={progress?.step ?? 0} max={progress?.total ?? 1} />
      <span>{progress ? `Drawing… step ${progress.step} of ${progress.total}` : 'Preparing to draw…'}</span>
    </div>
  );
}
