/** `seed inspect FILE [--json]`: the tensors of a weight file, without loading them. */
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { guarded } from '../action.js';
import { formatBytes, formatCount, table } from '../format.js';

/** One tensor as listed by `seed inspect --json`. */
export interface TensorEntry {
  name: string;
  /** The file's own dtype name ('F32', 'BF16', 'I64', …). */
  dtype: string;
  shape: number[];
}

/** Bytes per element of the dtype names used by safetensors (PyTorch checkpoints are mapped onto them). */
const ELEMENT_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

const numel = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);

/** List a weight file's tensors (the reader parses only the header / pickle, not the data). */
export async function listTensors(file: string): Promise<TensorEntry[]> {
  // The readers report a missing file as a raw ENOENT; say it plainly instead.
  if (!existsSync(file)) throw new Error(`${file}: no such file`);
  // Imported here, not at the top: `seed --help` must work even when the native addon is not built.
  const { openWeights } = await import('@seed/cuda-kernels');
  const weights = openWeights(file);
  try {
    return weights.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] }));
  } finally {
    weights.close();
  }
}

/** The human-readable form: a table, then the totals. */
export function formatTensors(tensors: readonly TensorEntry[]): string {
  let params = 0;
  let bytes = 0;
  let unsized = 0;
  for (const t of tensors) {
    params += numel(t.shape);
    const size = ELEMENT_BYTES[t.dtype.toUpperCase()];
    if (size === undefined) unsized++;
    else bytes += size * numel(t.shape);
  }
  const rows = [['name', 'dtype', 'shape'], ...tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`])];
  const unknown = unsized > 0 ? ` (+ ${unsized} tensor(s) of unknown dtype size)` : '';
  const total = `${tensors.length} tensors, ${formatCount(params)} parameters, ${formatBytes(bytes)}${unknown}`;
  return `${table(rows)}\n${total}`;
}

/** The `inspect` subcommand. */
export function inspectCommand(): Command {
  return new Command('inspect')
    .description('list the tensor names, dtypes and shapes of a safetensors file or PyTorch checkpoint')
    .argument('<file>', 'a .safetensors file (or sharded index .json), or a .pt / .pth / .bin checkpoint')
    .option('--json', 'print one JSON object: { file, tensors: [{ name, dtype, shape }] }')
    .action(
      guarded('inspect', async (file: string, opts: { json?: boolean }) => {
        const tensors = await listTensors(file);
        process.stdout.write(opts.json ? `${JSON.stringify({ file, tensors })}\n` : `${formatTensors(tensors)}\n`);
      }),
    );
}
