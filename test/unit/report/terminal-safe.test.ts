import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  forTerminal,
  jsonForTerminal,
  terminalSafe,
  writeBytes,
  writeText,
} from '../../../src/report/terminal-safe.js';

/** A sink that records what was written, as a terminal or as a pipe. */
function sink(isTTY: boolean): {
  isTTY: boolean;
  chunks: (string | Uint8Array)[];
  write(c: string | Uint8Array): boolean;
} {
  const chunks: (string | Uint8Array)[] = [];
  return { isTTY, chunks, write: (c) => chunks.push(c) > 0 };
}

describe('terminalSafe', () => {
  it('shows the escapes a hostile host prints instead of passing them to the terminal', () => {
    expect(terminalSafe('\x1b]0;owned\x07')).toBe('\\x1b]0;owned\\x07');
    expect(terminalSafe('\x1b[2J\x1b[31mred')).toBe('\\x1b[2J\\x1b[31mred');
    expect(terminalSafe('\u009b2J')).toBe('\\x9b2J');
    expect(terminalSafe('fake ok\rreal')).toBe('fake ok\\x0dreal');
    expect(terminalSafe('a\x08b\x7fc\x00d\x0be\x0cf')).toBe('a\\x08b\\x7fc\\x00d\\x0be\\x0cf');
    expect(terminalSafe('\u0085\u0080\u009f')).toBe('\\x85\\x80\\x9f');
  });

  it('shows bidi controls that reorder the line (Trojan source)', () => {
    expect(terminalSafe('rm -rf /\u202e#gnissim')).toBe('rm -rf /\\u202e#gnissim');
    const bidi = [
      '\u061c',
      '\u200e',
      '\u200f',
      '\u202a',
      '\u202b',
      '\u202c',
      '\u202d',
      '\u2066',
      '\u2067',
      '\u2068',
      '\u2069',
    ];
    for (const c of bidi) {
      expect(terminalSafe(c)).toBe(`\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    }
  });

  it('keeps tab, newline and printable text, accents, CJK and emoji as they are', () => {
    const plain = 'a\tb\nhéllo wörld 漢字 🐑 \u00a0nbsp \ufffd ~\\x1b literal';
    expect(terminalSafe(plain)).toBe(plain);
  });

  it('leaves nothing a terminal interprets, for any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        const shown = terminalSafe(text);
        expect(shown).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
        // Tab and newline are kept one for one, so line structure does not change.
        expect(shown.split('\n').length).toBe(text.split('\n').length);
        expect(shown.split('\t').length).toBe(text.split('\t').length);
      }),
      { numRuns: 500 },
    );
  });
});

describe('writing per destination', () => {
  it('escapes on a terminal and writes the exact text or bytes on a pipe', () => {
    expect(forTerminal({ isTTY: true }, '\x1b[2J')).toBe('\\x1b[2J');
    expect(forTerminal({ isTTY: false }, '\x1b[2J')).toBe('\x1b[2J');
    expect(forTerminal({}, '\x1b[2J')).toBe('\x1b[2J');
    const tty = sink(true);
    const pipe = sink(false);
    writeText(tty, 'x\x1b]0;t\x07\n');
    writeText(pipe, 'x\x1b]0;t\x07\n');
    expect(tty.chunks).toEqual(['x\\x1b]0;t\\x07\n']);
    expect(pipe.chunks).toEqual(['x\x1b]0;t\x07\n']);
    const bytes = Buffer.from([0x61, 0x1b, 0x5b, 0x32, 0x4a, 0xff, 0xc2, 0x9b, 0x0a]);
    writeBytes(tty, bytes);
    writeBytes(pipe, bytes);
    // Invalid UTF-8 (0xff) shows as U+FFFD on the terminal; the pipe gets the bytes untouched.
    expect(tty.chunks[1]).toBe('a\\x1b[2J\ufffd\\x9b\n');
    expect(Buffer.compare(pipe.chunks[1] as Buffer, bytes)).toBe(0);
  });
});

describe('jsonForTerminal', () => {
  it('escapes what JSON.stringify leaves raw (DEL, C1, bidi) and parses back to the same value', () => {
    const value = { text: 'a\x1b[2J\x7f\u009b\u202e\u2066z\n', host: 'h\u0085' };
    const line = jsonForTerminal(value);
    expect(line).toBe('{"text":"a\\u001b[2J\\u007f\\u009b\\u202e\\u2066z\\n","host":"h\\u0085"}');
    expect(JSON.parse(line)).toEqual(value);
  });

  it('round-trips any value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), (value) => {
        const line = jsonForTerminal(value);
        expect(line).not.toMatch(/[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
        expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 300 },
    );
  });
});
