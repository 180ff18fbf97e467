import { describe, expect, it } from 'vitest';
import { looksLikeTempName, tempName, tempTarget } from '../../../src/transfer/temp-name.js';

describe('temporary file names', () => {
  it('are random, say which file they are for, and are recognised as herd temporary names', () => {
    const a = tempName('app.conf');
    const b = tempName('app.conf');
    expect(a).toMatch(/^\.app\.conf\.[0-9a-f]{16}\.herd-tmp$/);
    expect(a).not.toBe(b);
    expect(tempTarget(a)).toBe('app.conf');
    expect(looksLikeTempName(a)).toBe(true);
  });

  it('stay within 255 bytes for a long name, which then goes unrecorded', () => {
    const long = 'é'.repeat(127); // 254 bytes
    const t = tempName(long);
    expect(Buffer.byteLength(t)).toBeLessThanOrEqual(255);
    expect(t).toMatch(/^\.[0-9a-f]{16}\.herd-tmp$/);
    expect(tempTarget(t)).toBeUndefined();
    expect(looksLikeTempName(t)).toBe(true);
  });

  it('tempTarget only accepts herd random names; the old fixed name is still recognised as a temporary name', () => {
    expect(tempTarget('.x.herd-tmp')).toBeUndefined();
    expect(looksLikeTempName('.x.herd-tmp')).toBe(true);
    expect(tempTarget('.x.0123456789ABCDEF.herd-tmp')).toBeUndefined();
    expect(tempTarget('x.0123456789abcdef.herd-tmp')).toBeUndefined();
    expect(tempTarget('..0123456789abcdef.herd-tmp')).toBeUndefined();
    expect(tempTarget('.a.b.0123456789abcdef.herd-tmp')).toBe('a.b');
    expect(looksLikeTempName('notes.txt')).toBe(false);
  });
});
