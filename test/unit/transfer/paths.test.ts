import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inside, isSafeEntryName, pushTarget } from '../../../src/transfer/paths.js';

describe('isSafeEntryName: a name a host lists may not lead out of the directory', () => {
  it('accepts plain names, dot files and names with odd bytes that stay in place', () => {
    for (const name of ['a', '.bashrc', '...', 'a b', 'x\ny', '\u00e9t\u00e9', '-rf', '.herd-tmp', 'a\\b'])
      expect(isSafeEntryName(name)).toBe(true);
  });

  it('refuses empty, . and .., any slash and NUL', () => {
    for (const name of ['', '.', '..', '/', 'a/b', '../x', '/etc/passwd', 'a/', 'a\0b', '\0'])
      expect(isSafeEntryName(name)).toBe(false);
  });
});

describe('inside: is a path strictly under the destination root', () => {
  const root = '/dest/host1';
  it('holds for entries below the root', () => {
    expect(inside(root, '/dest/host1/a')).toBe(true);
    expect(inside(root, '/dest/host1/a/b/c')).toBe(true);
    expect(inside(root, '/dest/host1/..a')).toBe(true);
    expect(inside(root, '/dest/host1/..')).toBe(false);
  });
  it('does not hold for the root itself, its parent, a sibling with the same prefix or a path that climbs out', () => {
    expect(inside(root, root)).toBe(false);
    expect(inside(root, '/dest')).toBe(false);
    expect(inside(root, '/dest/host10/a')).toBe(false);
    expect(inside(root, path.resolve(root, '../host2/x'))).toBe(false);
    expect(inside(root, '/etc/passwd')).toBe(false);
  });
});

describe('pushTarget: where a push lands (the tree --checksum hashes on the host)', () => {
  it('a directory: its contents go into remote, trailing slashes dropped, / stays /', () => {
    expect(pushTarget('/src/app', true, '/srv/app/')).toEqual({ root: '/srv/app' });
    expect(pushTarget('/src/app', true, '/srv/app')).toEqual({ root: '/srv/app' });
    expect(pushTarget('/src/app', true, '///')).toEqual({ root: '/' });
  });
  it('a file lands at remote, or inside it when remote ends with /', () => {
    expect(pushTarget('/src/app.conf', false, '/etc/app.conf')).toEqual({ root: '/etc', file: 'app.conf' });
    expect(pushTarget('/src/app.conf', false, '/etc/')).toEqual({ root: '/etc', file: 'app.conf' });
    expect(pushTarget('/src/app.conf', false, 'rel.conf')).toEqual({ root: '.', file: 'rel.conf' });
  });
});
