/**
 * What `seed describe`, `seed draw` and `seed chat` share: which SEED-LLaMA model set to load, how to load it
 * (precision, device, with a progress bar), and the sampling options of a turn.
 *
 * The model set is found in this order: `--llm` + `--tokenizer` (+ `--decoder`), `--model DIR`, the
 * `SEED_MODEL_DIR` environment variable, the cache `seed pull` fills (`SEED_HOME`, default ~/.cache/seed),
 * then the bundled default, `models/seed-micro` of the repository (see bundledModelDir).
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WeightDType } from '@seed/llama-core';
import type { SeedLlama, SeedLlamaOptions, SendOptions } from '@seed/seed-llama';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { withProgress } from './progress.js';

/** The LLM weight precisions `--dtype` accepts, as the model loader names them. */
const DTYPES = ['auto', 'f32', 'f16', 'bf16', 'int8'] as const satisfies readonly WeightDType[];

/** The model sets `seed pull` writes under the cache, in the order a command looks for them. */
export const PULLED_SETS = ['seed-llama-8b', 'seed-llama-14b'] as const;

export interface ModelFlags {
  model?: string;
  llm?: string;
  tokenizer?: string;
  decoder?: string;
  dtype: (typeof DTYPES)[number];
  device: string;
  maxTokens?: number;
  temperature: number;
  topP: number;
  seed?: number;
  json?: boolean;
}

/** A number option's parser: a finite number (an integer with `int`), at least `min` when given. */
export const num =
  (what: string, { int = false, min }: { int?: boolean; min?: number } = {}) =>
  (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || (int && !Number.isInteger(n)))
      throw new InvalidArgumentError(`${what} must be a${int ? 'n integer' : ' number'}`);
    if (min !== undefined && n < min) throw new InvalidArgumentError(`${what} must be at least ${min}`);
    return n;
  };

/** The cache `seed pull` writes to: $SEED_HOME, else ~/.cache/seed. */
export function seedHome(): string {
  return process.env.SEED_HOME || join(homedir(), '.cache', 'seed');
}

/**
 * Add the model and sampling options. `maxTokens` is the default of --max-tokens, or undefined for a command
 * that fixes it itself (draw).
 */
export function withModelOptions(cmd: Command, maxTokens: number | undefined = 256): Command {
  cmd
    .option('--model <dir>', 'model set directory holding llm/, tokenizer/ and (to draw) decoder/')
    .option('--llm <dir>', 'the LLM directory (HF LLaMA layout with SEED’s tokenizer files); overrides --model’s')
    .option('--tokenizer <dir>', 'the SEED tokenizer directory (seed_quantizer.pt + eva_vit_g.pth)')
    .option('--decoder <dir>', 'the SD-2.1-unCLIP decoder directory (diffusers layout)')
    .addOption(
      new Option('--dtype <d>', 'LLM weight precision: auto (as stored), a float dtype, or int8 (quantized at load)')
        .choices(DTYPES)
        .default('auto'),
    )
    .option('--device <d>', 'cpu or cuda:N', 'cpu');
  if (maxTokens !== undefined)
    cmd.option('--max-tokens <n>', 'most tokens per answer', num('--max-tokens', { int: true, min: 1 }), maxTokens);
  return cmd
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', num('--temperature', { min: 0 }), 0.7)
    .option('--top-p <p>', 'nucleus sampling threshold', num('--top-p', { min: 0 }), 0.5)
    .option('--seed <s>', 'random seed (sampling and drawing)', num('--seed', { int: true }));
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/**
 * The bundled default model set, `models/seed-micro` at the root of the repository this CLI runs from (found
 * by walking up from this file), or undefined when the CLI is installed without it. `SEED_BUNDLED_MODEL=none`
 * turns it off (tests of the no-model message).
 */
export function bundledModelDir(): string | undefined {
  if (process.env.SEED_BUNDLED_MODEL === 'none') return undefined;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++, dir = dirname(dir)) {
    const candidate = join(dir, 'models', 'seed-micro');
    if (isDir(join(candidate, 'llm'))) return candidate;
  }
  return undefined;
}

/**
 * Where the model set is, as SeedLlama.load options. `withDecoder: false` leaves any decoder out, so that
 * images come back as codes only (nothing is drawn).
 */
export function resolveModel(flags: ModelFlags, withDecoder = true): SeedLlamaOptions {
  for (const [flag, dir] of [
    ['--model', flags.model],
    ['--llm', flags.llm],
    ['--tokenizer', flags.tokenizer],
    ['--decoder', flags.decoder],
  ] as const)
    if (dir !== undefined && !isDir(dir)) throw new Error(`${flag} ${dir}: no such directory`);
  let dir = flags.model;
  if (!dir && !(flags.llm && flags.tokenizer)) {
    if (process.env.SEED_MODEL_DIR) {
      dir = process.env.SEED_MODEL_DIR;
      if (!isDir(dir)) throw new Error(`SEED_MODEL_DIR=${dir}: no such directory`);
    } else {
      const home = seedHome();
      dir = PULLED_SETS.map((s) => join(home, s)).find((d) => isDir(join(d, 'llm'))) ?? bundledModelDir();
      if (!dir)
        throw new Error(
          `no model: give --model DIR (or --llm DIR --tokenizer DIR), set SEED_MODEL_DIR, or run \`seed pull\` (cache: ${home})`,
        );
    }
  }
  const options: SeedLlamaOptions = {
    llm: flags.llm,
    tokenizer: flags.tokenizer,
    dtype: flags.dtype,
    device: flags.device,
  };
  const component = (c: 'llm' | 'tokenizer' | 'decoder') => (dir && isDir(join(dir, c)) ? join(dir, c) : undefined);
  options.llm ??= component('llm');
  options.tokenizer ??= component('tokenizer');
  if (!options.llm || !options.tokenizer)
    throw new Error(
      `${dir}: a model set holds llm/ and tokenizer/ (and decoder/ to draw); missing ${[!options.llm && 'llm/', !options.tokenizer && 'tokenizer/'].filter(Boolean).join(' and ')}`,
    );
  if (withDecoder) options.decoder = flags.decoder ?? component('decoder');
  return options;
}

/** Load the model set with a progress bar on stderr (one pass per component). */
export async function loadModel(
  flags: ModelFlags,
  withDecoder = true,
  extra: Pick<SeedLlamaOptions, 'maxWaiting'> = {},
): Promise<SeedLlama> {
  const options = { ...resolveModel(flags, withDecoder), ...extra };
  const { SeedLlama } = await import('@seed/seed-llama');
  // Each component counts its own tensors: the bar shows the share loaded of the current one, named.
  let current = '';
  return withProgress(
    'loading',
    (onProgress) =>
      SeedLlama.load({
        ...options,
        onProgress: (component, done, total, name) => {
          current = `${component} ${done}/${total} tensors`;
          onProgress(Math.round((1000 * done) / Math.max(total, 1)), 1000, name);
        },
      }),
    () => current,
  );
}

/** The turn options the flags give (SEED's demo defaults where a flag is absent). */
export function sendOptions(flags: ModelFlags, signal?: AbortSignal): SendOptions {
  return {
    maxNewTokens: flags.maxTokens,
    temperature: flags.temperature,
    topP: flags.topP,
    seed: flags.seed,
    signal,
  };
}
