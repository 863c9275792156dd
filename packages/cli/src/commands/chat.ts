/**
 * `seed chat`: a conversation with SEED-LLaMA on stdin/stdout. Each line is a message; a line starting with
 * `/` is a command:
 *   /image PATH     attach an image to the next message (several may be attached)
 *   /codes c0,…     attach an image given as its 32 SEED codes
 *   /save DIR       copy the pictures drawn so far to DIR, and write later ones there
 *   /reset          forget the conversation
 *   /help, /quit
 * Text streams as it is generated. Pictures the model draws are written to files (a temporary folder until
 * /save or --out-dir names one) and shown inline in terminals with an image protocol (iTerm2, kitty),
 * otherwise their path is printed. Ctrl-C stops the answer being generated, not the chat; at the prompt it
 * ends the chat, as Ctrl-D does. --json prints one object {turns: […]} at the end instead of streaming.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { MessagePart } from '@seed/seed-llama';
import { Command } from 'commander';
import { guarded, oneLine } from '../action.js';
import { loadModel, type ModelFlags, sendOptions, withModelOptions } from '../model-options.js';
import { withProgress } from '../progress.js';
import { readReply } from '../reply.js';
import { imageProtocol, inlineImage } from '../terminal-image.js';

interface ChatFlags extends ModelFlags {
  system?: string;
  outDir?: string;
}

const HELP = `/image PATH   attach an image to your next message
/codes c0,…   attach an image given as its SEED codes
/save DIR     copy the pictures drawn so far to DIR (and write later ones there)
/reset        forget the conversation
/quit         end the chat (or Ctrl-D); Ctrl-C stops an answer
`;

export function chatCommand(): Command {
  return withModelOptions(new Command('chat'))
    .description('chat with SEED-LLaMA on stdin/stdout: send images (/image PATH), get text and pictures back')
    .option('--system <text>', 'a system prompt (none by default, as upstream)')
    .option('--out-dir <dir>', 'where drawn pictures are written (default: a new temporary folder)')
    .option('--json', 'print one JSON object {turns: [{user, attached, text, images, reason}]} at the end')
    .action(guarded('chat', run));
}

interface TurnRecord {
  user: string;
  attached: string[];
  text: string;
  images: { file?: string; codes: number[] }[];
  reason: string;
}

async function run(flags: ChatFlags): Promise<void> {
  const model = await loadModel(flags);
  const interactive = Boolean(process.stdin.isTTY);
  const protocol = flags.json ? 'none' : imageProtocol(process.stdout);
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: interactive });
  const session = model.session({ system: flags.system });
  let outDir = flags.outDir;
  const drawn: string[] = []; // every picture file written in this chat
  const pending: { label: string; part: MessagePart }[] = [];
  const turns: TurnRecord[] = [];
  let failed = false;

  // Ctrl-C: stop the answer being generated; at the prompt, end the chat.
  let turn: AbortController | undefined;
  const onSigint = () => (turn ? turn.abort() : rl.close());
  rl.on('SIGINT', onSigint);
  process.on('SIGINT', onSigint);
  const say = (s: string) => {
    if (!flags.json) process.stderr.write(s);
  };
  const prompt = () => {
    if (interactive) {
      rl.setPrompt(pending.length ? `[${pending.length} image${pending.length > 1 ? 's' : ''}] > ` : '> ');
      rl.prompt();
    }
  };
  const pictureDir = () => {
    outDir ??= mkdtempSync(join(tmpdir(), 'seed-chat-'));
    mkdirSync(outDir, { recursive: true });
    return outDir;
  };

  try {
    if (interactive)
      say(
        `chat: type a message, /help for commands, Ctrl-D to end\n${model.canDraw ? '' : 'note: no decoder in this model set: pictures come back as codes only\n'}`,
      );
    prompt();
    for await (const raw of rl) {
      const line = raw.trim();
      try {
        if (line === '/quit' || line === '/exit') break;
        if (line.startsWith('/')) command(line);
        else if (line) await answer(line);
      } catch (e) {
        failed = true;
        process.stderr.write(`seed chat: ${oneLine(e)}\n`);
      }
      prompt();
    }
    if (flags.json) process.stdout.write(`${JSON.stringify({ turns })}\n`);
    // Scripted use (stdin not a terminal) learns from the exit code that a line was refused.
    if (failed && !interactive) process.exitCode = 1;
  } finally {
    rl.off('SIGINT', onSigint);
    process.off('SIGINT', onSigint);
    rl.close();
    model.dispose();
  }

  function command(line: string): void {
    const [name] = line.split(/\s/, 1);
    const arg = line.slice(name.length).trim();
    switch (name) {
      case '/image': {
        if (!arg) throw new Error('/image needs a file: /image PATH');
        if (!existsSync(arg) || !statSync(arg).isFile()) throw new Error(`${arg}: no such image file`);
        pending.push({ label: arg, part: { image: arg } });
        say(`attached ${arg} to your next message\n`);
        return;
      }
      case '/codes': {
        const codes = arg
          .split(/[\s,]+/)
          .filter(Boolean)
          .map(Number);
        model.vocab.checkCodes(codes); // 32 integers in range, or one clear line saying which is not
        pending.push({ label: `codes:${codes.join(',')}`, part: { codes } });
        say('attached an image (codes) to your next message\n');
        return;
      }
      case '/save': {
        if (!arg) throw new Error('/save needs a folder: /save DIR');
        mkdirSync(arg, { recursive: true });
        for (const f of drawn) copyFileSync(f, join(arg, basename(f)));
        outDir = arg;
        say(`${drawn.length} picture${drawn.length === 1 ? '' : 's'} saved to ${arg}; later ones are written there\n`);
        return;
      }
      case '/reset':
        session.reset();
        pending.length = 0;
        say('the conversation is cleared\n');
        return;
      case '/help':
        say(HELP);
        return;
      default:
        throw new Error(`unknown command ${name} (/help lists them)`);
    }
  }

  async function answer(text: string): Promise<void> {
    const attached = pending.splice(0);
    turn = new AbortController();
    try {
      const events = session.send([...attached.map((a) => a.part), text], sendOptions(flags, turn.signal));
      const reply = await withProgress(
        'drawing',
        (onProgress) =>
          readReply(events, {
            text: flags.json ? undefined : (t) => process.stdout.write(t),
            step: (index, step, total) => onProgress(step, total, `picture ${index + 1}`),
          }),
        (done, total) => `${done}/${total} steps`,
      );
      if (!flags.json) process.stdout.write('\n');
      const images = reply.images.map((image) => {
        if (!image.png) {
          say(`[picture ${drawn.length + 1}: codes only, no decoder: ${image.codes.join(',')}]\n`);
          return { codes: image.codes };
        }
        const file = join(pictureDir(), `picture-${drawn.length + 1}.png`);
        writeFileSync(file, image.png);
        drawn.push(file);
        if (protocol !== 'none') process.stdout.write(inlineImage(image.png, protocol, basename(file)));
        say(`[picture: ${file}]\n`);
        return { file, codes: image.codes };
      });
      if (reply.reason === 'aborted') say('[stopped]\n');
      turns.push({
        user: text,
        attached: attached.map((a) => a.label),
        text: reply.text.trim(),
        images,
        reason: reply.reason,
      });
    } finally {
      turn = undefined;
    }
  }
}
