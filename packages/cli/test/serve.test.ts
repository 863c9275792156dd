/**
 * `seed serve` as a process: it prints its URL, answers over HTTP (key required), logs each request, and
 * closes cleanly on SIGTERM / SIGINT. (The HTTP API itself is tested in @seed/seed-llama.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeTinySeedLlama } from '../../seed-llama/test/helpers/tiny-seed-llama.js';
import { bin, seed } from './helpers/run-seed.js';

let model: string;
beforeAll(async () => {
  model = (await writeTinySeedLlama({ seed: 3 })).dir;
});

/** Start `seed serve ARGS…` and wait for the URL it prints. */
async function serve(args: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [bin, 'serve', ...args], {
    env: { ...process.env, SEED_HOME: '/nonexistent/seed-home', SEED_MODEL_DIR: '', SEED_API_KEY: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      stdout += d;
      const m = /seed serve: (http:\/\/\S+)/.exec(stdout);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`seed serve exited (${code}): ${stderr}`)));
  });
  return { child, url, stderr: () => stderr };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

describe('seed serve', () => {
  it('prints its loopback URL, serves with the key, logs requests, and closes on SIGTERM', async () => {
    const { child, url, stderr } = await serve(['--model', model, '--port', '0', '--api-key', 'k1', '--name', 'tiny']);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/v1/models`)).status).toBe(401);
    const models = await fetch(`${url}/v1/models`, { headers: { Authorization: 'Bearer k1' } });
    expect(((await models.json()) as { data: { id: string }[] }).data[0].id).toBe('tiny');
    const chat = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: 'Bearer k1' },
      body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
    });
    expect(chat.status).toBe(200);
    const done = exited(child);
    child.kill('SIGTERM');
    expect(await done).toBe(0);
    expect(stderr()).toMatch(/no decoder/);
    expect(stderr()).toMatch(/POST \/v1\/chat\/completions 200 /);
    expect(stderr()).toMatch(/SIGTERM, closing …\nseed serve: closed/);
  });

  it('SIGINT during a running request aborts it and closes', async () => {
    const { child, url, stderr } = await serve(['--model', model, '--port', '0']);
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 500 }),
    });
    const reader = res.body?.getReader();
    await reader?.read();
    const done = exited(child);
    child.kill('SIGINT');
    expect(await done).toBe(0);
    expect(stderr()).toMatch(/seed serve: closed/);
  });

  it('says what is wrong with its flags or model', () => {
    const none = seed(['serve', '--port', '0']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^seed serve: no model: give --model DIR/);
    const badPort = seed(['serve', '--model', model, '--port', 'x']);
    expect(badPort.code).not.toBe(0);
    expect(badPort.stderr).toMatch(/--port must be an integer/);
    const badCors = seed(['serve', '--model', model, '--port', '0', '--cors', 'localhost:5173']);
    expect(badCors.code).toBe(1);
    expect(badCors.stderr).toMatch(/--cors: 'localhost:5173' is not an origin/);
  });

  it('--cors lets the named web origin call it', async () => {
    const app = 'http://localhost:5173';
    const { child, url } = await serve(['--model', model, '--port', '0', '--cors', `${app}/, http://other.test`]);
    const pre = await fetch(`${url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { Origin: app, 'Access-Control-Request-Method': 'POST' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(app);
    const models = await fetch(`${url}/v1/models`, { headers: { Origin: 'http://other.test' } });
    expect(models.headers.get('access-control-allow-origin')).toBe('http://other.test');
    const done = exited(child);
    child.kill('SIGTERM');
    expect(await done).toBe(0);
  });
});
