/**
 * `seed demo`: the whole system on the bundled model in under a minute. It draws a few scenes of the
 * micro model's world from their captions and describes a few rendered scenes, writes every image, and
 * prints what the world's checker (`world.parseScene` / `world.parseCaption` of @seed/seed-llama) says of
 * each — so what the model did is judged, not just shown. Greedy decoding, the decoder's defaults.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SeedLlama, SessionEvent } from '@seed/seed-llama';
import { Command } from 'commander';
import sharp from 'sharp';
import { guarded } from '../action.js';
import { loadModel, type ModelFlags, num, withModelOptions } from '../model-options.js';

interface DemoFlags extends ModelFlags {
  out: string;
  count: number;
}

interface DemoRow {
  task: 'draw' | 'describe';
  file: string;
  /** What was asked for (draw) or shown (describe). */
  truth: string;
  /** The checker's reading of the drawn image (draw) or the model's words (describe). */
  got: string;
  ok: boolean;
  seconds: number;
}

export function demoCommand(): Command {
  const cmd = new Command('demo')
    .description(
      'draw and describe a few scenes with the bundled micro model (or --model), write the images, and print what the checker says of each',
    )
    .option('-o, --out <dir>', 'folder for the images', 'seed-demo')
    .option('--count <n>', 'scenes to draw and scenes to describe', num('--count', { int: true, min: 1 }), 3)
    .option('--json', 'print one JSON object');
  withModelOptions(cmd, 64);
  return cmd.action(guarded('demo', async (flags: DemoFlags) => demo(flags)));
}

async function demo(flags: DemoFlags): Promise<void> {
  const { world } = await import('@seed/seed-llama');
  const model = await loadModel(flags);
  try {
    if (!model.canDraw) throw new Error('this model set has no decoder/: seed demo draws pictures');
    const out = resolve(flags.out);
    mkdirSync(out, { recursive: true });
    const rows: DemoRow[] = [];
    const log = (r: DemoRow) => {
      rows.push(r);
      if (!flags.json)
        process.stdout.write(
          `${r.ok ? 'ok  ' : 'MISS'} ${r.task.padEnd(8)} ${r.truth.padEnd(44)} → ${r.got.padEnd(44)} ${r.seconds.toFixed(1)} s  ${r.file}\n`,
        );
    };
    // Scenes the model never saw in training are drawn from far-away seeds (the world is seeded per scene).
    for (let i = 0; i < flags.count; i++) {
      const truth = world.scene(900_000 + i);
      const t0 = performance.now();
      const events = await turn(model, `draw ${world.caption(truth)}`, flags);
      const image = events.find((e) => e.type === 'image');
      const file = join(out, `draw-${i + 1}.png`);
      let got = 'no picture';
      if (image?.type === 'image' && image.png) {
        writeFileSync(file, image.png);
        got = world.caption(world.parseScene(await rgbOfSize(image.png, world.WORLD_SIZE)));
      }
      log({
        task: 'draw',
        file,
        truth: world.caption(truth),
        got,
        ok: got === world.caption(truth),
        seconds: (performance.now() - t0) / 1000,
      });
    }
    for (let i = 0; i < flags.count; i++) {
      const truth = world.scene(950_000 + i);
      const png = await sharp(world.render(truth), {
        raw: { width: world.WORLD_SIZE, height: world.WORLD_SIZE, channels: 3 },
      })
        .png()
        .toBuffer();
      const file = join(out, `describe-${i + 1}.png`);
      writeFileSync(file, png);
      const t0 = performance.now();
      const events = await turn(model, [{ image: file }, 'what is in this picture?'], flags);
      const text = events
        .map((e) => (e.type === 'text' ? e.text : ''))
        .join('')
        .trim();
      const said = world.parseCaption(text);
      const ok = said !== undefined && world.caption(said) === world.caption(truth);
      log({
        task: 'describe',
        file,
        truth: world.caption(truth),
        got: text,
        ok,
        seconds: (performance.now() - t0) / 1000,
      });
    }
    const right = rows.filter((r) => r.ok).length;
    if (flags.json) process.stdout.write(`${JSON.stringify({ rows, right, total: rows.length })}\n`);
    else process.stdout.write(`\n${right} of ${rows.length} judged right by the checker; images in ${out}\n`);
  } finally {
    model.dispose();
  }
}

/** One greedy turn in a fresh conversation; every event of it. */
async function turn(
  model: SeedLlama,
  message: Parameters<ReturnType<SeedLlama['session']>['send']>[0],
  flags: DemoFlags,
) {
  const events: SessionEvent[] = [];
  const seed = flags.seed ?? 0;
  for await (const e of model.session().send(message, {
    temperature: 0,
    maxNewTokens: flags.maxTokens,
    seed,
    draw: { seed },
  }))
    events.push(e);
  return events;
}

/** A PNG as size × size RGB bytes (the checker's input), resized if the decoder drew another size. */
async function rgbOfSize(png: Uint8Array, size: number): Promise<Uint8Array> {
  const { data } = await sharp(png)
    .removeAlpha()
    .resize(size, size, { kernel: 'nearest' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
