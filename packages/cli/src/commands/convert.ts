/**
 * `seed convert IN OUT [--dtype f32|f16|bf16] [--json]`: rewrite a PyTorch checkpoint (`.pt` / `.pth` /
 * `.bin`, or a sharded set through its index or directory) as safetensors, streaming in bounded memory,
 * with a byte progress bar on stderr. JSON: {input, output, files, tensors, bytes}.
 */
import type { ConvertOptions } from '@seed/cuda-kernels';
import { Command, Option } from 'commander';
import { guarded } from '../action.js';
import { formatBytes } from '../format.js';
import { withProgress } from '../progress.js';

/** The dtypes `--dtype` accepts: the converter's float targets. */
const DTYPES = ['f32', 'f16', 'bf16'] as const satisfies readonly NonNullable<ConvertOptions['dtype']>[];

interface ConvertFlags {
  dtype?: (typeof DTYPES)[number];
  json?: boolean;
}

export function convertCommand(): Command {
  return new Command('convert')
    .description('rewrite a PyTorch checkpoint (or sharded set) as safetensors, streaming')
    .argument('<in>', 'a .pt / .pth / .bin file, a *.index.json, or a directory holding pytorch_model.bin(.index.json)')
    .argument('<out>', 'the .safetensors file (or directory) to write; a sharded input needs a directory')
    .addOption(new Option('--dtype <d>', 'convert float tensors to this dtype (default: as stored)').choices(DTYPES))
    .option('--json', 'print one JSON object {input, output, files, tensors, bytes}')
    .action(guarded('convert', run));
}

async function run(input: string, output: string, flags: ConvertFlags): Promise<void> {
  const { convertToSafetensors } = await import('@seed/cuda-kernels');
  const result = await withProgress(
    'converting',
    (onProgress) => convertToSafetensors(input, output, { dtype: flags.dtype, onProgress }),
    (done, total) => `${formatBytes(done)} of ${formatBytes(total)}`,
  );
  const files = result.index ? [...result.files, result.index] : result.files;
  if (flags.json)
    process.stdout.write(`${JSON.stringify({ input, output, files, tensors: result.tensors, bytes: result.bytes })}\n`);
  else process.stdout.write(`wrote ${result.tensors} tensors (${formatBytes(result.bytes)}) to ${files.join(', ')}\n`);
}
