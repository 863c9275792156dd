/** `seed generate` end to end on the tiny random LLaMA directory of @seed/llama-core's tests. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModelDir } from '../../llama-core/test/helpers/tiny-model.js';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const seed = (args: string[], input?: string) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', input });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

let model: string;
beforeAll(() => {
  model = mkdtempSync(join(tmpdir(), 'seed-cli-gen-'));
  writeTinyModelDir(model);
});

describe('seed generate', () => {
  it('--json prints the generated ids and text; greedy decoding is deterministic', () => {
    const r = seed([
      'generate',
      '--model',
      model,
      '--prompt',
      't300',
      '--max-tokens',
      '6',
      '--temperature',
      '0',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.ids).toHaveLength(6);
    expect(typeof out.text).toBe('string');
    const again = JSON.parse(
      seed(['generate', '--model', model, '--prompt', 't300', '--max-tokens', '6', '--temperature', '0', '--json'])
        .stdout,
    );
    expect(again.ids).toEqual(out.ids);
  });

  it('streams text without --json', () => {
    const r = seed(['generate', '--model', model, '--prompt', 't300', '--max-tokens', '4', '--seed', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(1);
  });

  it('--chat answers each line from stdin', () => {
    const r = seed(
      ['generate', '--model', model, '--chat', '--max-tokens', '3', '--temperature', '0', '--json'],
      'hello\nagain\n',
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.turns.map((t: { user: string }) => t.user)).toEqual(['hello', 'again']);
  });

  it('a bad model directory or flags exit 1 with one clear line', () => {
    const r = seed(['generate', '--model', join(tmpdir(), 'no-such-model'), '--prompt', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^seed generate: .*no config\.json/);
    const both = seed(['generate', '--model', model]);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/exactly one of --prompt TEXT or --chat/);
    expect(seed(['generate', '--model', model, '--prompt', 'x', '--max-tokens', 'many']).code).not.toBe(0);
    // Option choices are checked before anything loads.
    const dtype = seed(['generate', '--model', model, '--prompt', 'x', '--dtype', 'fp4']);
    expect(dtype.code).toBe(1);
    expect(dtype.stderr).toMatch(/argument 'fp4' is invalid\. Allowed choices are auto, f32, f16, bf16, int8/);
    const template = seed(['generate', '--model', model, '--chat', '--template', 'chatml']);
    expect(template.code).toBe(1);
    expect(template.stderr).toMatch(/argument 'chatml' is invalid\. Allowed choices are vicuna, llama2/);
  });
});
