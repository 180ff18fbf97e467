// --limit globs: `*` and `?` are the only wildcards; everything else, dots included, is literal.
import { describe, expect, it } from 'vitest';
import { compileGlob, globMatches } from '../../../src/inventory/glob.js';

describe('globs', () => {
  it('* is any run of characters, ? exactly one, anchored at both ends', () => {
    const web = compileGlob('web*');
    expect(['web', 'web1', 'web-10.example.com'].map(web)).toEqual([true, true, true]);
    expect(['aweb1', 'we'].map(web)).toEqual([false, false]);
    const one = compileGlob('db?');
    expect(['db1', 'db', 'db10'].map(one)).toEqual([true, false, false]);
    expect(globMatches('*.example.com', 'a.b.example.com')).toBe(true);
    expect(globMatches('10.0.*.1', '10.0.255.1')).toBe(true);
  });

  it('takes regex characters literally: a dot is a dot, a limit never widens', () => {
    expect(globMatches('10.0.0.1', '10.0.0.1')).toBe(true);
    expect(globMatches('10.0.0.1', '10a0b0c1')).toBe(false);
    expect(globMatches('10.0.0.*', '10x0x0x5')).toBe(false);
    for (const p of ['a+', 'a|b', '(a)', 'a{2}', '^a', 'a$', 'a\\d', '[ab]']) {
      expect(globMatches(`${p}*`, `${p}x`), p).toBe(true);
      expect(globMatches(`${p}*`, 'aa'), p).toBe(false);
      expect(globMatches(`${p}*`, 'b'), p).toBe(false);
    }
  });

  it('without a wildcard is an exact match', () => {
    expect(globMatches('web1', 'web1')).toBe(true);
    expect(globMatches('web1', 'web10')).toBe(false);
    expect(globMatches('web1', 'WEB1')).toBe(false);
  });
});
