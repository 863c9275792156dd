/**
 * One loaded model serves many sessions: their requests run one at a time, in arrival order, so no two
 * ever interleave inside a forward pass or share the KV cache mid-turn. A request can be aborted while it
 * waits (it leaves the queue) or while it runs (its own code checks the signal); the queue is bounded.
 */
export class QueueFullError extends Error {
  constructor(readonly limit: number) {
    super(`the model is busy: ${limit} requests are already waiting`);
  }
}

interface Waiting {
  start: () => void;
}

export class RequestQueue {
  private running = false;
  private readonly waiting: Waiting[] = [];

  /** @param maxWaiting requests allowed to wait behind the running one before `run` refuses (QueueFullError). */
  constructor(readonly maxWaiting = Number.POSITIVE_INFINITY) {}

  /** Requests waiting (not counting the running one). */
  get length(): number {
    return this.waiting.length;
  }

  /**
   * Wait for the turn of this request, then hold the model until the returned release function is called.
   * `onQueued(position)` is called when it has to wait (position 1 = next).
   */
  async acquire(signal?: AbortSignal, onQueued?: (position: number) => void): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.running) {
      if (this.waiting.length >= this.maxWaiting) throw new QueueFullError(this.maxWaiting);
      await new Promise<void>((resolve, reject) => {
        const entry: Waiting = {
          start: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        const onAbort = () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal?.reason ?? new Error('aborted'));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(entry);
        onQueued?.(this.waiting.length);
      });
    }
    this.running = true;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next.start();
      else this.running = false;
    };
  }
}
