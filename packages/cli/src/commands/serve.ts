/**
 * `seed serve --model DIR [--port 8080] [--host 127.0.0.1] …`: load a SEED-LLaMA model set once and serve
 * it over HTTP — OpenAI-style `/v1/chat/completions` (images in and out), `/v1/images/generations`,
 * `/v1/models`, SEED's full event stream `/v1/seed/events`, and `/health` (see @seed/seed-llama's README).
 * Prints the URL on stdout and one line per request on stderr; SIGINT / SIGTERM stop it cleanly (running
 * requests are aborted, connections closed, the model freed).
 */
import type { RequestRecord } from '@seed/seed-llama';
import { Command, Option } from 'commander';
import { guarded } from '../action.js';
import { loadModel, num } from '../model-options.js';

/** The LLM weight precisions `--dtype` accepts. */
const DTYPES = ['auto', 'f32', 'f16', 'bf16', 'int8'] as const;

interface ServeFlags {
  model?: string;
  llm?: string;
  tokenizer?: string;
  decoder?: string;
  dtype: (typeof DTYPES)[number];
  device: string;
  port: number;
  host: string;
  apiKey?: string;
  maxQueue: number;
  maxBodyMb: number;
  maxImageMb: number;
  allowFiles?: string;
  cors?: string;
  name: string;
  quiet?: boolean;
}

const MiB = 1 << 20;

export function serveCommand(): Command {
  return new Command('serve')
    .description('serve SEED-LLaMA over HTTP: OpenAI-style chat completions and image generations, plus SEED events')
    .option('--model <dir>', 'model set directory holding llm/, tokenizer/ and (to draw) decoder/')
    .option('--llm <dir>', 'the LLM directory; overrides --model’s')
    .option('--tokenizer <dir>', 'the SEED tokenizer directory')
    .option('--decoder <dir>', 'the SD-2.1-unCLIP decoder directory (without one, images are returned as codes)')
    .addOption(
      new Option('--dtype <d>', 'LLM weight precision: auto (as stored), a float dtype, or int8')
        .choices(DTYPES)
        .default('auto'),
    )
    .option('--device <d>', 'cpu or cuda:N', 'cpu')
    .option('--port <n>', 'port to listen on (0: any free port)', num('--port', { int: true, min: 0 }), 8080)
    .option('--host <addr>', 'address to bind; 0.0.0.0 makes the server reachable from other machines', '127.0.0.1')
    .option('--api-key <key>', 'require `Authorization: Bearer KEY` on /v1 requests (or set SEED_API_KEY)')
    .option(
      '--max-queue <n>',
      'requests that may wait for the model; more are refused with 429',
      num('--max-queue', { int: true, min: 0 }),
      32,
    )
    .option('--max-body-mb <n>', 'largest request body, in MiB', num('--max-body-mb', { min: 0.001 }), 32)
    .option('--max-image-mb <n>', 'largest image in a request, in MiB', num('--max-image-mb', { min: 0.001 }), 16)
    .option('--allow-files <dir>', 'let image_url name local image files inside DIR (default: data URLs only)')
    .option(
      '--cors <origins>',
      'let web pages from these origins call the server (comma-separated, e.g. http://localhost:5173, or * for any)',
    )
    .option('--name <id>', 'the model id clients name and /v1/models lists', 'seed-llama')
    .option('--quiet', 'no log line per request')
    .action(guarded('serve', run));
}

/** --cors: '*' or origins such as http://localhost:5173 (scheme, host and port, no path). */
function corsOrigins(list: string): string[] {
  const origins = list
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const o of origins) {
    if (o === '*') continue;
    let url: URL | undefined;
    try {
      url = new URL(o);
    } catch {}
    if (!url || url.origin !== o.replace(/\/$/, ''))
      throw new Error(`--cors: '${o}' is not an origin (scheme://host[:port], e.g. http://localhost:5173) or *`);
  }
  return origins.map((o) => o.replace(/\/$/, ''));
}

async function run(flags: ServeFlags): Promise<void> {
  const apiKey = flags.apiKey ?? (process.env.SEED_API_KEY || undefined);
  const cors = flags.cors ? corsOrigins(flags.cors) : undefined; // checked before the model loads
  // Sampling is chosen per request: the sampling fields of ModelFlags play no part in finding the model.
  const model = await loadModel({ ...flags, temperature: 0.7, topP: 0.5 }, true, { maxWaiting: flags.maxQueue });
  const { createSeedServer } = await import('@seed/seed-llama');
  const server = createSeedServer(model, {
    modelName: flags.name,
    apiKey,
    maxBodyBytes: Math.round(flags.maxBodyMb * MiB),
    maxImageBytes: Math.round(flags.maxImageMb * MiB),
    allowFilesFrom: flags.allowFiles,
    corsOrigins: cors,
    onRequest: flags.quiet ? undefined : logRequest,
  });
  let url: string;
  try {
    url = await server.listen(flags.port, flags.host);
  } catch (e) {
    model.dispose();
    throw new Error(`cannot listen on ${flags.host}:${flags.port}: ${(e as Error).message}`);
  }
  process.stdout.write(`seed serve: ${url} (OpenAI base URL ${url}/v1, model '${flags.name}')\n`);
  if (!model.canDraw)
    process.stderr.write(
      'note: no decoder (decoder/ or --decoder): images are returned as their SEED codes, not drawn\n',
    );
  if (!apiKey && !isLoopback(flags.host))
    process.stderr.write(`warning: listening on ${flags.host} without --api-key: anyone who can reach it can use it\n`);

  // Serve until a signal; a second one while closing stops at once.
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const force = () => process.exit(130);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  process.stderr.write(`seed serve: ${signal}, closing …\n`);
  await server.close();
  model.dispose();
  process.stderr.write('seed serve: closed\n');
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

function logRequest(r: RequestRecord): void {
  const detail =
    r.outcome === 'error' ? ` ${r.error}` : r.outcome === 'aborted' ? ' (client gone)' : r.reason ? ` ${r.reason}` : '';
  process.stderr.write(`${r.method} ${r.path} ${r.status || '-'} ${r.seconds.toFixed(3)}s${detail}\n`);
}
