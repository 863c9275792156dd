/**
 * `seed draw PROMPT -o out.png [--count N]`: SEED-LLaMA writes an image for the prompt (the reply is forced to
 * start with `<img>`, upstream's force_boi) and the decoder draws its 32 codes. With --count N, N images from
 * N independent answers (seeds S, S+1, …), written as out-1.png … out-N.png.
 *
 * A model set without decoder/ can only give the codes: the command says so, prints them, and writes no
 * file. --codes-only asks for that even when a decoder is there (nothing is drawn).
 * --json prints one object {prompt, drawn, images: [{file?, codes, width?, height?}]}.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { Command } from 'commander';
import { guarded } from '../action.js';
import { loadModel, type ModelFlags, num, resolveModel, withModelOptions } from '../model-options.js';
import { withProgress } from '../progress.js';
import { readReply } from '../reply.js';

interface DrawFlags extends ModelFlags {
  output?: string;
  count: number;
  steps: number;
  guidance: number;
  codesOnly?: boolean;
}

export function drawCommand(): Command {
  // No --max-tokens: an answer here is exactly one image span.
  return withModelOptions(new Command('draw'), undefined)
    .description('draw images from a text prompt with SEED-LLaMA (PNG when the model set has a decoder)')
    .argument('<prompt>', 'what to draw')
    .option('-o, --output <file>', 'PNG file to write (with --count N: FILE-1.png … FILE-N.png)')
    .option('--count <n>', 'how many images', num('--count', { int: true, min: 1 }), 1)
    .option('--steps <n>', 'diffusion steps (SEED uses 20)', num('--steps', { int: true, min: 1 }), 20)
    .option('--guidance <g>', 'classifier-free guidance scale (SEED uses 10)', num('--guidance', { min: 0 }), 10)
    .option('--codes-only', 'print each image’s 32 SEED codes and draw nothing')
    .option('--json', 'print one JSON object {prompt, drawn, images: [{file?, codes, width?, height?}]}')
    .action(guarded('draw', run));
}

/** `out.png` for one image; `out-1.png`, `out-2.png`, … for several. */
function outputPath(file: string, i: number, count: number): string {
  if (count === 1) return file;
  const ext = extname(file);
  return `${file.slice(0, file.length - ext.length)}-${i + 1}${ext || '.png'}`;
}

async function run(prompt: string, flags: DrawFlags): Promise<void> {
  if (!prompt.trim()) throw new Error('the prompt is empty');
  const hasDecoder = resolveModel(flags).decoder !== undefined;
  const draw = hasDecoder && !flags.codesOnly;
  if (draw && !flags.output) throw new Error('give -o FILE.png (where to write the picture), or --codes-only');
  if (!hasDecoder && !flags.codesOnly)
    process.stderr.write(
      `note: this model set has no decoder (decoder/ or --decoder), so seed draw can only print the image codes${flags.output ? `; ${flags.output} is not written` : ''}. \`seed pull decoder\` fetches one.\n`,
    );

  const model = await loadModel(flags, draw);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.on('SIGINT', onSigint);
  try {
    const images: { file?: string; codes: number[]; width?: number; height?: number }[] = [];
    for (let i = 0; i < flags.count && !abort.signal.aborted; i++) {
      const seed = flags.seed === undefined ? undefined : flags.seed + i;
      const events = model.session().send(prompt, {
        forceImage: true,
        maxNewTokens: model.vocab.codesPerImage + 1,
        temperature: flags.temperature,
        topP: flags.topP,
        seed,
        draw: { steps: flags.steps, guidance: flags.guidance, seed },
        signal: abort.signal,
      });
      const label = flags.count > 1 ? `drawing ${i + 1}/${flags.count}` : 'drawing';
      const reply = await withProgress(
        label,
        (onProgress) => readReply(events, { step: (_, step, total) => onProgress(step, total, '') }),
        (done, total) => `${done}/${total} steps`,
      );
      const [image] = reply.images;
      if (!image) break; // aborted before the span closed
      if (draw && !image.png) throw new Error('the decoder returned no picture');
      const file = image.png && flags.output ? outputPath(flags.output, i, flags.count) : undefined;
      if (file && image.png) {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, image.png);
      }
      images.push({ file, codes: image.codes, width: image.width, height: image.height });
      if (!flags.json)
        process.stdout.write(file ? `${file}\t${image.width}x${image.height}\n` : `${image.codes.join(',')}\n`);
    }
    if (abort.signal.aborted) throw new Error('interrupted');
    if (flags.json) process.stdout.write(`${JSON.stringify({ prompt, drawn: draw, images })}\n`);
  } finally {
    process.off('SIGINT', onSigint);
    model.dispose();
  }
}
