/** `seed demo` on the bundled micro model: images written, each judged by the checker, one JSON object. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = join(here, '../dist/bin.js');
const MICRO = join(here, '../../../models/seed-micro');
const present = existsSync(join(MICRO, 'decoder', 'model_index.json'));

describe.skipIf(!present)('seed demo', () => {
  it('draws and describes with the bundled model when none is named, and prints the checker’s verdicts', async () => {
    const out = mkdtempSync(join(tmpdir(), 'seed-demo-'));
    const env = { ...process.env, SEED_HOME: '/nonexistent', SEED_MODEL_DIR: '' };
    delete env.SEED_BUNDLED_MODEL; // this test is about the bundled default
    const r = spawnSync('node', [BIN, 'demo', '--count', '2', '-o', out, '--json'], { env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as {
      rows: { task: string; file: string; truth: string; got: string; ok: boolean }[];
      right: number;
      total: number;
    };
    expect(result.rows.map((x) => x.task)).toEqual(['draw', 'draw', 'describe', 'describe']);
    expect(result.total).toBe(4);
    expect(result.right).toBe(result.rows.filter((x) => x.ok).length);
    for (const row of result.rows) {
      const meta = await sharp(row.file).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', 32, 32]);
      expect(row.truth).toMatch(/^a \w+ (circle|square|triangle|cross) on a \w+ background$/);
    }
    // The table form names each verdict.
    const table = spawnSync('node', [BIN, 'demo', '--count', '1', '-o', out], { env, encoding: 'utf8' });
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^(ok {2}|MISS) draw /m);
    expect(table.stdout).toMatch(/\d of 2 judged right by the checker/);
  });

  it('says so when the model set cannot draw', () => {
    const r = spawnSync('node', [BIN, 'demo', '--llm', join(MICRO, 'llm'), '--tokenizer', join(MICRO, 'tokenizer')], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('seed demo: this model set has no decoder/: seed demo draws pictures');
  });
});
