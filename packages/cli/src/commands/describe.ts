/**
 * `seed describe IMAGE… [--question TEXT]`: ask SEED-LLaMA about each image, one fresh conversation per image
 * (the image first, then the question, as upstream's inference scripts build the prompt). The answer streams
 * as it is generated; --json prints one object {question, images: [{file, text, reason, tokens}]}.
 */
import { existsSync, statSync } from 'node:fs';
import { Command } from 'commander';
import { guarded } from '../action.js';
import { loadModel, type ModelFlags, sendOptions, withModelOptions } from '../model-options.js';
import { readReply } from '../reply.js';

/** Upstream's example question (SEED-LLaMA's inference scripts). */
const DEFAULT_QUESTION = 'Can you describe this image?';

interface DescribeFlags extends ModelFlags {
  question: string;
}

export function describeCommand(): Command {
  return withModelOptions(new Command('describe'))
    .description('describe images (or answer --question about each) with SEED-LLaMA')
    .argument('<images...>', 'image files (PNG, JPEG, WebP, …)')
    .option('--question <text>', 'what to ask about each image', DEFAULT_QUESTION)
    .option('--json', 'print one JSON object {question, images: [{file, text, reason, tokens}]}')
    .action(guarded('describe', run));
}

async function run(images: string[], flags: DescribeFlags): Promise<void> {
  // Refuse a missing file before minutes of loading, not after.
  for (const file of images)
    if (!existsSync(file) || !statSync(file).isFile()) throw new Error(`${file}: no such image file`);
  if (!flags.question.trim()) throw new Error('--question is empty');
  // Describing never draws: the decoder is not loaded.
  const model = await loadModel(flags, false);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.on('SIGINT', onSigint);
  try {
    const results = [];
    for (const file of images) {
      if (abort.signal.aborted) break;
      if (images.length > 1 && !flags.json) process.stdout.write(`${file}:\n`);
      const events = model.session().send([{ image: file }, flags.question], sendOptions(flags, abort.signal));
      const reply = await readReply(events, {
        text: flags.json ? undefined : (t) => process.stdout.write(t),
      }).catch((e: Error) => {
        throw new Error(`${file}: ${e.message.replace(/^message part 0 \(image\): /, '')}`);
      });
      if (!flags.json) process.stdout.write(images.length > 1 ? '\n\n' : '\n');
      results.push({
        file,
        text: reply.text.trim(),
        ...(reply.images.length ? { images: reply.images.map((i) => ({ codes: i.codes })) } : {}),
        reason: reply.reason,
        tokens: reply.tokens,
      });
    }
    if (flags.json) process.stdout.write(`${JSON.stringify({ question: flags.question, images: results })}\n`);
  } finally {
    process.off('SIGINT', onSigint);
    model.dispose();
  }
}
