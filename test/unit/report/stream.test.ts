import { describe, expect, it } from 'vitest';
import { LineStreamer, LONG_LINE_BYTES } from '../../../src/report/stream.js';

/** A Writable-shaped sink that keeps the bytes written to it. */
function sink(isTTY: boolean): { isTTY: boolean; bytes: () => Buffer; write(c: string | Uint8Array): boolean } {
  const chunks: Buffer[] = [];
  return { isTTY, bytes: () => Buffer.concat(chunks), write: (c) => chunks.push(Buffer.from(c)) > 0 };
}

const streamer = (out: ReturnType<typeof sink>): LineStreamer => new LineStreamer(out as never, false);

describe('--stream lines', () => {
  it('to a pipe: a character split over two chunks and invalid UTF-8 come out byte for byte', () => {
    const out = sink(false);
    const s = streamer(out);
    const bytes = Buffer.concat([
      Buffer.from('h'),
      Buffer.from('é漢 '),
      Buffer.from([0xff]),
      Buffer.from('\x1b[2J end\n'),
    ]);
    s.write('web1', 'stdout', bytes.subarray(0, 2)); // cuts é in half
    s.write('web1', 'stdout', bytes.subarray(2, 5)); // cuts 漢 in half
    s.write('web1', 'stdout', bytes.subarray(5));
    expect(out.bytes()).toEqual(Buffer.concat([Buffer.from('web1: '), bytes]));
  });

  it('on a terminal: the split character is whole and the controls are escaped', () => {
    const out = sink(true);
    const s = streamer(out);
    const bytes = Buffer.from('h\u00e9 \x1b]0;t\x07\r\n');
    s.write('web1', 'stderr', bytes.subarray(0, 2));
    s.write('web1', 'stderr', bytes.subarray(2));
    expect(out.bytes().toString()).toBe('web1: h\u00e9 \\x1b]0;t\\x07\\x0d\n');
  });

  it('keeps hosts and streams apart and prints a last line without newline when the host ends', () => {
    const out = sink(false);
    const s = streamer(out);
    s.write('a', 'stdout', Buffer.from('one'));
    s.write('a', 'stderr', Buffer.from('err\n'));
    s.write('b', 'stdout', Buffer.from('two\nthr'));
    s.write('a', 'stdout', Buffer.from('-more\n'));
    s.flush('b');
    s.flush('a');
    expect(out.bytes().toString()).toBe('a: err\nb: two\na: one-more\nb: thr\n');
  });

  it("tags a playbook step's lines [play.step], as output.log does, and keeps steps' partial lines apart", () => {
    const out = sink(false);
    const s = streamer(out);
    s.write('a', 'stdout', Buffer.from('first'), '1.2');
    s.write('a', 'stdout', Buffer.from('next\n'), '1.3');
    s.write('a', 'stdout', Buffer.from(' end\n'), '1.2');
    s.write('a', 'stderr', Buffer.from('tail'), '1.3');
    s.flush('a');
    expect(out.bytes().toString()).toBe('a: [1.3] next\na: [1.2] first end\na: [1.3] tail\n');
  });

  it('shows a line without end in pieces as it comes, holding at most a piece, every byte kept and no character split', () => {
    const out = sink(true);
    const s = streamer(out);
    // 3-byte characters in 1000-byte chunks: chunk and piece edges fall inside characters.
    const line = Buffer.from('漢'.repeat(100_000));
    for (let at = 0; at < line.length; at += 1000) s.write('a', 'stdout', line.subarray(at, at + 1000));
    const before = out.bytes().toString();
    const pieces = before.split('\n').filter(Boolean);
    expect(pieces.length).toBeGreaterThan(3);
    for (const p of pieces) {
      expect(p.startsWith('a: ')).toBe(true);
      expect(Buffer.byteLength(p)).toBeLessThan(LONG_LINE_BYTES + 1000 + 3);
    }
    s.flush('a');
    const all = out
      .bytes()
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((p) => p.slice(3))
      .join('');
    expect(all).toBe(line.toString());
    expect(all).not.toContain('\ufffd');
  });
});
