/**
 * Run async work that reports progress through a callback, and stream those reports as they happen: the
 * async-iterator form of "await work(onEvent)". Used for decoder steps and queue positions.
 */
export async function* streamWhile<E, T>(work: (emit: (event: E) => void) => Promise<T>): AsyncGenerator<E, T> {
  const pending: E[] = [];
  let wake: (() => void) | undefined;
  const emit = (event: E) => {
    pending.push(event);
    wake?.();
  };
  let finished = false;
  const done = work(emit).finally(() => {
    finished = true;
    wake?.();
  });
  done.catch(() => {}); // rethrown below, after the reports made before the failure
  while (!finished || pending.length > 0) {
    if (pending.length === 0) await new Promise<void>((r) => (wake = r));
    wake = undefined;
    while (pending.length > 0) yield pending.shift() as E;
  }
  return await done;
}
