// File-system failures in an operator's words, from the errors real fs calls throw.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ioReason } from '../../src/io-reason.js';

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
}

describe('ioReason', () => {
  it('says what went wrong in words for the errors an operator meets', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-io-'));
    try {
      fs.writeFileSync(path.join(dir, 'file'), '');
      fs.symlinkSync('loop', path.join(dir, 'loop'));
      expect(ioReason(thrownBy(() => fs.readFileSync(path.join(dir, 'missing'))))).toBe('no such file');
      expect(ioReason(thrownBy(() => fs.readFileSync(dir)))).toBe('is a directory');
      expect(ioReason(thrownBy(() => fs.mkdirSync(path.join(dir, 'file', 'sub'))))).toBe(
        'a path component is not a directory',
      );
      expect(ioReason(thrownBy(() => fs.readFileSync(path.join(dir, 'loop'))))).toBe(
        'too many levels of symbolic links',
      );
      expect(ioReason(thrownBy(() => fs.readFileSync(path.join(dir, 'x'.repeat(300)))))).toBe('file name too long');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the message of anything else, and never reads a name off Object.prototype', () => {
    const eexist = thrownBy(() => fs.mkdirSync(os.tmpdir())) as Error;
    expect(ioReason(eexist)).toBe(eexist.message);
    expect(ioReason(Object.assign(new Error('odd'), { code: 'toString' }))).toBe('odd');
    expect(ioReason('text')).toBe('text');
    expect(ioReason(null)).toBe('null');
  });
});
