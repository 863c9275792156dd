// The 100M and 1B random LLaMA of the llama bench (q8 as int8, and f32 weights) on cuda:0 against seed's CPU
// forward pass: logits of a 64-token prefill and of 8 greedy decode steps fed the CPU's tokens, then the speed of a
// 512-token prefill and of 32 decode steps on the GPU.
//   node llama.mjs [--sizes 100m,1b] [--devices cpu,cuda:0] [--time-cpu]
import { type Device, InMemoryWeights, loadWeights, ops, synchronize } from '@seed/cuda-kernels';
import { randomWeights, SIZES } from '../../packages/llama-core/bench/bench-models.js';
import { KvCache, LlamaModel, llamaWeightSpecs, parseLlamaConfig } from '../../packages/llama-core/src/index.js';
import { type TinyConfig, tinyHfConfig } from '../../packages/llama-core/test/helpers/tiny-llama.js';

async function build(c: TinyConfig, dtype: 'int8' | 'f32', device: Device) {
  const config = parseLlamaConfig(tinyHfConfig(c));
  const loaded = await loadWeights({
    specs: llamaWeightSpecs(config),
    files: new InMemoryWeights(randomWeights(c)),
    what: 'm',
    source: 'random',
    dtype,
    unexpected: 'error',
    device,
  } as never);
  return {
    model: new LlamaModel(config, loaded.weights, device),
    cache: new KvCache(config, device, c.maxSeq),
    loaded,
  };
}
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const size of arg('--sizes', '100m,1b').split(',')) {
  const c = SIZES[size];
  for (const dtype of ['int8', 'f32'] as const) {
    const prompt = Array.from({ length: 64 }, (_, i) => 3 + ((i * 7919) % (c.vocabSize - 3)));
    const logits: Record<string, Float32Array[]> = {};
    for (const device of arg('--devices', 'cpu,cuda:0').split(',') as Device[]) {
      const { model, cache, loaded } = await build(c, dtype, device);
      const out: Float32Array[] = [];
      let l = model.forward(prompt, cache);
      out.push((await l.data()) as Float32Array);
      let id = 5;
      for (let i = 0; i < 8; i++) {
        l.dispose();
        l = model.forward([id], cache);
        const d = (await l.data()) as Float32Array;
        out.push(d);
        id = logits.cpu ? argmaxOf(logits.cpu[i + 1]) : argmaxOf(d); // feed the CPU's tokens to both
      }
      l.dispose();
      logits[device] = out;
      if (device !== 'cpu' || process.argv.includes('--time-cpu')) {
        const pf: number[] = [],
          dc: number[] = [];
        const long = Array.from({ length: 512 }, (_, i) => 3 + ((i * 7919) % (c.vocabSize - 3)));
        for (let rep = 0; rep < 3; rep++) {
          cache.reset();
          let t0 = performance.now();
          let x = model.forward(long, cache);
          await x.data();
          pf.push(performance.now() - t0);
          x.dispose();
          t0 = performance.now();
          let tok = 5;
          for (let i = 0; i < 32; i++) {
            x = model.forward([tok], cache);
            const am = ops.argmax(x);
            tok = (await am.data())[0];
            am.dispose();
            x.dispose();
          }
          dc.push((performance.now() - t0) / 32);
        }
        console.log(
          `${size} ${dtype} ${device}: prefill 512 ${median(pf).toFixed(1)} ms (${(512000 / median(pf)).toFixed(0)} tok/s), decode ${median(dc).toFixed(2)} ms/token (${(1000 / median(dc)).toFixed(1)} tok/s)`,
        );
      }
      cache.dispose();
      loaded.dispose();
      await synchronize(device);
    }
    if (!logits['cuda:0']) continue;
    let worst = 0,
      scale = 0,
      agree = 0;
    for (let s = 0; s < logits.cpu.length; s++) {
      const a = logits.cpu[s],
        b = logits['cuda:0'][s];
      const n = a.length === b.length ? a.length : 0;
      for (let i = 0; i < n; i++) {
        worst = Math.max(worst, Math.abs(a[i] - b[i]));
        scale = Math.max(scale, Math.abs(a[i]));
      }
      const V = c.vocabSize;
      if (argmaxOf(a.subarray(a.length - V)) === argmaxOf(b.subarray(b.length - V))) agree++;
    }
    console.log(
      `${size} ${dtype}: cuda:0 vs cpu logits over 1 prefill + 8 decode steps: max |diff| ${worst.toExponential(2)} (max |logit| ${scale.toFixed(2)}), greedy token agrees ${agree}/${logits.cpu.length}`,
    );
  }
}
function argmaxOf(a: Float32Array): number {
  let b = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i;
  return b;
}
