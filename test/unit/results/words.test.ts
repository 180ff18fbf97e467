import { describe, expect, it } from 'vitest';
import { formatSize, plural } from '../../../src/results/words.js';

describe('sizes and plurals in messages', () => {
  it('says 1 file, 2 files, 1 directory, 3 directories', () => {
    expect(plural(1, 'file')).toBe('1 file');
    expect(plural(0, 'file')).toBe('0 files');
    expect(plural(2, 'file')).toBe('2 files');
    expect(plural(1, 'directory', 'directories')).toBe('1 directory');
    expect(plural(3, 'directory', 'directories')).toBe('3 directories');
  });

  it('picks the unit that keeps a digit before the point: never 0.0 MB', () => {
    expect(formatSize(0)).toBe('0 bytes');
    expect(formatSize(1)).toBe('1 byte');
    expect(formatSize(1023)).toBe('1023 bytes');
    expect(formatSize(12 * 1024)).toBe('12 KB');
    expect(formatSize(300 * 1024 + 21)).toBe('300 KB');
    expect(formatSize(3.4 * 1024 * 1024)).toBe('3.4 MB');
    expect(formatSize(1.25 * 1024 ** 3)).toBe('1.3 GB');
  });
});
