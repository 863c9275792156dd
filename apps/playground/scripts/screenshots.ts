/**
 * The README's screenshots (docs/*.png): a drawing with its SEED codes shown and drawn again from them, and
 * an uploaded picture with its question — in light, dark and at phone width. Run by
 * hand after `pnpm build`: `pnpm --filter playground screenshots`. Uses the bundled models/seed-micro (real
 * captions and drawings, greedy answers); without it, the tiny random test model, whose words are noise.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { APP, IMAGES, launchChromium, MICRO, SCENES, startPlayground } from '../test/e2e/harness';

const micro = existsSync(join(MICRO, 'decoder'));
const server = await startPlayground({}, micro ? { modelDir: MICRO } : {});
const browser = await launchChromium();
try {
  const shots = [
    { file: 'light.png', colorScheme: 'light', viewport: { width: 1200, height: 860 } },
    { file: 'dark.png', colorScheme: 'dark', viewport: { width: 1200, height: 860 } },
    { file: 'phone.png', colorScheme: 'light', viewport: { width: 390, height: 844 } },
  ] as const;
  /** Wait until `count` gives `n`. */
  const waitUntil = async (count: () => Promise<number>, n: number) => {
    while ((await count()) !== n) await new Promise((r) => setTimeout(r, 50));
  };
  for (const shot of shots) {
    const page = await browser.newPage({ colorScheme: shot.colorScheme, viewport: shot.viewport });
    await page.goto(server.url);
    await page.locator('.model-status[data-state="ready"]').waitFor();
    await page.getByRole('button', { name: 'Settings' }).click();
    if (micro) await page.getByLabel('Temperature value').fill('0');
    await page.getByLabel('Seed', { exact: true }).fill('4');
    await page.getByRole('button', { name: 'Close settings' }).click();
    const box = page.getByRole('textbox', { name: 'Message' });
    // seed-micro learnt single exchanges (an earlier picture in the conversation pulls its answers towards
    // that picture), so with it each screen holds one: a drawing (light, phone) or a question about a picture.
    if (!micro || shot.file !== 'dark.png') {
      if (!micro) await page.getByRole('button', { name: 'Draw', exact: true }).click();
      await box.fill(micro ? 'draw a red circle on a white background' : 'a red circle on white');
      await box.press('Enter');
      await page.getByRole('img', { name: 'Generated image' }).waitFor();
      const drawing = page.getByRole('article', { name: 'Answer' }).last();
      await drawing.getByRole('button', { name: 'Show codes' }).click();
      await drawing.getByRole('button', { name: 'Draw from codes' }).click();
      await page.getByRole('img', { name: /drawn again/ }).waitFor();
    }
    if (!micro || shot.file === 'dark.png') {
      const picture = micro ? join(SCENES, 'seed-1234.png') : join(IMAGES, 'shrink-320x240.png');
      await page.locator('input[type="file"]').setInputFiles(picture);
      await page.locator('li.attachment[data-status="ready"]').waitFor();
      await box.fill('what is in this picture?');
      await box.press('Enter');
      await waitUntil(() => page.locator('article.assistant[data-status="done"]').count(), micro ? 1 : 2);
    }
    await box.fill(micro ? 'draw a blue triangle on a gray background' : 'Now draw it in blue');
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(APP, 'docs', shot.file) });
    console.log(`docs/${shot.file}`);
    await page.close();
  }
} finally {
  await browser.close();
  await server.stop();
}
