import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldHosts } from '../../../src/report/fold.js';
import { expandRanges } from '../../../src/inventory/index.js';

/** Expand a folded text back into hosts (the inventory's own range expansion). */
function expand(folded: string): string[] {
  // Split on commas outside brackets.
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of folded) {
    if (c === '[') depth++;
    if (c === ']') depth--;
    if (c === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += c;
  }
  if (current) terms.push(current);
  return terms.flatMap((t) => expandRanges(t));
}

describe('folding hosts into ranges', () => {
  it.each([
    [['10.0.0.1'], '10.0.0.1'],
    [['10.0.0.1', '10.0.0.2', '10.0.0.3'], '10.0.0.[1-3]'],
    [['10.0.0.1', '10.0.0.3', '10.0.0.4', '10.0.0.9'], '10.0.0.[1,3-4,9]'],
    [['web01.dc1', 'web02.dc1', 'web03.dc1'], 'web[01-03].dc1'],
    [['web01.dc1', 'web02.dc1', 'web01.dc2', 'web02.dc2'], 'web[01-02].dc[1-2]'],
    [['db1', 'web1'], 'db1,web1'],
    [['10.0.0.1:2222', '10.0.0.2:2222', '10.0.0.3:22'], '10.0.0.[1-2]:2222,10.0.0.3:22'],
    [['[::1]:22', '10.0.0.1'], '10.0.0.1,[::1]:22'],
    [['ops@10.0.0.1', 'ops@10.0.0.2'], 'ops@10.0.0.[1-2]'],
    // Zero padding across a digit boundary folds as ClusterShell and pdsh do.
    [Array.from({ length: 11 }, (_, i) => `foo${String(i + 1).padStart(2, '0')}`), 'foo[01-11]'],
    [Array.from({ length: 20 }, (_, i) => `web${String(i + 1).padStart(2, '0')}.dc1`), 'web[01-20].dc1'],
    [['foo9', 'foo10', 'foo11'], 'foo[9-11]'],
    [['foo098', 'foo099', 'foo100', 'foo101'], 'foo[098-101]'],
    [['foo8', 'foo9', 'foo10', 'foo08', 'foo09'], 'foo[8-9,08-10]'],
    [['foo1', 'foo01', 'foo001'], 'foo[1,01,001]'],
    [['foo009', 'foo10'], 'foo[10,009]'],
    [['foo99', 'foo100'], 'foo[99-100]'],
    [['foo099', 'foo100'], 'foo[099-100]'],
    [['foo99', 'foo099'], 'foo[99,099]'],
    // Numbers past 2^53 stay exact.
    [['n12345678901234567890'], 'n12345678901234567890'],
    [['n9007199254740992', 'n9007199254740993', 'n9007199254740994'], 'n[9007199254740992-9007199254740994]'],
    [['n99999999999999999999', 'n100000000000000000000'], 'n[99999999999999999999-100000000000000000000]'],
  ])('folds %j into %s', (hosts, folded) => {
    expect(foldHosts(hosts)).toBe(folded);
  });

  it('folds a full /16-style block in two dimensions', () => {
    const hosts: string[] = [];
    for (let c = 1; c <= 3; c++) for (let d = 1; d <= 250; d++) hosts.push(`10.0.${c}.${d}`);
    for (let d = 1; d <= 7; d++) hosts.push(`10.0.4.${d}`);
    expect(foldHosts(hosts)).toBe('10.0.[1-3].[1-250],10.0.4.[1-7]');
  });

  // No speed bound: a fold that is quadratic in the hosts (10^12 steps at this size) cannot finish within the
  // test timeout, which only guards against a hang; the machine's speed decides nothing here.
  it('folds 1,000,000 hosts (no Math.max(...) spread) exactly', () => {
    const hosts: string[] = [];
    for (let b = 0; b < 16 && hosts.length < 1_000_000; b++) {
      for (let c = 0; c < 256 && hosts.length < 1_000_000; c++)
        for (let d = 1; d <= 250; d++) hosts.push(`10.${b}.${c}.${d}`);
    }
    expect(foldHosts(hosts)).toBe('10.[0-14].[0-255].[1-250],10.15.[0-159].[1-250]');
  }, 120_000);

  it('folds 1,000,000 names that do not fold at all, and keeps every one', () => {
    const letters = (i: number): string =>
      (i < 26 ? '' : letters(Math.floor(i / 26) - 1)) + String.fromCharCode(97 + (i % 26));
    const hosts = Array.from({ length: 1_000_000 }, (_, i) => `h${letters(i)}`);
    const folded = foldHosts(hosts);
    expect(folded.split(',')).toHaveLength(1_000_000);
  });

  it('gives back exactly the same set when expanded, for 1,000,000 scattered draws (repeats included)', () => {
    const hosts: string[] = [];
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    while (hosts.length < 1_000_000)
      hosts.push(`10.${rand(4)}.${rand(60)}.${1 + rand(250)}`, `web${String(rand(300)).padStart(3, '0')}.dc${rand(3)}`);
    const folded = foldHosts(hosts);
    expect(new Set(expand(folded))).toEqual(new Set(hosts));
  }, 120_000);

  it('expands back to exactly the hosts it was given, whatever their padding and sizes (property)', () => {
    const digits = fc.oneof(
      fc.integer({ min: 0, max: 130 }).map(String),
      fc
        .tuple(fc.integer({ min: 0, max: 130 }), fc.integer({ min: 2, max: 4 }))
        .map(([n, w]) => String(n).padStart(w, '0')),
      fc.bigInt({ min: 2n ** 53n - 3n, max: 2n ** 53n + 3n }).map(String),
    );
    const host = fc
      .tuple(fc.constantFrom('n', 'web', 'r', ''), digits, fc.constantFrom('', '.dc', 'x'), fc.option(digits))
      .map(([a, d1, b, d2]) => `${a || 'h'}${d1}${b}${b === '' ? '' : (d2 ?? '')}`);
    fc.assert(
      fc.property(fc.array(host, { minLength: 1, maxLength: 40 }), (hosts) => {
        expect(new Set(expand(foldHosts(hosts)))).toEqual(new Set(hosts));
      }),
      { numRuns: 500 },
    );
  });
});
