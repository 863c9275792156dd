/**
 * `seed pull [WHAT…]`: download the released models into the cache ($SEED_HOME, default ~/.cache/seed) in
 * the model-set layout the other commands load (see pull-catalog.ts). WHAT is 8b, 14b, tokenizer or decoder
 * (or their repository names); with none, everything the 8B set needs. Interrupted downloads resume; every
 * file is checked against the size and checksum the hub lists. The hub is $HF_ENDPOINT (default
 * https://huggingface.co); $HF_TOKEN is sent when set.
 * --json prints one object {home, sets, targets: [{name, dir, files: [{path, size, status}]}]}.
 */
import { existsSync, lstatSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { guarded } from '../action.js';
import { formatBytes } from '../format.js';
import { type FileStatus, fetchFile, type PlannedFile, planTarget, publish } from '../hub-download.js';
import { PULLED_SETS, seedHome } from '../model-options.js';
import { withProgress } from '../progress.js';
import { DEFAULT_PULL, type PullTarget, pullTargets } from '../pull-catalog.js';

interface PullFlags {
  json?: boolean;
}

export function pullCommand(): Command {
  const targets = pullTargets();
  return new Command('pull')
    .description('download SEED-LLaMA, the SEED tokenizer and the SD-2.1-unCLIP decoder into the cache ($SEED_HOME)')
    .argument(
      '[what...]',
      `what to pull: ${targets.map((t) => t.name).join(', ')} or their repository names (default: ${DEFAULT_PULL.join(' ')})`,
    )
    .option('--json', 'print one JSON object {home, sets, targets: [{name, dir, files}]}')
    .addHelpText(
      'after',
      `\n${targets.map((t) => `  ${t.name.padEnd(10)}${t.description}`).join('\n')}\n\nEnvironment: SEED_HOME (cache), HF_ENDPOINT (hub address), HF_TOKEN, SEED_EVA_VIT_URL (eva_vit_g.pth mirror)`,
    )
    .action(guarded('pull', run));
}

function choose(names: string[]): PullTarget[] {
  const targets = pullTargets();
  const chosen = new Set<PullTarget>();
  for (const name of names.length ? names : DEFAULT_PULL) {
    const t = targets.find((t) => t.name === name.toLowerCase() || t.aliases.includes(name));
    if (!t)
      throw new Error(`unknown model '${name}' (pull ${targets.map((t) => t.name).join(', ')} or their repositories)`);
    chosen.add(t);
  }
  return [...chosen];
}

async function run(names: string[], flags: PullFlags): Promise<void> {
  const targets = choose(names);
  const home = seedHome();
  const hubUrl = (process.env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
  const hub = { hubUrl, accessToken: process.env.HF_TOKEN || undefined };

  // Plan everything first: an unknown repository or missing file fails before any byte is fetched.
  const plans: { target: PullTarget; files: PlannedFile[] }[] = [];
  for (const target of targets) plans.push({ target, files: await planTarget(target, hub) });
  const inCache = (dir: string, f: PlannedFile) => {
    const p = join(home, dir, f.path);
    return existsSync(p) && statSync(p).size === f.size;
  };
  const total = plans.reduce((n, p) => n + p.files.reduce((m, f) => m + (inCache(p.target.dir, f) ? 0 : f.size), 0), 0);

  const report: { name: string; dir: string; files: { path: string; size: number; status: FileStatus }[] }[] = [];
  await withProgress(
    'pulling',
    async (onProgress) => {
      let done = 0;
      for (const { target, files } of plans) {
        const dir = join(home, target.dir);
        const stage = `${dir}.download`;
        const statuses: { path: string; size: number; status: FileStatus }[] = [];
        for (const f of files) {
          const status = inCache(target.dir, f)
            ? 'present'
            : await fetchFile(f, stage, (n) => {
                done += n;
                onProgress(done, total, f.path);
              });
          statuses.push({ path: f.path, size: f.size, status });
        }
        publish(files, stage, dir);
        report.push({ name: target.name, dir, files: statuses });
      }
    },
    (done, all) => `${formatBytes(done)} / ${formatBytes(all)}`,
  );
  const sets = linkSets(home);

  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ home, sets, targets: report })}\n`);
    return;
  }
  for (const t of report) {
    const bytes = t.files.reduce((n, f) => n + f.size, 0);
    const fetched = t.files.filter((f) => f.status !== 'present').length;
    process.stdout.write(
      `${t.name.padEnd(10)}${t.dir}  ${t.files.length} files, ${formatBytes(bytes)} (${fetched ? `${fetched} downloaded` : 'all present'})\n`,
    );
  }
  for (const s of sets) process.stdout.write(`model set ${s}\n`);
}

/**
 * Give each model set in the cache the shared components that are there (tokenizer/, decoder/ as links to
 * shared/), so that each set is one directory to load. Returns the sets that have an LLM.
 */
function linkSets(home: string): string[] {
  const sets = PULLED_SETS.map((s) => join(home, s)).filter((s) => existsSync(join(s, 'llm')));
  for (const set of sets)
    for (const component of ['tokenizer', 'decoder']) {
      const link = join(set, component);
      if (!existsSync(join(home, 'shared', component)) || lstatSyncSafe(link)) continue;
      mkdirSync(set, { recursive: true });
      symlinkSync(join('..', 'shared', component), link, 'dir');
    }
  return sets;
}

const lstatSyncSafe = (p: string) => {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
};
