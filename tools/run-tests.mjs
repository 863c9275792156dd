#!/usr/bin/env node
// The repository's test command (`pnpm test`): builds every package (turbo), runs each package's vitest
// suite one after another, and ends with the plain line `N passed, N failed, N skipped` summing them all.
// Exits non-zero if any test failed or any suite could not run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const run = (cmd, args, cwd) => spawnSync(cmd, args, { cwd, stdio: 'inherit', env: process.env }).status;

if (run('pnpm', ['turbo', 'run', 'build', '--output-logs=errors-only'], root) !== 0) {
  console.error('build failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const packages = ['packages', 'apps']
  .flatMap((dir) => (existsSync(join(root, dir)) ? readdirSync(join(root, dir)).map((p) => join(root, dir, p)) : []))
  .filter((p) => existsSync(join(p, 'package.json')))
  .filter((p) => JSON.parse(readFileSync(join(p, 'package.json'), 'utf8')).scripts?.test);

const out = mkdtempSync(join(tmpdir(), 'seed-tests-'));
let passed = 0;
let failed = 0;
let skipped = 0;
for (const pkg of packages) {
  const name = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).name;
  const report = join(out, `${name.replace(/[@/]/g, '_')}.json`);
  console.log(`\n=== ${name} ===`);
  const status = run(
    'pnpm',
    ['exec', 'vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile=${report}`],
    pkg,
  );
  if (!existsSync(report)) {
    console.error(`${name}: vitest produced no report (exit ${status})`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  // A suite that failed to load (syntax error, missing module) has no failed tests but a failed file.
  const brokenFiles = r.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).length;
  failed += brokenFiles;
  if (status !== 0 && r.numFailedTests === 0 && brokenFiles === 0) failed += 1;
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
