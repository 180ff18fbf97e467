// Text a host controls (its output, file names inside failure reasons) must not drive the operator's
// terminal: on a TTY, control characters are shown as visible escapes, the way git and ls show odd
// names. Files, pipes and --json keep the exact bytes, so only writes to a TTY go through here.

/**
 * Rendered visibly: C0 controls but tab and newline (ESC, BEL, CR, backspace, ...), DEL, the C1
 * controls U+0080-U+009F (U+009B is a one-character CSI on many terminals), and the bidi controls
 * that reorder what is shown (U+061C, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069: "Trojan source").
 * Invalid UTF-8 never gets here as bytes: decoding made it U+FFFD, which is printable.
 */
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/** Pure: `text` with every unsafe character as `\xHH` (below U+0100) or `\uHHHH`. Tab and newline stay. */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const n = c.charCodeAt(0);
    return n < 0x100 ? `\\x${hex(n, 2)}` : `\\u${hex(n, 4)}`;
  });
}

/**
 * Pure: `value` as JSON with no character a terminal acts on, should the JSON itself land on one.
 * JSON.stringify escapes C0 but leaves DEL, C1 and bidi controls raw; as `\uHHHH` they parse the same.
 */
export function jsonForTerminal(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE, (c) => `\\u${hex(c.charCodeAt(0), 4)}`);
}

/** A stream herd writes to; `isTTY` is true only for a terminal (checked per stream: stdout and stderr differ). */
export interface TextOut {
  isTTY?: boolean;
  write(chunk: string | Uint8Array): boolean;
}

/** What `text` becomes on `out`: escaped on a terminal, unchanged on a pipe or file. */
export function forTerminal(out: Pick<TextOut, 'isTTY'>, text: string): string {
  return out.isTTY === true ? terminalSafe(text) : text;
}

/** Write text that may hold host-controlled characters. */
export function writeText(out: TextOut, text: string): void {
  out.write(forTerminal(out, text));
}

/** Write host bytes: exact on a pipe or file; decoded and escaped on a terminal. */
export function writeBytes(out: TextOut, data: Buffer): void {
  out.write(out.isTTY === true ? terminalSafe(data.toString('utf8')) : data);
}
