import { describe, expect, it } from 'vitest';
import type { RemoteEntry, RemoteStats } from '../../../src/transport/connection.js';
import { hasFileType, listingByName } from '../../../src/transfer/remote.js';

const stats = (mode: number, size = 0): RemoteStats => ({
  mode,
  size,
  atime: 0,
  mtime: 0,
  isDirectory: () => (mode & 0o170000) === 0o040000,
  isFile: () => (mode & 0o170000) === 0o100000,
  isSymbolicLink: () => (mode & 0o170000) === 0o120000,
});

describe('hasFileType: listing attributes are used only when they say what the entry is', () => {
  it('accepts a file, a directory and a link', () => {
    expect(hasFileType(stats(0o100644))).toBe(true);
    expect(hasFileType(stats(0o040755))).toBe(true);
    expect(hasFileType(stats(0o120777))).toBe(true);
  });
  it('refuses attributes a hostile or minimal server sends without a type: no mode, permission bits only, no methods', () => {
    expect(hasFileType(undefined)).toBe(false);
    expect(hasFileType({ ...stats(0), mode: undefined } as unknown as RemoteStats)).toBe(false);
    expect(hasFileType(stats(0o644))).toBe(false);
    expect(hasFileType({ mode: 0o100644, size: 1, atime: 0, mtime: 0 } as unknown as RemoteStats)).toBe(false);
  });
});

describe('listingByName: a directory listing as name -> attributes', () => {
  it('keeps typed entries by name and leaves out those whose type is unknown (they are looked up one by one)', () => {
    const entries: RemoteEntry[] = [
      { filename: 'a', attrs: stats(0o100644, 5) },
      { filename: 'd', attrs: stats(0o040755) },
      { filename: 'untyped', attrs: stats(0o644) },
      { filename: 'l', attrs: stats(0o120777) },
    ];
    const byName = listingByName(entries);
    expect([...byName.keys()]).toEqual(['a', 'd', 'l']);
    expect(byName.get('a')?.size).toBe(5);
  });
  it('a name listed twice keeps its last attributes', () => {
    const byName = listingByName([
      { filename: 'x', attrs: stats(0o100644, 1) },
      { filename: 'x', attrs: stats(0o100644, 2) },
    ]);
    expect(byName.get('x')?.size).toBe(2);
  });
});
