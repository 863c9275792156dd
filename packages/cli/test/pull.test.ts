/**
 * `seed pull` against a local stand-in for the Hugging Face hub (node:http on loopback) serving a tiny model
 * set in the hub's URL shapes, as @huggingface/hub requests them:
 *   GET /api/models/OWNER/NAME/tree/main[/FOLDER]?recursive=true&expand=false   the listing (sizes, oids, lfs)
 *   GET /OWNER/NAME/resolve/main/PATH   (Range: bytes=0-0 first: size and ETag; then the bytes, or a range)
 * plus one plain URL for eva_vit_g.pth (upstream takes it from LAVIS's storage, not the hub).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinySeedLlama } from '../../seed-llama/test/helpers/tiny-seed-llama.js';
import { bin } from './helpers/run-seed.js';

/** Repositories: path → bytes. Weights are "LFS" files (listed with their sha256), the rest plain git files. */
const repos = new Map<string, Map<string, Buffer>>();
const isLfs = (path: string) => /\.(safetensors|pt|pth|bin|ckpt|model)$/.test(path);
const gitSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** What the server is told to do wrong, and what it was asked. */
const faults = { cutOnce: new Set<string>(), corrupt: new Set<string>() };
const requests: { path: string; range?: string }[] = [];

let server: Server;
let endpoint: string;
let eva: Buffer;

function serve(res: import('node:http').ServerResponse, file: Buffer, range: string | undefined, key: string) {
  const body = faults.corrupt.has(key) ? Buffer.concat([Buffer.from([file[0] ^ 0xff]), file.subarray(1)]) : file;
  const headers = { ETag: `"${sha256(file)}"`, 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes' };
  const m = range && /^bytes=(\d+)-(\d*)$/.exec(range);
  const start = m ? Number(m[1]) : 0;
  const end = m?.[2] ? Number(m[2]) : body.length - 1;
  const part = body.subarray(start, end + 1);
  res.writeHead(m ? 206 : 200, {
    ...headers,
    'Content-Length': part.length,
    ...(m ? { 'Content-Range': `bytes ${start}-${end}/${body.length}` } : {}),
  });
  // An interrupted download: half the bytes, then the connection drops (not for the one-byte size probe).
  if (part.length > 1 && faults.cutOnce.delete(key)) {
    res.write(part.subarray(0, part.length >> 1), () => res.socket?.destroy());
    return;
  }
  res.end(part);
}

beforeAll(async () => {
  const tiny = (await writeTinySeedLlama({ seed: 3 })).dir;
  const read = (p: string) => readFileSync(join(tiny, p));
  eva = read('tokenizer/eva_vit_g.pth');
  repos.set(
    'AILab-CVC/seed-llama-8b-sft',
    new Map([
      ['config.json', read('llm/config.json')],
      ['model.safetensors', read('llm/model.safetensors')],
      ['README.md', Buffer.from('# not needed')],
    ]),
  );
  repos.set(
    'AILab-CVC/seed-tokenizer-2',
    new Map([
      ['tokenizer.model', read('llm/tokenizer.model')],
      ['added_tokens.json', read('llm/added_tokens.json')],
      ['special_tokens_map.json', read('llm/special_tokens_map.json')],
      ['seed_quantizer.pt', read('tokenizer/seed_quantizer.pt')],
      ['.gitattributes', Buffer.from('*.pt filter=lfs')],
    ]),
  );
  const json = (o: object) => Buffer.from(JSON.stringify(o));
  repos.set(
    'stabilityai/stable-diffusion-2-1-unclip',
    new Map([
      ['model_index.json', json({ _class_name: 'StableUnCLIPImg2ImgPipeline' })],
      ['unet/config.json', json({ sample_size: 96 })],
      ['unet/diffusion_pytorch_model.safetensors', randomBytes(200_000)],
      ['unet/diffusion_pytorch_model.fp16.safetensors', randomBytes(1000)],
      ['vae/config.json', json({ latent_channels: 4 })],
      ['vae/diffusion_pytorch_model.safetensors', randomBytes(50_000)],
      ['tokenizer/vocab.json', json({ a: 0 })],
      ['tokenizer/merges.txt', Buffer.from('#version: 0.2\n')],
      ['image_encoder/model.safetensors', randomBytes(1000)],
      ['sd21-unclip-h.ckpt', randomBytes(1000)],
    ]),
  );

  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    const range = req.headers.range;
    requests.push({ path, range });
    const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/main(?:\/(.*))?$/.exec(path);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/.exec(path);
    if (tree && repos.has(tree[1])) {
      const prefix = tree[2] ? `${tree[2]}/` : '';
      const entries = [...(repos.get(tree[1]) ?? [])]
        .filter(([p]) => p.startsWith(prefix))
        .map(([p, b]) => ({
          type: 'file',
          path: p,
          size: b.length,
          oid: gitSha1(b),
          ...(isLfs(p) ? { lfs: { oid: sha256(b), size: b.length, pointerSize: 134 } } : {}),
        }));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(entries));
    } else if (resolve && repos.get(resolve[1])?.has(resolve[2])) {
      serve(res, repos.get(resolve[1])?.get(resolve[2]) as Buffer, range, `${resolve[1]}/${resolve[2]}`);
    } else if (path === '/lavis/eva_vit_g.pth') {
      serve(res, eva, range, 'eva');
    } else {
      res.writeHead(404, { 'Content-Type': 'application/json', 'X-Error-Code': 'RepoNotFound' });
      res.end(JSON.stringify({ error: 'Repository not found' }));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** Run `seed pull …` without blocking this process (the server answers from its event loop). */
function pull(args: string[], home: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SEED_HOME: home,
    HF_ENDPOINT: endpoint,
    SEED_EVA_VIT_URL: `${endpoint}/lavis/eva_vit_g.pth`,
  };
  delete env.HF_TOKEN;
  const child = spawn(process.execPath, [bin, 'pull', ...args], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((r) => child.on('close', (code) => r({ code, stdout, stderr })));
}

/** Every file under `dir`, relative. */
function tree(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tree(join(dir, e.name), base) : [join(dir, e.name).slice(base.length + 1)],
  );
}

describe('seed pull', () => {
  it('fills the cache in the model-set layout; an interrupted download resumes where it stopped', async () => {
    const home = mkdtempSync(join(tmpdir(), 'seed-pull-'));
    faults.cutOnce.add('AILab-CVC/seed-tokenizer-2/seed_quantizer.pt');
    const first = await pull([], home);
    expect(first.code).toBe(1);
    const quantizer = repos.get('AILab-CVC/seed-tokenizer-2')?.get('seed_quantizer.pt') as Buffer;
    expect(first.stderr).toMatch(
      new RegExp(
        `^seed pull: AILab-CVC/seed-tokenizer-2/seed_quantizer\\.pt: download interrupted at \\d+ of ${quantizer.length} bytes .*run seed pull again to resume\\n$`,
        'm',
      ),
    );
    // The LLM came first and is complete; the tokenizer is a .part in its staging folder, not in the cache.
    expect(existsSync(join(home, 'seed-llama-8b/llm/model.safetensors'))).toBe(true);
    expect(existsSync(join(home, 'shared/tokenizer'))).toBe(false);
    const partSize = statSync(join(home, 'shared/tokenizer.download/seed_quantizer.pt.part')).size;
    expect(partSize).toBeGreaterThan(0);
    expect(partSize).toBeLessThan(quantizer.length);

    requests.length = 0;
    const second = await pull(['--json'], home);
    expect(second.code, second.stderr).toBe(0);
    // It asked only for the rest of the file, and not again for what it had.
    const ranges = requests.filter((r) => r.path.endsWith('/seed_quantizer.pt')).map((r) => r.range);
    expect(ranges).toContain(`bytes=${partSize}-${quantizer.length - 1}`);
    expect(requests.some((r) => r.path.startsWith('/AILab-CVC/seed-llama-8b-sft/resolve/'))).toBe(false);
    const result = JSON.parse(second.stdout);
    expect(result.home).toBe(home);
    expect(result.sets).toEqual([join(home, 'seed-llama-8b')]);
    const status = Object.fromEntries(
      result.targets.flatMap((t: { name: string; files: { path: string; status: string }[] }) =>
        t.files.map((f) => [`${t.name}:${f.path}`, f.status]),
      ),
    );
    expect(status['8b:model.safetensors']).toBe('present');
    expect(status['tokenizer:seed_quantizer.pt']).toBe('resumed');
    expect(status['tokenizer:eva_vit_g.pth']).toBe('downloaded');

    // The layout: the LLM with its tokenizer files; the shared components linked into the set.
    const set = join(home, 'seed-llama-8b');
    expect(tree(join(set, 'llm')).sort()).toEqual([
      'added_tokens.json',
      'config.json',
      'model.safetensors',
      'special_tokens_map.json',
      'tokenizer.model',
    ]);
    expect(tree(join(set, 'tokenizer')).sort()).toEqual(['eva_vit_g.pth', 'seed_quantizer.pt']);
    expect(lstatSync(join(set, 'decoder')).isSymbolicLink()).toBe(true);
    // Only what the decoder loads: no fp16 duplicates, image encoder or original checkpoint.
    expect(tree(join(set, 'decoder')).sort()).toEqual([
      'model_index.json',
      'tokenizer/merges.txt',
      'tokenizer/vocab.json',
      'unet/config.json',
      'unet/diffusion_pytorch_model.safetensors',
      'vae/config.json',
      'vae/diffusion_pytorch_model.safetensors',
    ]);
    expect(readFileSync(join(set, 'tokenizer/seed_quantizer.pt')).equals(quantizer)).toBe(true);
    expect(readFileSync(join(set, 'tokenizer/eva_vit_g.pth')).equals(eva)).toBe(true);
    expect(readdirSync(home).sort()).toEqual(['seed-llama-8b', 'shared']);
    expect(readdirSync(join(home, 'shared')).sort()).toEqual(['decoder', 'tokenizer']);

    // A third run has nothing to fetch.
    requests.length = 0;
    const third = await pull(['8b', 'tokenizer'], home);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).toMatch(/^8b .*\(all present\)\ntokenizer .*\(all present\)\nmodel set /);
    expect(requests.filter((r) => r.path.includes('/resolve/') && r.range !== 'bytes=0-0')).toEqual([]);
  });

  it('refuses a file whose checksum is not the one the hub lists, and keeps nothing of it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'seed-pull-'));
    faults.corrupt.add('stabilityai/stable-diffusion-2-1-unclip/unet/diffusion_pytorch_model.safetensors');
    const r = await pull(['stabilityai/stable-diffusion-2-1-unclip'], home);
    faults.corrupt.clear();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^seed pull: stabilityai\/stable-diffusion-2-1-unclip\/unet\/diffusion_pytorch_model\.safetensors: checksum mismatch \(sha256 [0-9a-f]{64}, the hub lists [0-9a-f]{64}\); the file was deleted\n$/,
    );
    expect(existsSync(join(home, 'shared/decoder'))).toBe(false);
    expect(tree(join(home, 'shared/decoder.download'))).not.toContain('unet/diffusion_pytorch_model.safetensors.part');
    // Fetched again, intact, it is accepted.
    const again = await pull(['decoder'], home);
    expect(again.code, again.stderr).toBe(0);
  });

  it('an unknown model or an unreachable hub is one line and exit code 1', async () => {
    const home = mkdtempSync(join(tmpdir(), 'seed-pull-'));
    const unknown = await pull(['70b'], home);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      "seed pull: unknown model '70b' (pull 8b, 14b, tokenizer, decoder or their repositories)\n",
    );
    const child = spawn(process.execPath, [bin, 'pull', '8b'], {
      env: { ...process.env, SEED_HOME: home, HF_ENDPOINT: 'http://127.0.0.1:9' },
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    expect(await new Promise((r) => child.on('close', r))).toBe(1);
    expect(stderr).toMatch(
      /^seed pull: AILab-CVC\/seed-llama-8b-sft: cannot list the repository at http:\/\/127\.0\.0\.1:9: .*\n$/,
    );
  });
});
