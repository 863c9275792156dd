/** What `seed tokenize` and `seed embed` share: the tokenizer options, and loading it with a progress bar. */
import type { Command } from 'commander';
import { loadingBar } from './progress.js';

export interface TokenizerFlags {
  tokenizer: string;
  dtype: string;
  device: string;
}

export function withTokenizerOptions(cmd: Command): Command {
  return cmd
    .requiredOption(
      '--tokenizer <dir>',
      'SEED tokenizer directory: seed_quantizer.pt + eva_vit_g.pth (or .safetensors), optional config.json',
    )
    .option('--dtype <d>', 'matrix precision: auto (as stored), f32, f16, bf16', 'auto')
    .option('--device <d>', 'cpu or cuda:N', 'cpu');
}

export async function loadTokenizer(flags: TokenizerFlags) {
  const { SeedTokenizer } = await import('@seed/seed-tokenizer');
  const bar = loadingBar();
  let tok: Awaited<ReturnType<typeof SeedTokenizer.load>>;
  try {
    tok = await SeedTokenizer.load(flags.tokenizer, {
      dtype: flags.dtype as never,
      device: flags.device,
      onProgress: bar.onProgress,
    });
  } finally {
    bar.stop();
  }
  // Published files carry tensors inference does not use (the ViT's 40th block, training heads): say so.
  if (tok.unused.length) {
    const names = tok.unused.map((u) => u.replace(/^.*: /, ''));
    const more = names.length > 4 ? ` (+${names.length - 4} more)` : '';
    process.stderr.write(
      `note: ${names.length} tensors in the tokenizer files are not used: ${names.slice(0, 4).join(', ')}${more}\n`,
    );
  }
  return tok;
}
