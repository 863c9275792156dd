/** `seed inspect FILE [--json]`: the tensors of a weight file, without loading them. */
import { existsSync } from 'node:fs';
import type { FileDType } from '@seed/cuda-kernels';
import { Command } from 'commander';
import { guarded } from '../action.js';
import { formatBytes, formatCount, table } from '../format.js';

/** One tensor as listed by `seed inspect --json`. */
export interface TensorEntry {
  name: string;
  /** The file's own dtype name ('F32', 'BF16', 'I64', …). */
  dtype: FileDType;
  shape: number[];
}

/** A weight file's tensors and their totals. */
export interface TensorListing {
  tensors: TensorEntry[];
  parameters: number;
  bytes: number;
}

const numel = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);

/** List a weight file's tensors (the reader parses only the header / pickle, not the data). */
export async function listTensors(file: string): Promise<TensorListing> {
  // The readers report a missing file as a raw ENOENT; say it plainly instead.
  if (!existsSync(file)) throw new Error(`${file}: no such file`);
  // Imported here, not at the top: `seed --help` must work even when the native addon is not built.
  const { FILE_DTYPE_SIZE, openWeights } = await import('@seed/cuda-kernels');
  const weights = openWeights(file);
  try {
    const tensors = weights.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] }));
    let parameters = 0;
    let bytes = 0;
    for (const t of tensors) {
      parameters += numel(t.shape);
      // The readers accept only dtypes of the runtime's table, so every tensor has a size.
      bytes += FILE_DTYPE_SIZE[t.dtype] * numel(t.shape);
    }
    return { tensors, parameters, bytes };
  } finally {
    weights.close();
  }
}

/** The human-readable form: a table, then the totals. */
export function formatTensors({ tensors, parameters, bytes }: TensorListing): string {
  const rows = [['name', 'dtype', 'shape'], ...tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`])];
  return `${table(rows)}\n${tensors.length} tensors, ${formatCount(parameters)} parameters, ${formatBytes(bytes)}`;
}

/** The `inspect` subcommand. */
export function inspectCommand(): Command {
  return new Command('inspect')
    .description('list the tensor names, dtypes and shapes of a safetensors file or PyTorch checkpoint')
    .argument('<file>', 'a .safetensors file (or sharded index .json), or a .pt / .pth / .bin checkpoint')
    .option('--json', 'print one JSON object: { file, tensors: [{ name, dtype, shape }] }')
    .action(
      guarded('inspect', async (file: string, opts: { json?: boolean }) => {
        const listing = await listTensors(file);
        const out = opts.json ? JSON.stringify({ file, tensors: listing.tensors }) : formatTensors(listing);
        process.stdout.write(`${out}\n`);
      }),
    );
}
