/**
 * `seed serve` under load: the load test's scenario (concurrent clients mixing chat, image input,
 * drawings, abandoned streams and bad requests) against a tiny SEED-LLaMA on loopback, as requests/s and
 * p50 / p95 latency per kind. Side by side, the reference: the same model work run in-process through
 * `Session.send` with the same concurrency — the ratio is what the HTTP layer costs.
 *
 *   pnpm --filter @seed/seed-llama bench [--json] [--clients 32] [--rounds 6] [--max-queue N]
 */
import { readFileSync } from 'node:fs';
import { createSeedServer, SeedLlama, type SendOptions } from '../src/index.js';
import { writeTinySeedLlama } from '../test/helpers/tiny-seed-llama.js';
import { PatternDecoder, PNG_DATA_URL, PNG_PATH } from '../test/server-helpers.js';
import { figures, KINDS, type Kind, runLoad } from '../test/server-load.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const arg = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : dflt;
};
const clients = arg('--clients', 32);
const rounds = arg('--rounds', 6);
const maxQueue = arg('--max-queue', Number.POSITIVE_INFINITY);
const log = (s: string) => process.stderr.write(`${s}\n`);

/** The model work of one request of `kind`, run in-process (bad requests never reach the model). */
async function inProcess(model: SeedLlama, kind: Kind, client: number, png: Uint8Array): Promise<void> {
  const s = model.session();
  const run = async (parts: Parameters<typeof s.send>[0], o: SendOptions, stopAfterFirst = false) => {
    const controller = new AbortController();
    try {
      for await (const _ of s.send(parts, { seed: client, ...o, signal: controller.signal }))
        if (stopAfterFirst) controller.abort();
    } catch (e) {
      if (!controller.signal.aborted) throw e; // abandoned while still queued: as the HTTP client does
    }
  };
  if (kind === 'chat') await run('what is this?', { maxNewTokens: 16 });
  else if (kind === 'image-in') await run([{ image: png }, 'what is this?'], { maxNewTokens: 8 });
  else if (kind === 'draw')
    await run('a red circle', { forceImage: true, maxNewTokens: 33, draw: { steps: 2, width: 16, height: 16 } });
  else if (kind === 'stream-abort') await run('tell me', { maxNewTokens: 200 }, true);
}

async function main(): Promise<void> {
  const model = await SeedLlama.load({
    dir: (await writeTinySeedLlama({ seed: 11 })).dir,
    decoder: new PatternDecoder(),
    maxWaiting: maxQueue,
  });
  const server = createSeedServer(model);
  const url = await server.listen(0);
  const png = new Uint8Array(readFileSync(PNG_PATH));
  try {
    log(`warming up …`);
    await runLoad(url, { clients: KINDS.length, rounds: 1, imageDataUrl: PNG_DATA_URL });
    log(`HTTP: ${clients} clients × ${rounds} requests …`);
    const { results, seconds } = await runLoad(url, { clients, rounds, imageDataUrl: PNG_DATA_URL });
    const problems = results.filter((r) => r.problem);
    log(`in-process reference: the same model work through Session.send …`);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let r = 0; r < rounds; r++) await inProcess(model, KINDS[(c + r) % KINDS.length], c, png);
      }),
    );
    const reference = (performance.now() - t0) / 1000;
    const rows = figures(results);
    const perSecond = results.length / seconds;
    const ratio = reference / seconds; // in-process time ÷ HTTP time: 1 = the HTTP layer is free
    if (json) {
      for (const row of rows) process.stdout.write(`${JSON.stringify({ name: `serve ${row.kind}`, ...row })}\n`);
      process.stdout.write(
        `${JSON.stringify({ name: 'serve throughput', clients, rounds, requests: results.length, seconds, requests_per_s: perSecond, in_process_s: reference, ratio, reference: 'in-process Session.send, same work and concurrency', problems: problems.length })}\n`,
      );
    } else {
      console.log(`seed serve, tiny SEED-LLaMA on cpu, loopback: ${clients} clients × ${rounds} requests`);
      console.log('| kind | requests | served | refused (429) | p50 (ms) | p95 (ms) |');
      console.log('|---|---|---|---|---|---|');
      const f = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(1));
      for (const r of rows)
        console.log(`| ${r.kind} | ${r.requests} | ${r.served} | ${r.refused} | ${f(r.p50_ms)} | ${f(r.p95_ms)} |`);
      console.log(
        `${results.length} requests in ${seconds.toFixed(2)} s = ${perSecond.toFixed(1)} requests/s; ` +
          `the same model work in-process: ${reference.toFixed(2)} s (ratio in-process / HTTP ${ratio.toFixed(2)})`,
      );
      if (problems.length > 0) console.log(`${problems.length} requests were not answered cleanly`);
    }
    if (problems.length > 0) process.exitCode = 1;
  } finally {
    await server.close();
    model.dispose();
  }
}

await main();
