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
  try {
    return await SeedTokenizer.load(flags.tokenizer, {
      dtype: flags.dtype as never,
      device: flags.device,
      onProgress: bar.onProgress,
    });
  } finally {
    bar.stop();
  }
}
