/**
 * The server under load (tiny model, loopback, bounded to a few seconds): 32 concurrent clients mixing
 * chat, image input, drawings, abandoned streams, malformed and unknown-model requests. Every request is
 * answered or refused cleanly, the server stays up, and memory returns to its baseline.
 */
import { memoryInfo, synchronize } from '@seed/cuda-kernels';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSeedServer, type RequestRecord, SeedLlama, type SeedServer } from '../src/index.js';
import { writeTinySeedLlama } from './helpers/tiny-seed-llama.js';
import { PatternDecoder, PNG_DATA_URL } from './server-helpers.js';
import { figures, KINDS, runLoad } from './server-load.js';

let model: SeedLlama;
let server: SeedServer;
const records: RequestRecord[] = [];

beforeAll(async () => {
  model = await SeedLlama.load({
    dir: (await writeTinySeedLlama({ seed: 11 })).dir,
    decoder: new PatternDecoder(),
    maxWaiting: 16,
  });
  server = createSeedServer(model, { onRequest: (r) => records.push(r) });
  await server.listen(0);
});
afterAll(async () => {
  await server?.close();
  model?.dispose();
});

it('32 concurrent clients: every request answered or refused cleanly, no crash, memory back to baseline', async () => {
  const url = server.url as string;
  // Warm up every path once (KV cache, decoder, tokenizer buffers), then take the baseline.
  const warm = await runLoad(url, { clients: KINDS.length, rounds: 1, imageDataUrl: PNG_DATA_URL });
  expect(warm.results.filter((r) => r.problem)).toEqual([]);
  await synchronize('cpu');
  const baseline = memoryInfo();

  const { results, seconds } = await runLoad(url, { clients: 32, rounds: 6, imageDataUrl: PNG_DATA_URL });
  expect(results).toHaveLength(192);
  expect(results.filter((r) => r.problem)).toEqual([]);
  // The mix really happened: served answers of every kind, abandoned streams, and refusals are allowed.
  const rows = figures(results);
  for (const row of rows) expect(row.served, row.kind).toBeGreaterThan(0);
  console.log(
    `load: ${results.length} requests in ${seconds.toFixed(2)} s (${(results.length / seconds).toFixed(1)}/s), ` +
      rows
        .map((r) => `${r.kind} ${r.served}/${r.requests} p50 ${r.p50_ms.toFixed(0)} ms p95 ${r.p95_ms.toFixed(0)} ms`)
        .join('; '),
  );

  // Every request has ended on the server side (abandoned ones included), and the model is idle.
  await new Promise((r) => setTimeout(r, 50));
  const ended = () => records.length === warm.results.length + results.length;
  for (let i = 0; i < 100 && !ended(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(records.length).toBe(warm.results.length + results.length);
  expect(records.filter((r) => r.status >= 500)).toEqual([]);
  expect(model.queue.length).toBe(0);
  const health = await fetch(`${url}/health`);
  expect(health.status).toBe(200);

  await synchronize('cpu');
  const after = memoryInfo();
  expect(after.cpuTensors).toBe(baseline.cpuTensors);
  expect(after.cpuBytes).toBe(baseline.cpuBytes);
});
