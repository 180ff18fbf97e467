// ClusterShell is the oracle for range syntax and folding: herd copies its padding rules, and an
// operator who pastes between `nodeset` and herd must get the same hosts. The whole corpus goes to
// ClusterShell's NodeSet (the library behind `nodeset`) in one python process, as python start-up
// costs ~100 ms; two real `nodeset -f` / `nodeset -e` calls check that library and CLI agree.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { expandRanges } from '../../../src/inventory/ranges.js';
import { foldHosts } from '../../../src/report/fold.js';

const NODESET = ['/usr/bin/nodeset', '/usr/local/bin/nodeset'].find((p) => fs.existsSync(p));

/** nodeset's own interpreter (its #! line), which is the one that can import ClusterShell. */
function python(): string {
  const shebang = fs.readFileSync(NODESET!, 'utf8').split('\n')[0]!;
  return shebang.replace(/^#!\s*/, '').split(/\s+/)[0]!;
}

const DRIVER = `
import json, sys
from ClusterShell.NodeSet import NodeSet
out = []
for c in json.load(sys.stdin):
    try:
        if c['op'] == 'fold':
            out.append({'ok': str(NodeSet.fromlist(c['hosts']))})
        else:
            out.append({'ok': list(NodeSet(c['pattern']))})
    except Exception as e:
        out.append({'error': '%s: %s' % (type(e).__name__, e)})
json.dump(out, sys.stdout)
`;

type Case = { op: 'fold'; hosts: string[] } | { op: 'expand'; pattern: string };
type Answer = { ok: string | string[] } | { error: string };

const seq = (prefix: string, from: number, to: number, width = 0, suffix = ''): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${String(from + i).padStart(width, '0')}${suffix}`);

/** Deterministic scattered hosts (at most a few thousand distinct names exist). */
function scattered(n: number, seed: number): string[] {
  // 32-bit LCG in integer arithmetic (a double product would lose bits and cycle early).
  const rand = (m: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), (seed >>> 8) % m);
  const out = new Set<string>();
  while (out.size < n) {
    const kind = rand(4);
    if (kind === 0) out.add(`web${String(rand(1200)).padStart(2, '0')}`);
    else if (kind === 1) out.add(`db${rand(1200)}`);
    else if (kind === 2) out.add(`r${rand(3)}n${String(rand(120)).padStart(3, '0')}`);
    else out.add(`10.0.${rand(3)}.${rand(255)}`);
  }
  return [...out];
}

/** Folds where herd's text must equal nodeset -f's text. */
const SAME_FOLD: string[][] = [
  seq('foo', 1, 11, 2),
  seq('web', 1, 20, 2, '.dc1'),
  seq('foo', 9, 11),
  seq('foo', 98, 101, 3),
  ['foo8', 'foo9', 'foo10', 'foo08', 'foo09'],
  ['foo1', 'foo01', 'foo001'],
  ['foo009', 'foo10'],
  ['foo99', 'foo100'],
  ['foo0', 'foo00', 'foo000'],
  ['n12345678901234567890', 'n12345678901234567891'],
  ['n9007199254740992', 'n9007199254740993', 'n9007199254740994'],
  ['n99999999999999999999', 'n100000000000000000000'],
  seq('10.0.0.', 1, 3),
  ['10.0.0.1', '10.0.0.3', '10.0.0.4', '10.0.0.9'],
  [...seq('web', 1, 2, 2, '.dc1'), ...seq('web', 1, 2, 2, '.dc2')],
  ['web01.dc1', 'web02.dc1', 'web01.dc2'],
  ['a1b2', 'a1b3', 'a2b2'],
  ['db1', 'web1'],
  ['b2', 'a1', 'c3', 'a2'],
  ['n1', 'n3', 'n5', 'n7'],
  ['x', 'y', 'z'],
  ['web9.dc1', 'web10.dc1', 'web009.dc1'],
  ['10.0.1.1', '10.0.1.2', '10.0.2.1', '10.0.2.2', '10.0.3.1'],
  [...seq('node', 1, 3, 0, '-ib'), ...seq('node', 1, 3)],
  [...seq('10.0.1.', 1, 250), ...seq('10.0.2.', 1, 250), ...seq('10.0.3.', 1, 250), ...seq('10.0.4.', 1, 7)],
  scattered(300, 7),
];

/**
 * Folds where herd deliberately differs in text, never in hosts. herd folds the right-most numeric
 * field first (for addresses: per octet, the last one first), where ClusterShell's RangeSetND
 * may fold another axis first (a1b1,a2b[1-2] against a[1-2]b1,a2b2); and herd always lists terms
 * in natural order (n1x[1-3] before n[2-3]x[1-2]; r1n[...] before r2n[...]), where RangeSetND
 * lists them in the order its folding produced them.
 */
const SAME_HOSTS_FOLD: string[][] = [
  ['a1b1', 'a2b1', 'a2b2'],
  [...seq('n1x', 1, 3), ...seq('n2x', 1, 2), ...seq('n3x', 1, 2)],
  scattered(2000, 11),
];

/** Patterns both expand to the same set of hosts. */
const SAME_EXPANSION = [
  'n[1-3,5]',
  'foo[01-03]x[1-2]',
  'n[0-10]',
  'n[00-10]',
  'n[9-10]',
  'n[09-10]',
  'n[098-100]',
  'n[001-010]',
  'n[0-0]',
  'n[000]',
  'n[1,1,2]',
  'n[2,1]',
  '10.0.[1-2].[1-3]',
  'n[1-3]-[1-2]',
  'n[1-2]x[01-02]y',
  'n[9007199254740991-9007199254740994]',
  'n[12345678901234567890-12345678901234567891]',
  'web[01-20].dc1',
  'n[1,3,7-9]',
  // From ClusterShell's own RangeSet and nodeset test suites.
  'foo[1-200,245-394]',
  'foo[0-200,245-394]',
  'n[1-3,4-6]',
  'n[0]',
];

/** Patterns both refuse (ClusterShell: padding length mismatch, invalid range, missing bracket, ...). */
const BOTH_REFUSE = [
  'n[01-044]',
  'n[001-44]',
  'n[1-010]',
  'n[010-1]',
  'n[09-100]',
  'n[01-1]',
  'n[1-01]',
  'n[5-1]',
  'n[]',
  'n[1-2',
  'n1-2]',
  'n[a-b]',
  'n[1-2,]',
  'n[,1]',
  'n[1--2]',
  'web[01:50]',
  'n[1-999999999999]',
  // From ClusterShell's RangeSetErrorTest.
  'n[004-002]',
  'n[-]',
  'n[A]',
  'n[3-59/2,102a]',
];

/**
 * Patterns herd refuses and ClusterShell accepts, on purpose: step ranges (herd has none and says
 * so), a negative-looking item, and blanks inside brackets (herd's inventory splits on blanks).
 */
const HERD_REFUSES = ['n[1-4/2]', 'n[-1]', 'n[ 1-2]'];

const cases: Case[] = [
  ...SAME_FOLD.map((hosts) => ({ op: 'fold' as const, hosts })),
  ...SAME_HOSTS_FOLD.map((hosts) => ({ op: 'fold' as const, hosts })),
  ...[...SAME_EXPANSION, ...BOTH_REFUSE, ...HERD_REFUSES].map((pattern) => ({ op: 'expand' as const, pattern })),
];
let answers: Answer[] = [];

function nodesetExpand(text: string): string[] {
  const answer = answers[cases.findIndex((c) => c.op === 'expand' && c.pattern === text)];
  if (answer === undefined) throw new Error(`no oracle answer for ${text}`);
  if (!('ok' in answer) || !Array.isArray(answer.ok))
    throw new Error(`nodeset refused ${text}: ${JSON.stringify(answer)}`);
  return answer.ok;
}

/** Expand herd's folded text with herd's own parser: terms split on top-level commas. */
function herdExpandFolded(folded: string): string[] {
  return folded.split(/,(?![^[]*\])/).flatMap((t) => expandRanges(t));
}

describe('ClusterShell nodeset as the oracle', () => {
  beforeAll(() => {
    if (!NODESET) throw new Error('nodeset (ClusterShell) is missing: .ci/setup installs the clustershell package');
    answers = JSON.parse(
      execFileSync(python(), ['-c', DRIVER], { input: JSON.stringify(cases), encoding: 'utf8' }),
    ) as Answer[];
    expect(answers).toHaveLength(cases.length);
  });

  it('the library answers as the nodeset command does', () => {
    expect(execFileSync(NODESET!, ['-f', ...seq('foo', 1, 11, 2)], { encoding: 'utf8' }).trim()).toBe('foo[01-11]');
    expect(execFileSync(NODESET!, ['-e', 'n[9-10]x[01-02]'], { encoding: 'utf8' }).trim()).toBe(
      'n9x01 n9x02 n10x01 n10x02',
    );
  });

  const label = (h: string[]): string => (h.length <= 6 ? h.join(' ') : `${h[0]} .. ${h.at(-1)} (${h.length} hosts)`);

  it.each(SAME_FOLD.map((h) => [label(h), h] as const))('folds %s as nodeset -f does', (_, hosts) => {
    const i = cases.findIndex((c) => c.op === 'fold' && c.hosts === hosts);
    expect(foldHosts(hosts)).toBe((answers[i] as { ok: string }).ok);
  });

  it.each(SAME_HOSTS_FOLD.map((h) => [label(h), h] as const))(
    'folds %s to the same hosts as nodeset -f, in no more terms',
    (_, hosts) => {
      const i = cases.findIndex((c) => c.op === 'fold' && c.hosts === hosts);
      const theirs = (answers[i] as { ok: string }).ok;
      const ours = foldHosts(hosts);
      expect(new Set(herdExpandFolded(ours))).toEqual(new Set(hosts));
      // nodeset's folded text, expanded by herd's parser, gives the same hosts too.
      expect(new Set(herdExpandFolded(theirs))).toEqual(new Set(hosts));
      expect(ours.split(/,(?![^[]*\])/).length).toBeLessThanOrEqual(theirs.split(/,(?![^[]*\])/).length);
    },
  );

  it.each(SAME_EXPANSION)('expands %s to the hosts nodeset -e gives', (pattern) => {
    expect(new Set(expandRanges(pattern))).toEqual(new Set(nodesetExpand(pattern)));
  });

  it.each(BOTH_REFUSE)('refuses %s, as nodeset does', (pattern) => {
    const answer = answers[cases.findIndex((c) => c.op === 'expand' && c.pattern === pattern)];
    expect(answer).toHaveProperty('error');
    expect(() => expandRanges(pattern)).toThrow();
  });

  it.each(HERD_REFUSES)('refuses %s, which nodeset accepts (deliberate: see HERD_REFUSES)', (pattern) => {
    expect(answers[cases.findIndex((c) => c.op === 'expand' && c.pattern === pattern)]).toHaveProperty('ok');
    expect(() => expandRanges(pattern)).toThrow();
  });
});
