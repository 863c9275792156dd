/**
 * `seed embed --tokenizer DIR --codes c0,…,c31 [--json]`: the unCLIP image embedding (1024-d for SEED-2)
 * that 32 SEED codes decode to — what the diffusion decoder draws from. JSON: {"codes", "embedding"}.
 */
import { Command, InvalidArgumentError } from 'commander';
import { guarded } from '../action.js';
import { loadTokenizer, type TokenizerFlags, withTokenizerOptions } from '../tokenizer-options.js';

interface EmbedFlags extends TokenizerFlags {
  codes: number[];
  json?: boolean;
}

function parseCodes(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  const codes = parts.map(Number);
  const bad = parts.findIndex((s, i) => s === '' || !Number.isInteger(codes[i]));
  if (bad >= 0) throw new InvalidArgumentError(`code ${bad} ('${parts[bad]}') is not an integer`);
  return codes;
}

export function embedCommand(): Command {
  return withTokenizerOptions(new Command('embed'))
    .description('decode 32 SEED codes to the unCLIP image embedding')
    .requiredOption('--codes <c0,…,c31>', 'the 32 codes, comma-separated', parseCodes)
    .option('--json', 'print one JSON object {codes, embedding}')
    .action(guarded('embed', run));
}

async function run(flags: EmbedFlags): Promise<void> {
  const tok = await loadTokenizer(flags);
  try {
    const [embedding] = await tok.decode([flags.codes]);
    const values = Array.from(embedding);
    if (flags.json) process.stdout.write(`${JSON.stringify({ codes: flags.codes, embedding: values })}\n`);
    else {
      const norm = Math.sqrt(values.reduce((s, x) => s + x * x, 0));
      process.stdout.write(`embedding [${values.length}], L2 norm ${norm.toFixed(4)}\n`);
      process.stdout.write(`${values.map((x) => x.toPrecision(6)).join(' ')}\n`);
    }
  } finally {
    tok.dispose();
  }
}
