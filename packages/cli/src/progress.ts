/** A stderr progress bar for loading weights, shown only once the first tensor arrives. */
import cliProgress from 'cli-progress';

export interface LoadingBar {
  onProgress: (done: number, total: number, name: string) => void;
  stop: () => void;
}

export function loadingBar(what = 'loading'): LoadingBar {
  const bar = new cliProgress.SingleBar(
    {
      format: `${what} {bar} {value}/{total} tensors | {name}`,
      hideCursor: true,
      stream: process.stderr,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress: (done, total, name) => {
      if (!started) {
        bar.start(total, 0, { name });
        started = true;
      }
      bar.update(done, { name });
    },
    stop: () => {
      if (started) bar.stop();
      started = false;
    },
  };
}
