/**
 * `seed tokenize IMAGE… --tokenizer DIR [--json]`: each image's 32 SEED codes (what SEED-LLaMA reads as
 * `<img_xxxxx>` tokens, id = 32000 + code). JSON: {"images":[{"file","codes"}]}.
 */
import { Command } from 'commander';
import { guarded } from '../action.js';
import { loadTokenizer, type TokenizerFlags, withTokenizerOptions } from '../tokenizer-options.js';

interface TokenizeFlags extends TokenizerFlags {
  json?: boolean;
}

export function tokenizeCommand(): Command {
  return withTokenizerOptions(new Command('tokenize'))
    .description('encode images (PNG, JPEG, WebP, …) to 32 SEED codes each')
    .argument('<images...>', 'image files')
    .option('--json', 'print one JSON object {images: [{file, codes}]}')
    .action(guarded('tokenize', run));
}

async function run(images: string[], flags: TokenizeFlags): Promise<void> {
  const tok = await loadTokenizer(flags);
  try {
    const results: { file: string; codes: number[] }[] = [];
    for (const [i, file] of images.entries()) {
      if (images.length > 1 && !flags.json && process.stderr.isTTY)
        process.stderr.write(`encoding ${i + 1}/${images.length}: ${file}\r`);
      const [codes] = await tok.encode(file);
      results.push({ file, codes });
      if (!flags.json) process.stdout.write(`${file}\t${codes.join(',')}\n`);
    }
    if (flags.json) process.stdout.write(`${JSON.stringify({ images: results })}\n`);
  } finally {
    tok.dispose();
  }
}
