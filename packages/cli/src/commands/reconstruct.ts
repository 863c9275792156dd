/**
 * `seed reconstruct IMAGE --tokenizer DIR --decoder DIR -o out.png`: SEED's image round trip — the tokenizer
 * encodes the picture to 32 codes, decodes them to the unCLIP embedding, and the diffusion decoder draws it.
 * Takes `seed decode`'s drawing options; --json adds the codes to {file, width, height, steps, seconds}.
 */
import { existsSync, statSync } from 'node:fs';
import { Command } from 'commander';
import { guarded } from '../action.js';
import { loadTokenizer } from '../tokenizer-options.js';
import { checkDrawFlags, type DrawFlags, drawAndWrite, loadDecoderWithProgress, withDrawOptions } from './decode.js';

interface ReconstructFlags extends DrawFlags {
  tokenizer: string;
}

export function reconstructCommand(): Command {
  return withDrawOptions(new Command('reconstruct'))
    .description('round-trip an image: encode to 32 SEED codes, decode to the embedding, draw it with the decoder')
    .argument('<image>', 'image file (PNG, JPEG, WebP, …)')
    .requiredOption('--tokenizer <dir>', 'the SEED tokenizer directory')
    .action(guarded('reconstruct', run));
}

async function run(image: string, flags: ReconstructFlags): Promise<void> {
  if (!existsSync(image)) throw new Error(`${image}: no such file`);
  if (!(existsSync(flags.tokenizer) && statSync(flags.tokenizer).isDirectory()))
    throw new Error(`--tokenizer ${flags.tokenizer}: no such directory`);
  const { configs } = await checkDrawFlags(flags);
  const tok = await loadTokenizer({ tokenizer: flags.tokenizer, dtype: 'auto', device: flags.device });
  let codes: number[];
  let embedding: Float32Array;
  try {
    if (tok.config.embedDim !== configs.embeddingDim)
      throw new Error(
        `the tokenizer's embeddings have ${tok.config.embedDim} values but the decoder takes ${configs.embeddingDim}: they are not a pair`,
      );
    [codes] = await tok.encode(image);
    [embedding] = await tok.decode([codes]);
  } finally {
    tok.dispose();
  }
  if (!flags.json) process.stderr.write(`codes: ${codes.join(',')}\n`);
  const decoder = await loadDecoderWithProgress(flags);
  try {
    await drawAndWrite(decoder, embedding, flags, {}, { image, codes });
  } finally {
    decoder.dispose();
  }
}
