/**
 * `seed decode --decoder DIR (--embedding FILE | --codes c0,…,c31 --tokenizer DIR | --inputs FILE.safetensors)
 * -o out.png`: the SD-2.1-unCLIP decoder draws one unCLIP image embedding. The embedding comes from a file
 * (`seed embed --json` output, a JSON array, numbers as text, or a safetensors tensor), from 32 SEED codes
 * through the tokenizer, or from `--inputs`: one safetensors file holding any of image_embeds [1, E],
 * latents [1, L, h, w], noise [1, E] (the embedding's DDPM noise) and text_context [1, T, D] — how another
 * implementation's run is reproduced. `--dump FILE.safetensors` writes final_latents and the float image
 * [1, 3, H, W] in [0, 1]. A progress bar per UNet call shows seconds per step; --json prints
 * {file, width, height, steps, seconds}. `seed reconstruct` (reconstruct.ts) shares everything but the input.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import type { DecodedImage, DiffusionDecoder, ImageFormat, SchedulerName } from '@seed/diffusion-decoder';
import { Command, Option } from 'commander';
import { guarded } from '../action.js';
import { num } from '../model-options.js';
import { withProgress } from '../progress.js';
import { loadTokenizer } from '../tokenizer-options.js';

const SCHEDULERS = ['pndm', 'ddim', 'dpmsolver++'] as const satisfies readonly SchedulerName[];
const DTYPES = ['f32', 'f16', 'bf16'] as const;
const FORMATS: Record<string, ImageFormat> = { '.png': 'png', '.jpg': 'jpeg', '.jpeg': 'jpeg', '.webp': 'webp' };

/** The drawing options `seed decode` and `seed reconstruct` share. */
export interface DrawFlags {
  decoder: string;
  output: string;
  steps: number;
  guidance: number;
  noiseLevel: number;
  seed: number;
  scheduler: SchedulerName;
  width?: number;
  height?: number;
  prompt?: string;
  vaeTile?: number;
  dtype: (typeof DTYPES)[number];
  device: string;
  dump?: string;
  json?: boolean;
}

interface DecodeFlags extends DrawFlags {
  embedding?: string;
  codes?: number[];
  tokenizer?: string;
  inputs?: string;
}

export function parseCodes(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  const bad = parts.findIndex((s) => s === '' || !Number.isInteger(Number(s)));
  if (bad >= 0) throw new Error(`--codes: code ${bad} ('${parts[bad]}') is not an integer`);
  return parts.map(Number);
}

export function withDrawOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--decoder <dir>', 'the SD-2.1-unCLIP decoder directory (diffusers layout)')
    .requiredOption('-o, --output <file>', 'image to write (.png, .jpg or .webp)')
    .option('--steps <n>', 'diffusion steps (SEED uses 20)', num('--steps', { int: true, min: 1 }), 20)
    .option('--guidance <g>', 'classifier-free guidance scale (SEED uses 10; ≤ 1: none)', num('--guidance'), 10)
    .option(
      '--noise-level <t>',
      'DDPM noise level of the embedding, 0–999 (SEED uses 0)',
      num('--noise-level', { int: true, min: 0 }),
      0,
    )
    .option('--seed <s>', 'seed of the latents and the embedding noise', num('--seed', { int: true, min: 0 }), 0)
    .addOption(new Option('--scheduler <name>', 'sampler').choices(SCHEDULERS).default('pndm'))
    .option('--width <px>', "image width (default: the model's size)", num('--width', { int: true, min: 1 }))
    .option('--height <px>', "image height (default: the model's size)", num('--height', { int: true, min: 1 }))
    .option('--prompt <text>', 'a text prompt to steer the image (needs text_encoder/)')
    .option(
      '--vae-tile <px>',
      'decode the VAE in tiles of this size (bounds memory)',
      num('--vae-tile', { int: true, min: 1 }),
    )
    .addOption(new Option('--dtype <d>', 'decoder weight precision').choices(DTYPES).default('f32'))
    .option('--device <d>', 'cpu or cuda:N', 'cpu')
    .option('--dump <file>', 'also write final_latents and image [1, 3, H, W] in [0, 1] to this safetensors file')
    .option('--json', 'print one JSON object {file, width, height, steps, seconds}');
}

export function decodeCommand(): Command {
  return withDrawOptions(new Command('decode'))
    .description(
      'draw an unCLIP image embedding (from a file, SEED codes, or a safetensors of inputs) with the decoder',
    )
    .option('--embedding <file>', 'the embedding: `seed embed --json` output, a JSON array, numbers, or .safetensors')
    .option('--codes <c0,…,c31>', 'the 32 SEED codes (with --tokenizer)', parseCodes)
    .option('--tokenizer <dir>', 'the SEED tokenizer directory, to turn --codes into the embedding')
    .option('--inputs <file>', 'safetensors with any of image_embeds [1,E], latents, noise [1,E], text_context')
    .action(guarded('decode', run));
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** Check the folders, the output's format and the size against the decoder's configs, before loading weights. */
export async function checkDrawFlags(flags: DrawFlags) {
  const { readDecoderConfigs, imageGeometry, checkImageSize } = await import('@seed/diffusion-decoder');
  if (!isDir(flags.decoder)) throw new Error(`--decoder ${flags.decoder}: no such directory`);
  if (!FORMATS[extname(flags.output).toLowerCase()])
    throw new Error(`-o ${flags.output}: the file name must end in .png, .jpg, .jpeg or .webp`);
  if (flags.dump && extname(flags.dump) !== '.safetensors')
    throw new Error(`--dump ${flags.dump}: the file name must end in .safetensors`);
  const configs = readDecoderConfigs(flags.decoder);
  const geometry = imageGeometry(configs);
  checkImageSize(geometry, flags.width ?? geometry.defaultSize, flags.height ?? geometry.defaultSize);
  return { configs, geometry };
}

export async function loadDecoderWithProgress(flags: DrawFlags): Promise<DiffusionDecoder> {
  const { DiffusionDecoder } = await import('@seed/diffusion-decoder');
  let current = '';
  return withProgress(
    'loading',
    (onProgress) =>
      DiffusionDecoder.load(flags.decoder, {
        dtype: flags.dtype,
        device: flags.device,
        onProgress: (component, done, total, name) => {
          current = `${component} ${done}/${total} tensors`;
          onProgress(Math.round((1000 * done) / Math.max(total, 1)), 1000, name);
        },
      }),
    () => current,
  );
}

export interface DrawInputs {
  latents?: Float32Array;
  imageNoise?: Float32Array;
  context?: Float32Array;
}

/** Draw, write the image (and --dump), print the result line or JSON; returns what --json printed. */
export async function drawAndWrite(
  decoder: DiffusionDecoder,
  embedding: Float32Array,
  flags: DrawFlags,
  inputs: DrawInputs = {},
  extra: Record<string, unknown> = {},
): Promise<void> {
  const { encodeImage, toUnitRange } = await import('@seed/diffusion-decoder');
  const E = decoder.embeddingDim;
  if (embedding.length !== E)
    throw new Error(
      `the embedding has ${embedding.length} values; this decoder takes ${E} (image_normalizer embedding_dim)`,
    );
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.on('SIGINT', onSigint);
  const start = performance.now();
  let image: DecodedImage;
  try {
    [image] = await withProgress(
      'drawing',
      (onProgress) =>
        decoder.generate(embedding, {
          steps: flags.steps,
          guidance: flags.guidance,
          noiseLevel: flags.noiseLevel,
          seed: flags.seed,
          scheduler: flags.scheduler,
          width: flags.width,
          height: flags.height,
          prompt: flags.prompt,
          vaeTile: flags.vaeTile,
          ...inputs,
          signal: abort.signal,
          onStep: (step, total, seconds) => onProgress(step, total, `${seconds.toFixed(2)} s/step`),
        }),
      (done, total) => `${done}/${total} UNet calls`,
    );
  } finally {
    process.off('SIGINT', onSigint);
  }
  const seconds = (performance.now() - start) / 1000;
  mkdirSync(dirname(flags.output), { recursive: true });
  writeFileSync(flags.output, await encodeImage(image, FORMATS[extname(flags.output).toLowerCase()]));
  if (flags.dump) {
    const { tensor, writeSafetensors } = await import('@seed/cuda-kernels');
    const { vaeScale } = decoder.geometry;
    const L = decoder.configs.vae.latentChannels;
    const lat = tensor(image.latents, [1, L, image.height / vaeScale, image.width / vaeScale]);
    const img = tensor(toUnitRange(image.raw), [1, 3, image.height, image.width]);
    try {
      mkdirSync(dirname(flags.dump), { recursive: true });
      await writeSafetensors(flags.dump, { final_latents: lat, image: img }, { format: 'pt' });
    } finally {
      lat.dispose();
      img.dispose();
    }
  }
  const result = { file: flags.output, width: image.width, height: image.height, steps: flags.steps, seconds };
  if (flags.json) process.stdout.write(`${JSON.stringify({ ...result, ...extra })}\n`);
  else
    process.stdout.write(
      `${flags.output}: ${image.width}×${image.height}, ${flags.steps} steps, ${seconds.toFixed(1)} s${flags.dump ? ` (tensors in ${flags.dump})` : ''}\n`,
    );
}

/** The embedding in a file: a safetensors tensor, `seed embed --json` output, a JSON array, or numbers as text. */
async function readEmbeddingFile(file: string): Promise<Float32Array> {
  if (!existsSync(file)) throw new Error(`--embedding ${file}: no such file`);
  if (extname(file) === '.safetensors') {
    const t = await readSafetensors(file);
    const key = ['image_embeds', 'embedding'].find((k) => t.has(k)) ?? (t.size === 1 ? [...t.keys()][0] : undefined);
    if (!key) throw new Error(`--embedding ${file}: no tensor image_embeds (or a single tensor)`);
    return (t.get(key) as { values: Float32Array }).values;
  }
  const text = readFileSync(file, 'utf8').trim();
  let values: unknown;
  if (text.startsWith('[') || text.startsWith('{')) {
    const parsed = JSON.parse(text) as unknown;
    values = Array.isArray(parsed) ? parsed : (parsed as { embedding?: unknown }).embedding;
  } else values = text.split(/[\s,]+/).map(Number);
  if (
    !Array.isArray(values) ||
    values.length === 0 ||
    !values.every((v) => typeof v === 'number' && Number.isFinite(v))
  )
    throw new Error(`--embedding ${file}: expected numbers (a JSON array, {"embedding": [...]}, or text)`);
  return Float32Array.from(values as number[]);
}

/** Every tensor of a safetensors file as f32 values with its shape. */
async function readSafetensors(file: string): Promise<Map<string, { shape: number[]; values: Float32Array }>> {
  const { openSafetensors } = await import('@seed/cuda-kernels');
  const f = openSafetensors(file);
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  try {
    for (const info of f.tensors) {
      const t = f.load(info.name, { dtype: 'f32' });
      out.set(info.name, { shape: t.shape.slice(), values: Float32Array.from((await t.data()) as Float32Array) });
      t.dispose();
    }
  } finally {
    f.close();
  }
  return out;
}

const KNOWN_INPUTS = ['image_embeds', 'latents', 'noise', 'text_context'];

async function run(flags: DecodeFlags): Promise<void> {
  const given = [flags.embedding && '--embedding', flags.codes && '--codes', flags.inputs && '--inputs'].filter(
    Boolean,
  );
  if (given.length > 1 && !(given.length === 2 && flags.inputs && !flags.codes && !flags.embedding))
    throw new Error(`give one of --embedding, --codes or --inputs (got ${given.join(' and ')})`);
  if (flags.codes && !flags.tokenizer)
    throw new Error('--codes needs --tokenizer DIR (to turn codes into the embedding)');
  if (flags.tokenizer && !isDir(flags.tokenizer)) throw new Error(`--tokenizer ${flags.tokenizer}: no such directory`);
  if (flags.inputs && !existsSync(flags.inputs)) throw new Error(`--inputs ${flags.inputs}: no such file`);
  const { configs, geometry } = await checkDrawFlags(flags);
  const E = configs.embeddingDim;
  const L = configs.vae.latentChannels;

  const inputs: DrawInputs = {};
  let embedding: Float32Array | undefined;
  if (flags.inputs) {
    const t = await readSafetensors(flags.inputs);
    const unknown = [...t.keys()].filter((k) => !KNOWN_INPUTS.includes(k));
    if (unknown.length) process.stderr.write(`note: ${flags.inputs}: ignored ${unknown.join(', ')}\n`);
    const shaped = (name: string, ok: (s: number[]) => boolean, want: string) => {
      const v = t.get(name);
      if (v && !ok(v.shape)) throw new Error(`--inputs ${name} is [${v.shape.join(', ')}], expected ${want}`);
      return v;
    };
    const emb = shaped('image_embeds', (s) => s.length === 2 && s[0] === 1 && s[1] === E, `[1, ${E}]`);
    const noise = shaped('noise', (s) => s.length === 2 && s[0] === 1 && s[1] === E, `[1, ${E}]`);
    const lat = shaped('latents', (s) => s.length === 4 && s[0] === 1 && s[1] === L, `[1, ${L}, h, w]`);
    const ctx = shaped(
      'text_context',
      (s) => s.length === 3 && s[0] === 1 && s[2] === configs.unet.crossAttentionDim,
      `[1, T, ${configs.unet.crossAttentionDim}]`,
    );
    embedding = emb?.values;
    inputs.imageNoise = noise?.values;
    inputs.context = ctx?.values;
    if (lat) {
      inputs.latents = lat.values;
      const [h, w] = [lat.shape[2] * geometry.vaeScale, lat.shape[3] * geometry.vaeScale];
      if ((flags.height ?? h) !== h || (flags.width ?? w) !== w)
        throw new Error(
          `--inputs latents are for ${w}×${h} pixels; --width/--height ask for ${flags.width}×${flags.height}`,
        );
      flags.width = w;
      flags.height = h;
    }
    if (!embedding && !flags.embedding && !flags.codes)
      throw new Error(`--inputs ${flags.inputs} has no image_embeds: give it, or --embedding / --codes`);
  }
  if (flags.embedding) embedding = await readEmbeddingFile(flags.embedding);
  if (flags.codes) {
    const tok = await loadTokenizer({ tokenizer: flags.tokenizer as string, dtype: 'auto', device: flags.device });
    try {
      [embedding] = await tok.decode([flags.codes]);
    } finally {
      tok.dispose();
    }
  }
  if (!embedding) throw new Error('give the embedding: --embedding FILE, --codes … --tokenizer DIR, or --inputs FILE');
  if (embedding.length !== E)
    throw new Error(
      `the embedding has ${embedding.length} values; this decoder takes ${E} (image_normalizer embedding_dim)`,
    );
  const decoder = await loadDecoderWithProgress(flags);
  try {
    await drawAndWrite(decoder, embedding, flags, inputs);
  } finally {
    decoder.dispose();
  }
}
