/**
 * The one progress bar of every command that loads or writes weights: on stderr (stdout stays the
 * command's output), shown from the first report, and cleared when the work ends, whether it succeeded or threw.
 */
import cliProgress from 'cli-progress';

/** The progress callback the loaders and the converter take: `done` of `total` units, now at `name`. */
export type OnProgress = (done: number, total: number, name: string) => void;

/** How the bar shows the count, e.g. "12/291 tensors" (the default). */
export type CountFormat = (done: number, total: number) => string;

const tensorCount: CountFormat = (done, total) => `${done}/${total} tensors`;

/**
 * Run `work` with a progress callback that drives a bar labelled `label`, and remove the bar when `work`
 * settles, so that an error message is not printed over it.
 */
export async function withProgress<T>(
  label: string,
  work: (onProgress: OnProgress) => Promise<T>,
  count: CountFormat = tensorCount,
): Promise<T> {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} {bar} {percentage}% | {count} | {name}`,
      hideCursor: true,
      stream: process.stderr,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  try {
    return await work((done, total, name) => {
      const payload = { count: count(done, total), name };
      if (!started) {
        bar.start(total, 0, payload);
        started = true;
      }
      bar.update(done, payload);
    });
  } finally {
    if (started) bar.stop();
  }
}
