import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSha256Listing, sha256File } from '../../../src/transfer/checksum.js';

const HASH = 'a'.repeat(64);

describe('parseSha256Listing: the output of `find . -type f -exec sha256sum -- {} +` on a host', () => {
  it('reads what the real sha256sum prints for a tree (the oracle), names with spaces included', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-sha-'));
    fs.mkdirSync(path.join(dir, 'sub dir'));
    fs.writeFileSync(path.join(dir, 'a.txt'), 'alpha\n');
    fs.writeFileSync(path.join(dir, 'sub dir', 'b c.bin'), Buffer.alloc(70_000, 7));
    const out = execFileSync('sh', ['-c', 'find . -type f -exec sha256sum -- {} +'], { cwd: dir, encoding: 'utf8' });
    const hashes = parseSha256Listing(out);
    expect([...hashes.keys()].sort()).toEqual(['a.txt', 'sub dir/b c.bin']);
    expect(hashes.get('a.txt')).toBe(sha256File(path.join(dir, 'a.txt')));
    expect(hashes.get('sub dir/b c.bin')).toBe(sha256File(path.join(dir, 'sub dir', 'b c.bin')));
    fs.rmSync(dir, { recursive: true });
  });

  it('ignores what is not a line of it: errors, escaped names (sha256sum prefixes a backslash), short or upper-case hashes', () => {
    const text = [
      `${HASH}  ./ok`,
      'sha256sum: ./gone: No such file or directory',
      `\\${HASH}  ./new\\nline`,
      `${'b'.repeat(63)}  ./short`,
      `${'C'.repeat(64)}  ./upper`,
      `${HASH} ./one-space`,
      `${HASH}  /abs/path`,
      '',
    ].join('\n');
    expect([...parseSha256Listing(text)]).toEqual([['ok', HASH]]);
  });

  it('keeps the last hash for a name listed twice, and a name that only looks hostile as the text it is', () => {
    const text = `${HASH}  ./x\n${'b'.repeat(64)}  ./x\n${HASH}  ./../escape\n`;
    const hashes = parseSha256Listing(text);
    expect(hashes.get('x')).toBe('b'.repeat(64));
    // The map is only looked up by the relative paths herd itself walks; a name like this is never one.
    expect(hashes.get('../escape')).toBe(HASH);
  });
});
