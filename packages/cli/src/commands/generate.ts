/**
 * `seed generate --model DIR [--prompt TEXT | --chat] …`: load a LLaMA / SEED-LLaMA model directory and
 * stream generated text. With --json, print one object {ids, text} instead of streaming. --chat reads user
 * turns from stdin and answers each with the model's chat template (Vicuna for 8B, LLaMA-2 for 14B).
 */
import { createInterface } from 'node:readline';
import { Command, InvalidArgumentError } from 'commander';
import { guarded } from '../action.js';
import { loadingBar } from '../progress.js';

interface GenerateFlags {
  model: string;
  prompt?: string;
  chat?: boolean;
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  seed: number;
  dtype: string;
  device: string;
  template?: string;
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
    .option('--dtype <d>', 'weight precision: auto (as stored), f32, f16, bf16, int8', 'auto')
    .option('--device <d>', 'cpu or cuda:N', 'cpu')
    .option(
      '--template <name>',
      'chat template: vicuna (SEED-LLaMA-8B) or llama2 (14B); default: from the model config',
    )
    .option('--json', 'print one JSON object {ids, text} instead of streaming')
    .action(guarded('generate', run));
}

async function run(flags: GenerateFlags): Promise<void> {
  if (!flags.prompt === !flags.chat) throw new Error('give exactly one of --prompt TEXT or --chat');
  if (flags.template !== undefined && flags.template !== 'vicuna' && flags.template !== 'llama2')
    throw new Error(`unknown --template ${flags.template} (expected vicuna or llama2)`);
  const { generate, loadLlama, renderChat } = await import('@seed/llama-core');
  const bar = loadingBar();
  const loaded = await loadLlama(flags.model, {
    dtype: flags.dtype as never,
    device: flags.device,
    onProgress: bar.onProgress,
  }).finally(() => bar.stop());
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
    const template = (flags.template ?? loaded.chatTemplate) as 'vicuna' | 'llama2';
    const stop = template === 'vicuna' ? ['\nUSER:', 'USER:'] : ['[INST]'];
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY });
    const { KvCache } = await import('@seed/llama-core');
    const cache = new KvCache(loaded.config, model.device);
    const transcript: { user: string; assistant: string; ids: number[] }[] = [];
    if (process.stdin.isTTY) process.stderr.write('chat: type a message, Ctrl-D to end\n');
    for await (const line of rl) {
      const user = line.trim();
      if (!user) continue;
      messages.push({ role: 'user', content: user });
      const ids = tokenizer.encode(renderChat(messages, template));
      const it = generate(model, tokenizer, ids, { ...sampling, stopStrings: stop, cache });
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
    cache.dispose();
    if (flags.json) process.stdout.write(`${JSON.stringify({ turns: transcript })}\n`);
  } finally {
    process.off('SIGINT', onSigint);
    loaded.dispose();
  }
}
