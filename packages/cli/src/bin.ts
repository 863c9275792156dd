/**
 * The `seed` command. Each subcommand lives in its own file under commands/ and stays thin: it parses its
 * arguments, calls the packages that do the work, and prints a table or (with --json) one JSON object.
 */
import { Command } from 'commander';
import pkg from '../package.json';
import { chatCommand } from './commands/chat.js';
import { convertCommand } from './commands/convert.js';
import { decodeCommand } from './commands/decode.js';
import { demoCommand } from './commands/demo.js';
import { describeCommand } from './commands/describe.js';
import { drawCommand } from './commands/draw.js';
import { embedCommand } from './commands/embed.js';
import { generateCommand } from './commands/generate.js';
import { infoCommand } from './commands/info.js';
import { inspectCommand } from './commands/inspect.js';
import { pullCommand } from './commands/pull.js';
import { reconstructCommand } from './commands/reconstruct.js';
import { serveCommand } from './commands/serve.js';
import { tokenizeCommand } from './commands/tokenize.js';

const program = new Command()
  .name('seed')
  .description(
    'Run SEED-LLaMA from Node: runtime info, weight-file inspection, text generation, image tokenization, checkpoint conversion',
  )
  .version(pkg.version, '-v, --version')
  .showHelpAfterError('(run `seed --help` for the commands)')
  .addCommand(demoCommand())
  .addCommand(infoCommand(pkg.version))
  .addCommand(inspectCommand())
  .addCommand(generateCommand())
  .addCommand(describeCommand())
  .addCommand(drawCommand())
  .addCommand(chatCommand())
  .addCommand(pullCommand())
  .addCommand(serveCommand())
  .addCommand(tokenizeCommand())
  .addCommand(embedCommand())
  .addCommand(decodeCommand())
  .addCommand(reconstructCommand())
  .addCommand(convertCommand());

await program.parseAsync(process.argv);
