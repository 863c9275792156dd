/** How every command turns a failure into one line on stderr and exit code 1. */

/** The error's message on one line (multi-line messages would break `seed … 2>&1 | head -1` style use). */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}

/**
 * Wrap a command's action so that any error prints `seed <command>: <message>` on stderr and sets exit
 * code 1, without a stack trace: the user needs the message, not our call stack.
 */
export function guarded<A extends unknown[]>(command: string, fn: (...args: A) => void | Promise<void>) {
  return async (...args: A): Promise<void> => {
    try {
      await fn(...args);
    } catch (error) {
      process.stderr.write(`seed ${command}: ${oneLine(error)}\n`);
      // exitCode rather than exit(): lets pending stdout writes flush before the process ends.
      process.exitCode = 1;
    }
  };
}
