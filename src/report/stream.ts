// --stream: each output line as it arrives, `host: line` (playbooks: `host: [1.3] line`, as in
// output.log), with a stable colour per host.
import type { Writable } from 'node:stream';
import { terminalSafe } from './terminal-safe.js';

const COLOURS = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96];

/** The same host always gets the same colour (a small string hash). */
export function colourFor(host: string): number {
  let h = 0;
  for (const c of host) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return COLOURS[h % COLOURS.length]!;
}

/**
 * Pure: a host's line (given without its newline) as herd streams it. On a terminal the text is
 * decoded and its controls escaped before herd adds its colour; on a pipe the bytes stay exact.
 */
export function formatStreamLine(
  host: string,
  line: Buffer,
  colour: boolean,
  terminal: boolean,
  step?: string,
): Buffer {
  const text = terminal ? terminalSafe(line.toString('utf8')) : line;
  const name = terminal ? terminalSafe(host) : host;
  const tag = step === undefined ? '' : `[${step}] `;
  const head = colour ? `\x1b[${colourFor(host)}m${name}\x1b[0m: ${tag}` : `${name}: ${tag}`;
  return Buffer.concat([Buffer.from(head), typeof text === 'string' ? Buffer.from(text) : text, NEWLINE]);
}

const NEWLINE = Buffer.from('\n');

/** A line longer than this is streamed in pieces of at least this size, each as its own `host: ` line. */
export const LONG_LINE_BYTES = 64 * 1024;

/** Pure: the length of `buf` without a UTF-8 character cut short at its end (kept for the next piece). */
export function completeUtf8(buf: Buffer): number {
  let lead = buf.length - 1;
  while (lead >= 0 && lead > buf.length - 4 && (buf[lead]! & 0xc0) === 0x80) lead--;
  if (lead < 0) return buf.length;
  const b = buf[lead]!;
  const need = b >= 0xf0 && b <= 0xf7 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
  return b >= 0xc0 && b <= 0xf7 && lead + need > buf.length ? lead : buf.length;
}

export class LineStreamer {
  /**
   * The unfinished last line per host, stream and step, as byte chunks: a line's UTF-8 may arrive
   * split over chunks, and joining only when its newline comes keeps a long line linear.
   */
  private readonly partial = new Map<string, { step: string | undefined; chunks: Buffer[]; bytes: number }>();
  private readonly terminal: boolean;

  constructor(
    private readonly out: Writable & { isTTY?: boolean },
    private readonly colour: boolean,
  ) {
    this.terminal = out.isTTY === true;
  }

  /** `step` (`play.step`): a playbook step's output, tagged and kept apart from the host's other steps. */
  write(host: string, stream: 'stdout' | 'stderr', data: Buffer, step?: string): void {
    const key = `${host}\t${stream}\t${step ?? ''}`;
    const lines: Buffer[] = [];
    let from = 0;
    for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10, from)) {
      const head = this.partial.get(key);
      const line = head ? Buffer.concat([...head.chunks, data.subarray(from, nl)]) : data.subarray(from, nl);
      this.partial.delete(key);
      lines.push(formatStreamLine(host, line, this.colour, this.terminal, step));
      from = nl + 1;
    }
    // Copied: whoever sent the chunk may reuse its memory.
    if (from < data.length) {
      const rest = this.partial.get(key) ?? { step, chunks: [], bytes: 0 };
      rest.chunks.push(Buffer.from(data.subarray(from)));
      rest.bytes += data.length - from;
      this.partial.set(key, rest);
      // A host may print one line without end: it is shown in pieces rather than held in memory.
      if (rest.bytes >= LONG_LINE_BYTES) {
        const whole = Buffer.concat(rest.chunks);
        const cut = completeUtf8(whole);
        lines.push(formatStreamLine(host, whole.subarray(0, cut), this.colour, this.terminal, step));
        rest.chunks = cut < whole.length ? [whole.subarray(cut)] : [];
        rest.bytes = whole.length - cut;
        if (rest.bytes === 0) this.partial.delete(key);
      }
    }
    if (lines.length > 0) this.out.write(Buffer.concat(lines));
  }

  /** A host ended: print what is left of its last lines. */
  flush(host: string): void {
    for (const [key, rest] of this.partial) {
      if (!key.startsWith(`${host}\t`)) continue;
      this.out.write(formatStreamLine(host, Buffer.concat(rest.chunks), this.colour, this.terminal, rest.step));
      this.partial.delete(key);
    }
  }
}

/** Colour is on for a terminal unless NO_COLOR is set or --no-color was given. */
export function wantColour(out: { isTTY?: boolean }, noColourFlag: boolean): boolean {
  return out.isTTY === true && !noColourFlag && (process.env['NO_COLOR'] ?? '') === '';
}
