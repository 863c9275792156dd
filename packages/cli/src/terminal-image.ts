/**
 * Showing a PNG inside the terminal, for the terminals that have an image protocol: iTerm2's inline images
 * (`ESC ]1337;File=…`, also spoken by WezTerm) and kitty's graphics protocol (`ESC _G…`, also Ghostty). Other
 * terminals, and output that is not a terminal, get nothing: the caller prints the file's path instead.
 */

export type ImageProtocol = 'iterm' | 'kitty' | 'none';

/**
 * The protocol the terminal on `stream` speaks, from the variables terminals set. SEED_IMAGE_PROTOCOL
 * (iterm, kitty or none) overrides the guess, e.g. inside tmux, which hides the outer terminal.
 */
export function imageProtocol(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): ImageProtocol {
  const forced = env.SEED_IMAGE_PROTOCOL;
  if (forced === 'iterm' || forced === 'kitty' || forced === 'none') return forced;
  if (!stream.isTTY) return 'none';
  if (env.TERM_PROGRAM === 'iTerm.app' || env.LC_TERMINAL === 'iTerm2' || env.TERM_PROGRAM === 'WezTerm')
    return 'iterm';
  if (env.TERM === 'xterm-kitty' || env.KITTY_WINDOW_ID || env.TERM_PROGRAM === 'ghostty') return 'kitty';
  return 'none';
}

/** kitty limits one escape's payload to 4096 bytes of base64: larger images go in chunks (m=1: more follow). */
const KITTY_CHUNK = 4096;

/** The escape sequence that draws `png` inline in `protocol` (followed by a newline), or '' for none. */
export function inlineImage(png: Uint8Array, protocol: ImageProtocol, name = 'image.png'): string {
  const data = Buffer.from(png).toString('base64');
  if (protocol === 'iterm') {
    const fileName = Buffer.from(name).toString('base64');
    return `\x1b]1337;File=name=${fileName};size=${png.length};inline=1;preserveAspectRatio=1:${data}\x07\n`;
  }
  if (protocol === 'kitty') {
    let out = '';
    for (let i = 0; i < data.length; i += KITTY_CHUNK) {
      const more = i + KITTY_CHUNK < data.length ? 1 : 0;
      // The first chunk carries the command: transmit and display (a=T) a PNG (f=100).
      const keys = i === 0 ? `a=T,f=100,m=${more}` : `m=${more}`;
      out += `\x1b_G${keys};${data.slice(i, i + KITTY_CHUNK)}\x1b\\`;
    }
    return `${out}\n`;
  }
  return '';
}
