// --stream: each output line as it arrives, `host: line`, with a stable colour per host.
import type { Writable } from 'node:stream';

const COLOURS = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96];

/** The same host always gets the same colour (a small string hash). */
export function colourFor(host: string): number {
  let h = 0;
  for (const c of host) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return COLOURS[h % COLOURS.length]!;
}

/** Pure: one streamed line, coloured or not. */
export function formatStreamLine(host: string, line: string, colour: boolean): string {
  return colour ? `\x1b[${colourFor(host)}m${host}\x1b[0m: ${line}\n` : `${host}: ${line}\n`;
}

export class LineStreamer {
  private readonly partial = new Map<string, string>();

  constructor(
    private readonly out: Writable,
    private readonly colour: boolean,
  ) {}

  write(host: string, stream: 'stdout' | 'stderr', data: Buffer): void {
    const key = `${host}\t${stream}`;
    const text = (this.partial.get(key) ?? '') + data.toString('utf8');
    const lines = text.split('\n');
    this.partial.set(key, lines.pop() ?? '');
    if (lines.length > 0) this.out.write(lines.map((l) => formatStreamLine(host, l, this.colour)).join(''));
  }

  /** A host ended: print what is left of its last line. */
  flush(host: string): void {
    for (const stream of ['stdout', 'stderr']) {
      const key = `${host}\t${stream}`;
      const rest = this.partial.get(key);
      if (rest) this.out.write(formatStreamLine(host, rest, this.colour));
      this.partial.delete(key);
    }
  }
}

/** Colour is on for a terminal unless NO_COLOR is set or --no-color was given. */
export function wantColour(out: { isTTY?: boolean }, noColourFlag: boolean): boolean {
  return out.isTTY === true && !noColourFlag && (process.env['NO_COLOR'] ?? '') === '';
}
