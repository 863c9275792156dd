/**
 * The mechanism of `seed pull`: list what a target needs (through @huggingface/hub's tree listing), then fetch
 * each file that is not already in the cache — resuming a `.part` file left by an interrupted run, checking
 * its size and checksum (LFS files: the sha256 the hub lists; small files: their git blob sha1), and only
 * then giving it its name. A target's files are staged in `<dir>.download/` and moved into `<dir>/` together
 * once all are verified, so a model set in the cache is never half there.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { downloadFile, listFiles } from '@huggingface/hub';
import type { HubSource, PullTarget, UrlSource } from './pull-catalog.js';

export interface HubAccess {
  /** The hub's address (HF_ENDPOINT), e.g. https://huggingface.co. */
  hubUrl: string;
  /** HF_TOKEN, for gated or private repositories. */
  accessToken?: string;
}

export interface PlannedFile {
  /** Path inside the target's directory. */
  path: string;
  /** Where it comes from, for messages: repo/path or the URL. */
  from: string;
  size: number;
  sha256?: string;
  /** Git's blob sha1 (files not stored in LFS). */
  gitSha1?: string;
  /** The file's bytes from offset `start` on. */
  open: (start: number) => Promise<ReadableStream<Uint8Array>>;
}

/** A failure worth one line: the message, and the low-level cause fetch hides behind "fetch failed". */
function why(e: unknown): string {
  if (typeof e === 'string') return e;
  const err = e as Error & { cause?: { message?: string; code?: string } };
  const cause = err.cause?.code ?? err.cause?.message;
  return cause ? `${err.message} (${cause})` : err.message;
}

/** The files `target` needs, with their sizes and checksums as the hub lists them. */
export async function planTarget(target: PullTarget, hub: HubAccess): Promise<PlannedFile[]> {
  const files: PlannedFile[] = [];
  for (const source of target.sources)
    files.push(...('repo' in source ? await planHub(source, hub) : await planUrl(source)));
  return files;
}

async function planHub(source: HubSource, hub: HubAccess): Promise<PlannedFile[]> {
  const prefix = source.subfolder ? `${source.subfolder}/` : '';
  const listed = [];
  try {
    for await (const entry of listFiles({ repo: source.repo, recursive: true, path: source.subfolder, ...hub }))
      if (entry.type === 'file' && entry.path.startsWith(prefix))
        listed.push({ ...entry, rel: entry.path.slice(prefix.length) });
  } catch (e) {
    throw new Error(`${source.repo}: cannot list the repository at ${hub.hubUrl}: ${why(e)}`);
  }
  const all = listed.map((e) => e.rel);
  const kept = listed.filter((e) => source.keep(e.rel, all));
  const missing = source.required.filter((r) => !kept.some((e) => e.rel === r));
  if (missing.length)
    throw new Error(
      `${source.repo}${prefix ? `/${prefix}` : ''}: has no ${missing.join(', ')} (not the repository seed expects)`,
    );
  return kept.map((e) => ({
    path: e.rel,
    from: `${source.repo}/${e.path}`,
    size: e.lfs?.size ?? e.size,
    sha256: e.lfs?.oid,
    gitSha1: e.lfs ? undefined : e.oid,
    open: async (start) => {
      // xet: false keeps to plain (range) requests on the resolve URL, which any mirror serves.
      const blob = await downloadFile({ repo: source.repo, path: e.path, xet: false, ...hub });
      if (!blob) throw new Error(`${source.repo}/${e.path}: listed but not found`);
      return blob.slice(start).stream();
    },
  }));
}

async function planUrl(source: UrlSource): Promise<PlannedFile[]> {
  // The size, from a one-byte range request (Content-Range: bytes 0-0/SIZE) or the full length.
  let size: number;
  try {
    const probe = await fetch(source.url, { headers: { Range: 'bytes=0-0' } });
    await probe.body?.cancel();
    if (!probe.ok) throw new Error(`HTTP ${probe.status}`);
    size = Number(
      probe.status === 206 ? probe.headers.get('content-range')?.split('/')[1] : probe.headers.get('content-length'),
    );
    if (!Number.isSafeInteger(size)) throw new Error('the server gives no size');
  } catch (e) {
    throw new Error(`${source.url}: ${why(e)}`);
  }
  return [
    {
      path: source.file,
      from: source.url,
      size,
      open: async (start) => {
        const res = await fetch(source.url, start ? { headers: { Range: `bytes=${start}-` } } : {});
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        if (start && res.status !== 206) throw new Error('the server does not resume downloads (no range support)');
        return res.body;
      },
    },
  ];
}

export type FileStatus = 'present' | 'downloaded' | 'resumed';

/**
 * Fetch `file` into `stage` (resuming `<path>.part`), verify it, and name it. `onBytes(n)` reports progress.
 * A file that fails verification is deleted: the next run starts it afresh rather than trusting it.
 */
export async function fetchFile(file: PlannedFile, stage: string, onBytes: (n: number) => void): Promise<FileStatus> {
  const done = join(stage, file.path);
  if (existsSync(done) && statSync(done).size === file.size) {
    onBytes(file.size);
    return 'present';
  }
  const part = `${done}.part`;
  mkdirSync(dirname(part), { recursive: true });
  let have = existsSync(part) ? statSync(part).size : 0;
  if (have > file.size) {
    rmSync(part);
    have = 0;
  }
  const hash = file.sha256 ? createHash('sha256') : createHash('sha1');
  if (!file.sha256) hash.update(`blob ${file.size}\0`); // git's blob hash: header, then the content
  if (have) await pipeline(createReadStream(part), hashInto(hash));
  onBytes(have);

  if (have < file.size) {
    try {
      const body = Readable.fromWeb((await file.open(have)) as import('node:stream/web').ReadableStream<Uint8Array>);
      body.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        onBytes(chunk.length);
      });
      await pipeline(body, createWriteStream(part, { flags: 'a' }));
    } catch (e) {
      const got = existsSync(part) ? statSync(part).size : 0;
      throw new Error(
        `${file.from}: download interrupted at ${got} of ${file.size} bytes (${why(e)}); run seed pull again to resume`,
      );
    }
  }
  const size = statSync(part).size;
  const digest = hash.digest('hex');
  const expected = file.sha256 ?? file.gitSha1;
  if (size !== file.size || (expected && digest !== expected)) {
    rmSync(part);
    throw new Error(
      size !== file.size
        ? `${file.from}: ${size} bytes, the listing says ${file.size}; the file was deleted`
        : `${file.from}: checksum mismatch (${file.sha256 ? 'sha256' : 'git sha1'} ${digest}, the hub lists ${expected}); the file was deleted`,
    );
  }
  renameSync(part, done);
  return have ? 'resumed' : 'downloaded';
}

/** A sink that only feeds a hash (the bytes of a .part file already on disk). */
function hashInto(hash: Hash) {
  return async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) hash.update(chunk);
  };
}

/** Move the verified files of `stage` into `dir` and remove the stage. */
export function publish(files: readonly PlannedFile[], stage: string, dir: string): void {
  for (const f of files) {
    const from = join(stage, f.path);
    if (!existsSync(from)) continue; // already in dir
    const to = join(dir, f.path);
    mkdirSync(dirname(to), { recursive: true });
    renameSync(from, to);
  }
  rmSync(stage, { recursive: true, force: true });
}
