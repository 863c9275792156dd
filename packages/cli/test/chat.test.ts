/** `seed chat` scripted over stdin on a tiny SEED-LLaMA set: commands, images in, Ctrl-C, and inline pictures. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { IMAGES, writeTinySeedLlama } from '../../seed-llama/test/helpers/tiny-seed-llama.js';
import { imageProtocol, inlineImage } from '../src/terminal-image.js';
import { bin, seed } from './helpers/run-seed.js';

const IMAGE = join(IMAGES, 'shrink-320x240.png');
let model: string;
beforeAll(async () => {
  model = (await writeTinySeedLlama({ seed: 3 })).dir;
});

describe('seed chat', () => {
  it('answers each line; /image attaches to the next message, /codes too, /reset forgets', () => {
    const save = join(mkdtempSync(join(tmpdir(), 'seed-chat-')), 'pictures');
    const codes = Array.from({ length: 32 }, (_, i) => i * 7).join(',');
    const input = [
      `/image ${IMAGE}`,
      'what is this picture?',
      `/codes ${codes}`,
      'and this?',
      '/reset',
      `/save ${save}`,
      'hello',
      '/quit',
      'never sent',
    ].join('\n');
    const r = seed(['chat', '--model', model, '--max-tokens', '6', '--seed', '1', '--json'], { input });
    expect(r.code, r.stderr).toBe(0);
    const { turns } = JSON.parse(r.stdout);
    expect(turns.map((t: { user: string }) => t.user)).toEqual(['what is this picture?', 'and this?', 'hello']);
    expect(turns[0].attached).toEqual([IMAGE]);
    expect(turns[1].attached).toEqual([`codes:${codes}`]);
    expect(turns[2].attached).toEqual([]);
    for (const t of turns) expect(['eos', 'max-tokens', 'stop-string']).toContain(t.reason);
    // /save made the folder even with no pictures yet.
    expect(existsSync(save)).toBe(true);
  });

  it('a refused line is one line on stderr; the chat goes on, and scripted use exits 1', () => {
    const input = [
      '/codes 1,2,3',
      `/codes ${Array(32).fill(5000).join(',')}`,
      '/image /no/such.png',
      '/bogus',
      'hello',
    ].join('\n');
    const r = seed(['chat', '--model', model, '--max-tokens', '3', '--json'], { input });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'seed chat: an image is exactly 32 codes, got 3',
      'seed chat: image code 0 is 5000, not an integer in [0, 1024)',
      'seed chat: /no/such.png: no such image file',
      'seed chat: unknown command /bogus (/help lists them)',
    ]);
    expect(JSON.parse(r.stdout).turns).toHaveLength(1);
  });

  it('Ctrl-C stops the answer being generated, not the chat', async () => {
    // A tiny model whose greedy answer to "hello" runs all 450 tokens (seed 10; seed 3's ends after four, so
    // the Ctrl-C could arrive after the answer): the first answer runs until Ctrl-C, the second to the limit,
    // which can take a while on a loaded 2-core CI machine (hence the longer timeout).
    const long = (await writeTinySeedLlama({ seed: 10 })).dir;
    const child = spawn(process.execPath, [bin, 'chat', '--model', long, '--max-tokens', '450', '--temperature', '0'], {
      env: { ...process.env, SEED_HOME: '/nonexistent' },
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (interrupted) return;
      interrupted = true;
      child.kill('SIGINT');
      // The second message is sent once the first answer has stopped.
      const waitStopped = setInterval(() => {
        if (!stderr.includes('[stopped]')) return;
        clearInterval(waitStopped);
        child.stdin.end('again\n');
      }, 10);
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.stdin.write('hello\n');
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code, stderr).toBe(0);
    expect(stderr.match(/\[stopped\]/g)).toHaveLength(1);
    // Two answers, each ended by a newline.
    expect(stdout.split('\n').length).toBeGreaterThanOrEqual(3);
  }, 120_000);
});

describe('inline pictures', () => {
  const png = new Uint8Array(5000).map((_, i) => i % 251);

  it('the protocol comes from the terminal’s variables, only on a terminal; SEED_IMAGE_PROTOCOL overrides', () => {
    const tty = { isTTY: true };
    expect(imageProtocol(tty, { TERM_PROGRAM: 'iTerm.app' })).toBe('iterm');
    expect(imageProtocol(tty, { TERM: 'xterm-kitty' })).toBe('kitty');
    expect(imageProtocol(tty, { TERM: 'xterm-256color' })).toBe('none');
    expect(imageProtocol({ isTTY: false }, { TERM_PROGRAM: 'iTerm.app' })).toBe('none');
    expect(imageProtocol({ isTTY: false }, { SEED_IMAGE_PROTOCOL: 'kitty' })).toBe('kitty');
  });

  it('iTerm2: one OSC 1337 File sequence with the size and the base64 PNG', () => {
    const s = inlineImage(png, 'iterm', 'a.png');
    const b64 = Buffer.from(png).toString('base64');
    expect(s).toBe(
      `\x1b]1337;File=name=${Buffer.from('a.png').toString('base64')};size=5000;inline=1;preserveAspectRatio=1:${b64}\x07\n`,
    );
  });

  it('kitty: a=T,f=100 then 4096-byte chunks, m=1 on all but the last', () => {
    const s = inlineImage(png, 'kitty');
    // Each escape is ESC _G keys;data ESC \ (the string terminator); the sequence ends with a newline.
    const ESC = String.fromCharCode(27);
    expect(s.endsWith('\n')).toBe(true);
    const escapes = s.slice(0, -1).split(`${ESC}\\`).slice(0, -1);
    const chunks = escapes.map((e) => {
      expect(e.startsWith(`${ESC}_G`)).toBe(true);
      return ['', ...e.slice(3).split(';')];
    });
    expect(chunks.map((c) => c[1])).toEqual(['a=T,f=100,m=1', 'm=0']);
    expect(chunks.map((c) => c[2]).join('')).toBe(Buffer.from(png).toString('base64'));
    expect(chunks[0][2]).toHaveLength(4096);
    expect(inlineImage(png, 'none')).toBe('');
  });
});
