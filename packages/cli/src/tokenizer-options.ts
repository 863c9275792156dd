/** What `seed tokenize` and `seed embed` share: the tokenizer options, and loading it with a progress bar. */
import type { SeedWeightDType } from '@seed/seed-tokenizer';
import { type Command, Option } from 'commander';
import { withProgress } from './progress.js';

/** The precisions `--dtype` accepts, as the tokenizer's loader names them. */
const DTYPES = ['auto', 'f32', 'f16', 'bf16'] as const satisfies readonly SeedWeightDType[];

export interface TokenizerFlags {
  tokenizer: string;
  dtype: (typeof DTYPES)[number];
  device: string;
}

export function withTokenizerOptions(cmd: Command): Command {
  return cmd
    .requiredOption(
      '--tokenizer <dir>',
      'SEED tokenizer directory: seed_quantizer.pt + eva_vit_g.pth (or .safetensors), optional config.json',
    )
    .addOption(
      new Option('--dtype <d>', 'matrix precision: auto (as stored) or a float dtype').choices(DTYPES).default('auto'),
    )
    .option('--device <d>', 'cpu or cuda:N', 'cpu');
}

export async function loadTokenizer(flags: TokenizerFlags) {
  const { SeedTokenizer } = await import('@seed/seed-tokenizer');
  const tok = await withProgress('loading', (onProgress) =>
    SeedTokenizer.load(flags.tokenizer, { dtype: flags.dtype, device: flags.device, onProgress }),
  );
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
