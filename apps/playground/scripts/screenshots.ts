/**
 * The README's screenshots (docs/*.png): one conversation — an uploaded picture with its question, a
 * drawing with its SEED codes shown — in light, dark and at phone width. Run by hand after `pnpm build`:
 * `pnpm --filter playground screenshots`. Uses the tiny test model, so the words are noise; the screens
 * are what matter.
 */
import { join } from 'node:path';
import { APP, IMAGES, launchChromium, startPlayground } from '../test/e2e/harness';

const server = await startPlayground();
const browser = await launchChromium();
try {
  const shots = [
    { file: 'light.png', colorScheme: 'light', viewport: { width: 1200, height: 860 } },
    { file: 'dark.png', colorScheme: 'dark', viewport: { width: 1200, height: 860 } },
    { file: 'phone.png', colorScheme: 'light', viewport: { width: 390, height: 844 } },
  ] as const;
  for (const shot of shots) {
    const page = await browser.newPage({ colorScheme: shot.colorScheme, viewport: shot.viewport });
    await page.goto(server.url);
    await page.locator('.model-status[data-state="ready"]').waitFor();
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByLabel('Seed', { exact: true }).fill('4');
    await page.getByRole('button', { name: 'Close settings' }).click();
    await page.locator('input[type="file"]').setInputFiles(join(IMAGES, 'shrink-320x240.png'));
    await page.locator('li.attachment[data-status="ready"]').waitFor();
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('What is this picture?');
    await box.press('Enter');
    await page.locator('article.assistant[data-status="done"]').waitFor();
    await page.getByRole('button', { name: 'Draw', exact: true }).click();
    await box.fill('a red circle on white');
    await box.press('Enter');
    await page.getByRole('img', { name: 'Generated image' }).waitFor();
    await page.getByRole('article', { name: 'Answer' }).last().getByRole('button', { name: 'Show codes' }).click();
    await page.getByRole('article', { name: 'Answer' }).last().getByRole('button', { name: 'Draw from codes' }).click();
    await page.getByRole('img', { name: /drawn again/ }).waitFor();
    await box.fill('Now draw it in blue');
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(APP, 'docs', shot.file) });
    console.log(`docs/${shot.file}`);
    await page.close();
  }
} finally {
  await browser.close();
  await server.stop();
}
