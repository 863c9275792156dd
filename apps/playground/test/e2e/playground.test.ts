/**
 * The playground in a real browser: Debian's chromium (playwright-core) against the production build serving
 * a tiny SEED-LLaMA (random weights in the real formats) with the test-only stand-in decoder. Each test
 * saves a screenshot to test-results/ when it fails. Skipped, saying why, without chromium or a build.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSeedServer, SeedLlama, type SeedServer, world } from '@seed/seed-llama';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinySeedLlama } from '../../../../packages/seed-llama/test/helpers/tiny-seed-llama';
import { TestGridDecoder } from '../../lib/server/test-decoder';
import {
  IMAGES,
  launchChromium,
  MICRO,
  missingPrerequisite,
  type Playground,
  ROOT,
  SCENES,
  screenshot,
  startPlayground,
} from './harness';

const why = missingPrerequisite();
if (why) console.warn(`playground: ${why}`);

const PHOTO = join(IMAGES, 'shrink-320x240.png');

describe.skipIf(why !== undefined)('the playground in chromium', () => {
  let server: Playground;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startPlayground(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** Run a test on a fresh page (its own sessionStorage); on failure, save a screenshot and the server's log. */
  async function onPage(name: string, test: (page: Page) => Promise<void>) {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    try {
      await open(page);
      await test(page);
    } catch (e) {
      const file = await screenshot(page, name);
      (e as Error).message += `\nscreenshot: ${file}\nserver log:\n${server.log().slice(-2000)}`;
      throw e;
    } finally {
      await context.close();
    }
  }

  async function open(page: Page) {
    await page.goto(server.url);
    await page.locator('.model-status[data-state="ready"]').waitFor();
  }

  async function settings(page: Page, values: { seed?: number; steps?: number }) {
    await page.getByRole('button', { name: 'Settings' }).click();
    if (values.seed !== undefined) await page.getByLabel('Seed', { exact: true }).fill(String(values.seed));
    if (values.steps !== undefined) await page.getByLabel('Decoder steps value').fill(String(values.steps));
    await page.getByRole('button', { name: 'Close settings' }).click();
  }

  async function attach(page: Page, file: string) {
    await page.locator('input[type="file"]').setInputFiles(file);
  }

  async function send(page: Page, text: string, o: { draw?: boolean } = {}) {
    if (o.draw) await page.getByRole('button', { name: 'Draw', exact: true }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill(text);
    await page.getByRole('textbox', { name: 'Message' }).press('Enter');
  }

  const lastAnswer = (page: Page) => page.getByRole('article', { name: 'Answer' }).last();

  async function serverIdle() {
    const deadline = Date.now() + 5000;
    for (;;) {
      const s = (await (await fetch(`${server.url}/api/status`)).json()) as { busy: number; waiting: number };
      if (s.busy === 0 && s.waiting === 0) return;
      if (Date.now() > deadline) throw new Error(`the server is still busy: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('upload an image → an answer streams in', () =>
    onPage('upload-and-answer', async (page) => {
      await settings(page, { seed: 1 });
      await attach(page, PHOTO);
      await page.locator('li.attachment[data-status="ready"]').waitFor();
      await send(page, 'What is this picture?');
      const mine = page.getByRole('article', { name: 'Your message' });
      await expect.poll(() => mine.getByRole('img').count()).toBe(1);
      await page.locator('article.assistant[data-status="done"]').waitFor();
      expect((await lastAnswer(page).locator('.text').allTextContents()).join('').length).toBeGreaterThan(0);
      await serverIdle();
    }));

  it('draw → progress updates, then an <img> holding a real PNG', () =>
    onPage('draw', async (page) => {
      await settings(page, { steps: 25 });
      await send(page, 'a red circle on white', { draw: true });
      const bar = page.getByRole('progressbar', { name: 'Drawing the image' });
      await bar.waitFor();
      const seen = new Set<string>();
      while ((await page.getByRole('img', { name: 'Generated image' }).count()) === 0) {
        const v = await bar.getAttribute('value').catch(() => null);
        if (v) seen.add(v);
        await page.waitForTimeout(30);
      }
      expect(seen.size).toBeGreaterThan(1);
      const src = await page.getByRole('img', { name: 'Generated image' }).getAttribute('src');
      const png = Buffer.from((src ?? '').replace(/^data:image\/png;base64,/, ''), 'base64');
      expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([64, 64]);
      // The browser decoded it: a real picture, not a broken image icon.
      const natural = await page
        .getByRole('img', { name: 'Generated image' })
        .evaluate((img: HTMLImageElement) => img.naturalWidth);
      expect(natural).toBe(64);
      await expect.poll(() => page.getByRole('link', { name: 'Download' }).count()).toBe(1);
    }));

  it('stop mid-generation → the UI is usable again and the server is idle', () =>
    onPage('abort', async (page) => {
      await settings(page, { steps: 200 }); // 200 × 40 ms: long enough to stop in the middle
      await send(page, 'a square', { draw: true });
      await page.getByRole('progressbar', { name: 'Drawing the image' }).waitFor();
      await page.keyboard.press('Escape');
      await page.locator('article.assistant[data-status="stopped"]').waitFor();
      await serverIdle();
      await settings(page, { seed: 1, steps: 3 });
      await send(page, 'What is this?');
      await expect
        .poll(() => page.locator('article.assistant[data-status="done"]').count(), { timeout: 20_000 })
        .toBe(1);
    }));

  it('two pages at once both get answers (one waits in the queue)', async () => {
    const contexts = await Promise.all([browser.newContext(), browser.newContext()]);
    const pages = await Promise.all(contexts.map((c) => c.newPage()));
    try {
      await Promise.all(pages.map(open));
      for (const p of pages) await settings(p, { seed: 1, steps: 40 });
      await Promise.all(pages.map((p) => send(p, 'a red circle', { draw: true })));
      // While one draws (40 × 40 ms), the other says where it stands.
      const queued = () => Promise.all(pages.map((p) => p.getByText(/you are number 1 in the queue/).count()));
      await expect.poll(async () => (await queued()).reduce((a, b) => a + b)).toBe(1);
      await Promise.all(pages.map((p) => p.getByRole('img', { name: 'Generated image' }).waitFor({ timeout: 30_000 })));
      for (const p of pages) expect(await p.locator('article.assistant[data-status="done"]').count()).toBe(1);
      await serverIdle();
    } catch (e) {
      for (const [i, p] of pages.entries()) await screenshot(p, `two-pages-${i}`);
      throw e;
    } finally {
      await Promise.all(contexts.map((c) => c.close()));
    }
  });

  it('a 30 MB image and a text file named .png are refused with clear messages', () =>
    onPage('bad-uploads', async (page) => {
      const dir = mkdtempSync(join(tmpdir(), 'playground-uploads-'));
      const huge = join(dir, 'huge.png');
      const big = Buffer.alloc(30 * 1024 * 1024);
      readPngHeader().copy(big);
      writeFileSync(huge, big);
      const fake = join(dir, 'notes.png');
      writeFileSync(fake, 'these are my notes, not a picture\n');

      await attach(page, huge);
      await expect
        .poll(() => page.getByRole('form', { name: 'Write a message' }).getByRole('alert').textContent())
        .toBe('huge.png is too large: 30 MB, and images can be at most 16 MB.');
      await attach(page, fake);
      await expect
        .poll(() => page.getByRole('form', { name: 'Write a message' }).getByRole('alert').textContent())
        .toMatch(/^notes\.png is not an image: its contents are not PNG, JPEG, WebP or GIF/);
      expect(await page.locator('li.attachment').count()).toBe(0);

      // The server refuses them the same way (a client that skips the page's checks).
      const r = await fetch(`${server.url}/api/tokenize`, {
        method: 'POST',
        body: 'these are my notes',
        headers: { 'X-File-Name': 'notes.png' },
      });
      expect(r.status).toBe(415);
      expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/notes\.png is not an image/);
    }));

  it('the codes grid of an uploaded image is what `seed tokenize` prints; a click draws it from those codes', () =>
    onPage('codes-grid', async (page) => {
      await attach(page, PHOTO);
      await page.locator('li.attachment[data-status="ready"]').waitFor();
      await send(page, 'What is this?');
      await page.locator('article.assistant[data-status="done"]').waitFor();
      const mine = page.getByRole('article', { name: 'Your message' });
      await mine.getByRole('button', { name: 'Show codes' }).click();
      const grid = mine.getByRole('list', { name: /SEED codes of the uploaded image/ });
      const shown = ((await grid.getAttribute('data-codes')) ?? '').split(',').map(Number);
      expect(await grid.getByRole('listitem').count()).toBe(32);

      const cli = execFileSync(
        process.execPath,
        [
          join(ROOT, 'packages/cli/dist/bin.js'),
          'tokenize',
          PHOTO,
          '--tokenizer',
          join(server.modelDir, 'tokenizer'),
          '--json',
        ],
        { encoding: 'utf8' },
      );
      expect(shown).toEqual(JSON.parse(cli).images[0].codes);

      await mine.getByRole('button', { name: 'Draw from codes' }).click();
      await mine.getByRole('img', { name: /drawn again from its codes/ }).waitFor();
    }));

  it('reload keeps the conversation', () =>
    onPage('reload', async (page) => {
      await settings(page, { seed: 1 });
      await send(page, 'Remember this message');
      await page.locator('article.assistant[data-status="done"]').waitFor();
      const before = await page.getByRole('log', { name: 'Conversation' }).textContent();
      await page.reload();
      await page.getByText('Remember this message').waitFor();
      expect(await page.getByRole('log', { name: 'Conversation' }).textContent()).toBe(before);
      await page.getByRole('button', { name: 'New chat' }).click();
      await page.reload();
      await page.getByRole('heading', { name: /sees and draws/ }).waitFor();
    }));
});

function readPngHeader(): Buffer {
  return Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
}

describe.skipIf(why !== undefined)('the playground through seed serve (SEED_API_URL)', () => {
  let api: SeedServer;
  let model: SeedLlama;
  let server: Playground;
  let browser: Browser;

  beforeAll(async () => {
    model = await SeedLlama.load({ dir: (await writeTinySeedLlama({ seed: 3 })).dir, decoder: new TestGridDecoder(5) });
    api = createSeedServer(model);
    const url = await api.listen(0);
    [server, browser] = await Promise.all([startPlayground({ SEED_API_URL: url }), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await api?.close();
    model?.dispose();
  });

  it('answers about an uploaded image and draws, with the model in seed serve', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(server.url);
      await page.locator('.model-status[data-state="ready"]').waitFor();
      await page.locator('input[type="file"]').setInputFiles(PHOTO);
      await page.locator('li.attachment[data-status="ready"]').waitFor();
      await page.getByRole('textbox', { name: 'Message' }).fill('What is this?');
      await page.getByRole('textbox', { name: 'Message' }).press('Enter');
      await page.locator('article.assistant[data-status="done"]').waitFor();
      // seed serve has no endpoint for an upload's codes: the page says so instead of showing a grid.
      await page.getByText('Codes are not available from this server.').waitFor();

      await page.getByRole('button', { name: 'Draw', exact: true }).click();
      await page.getByRole('textbox', { name: 'Message' }).fill('a red circle');
      await page.getByRole('textbox', { name: 'Message' }).press('Enter');
      // (The random model may draw in its first answer too: look at the second one.)
      await expect.poll(() => page.locator('article.assistant[data-status="done"]').count()).toBe(2);
      await page
        .getByRole('article', { name: 'Answer' })
        .last()
        .getByRole('img', { name: 'Generated image' })
        .waitFor();
    } catch (e) {
      (e as Error).message +=
        `\nscreenshot: ${await screenshot(page, 'seed-serve')}\nserver log:\n${server.log().slice(-2000)}`;
      throw e;
    } finally {
      await page.close();
    }
  });
});

describe.skipIf(why !== undefined || !existsSync(join(MICRO, 'decoder')))(
  'the playground on the bundled seed-micro (real weights and decoder)',
  () => {
    let server: Playground;
    let browser: Browser;

    beforeAll(async () => {
      [server, browser] = await Promise.all([startPlayground({}, { modelDir: MICRO }), launchChromium()]);
    });
    afterAll(async () => {
      await browser?.close();
      await server?.stop();
    });

    it('describes a rendered scene, then draws a picture (one image span of the tokenizer’s codes, a 32×32 PNG)', async () => {
      const page = await browser.newPage();
      try {
        await page.goto(server.url);
        await page.locator('.model-status[data-state="ready"]').waitFor();
        // Greedy answers and a fixed seed: the caption is the model's best reading of the scene.
        await page.getByRole('button', { name: 'Settings' }).click();
        await page.getByLabel('Temperature value').fill('0');
        await page.getByLabel('Seed', { exact: true }).fill('1');
        await page.getByRole('button', { name: 'Close settings' }).click();
        await page.locator('input[type="file"]').setInputFiles(join(SCENES, 'seed-1234.png'));
        await page.locator('li.attachment[data-status="ready"]').waitFor();
        const box = page.getByRole('textbox', { name: 'Message' });
        await box.fill('what is in this picture?');
        await box.press('Enter');
        await page.locator('article.assistant[data-status="done"]').waitFor();
        const said = (
          await page.getByRole('article', { name: 'Answer' }).last().locator('.text').allTextContents()
        ).join('');
        expect(world.parseCaption(said)).toEqual(world.parseCaption(world.caption(world.scene(1234))));

        await box.fill('draw a red circle on a white background');
        await box.press('Enter');
        const answer = page.getByRole('article', { name: 'Answer' }).last();
        const img = answer.getByRole('img', { name: 'Generated image' });
        await img.waitFor({ timeout: 30_000 });
        const png = Buffer.from(
          ((await img.getAttribute('src')) ?? '').replace(/^data:image\/png;base64,/, ''),
          'base64',
        );
        expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
        expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([32, 32]);
        // Shown scaled up with crisp pixels, not as a 32 px thumbnail.
        const shown = await img.evaluate((i: HTMLImageElement) => [
          i.getBoundingClientRect().width,
          getComputedStyle(i).imageRendering,
        ]);
        expect(shown).toEqual([224, 'pixelated']);
        await answer.getByRole('button', { name: 'Show codes' }).click();
        const { num_query_tokens } = JSON.parse(readFileSync(join(MICRO, 'tokenizer', 'config.json'), 'utf8'));
        expect(await answer.locator('.codes-grid li').count()).toBe(num_query_tokens);
      } catch (e) {
        (e as Error).message +=
          `\nscreenshot: ${await screenshot(page, 'seed-micro')}\nserver log:\n${server.log().slice(-2000)}`;
        throw e;
      } finally {
        await page.close();
      }
    });
  },
);
