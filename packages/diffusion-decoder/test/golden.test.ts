/**
 * Against the independent PyTorch reference (tools/golden/unclip_ref.py): a tiny random unCLIP folder in
 * diffusers' layout (fixtures/tiny-unclip) and its recorded values (fixtures/tiny-unclip-golden). Each float
 * entry X is float64 with a tolerance from the reference's own float32-vs-float64 spread; integer entries are
 * exact. The UNet / VAE forward entries wait for the image ops.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listSpecs, loadWeights, openWeights, type WeightFile } from '@seed/cuda-kernels';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClipTokenizer,
  classLabels,
  clipTextForward,
  componentWeightsPath,
  createScheduler,
  DdpmNoiser,
  DiffusionDecoder,
  DpmSolverScheduler,
  ImageNormalizer,
  loadDecoder,
  noiseImageEmbeddings,
  PndmScheduler,
  type SchedulerName,
  timestepEmbedding,
  unetWeightSpecs,
  vaeWeightSpecs,
} from '../src/index.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const MODEL = join(FIXTURES, 'tiny-unclip');
const GOLDEN = join(FIXTURES, 'tiny-unclip-golden');
const present = existsSync(join(GOLDEN, 'golden.safetensors')) && existsSync(join(MODEL, 'model_index.json'));

interface Entry {
  name: string;
  f32_name?: string;
  shape: number[];
  tolerance: number;
}

let golden: WeightFile;
let entries: Map<string, Entry>;
let decoder: DiffusionDecoder;

/** An entry's values exactly as stored (F64, F32 or I64). */
function values(name: string): Float64Array {
  const info = golden.info(name);
  const where = golden.stored(name);
  const copy =
    'bytes' in where
      ? new Uint8Array(where.bytes) // an aligned copy
      : new Uint8Array(readFileSync(where.path).subarray(where.byteOffset, where.byteOffset + where.byteLength));
  if (info.dtype === 'F64') return new Float64Array(copy.buffer);
  if (info.dtype === 'F32') return Float64Array.from(new Float32Array(copy.buffer));
  if (info.dtype === 'I64') return Float64Array.from(new BigInt64Array(copy.buffer), Number);
  throw new Error(`${name}: unexpected dtype ${info.dtype}`);
}

const f32 = (name: string) => Float32Array.from(values(name));

/** Every value within the entry's tolerance; returns the worst difference for the message. */
function expectClose(name: string, actual: ArrayLike<number>, offset = 0) {
  const e = entries.get(name);
  if (!e) throw new Error(`no golden entry ${name}`);
  const want = values(name);
  const n = actual.length;
  let worst = 0;
  let at = 0;
  for (let i = 0; i < n; i++) {
    const d = Math.abs(actual[i] - want[offset + i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  expect(
    worst,
    `${name}[${offset + at}]: ${actual[at]} vs ${want[offset + at]} (tolerance ${e.tolerance})`,
  ).toBeLessThanOrEqual(e.tolerance);
}

describe.skipIf(!present)('tiny unCLIP folder vs the PyTorch reference', () => {
  beforeAll(async () => {
    golden = openWeights(join(GOLDEN, 'golden.safetensors'));
    const json = (await import(join(GOLDEN, 'golden.json'), { with: { type: 'json' } })).default as {
      entries: Entry[];
    };
    entries = new Map(json.entries.map((e) => [e.name, e]));
    decoder = await DiffusionDecoder.load(MODEL, { dtype: 'f32' });
  });
  afterAll(() => {
    decoder?.dispose();
    golden?.close();
  });

  it('loads every component through the weight tables; notes the skipped image encoder', () => {
    const c = decoder.configs;
    expect(c.unet.heads).toEqual([2, 2, 4, 4]);
    expect(c.textEncoder?.numLayers).toBe(3);
    expect(c.embeddingDim).toBe(32);
    expect(decoder.notes.some((n) => n.includes('image_encoder is not loaded'))).toBe(true);
  });

  it('the VAE file holds the old attention names (query/key/value/proj_attn); the table reads them', () => {
    const f = openWeights(join(MODEL, 'vae', 'diffusion_pytorch_model.safetensors'));
    try {
      expect(f.has('decoder.mid_block.attentions.0.query.weight')).toBe(true);
      const specs = vaeWeightSpecs(decoder.configs.vae);
      const q = listSpecs(specs).find((s) => s.name === 'decoder.mid_block.attentions.0.to_q.weight');
      expect(q?.spec.sources.map((s) => s.name)).toContain('decoder.mid_block.attentions.0.query.weight');
    } finally {
      f.close();
    }
  });

  it('the UNet .bin pickle and the VAE .fp16 variant load through the same tables', async () => {
    const bin = openWeights(join(MODEL, 'unet', 'diffusion_pytorch_model.bin'));
    const fp16 = openWeights(componentWeightsPath(join(MODEL, 'vae'), 'diffusion_pytorch_model', 'fp16'));
    try {
      const u = await loadWeights({
        specs: unetWeightSpecs(decoder.configs.unet),
        files: bin,
        what: 'the UNet',
        source: 'bin',
        unexpected: 'error',
      });
      expect(u.weights.down[0].resnets[1].conv1.weight.shape).toEqual([8, 8, 3, 3]);
      expect(u.weights.up[1].resnets[2].convShortcut?.weight.shape).toEqual([16, 24, 1, 1]);
      u.dispose();
      const v = await loadWeights({
        specs: vaeWeightSpecs(decoder.configs.vae),
        files: fp16,
        what: 'the VAE',
        source: 'fp16',
        dtype: 'f16',
        unexpected: 'error',
        ignore: [/^encoder\./, /^quant_conv\./],
      });
      expect(v.weights.convIn.weight.dtype).toBe('f16');
      expect(v.weights.convIn.bias.dtype).toBe('f32');
      v.dispose();
    } finally {
      bin.close();
      fp16.close();
    }
  });

  it('scheduler tables and timesteps', () => {
    const c = decoder.configs;
    for (const [name, golden] of [
      ['pndm', 'pndm'],
      ['ddim', 'ddim'],
      ['dpmsolver++', 'dpmpp2m'],
    ] as const)
      for (const n of [20, 5]) {
        const s = createScheduler(name as SchedulerName, c.scheduler);
        s.setTimesteps(n);
        expect(s.timesteps, `${golden}.timesteps.${n}`).toEqual(Array.from(values(`${golden}.timesteps.${n}`)));
      }
    const pndm = new PndmScheduler(c.scheduler);
    expectClose('pndm.alphas_cumprod', pndm.alphasCumprod);
    // Against the reference's own float32 table: at most 8 float32 ulps (of ᾱ) apart (its cumprod rounds differently).
    const ulps = (a: Float32Array, b: Float32Array) =>
      Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]) / (v * 2 ** -24)));
    expect(ulps(pndm.alphasCumprod, f32('pndm.alphas_cumprod.f32'))).toBeLessThanOrEqual(8);
    const ddpm = new DdpmNoiser(c.imageNoisingScheduler);
    expectClose('ddpm.alphas_cumprod', ddpm.alphasCumprod);
    expect(ulps(ddpm.alphasCumprod, f32('ddpm.alphas_cumprod.f32'))).toBeLessThanOrEqual(8);
    const dpm = new DpmSolverScheduler(c.scheduler);
    dpm.setTimesteps(20);
    expectClose('dpmpp2m.sigmas.20', dpm.sigmas);
  });

  it('tokenizer ids (pad "!" = 0) are exact', () => {
    const tok = ClipTokenizer.fromDirectory(join(MODEL, 'tokenizer'));
    const want = values('tokenizer.ids');
    const prompts = ['', 'a photo of a zebra', 'A Red Car, parked by the sea!', "it's 2 dogs playing in snow"];
    for (const [i, p] of prompts.entries())
      expect(Array.from(tok.encode(p)), JSON.stringify(p)).toEqual(Array.from(want.subarray(i * 77, (i + 1) * 77)));
  });

  it('CLIP text context (23-layer-style pre-LN stack + final LN) for every prompt', async () => {
    const ids = Int32Array.from(values('tokenizer.ids'));
    const c = decoder.configs.textEncoder;
    if (!c) throw new Error('no text encoder');
    const loaded = await loadDecoder(MODEL, { dtype: 'f32' });
    const weights = loaded.textEncoder;
    if (!weights) throw new Error('no text encoder weights');
    const out = clipTextForward(c, weights, ids, 4);
    expectClose('text.context', (await out.data()) as Float32Array);
    out.dispose();
    loaded.dispose();
  });

  it('UNet time sinusoid and the image-embedding conditioning at noise levels 0 and 100', () => {
    const c = decoder.configs;
    expectClose(
      'unet.time_sinusoid',
      timestepEmbedding([0, 1, 100, 500, 951, 999], c.unet.blockOutChannels[0], {
        flipSinToCos: true,
        downscaleFreqShift: 0,
      }),
    );
    const nf = openWeights(join(MODEL, 'image_normalizer', 'diffusion_pytorch_model.safetensors'));
    const read = (n: string) => {
      const w = nf.stored(n);
      if (!('path' in w)) throw new Error('expected a stored range');
      return new Float32Array(
        new Uint8Array(readFileSync(w.path).subarray(w.byteOffset, w.byteOffset + w.byteLength)).buffer,
      );
    };
    const normalizer = new ImageNormalizer(read('mean'), read('std'));
    nf.close();
    expect(normalizer.std.some((v) => v !== 1)).toBe(true); // the tiny model's normalizer is not the identity
    const noiser = new DdpmNoiser(c.imageNoisingScheduler);
    for (const level of [0, 100]) {
      const cond = noiseImageEmbeddings(
        f32('inputs.image_embeds'),
        level,
        f32('inputs.embed_noise'),
        normalizer,
        noiser,
      );
      expectClose(`cond.nl${level}`, classLabels(cond));
    }
  });

  for (const [name, golden] of [
    ['pndm', 'pndm'],
    ['ddim', 'ddim'],
    ['dpmsolver++', 'dpmpp2m'],
  ] as const)
    it(`${name}: fed the reference's guided outputs, every step's latents match`, () => {
      const s = createScheduler(name, decoder.configs.scheduler);
      s.setTimesteps(5);
      const size = 4 * 16 * 8;
      const guided = f32(`${golden}.nl0.guided`);
      let x: Float32Array = f32('inputs.latents');
      for (const [i, t] of s.timesteps.entries()) {
        x = s.step(guided.subarray(i * size, (i + 1) * size), t, x);
        expectClose(`${golden}.nl0.latents`, x, i * size);
      }
    });

  it('generate() says which ops it still needs (no outputs are faked)', async () => {
    await expect(decoder.generate(f32('inputs.image_embeds'), { steps: 5, width: 64, height: 128 })).rejects.toThrow(
      /needs the conv2d \/ group_norm \/ upsample_nearest2x \/ geglu ops/,
    );
  });
});
