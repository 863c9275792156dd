/**
 * End-to-end tests of the built `seed` command: each test spawns `node dist/bin.js` (run `pnpm build`
 * first; turbo's test task depends on build) and checks stdout, stderr and the exit code.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

function seed(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A safetensors file built by hand: 8-byte little-endian header length, the JSON header (padded with
 * spaces to a multiple of 8, as the format allows), then the raw little-endian tensor data.
 */
function safetensors(tensors: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[]): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.byteLength] };
    offset += t.bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, Buffer.from(json, 'utf8'), ...tensors.map((t) => Buffer.from(t.bytes))]);
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'seed-cli-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('seed info', () => {
  it('--json prints one object with the build and device fields', () => {
    const r = seed('info', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof info.addon.version).toBe('string');
    expect(['amx', 'avx512', 'avx2', 'scalar']).toContain(info.addon.simd);
    expect(typeof info.addon.cpuFeatures.avx2).toBe('boolean');
    expect(info.addon.threads).toBeGreaterThan(0);
    expect(typeof info.addon.cudaCompiled).toBe('boolean');
    expect(info.devices[0].name).toBe('cpu');
    // Either some CUDA device is usable, or there is a reason why not.
    const hasCuda = info.devices.some((d: { name: string }) => d.name.startsWith('cuda:'));
    expect(hasCuda || typeof info.cudaUnavailableReason === 'string').toBe(true);
  });

  it('prints an aligned table without --json', () => {
    const r = seed('info');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^seed\s+\d+\.\d+\.\d+/m);
    expect(r.stdout).toMatch(/^cuda compiled\s+(yes|no)$/m);
    expect(r.stdout).toMatch(/^devices\s+cpu/m);
  });
});

describe('seed inspect', () => {
  it('--json lists the tensors of a safetensors file', () => {
    const file = join(dir, 'tiny.safetensors');
    const f32 = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0x4000, 0x4040, 0x4080]).buffer);
    const i64 = new Uint8Array(new BigInt64Array([7n, 8n, 9n]).buffer);
    writeFileSync(
      file,
      safetensors([
        { name: 'model.embed_tokens.weight', dtype: 'F32', shape: [2, 3], bytes: f32 },
        { name: 'model.norm.weight', dtype: 'BF16', shape: [4], bytes: bf16 },
        { name: 'position_ids', dtype: 'I64', shape: [1, 3], bytes: i64 },
      ]),
    );
    const r = seed('inspect', file, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out).sort()).toEqual(['file', 'tensors']);
    expect(out.file).toBe(file);
    const byName = [...out.tensors].sort((a, b) => a.name.localeCompare(b.name));
    expect(byName).toEqual([
      { name: 'model.embed_tokens.weight', dtype: 'F32', shape: [2, 3] },
      { name: 'model.norm.weight', dtype: 'BF16', shape: [4] },
      { name: 'position_ids', dtype: 'I64', shape: [1, 3] },
    ]);

    const table = seed('inspect', file);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/model\.norm\.weight\s+BF16\s+\[4\]/);
    // 6 + 4 + 3 elements; 24 + 8 + 24 bytes.
    expect(table.stdout).toMatch(/3 tensors, 13 parameters, 56 B/);
  });

  it('a garbage file exits 1 with one line on stderr', () => {
    const file = join(dir, 'garbage.safetensors');
    writeFileSync(file, Buffer.from('this is not a weight file at all, just some text\n'));
    const r = seed('inspect', file);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^seed inspect: \S.*\n$/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('a missing file exits 1 with one line on stderr', () => {
    const r = seed('inspect', join(dir, 'missing.safetensors'), '--json');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^seed inspect: .*missing\.safetensors: no such file\n$/);
  });
});

describe('seed', () => {
  it('an unknown command exits non-zero', () => {
    const r = seed('no-such-command');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown command/);
  });

  it('--version prints the version', () => {
    const r = seed('--version');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
