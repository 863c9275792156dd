/**
 * `seed generate --model DIR [--prompt TEXT | --chat] …`: load a LLaMA / SEED-LLaMA model directory and
 * stream generated text. With --json, print one object {ids, text} instead of streaming. --chat reads user
 * turns from stdin and answers each with the model's chat template (Vicuna for 8B, LLaMA-2 for 14B).
 */
import { createInterface } from 'node:readline';
import type { ChatTemplateName, KvCache, WeightDType } from '@seed/llama-core';
import { Command, InvalidArgumentError, Option } from 'commander';
import { guarded } from '../action.js';
import { withProgress } from '../progress.js';

/** The weight precisions `--dtype` accepts, as the model loader names them. */
const DTYPES = ['auto', 'f32', 'f16', 'bf16', 'int8'] as const satisfies readonly WeightDType[];
/** The chat templates `--template` accepts. */
const TEMPLATES = ['vicuna', 'llama2'] as const satisfies readonly ChatTemplateName[];

interface GenerateFlags {
  model: string;
  prompt?: string;
  chat?: boolean;
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  seed: number;
  dtype: (typeof DTYPES)[number];
  device: string;
  template?: (typeof TEMPLATES)[number];
  json?: boolean;
}

const num =
  (what: string, int = false) =>
  (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || (int && !Number.isInteger(n)))
      throw new InvalidArgumentError(`${what} must be a${int ? 'n integer' : ' number'}`);
    return n;
  };

export function generateCommand(): Command {
  return new Command('generate')
    .description('generate text with a LLaMA / SEED-LLaMA model directory (HF layout)')
    .requiredOption(
      '--model <dir>',
      'model directory: config.json, tokenizer files, safetensors or PyTorch .bin weights',
    )
    .option('--prompt <text>', 'complete this text (a <s> is prepended unless it starts with one)')
    .option('--chat', 'chat on stdin/stdout with the model’s chat template')
    .option('--max-tokens <n>', 'most tokens to generate per answer', num('--max-tokens', true), 256)
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', num('--temperature'), 1.0)
    .option('--top-p <p>', 'nucleus sampling threshold', num('--top-p'), 0.5)
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)', num('--top-k', true), 0)
    .option('--seed <s>', 'random seed', num('--seed', true), 0)
    .addOption(
      new Option('--dtype <d>', 'weight precision: auto (as stored), a float dtype, or int8 (quantized at load)')
        .choices(DTYPES)
        .default('auto'),
    )
    .option('--device <d>', 'cpu or cuda:N', 'cpu')
    .addOption(
      new Option(
        '--template <name>',
        'chat template: vicuna (SEED-LLaMA-8B) or llama2 (14B); default: from the model config',
      ).choices(TEMPLATES),
    )
    .option('--json', 'print one JSON object {ids, text} instead of streaming')
    .action(guarded('generate', run));
}

async function run(flags: GenerateFlags): Promise<void> {
  if (!flags.prompt === !flags.chat) throw new Error('give exactly one of --prompt TEXT or --chat');
  const { chatStopStrings, generate, KvCache, loadLlama, renderChat } = await import('@seed/llama-core');
  const loaded = await withProgress('loading', (onProgress) =>
    loadLlama(flags.model, { dtype: flags.dtype, device: flags.device, onProgress }),
  );
  const { model, tokenizer } = loaded;

  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.on('SIGINT', onSigint);
  const sampling = {
    maxNewTokens: flags.maxTokens,
    temperature: flags.temperature,
    topP: flags.topP,
    topK: flags.topK,
    seed: flags.seed,
    signal: abort.signal,
  };
  // The chat's cache lives across turns (each turn reuses the conversation so far) and is freed here.
  let cache: KvCache | undefined;
  try {
    if (flags.prompt !== undefined) {
      const prompt = flags.prompt.startsWith('<s>') ? flags.prompt : `<s>${flags.prompt}`;
      const it = generate(model, tokenizer, tokenizer.encode(prompt), sampling);
      for (let r = await it.next(); ; r = await it.next()) {
        if (r.done) {
          if (flags.json) process.stdout.write(`${JSON.stringify({ ids: r.value.ids, text: r.value.text })}\n`);
          else process.stdout.write('\n');
          break;
        }
        if (!flags.json) process.stdout.write(r.value.text);
      }
      return;
    }
    // ---- chat ----
    const messages: { role: 'user' | 'assistant'; content: string }[] = [];
    const template = flags.template ?? loaded.chatTemplate;
    const stopStrings = chatStopStrings(template);
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY });
    cache = new KvCache(loaded.config, model.device);
    const transcript: { user: string; assistant: string; ids: number[] }[] = [];
    if (process.stdin.isTTY) process.stderr.write('chat: type a message, Ctrl-D to end\n');
    for await (const line of rl) {
      const user = line.trim();
      if (!user) continue;
      messages.push({ role: 'user', content: user });
      const ids = tokenizer.encode(renderChat(messages, template));
      const it = generate(model, tokenizer, ids, { ...sampling, stopStrings, cache });
      let answer = '';
      let genIds: number[] = [];
      for (let r = await it.next(); ; r = await it.next()) {
        if (r.done) {
          genIds = r.value.ids;
          answer = r.value.text;
          break;
        }
        if (!flags.json) process.stdout.write(r.value.text);
      }
      if (!flags.json) process.stdout.write('\n');
      messages.push({ role: 'assistant', content: answer.trim() });
      transcript.push({ user, assistant: answer.trim(), ids: genIds });
    }
    if (flags.json) process.stdout.write(`${JSON.stringify({ turns: transcript })}\n`);
  } finally {
    process.off('SIGINT', onSigint);
    cache?.dispose();
    loaded.dispose();
  }
}
