/**
 * `seed tokenize IMAGE… --tokenizer DIR [--json]`: each image's 32 SEED codes (what SEED-LLaMA reads as
 * `<img_xxxxx>` tokens, id = 32000 + code). JSON: {"images":[{"file","codes"}]}.
 */
import { Command } from 'commander';
import { guarded } from '../action.js';
import { loadingBar } from '../progress.js';

interface TokenizeFlags {
  tokenizer: string;
  dtype: string;
  device: string;
  json?: boolean;
}

export function tokenizeCommand(): Command {
  return new Command('tokenize')
    .description('encode images (PNG, JPEG, WebP, …) to 32 SEED codes each')
    .argument('<images...>', 'image files')
    .requiredOption(
      '--tokenizer <dir>',
      'SEED tokenizer directory: seed_quantizer.pt + eva_vit_g.pth (or .safetensors)',
    )
    .option('--dtype <d>', 'matrix precision: auto (as stored), f32, f16, bf16', 'auto')
    .option('--device <d>', 'cpu or cuda:N', 'cpu')
    .option('--json', 'print one JSON object {images: [{file, codes}]}')
    .action(guarded('tokenize', run));
}

async function run(images: string[], flags: TokenizeFlags): Promise<void> {
  const { SeedTokenizer } = await import('@seed/seed-tokenizer');
  const bar = loadingBar();
  const tok = await SeedTokenizer.load(flags.tokenizer, {
    dtype: flags.dtype as never,
    device: flags.device,
    onProgress: bar.onProgress,
  });
  bar.stop();
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
