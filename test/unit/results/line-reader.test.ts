import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LineReader, linesOf } from '../../../src/results/line-reader.js';
import { RunDirError } from '../../../src/errors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-lines-'));
const file = (name: string, data: string | Buffer): string => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, data);
  return p;
};

describe('LineReader', () => {
  it('gives every line, across block boundaries, with or without a last newline', () => {
    const long = 'x'.repeat(200_000);
    const lines = ['a', '', long, 'é ünïcode', long + 'y', 'end'];
    expect([...linesOf(file('nl', lines.join('\n') + '\n'))]).toEqual(lines);
    expect([...linesOf(file('no-nl', lines.join('\n')))]).toEqual(lines);
    expect([...linesOf(file('empty', ''))]).toEqual([]);
    // A multibyte character split by a block boundary is still whole.
    const split = 'a'.repeat(64 * 1024 - 1) + 'é\nz\n';
    expect([...linesOf(file('split', split))]).toEqual(['a'.repeat(64 * 1024 - 1) + 'é', 'z']);
  });

  it('refuses a missing file or a symlink as a run directory error naming it', () => {
    const target = file('target', 'secret\n');
    const link = path.join(dir, 'link');
    fs.symlinkSync(target, link);
    expect(() => new LineReader(link)).toThrow(RunDirError);
    expect(() => new LineReader(path.join(dir, 'missing'))).toThrow(/cannot read .*missing/);
  });
});
