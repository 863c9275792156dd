/** `seed info [--json]`: what this installation can run on. */
import { Command } from 'commander';
import { guarded } from '../action.js';
import { formatBytes, table } from '../format.js';

/** The machine-readable form of `seed info --json`. */
export interface InfoReport {
  /** The seed CLI's version. */
  version: string;
  addon: {
    version: string;
    /** The SIMD path the CPU kernels use now (the best this CPU has, capped by SEED_CPU_PATH). */
    simd: string;
    /** Every path this CPU can run, slowest first. */
    simdPaths: string[];
    /** SEED_CPU_PATH when set, else null. */
    cpuPathCap: string | null;
    cpuFeatures: Record<string, boolean>;
    threads: number;
    cudaCompiled: boolean;
    /** Which binary is in use: a prebuilt package (CUDA or CPU) or a local build. */
    binary: { source: string; label: string; path: string | null; reason: string };
    /** The others, in the order they were considered, and why each was skipped or not tried. */
    others: { source: string; label: string; status: string; reason: string }[];
  };
  /** Devices that can run ops now ('cpu' always, plus each usable 'cuda:N'). */
  devices: { name: string; description: string; memoryBytes?: number }[];
  /** Why no CUDA device can be used, or null when at least one can. */
  cudaUnavailableReason: string | null;
}

/** Gather the report from the runtime (loads the native addon). */
export async function collectInfo(version: string): Promise<InfoReport> {
  // Imported here, not at the top: `seed --help` must work even when the native addon is not built.
  const { addonSelection, runtimeInfo } = await import('@seed/cuda-kernels');
  const info = runtimeInfo();
  const { used, candidates } = addonSelection();
  const cpu = { name: 'cpu', description: `${info.threads} threads, ${info.simd} kernels` };
  const cuda = info.cudaDevices.map((d) => ({ name: d.name, description: d.description, memoryBytes: d.memoryBytes }));
  return {
    version,
    addon: {
      version: info.version,
      simd: info.simd,
      simdPaths: info.simdPaths ?? [info.simd],
      cpuPathCap: info.cpuPathEnv ?? null,
      cpuFeatures: { ...info.cpuFeatures },
      threads: info.threads,
      cudaCompiled: info.cudaCompiled,
      binary: { source: used!.source, label: used!.label, path: used!.path, reason: used!.reason },
      others: candidates
        .filter((c) => c !== used)
        .map((c) => ({ source: c.source, label: c.label, status: c.status, reason: c.reason })),
    },
    devices: [cpu, ...cuda],
    cudaUnavailableReason: info.cudaUnavailableReason,
  };
}

/** The human-readable form: a short aligned table. */
export function formatInfo(r: InfoReport): string {
  const features = Object.entries(r.addon.cpuFeatures)
    .filter(([, on]) => on)
    .map(([name]) => name);
  const rows: string[][] = [
    ['seed', r.version],
    ['addon', r.addon.version],
    ['binary', `${r.addon.binary.label} (${r.addon.binary.reason})`],
    ...r.addon.others.map((c) => ['', `${c.status === 'skipped' ? 'skipped' : 'not tried'}: ${c.label} (${c.reason})`]),
    [
      'cpu kernels',
      `${r.addon.simd}${r.addon.cpuPathCap ? ` (capped by SEED_CPU_PATH=${r.addon.cpuPathCap})` : ''}; paths here: ${r.addon.simdPaths.join(' ')} (features: ${features.join(' ') || 'none'})`,
    ],
    ['threads', String(r.addon.threads)],
    ['cuda compiled', r.addon.cudaCompiled ? 'yes' : 'no'],
  ];
  r.devices.forEach((d, i) => {
    const mem = d.memoryBytes !== undefined ? `, ${formatBytes(d.memoryBytes)}` : '';
    rows.push([i === 0 ? 'devices' : '', `${d.name}  ${d.description}${mem}`]);
  });
  if (r.cudaUnavailableReason !== null) rows.push(['cuda', `unavailable: ${r.cudaUnavailableReason}`]);
  return table(rows);
}

/** The `info` subcommand. */
export function infoCommand(version: string): Command {
  return new Command('info')
    .description(
      'show the version, the native addon build in use (which binary and why, CPU SIMD path, threads, CUDA) and the usable devices',
    )
    .option('--json', 'print one JSON object')
    .action(
      guarded('info', async (opts: { json?: boolean }) => {
        const report = await collectInfo(version);
        process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${formatInfo(report)}\n`);
      }),
    );
}
