/**
 * `seed convert IN OUT [--dtype f32|f16|bf16] [--json]`: rewrite a PyTorch checkpoint (`.pt` / `.pth` /
 * `.bin`, or a sharded set through its index or directory) as safetensors, streaming in bounded memory,
 * with a byte progress bar on stderr. JSON: {input, output, files, tensors, bytes}.
 */
import { Command } from 'commander';
import { guarded } from '../action.js';
import { formatBytes } from '../format.js';

interface ConvertFlags {
  dtype?: string;
  json?: boolean;
}

export function convertCommand(): Command {
  return new Command('convert')
    .description('rewrite a PyTorch checkpoint (or sharded set) as safetensors, streaming')
    .argument('<in>', 'a .pt / .pth / .bin file, a *.index.json, or a directory holding pytorch_model.bin(.index.json)')
    .argument('<out>', 'the .safetensors file (or directory) to write; a sharded input needs a directory')
    .option('--dtype <d>', 'convert float tensors to f32, f16 or bf16 (default: as stored)')
    .option('--json', 'print one JSON object {input, output, files, tensors, bytes}')
    .action(guarded('convert', run));
}

async function run(input: string, output: string, flags: ConvertFlags): Promise<void> {
  if (flags.dtype !== undefined && !['f32', 'f16', 'bf16'].includes(flags.dtype))
    throw new Error(`unknown --dtype ${flags.dtype} (expected f32, f16 or bf16)`);
  const { convertToSafetensors } = await import('@seed/cuda-kernels');
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      format: 'converting {bar} {percentage}% | {done} of {all} | {name}',
      hideCursor: true,
      stream: process.stderr,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let result: Awaited<ReturnType<typeof convertToSafetensors>>;
  try {
    result = await convertToSafetensors(input, output, {
      dtype: flags.dtype as 'f32' | 'f16' | 'bf16' | undefined,
      onProgress: (done, total, name) => {
        const payload = { done: formatBytes(done), all: formatBytes(total), name };
        if (!started) {
          bar.start(total, 0, payload);
          started = true;
        }
        bar.update(done, payload);
      },
    });
  } finally {
    if (started) bar.stop();
  }
  const files = result.index ? [...result.files, result.index] : result.files;
  if (flags.json)
    process.stdout.write(`${JSON.stringify({ input, output, files, tensors: result.tensors, bytes: result.bytes })}\n`);
  else process.stdout.write(`wrote ${result.tensors} tensors (${formatBytes(result.bytes)}) to ${files.join(', ')}\n`);
}
