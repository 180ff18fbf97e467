import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { foldHosts } from '../../../src/report/fold.js';
import { parseInventory, selectTargets } from '../../../src/inventory/index.js';

const inventory = parseInventory([
  {
    name: 'fleet.ini',
    text: '[web]\nweb[01-04].dc1\n[db]\ndb1.dc1\ndb2.dc2\n[storage]\n10.0.0.[1-5]\nops@10.0.0.9:2222\n',
  },
]).targets;
const files: Record<string, string> = { 'failed.txt': '10.0.0.2\n10.0.0.4\nnot-in-inventory\n' };
const select = (patterns: string) =>
  selectTargets(inventory, patterns, (f) => {
    const text = files[f];
    if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    return text;
  });
const ids = (patterns: string) => select(patterns).targets.map((t) => t.id);

describe('--limit patterns', () => {
  it.each([
    ['web', ['web01.dc1', 'web02.dc1', 'web03.dc1', 'web04.dc1']],
    ['db,web01.dc1', ['web01.dc1', 'db1.dc1', 'db2.dc2']],
    ['*.dc2', ['db2.dc2']],
    ['web0?.dc1,!web02.dc1', ['web01.dc1', 'web03.dc1', 'web04.dc1']],
    ['storage,!10.0.0.[2-4]', ['10.0.0.1', '10.0.0.5', 'ops@10.0.0.9:2222']],
    ['all,&storage,&10.0.0.*', ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', 'ops@10.0.0.9:2222']],
    ['!web,!storage', ['db1.dc1', 'db2.dc2']],
    ['@failed.txt', ['10.0.0.2', '10.0.0.4']],
    ['storage,!@failed.txt', ['10.0.0.1', '10.0.0.3', '10.0.0.5', 'ops@10.0.0.9:2222']],
    ['10.0.0.9', ['ops@10.0.0.9:2222']],
    ['ops@10.0.0.9:2222', ['ops@10.0.0.9:2222']],
  ])('%s selects the right hosts in inventory order', (patterns, expected) => {
    expect(ids(patterns)).toEqual(expected);
  });

  it('reports terms that match nothing (a narrower run, so a warning)', () => {
    expect(select('web,nosuch,&web0*').unmatched).toEqual(['nosuch']);
  });

  it('refuses an exclusion that excludes nothing (a typo there would run on the host meant to be kept out)', () => {
    expect(() => select('all,!wbe03.dc1')).toThrow(
      '--limit "all,!wbe03.dc1": column 5: !wbe03.dc1 excludes no host; refusing to run without the exclusion (check the name)',
    );
    const warned = selectTargets(inventory, 'all,!alsonot', () => '', { unmatchedExclusion: 'warn' });
    expect(warned.unmatched).toEqual(['!alsonot']);
  });

  it('names an unreadable @file', () => {
    expect(() => select('@missing.txt')).toThrow('--limit @missing.txt: cannot read it (no such file)');
  });

  it.each([
    // Commas inside brackets belong to the range: these were split into "!foo[1" and "3]" and ran on every host.
    [
      'all,!web0[1,3].dc1',
      [
        'web02.dc1',
        'web04.dc1',
        'db1.dc1',
        'db2.dc2',
        '10.0.0.1',
        '10.0.0.2',
        '10.0.0.3',
        '10.0.0.4',
        '10.0.0.5',
        'ops@10.0.0.9:2222',
      ],
    ],
    ['10.0.0.[1-2,4]', ['10.0.0.1', '10.0.0.2', '10.0.0.4']],
    ['storage,&10.0.0.[1,3-5]', ['10.0.0.1', '10.0.0.3', '10.0.0.4', '10.0.0.5']],
    // herd's own folded output pasted back.
    ['db[1-2].dc[1-2],web[01-02,04].dc1', ['web01.dc1', 'web02.dc1', 'web04.dc1', 'db1.dc1', 'db2.dc2']],
    ['web0[1-2]*', ['web01.dc1', 'web02.dc1']],
    ['10.0.0.0/29,!10.0.0.[2-4]', ['10.0.0.1', '10.0.0.5']],
    [' web01.dc1 , db1.dc1 ', ['web01.dc1', 'db1.dc1']],
  ])('%s selects exactly its hosts', (patterns, expected) => {
    expect(ids(patterns)).toEqual(expected);
  });

  it.each([
    ['all,!foo[1', '--limit "all,!foo[1": column 9: unterminated ['],
    ['all,!foo1,3]', '--limit "all,!foo1,3]": column 12: unexpected ]'],
    ['web[01-044]', '--limit "web[01-044]": column 5: range 01-044: padding length mismatch'],
    ['web[01:04]', '--limit "web[01:04]": column 4: [01:04] is an Ansible-style range; herd writes it web[01-04]'],
    ['n[1-999999999999]', '--limit "n[1-999999999999]": column 3: range [1-999999999999] is larger than 1000000 hosts'],
    [
      'web;rm',
      '--limit "web;rm": column 4: "web;rm" is not a group, host, glob, range, CIDR block or @file: bad host name "web;rm"',
    ],
    ['all,!', '--limit "all,!": column 5: a ! or & needs a pattern after it'],
    ['!&web', '--limit "!&web": column 2: "&web" is not a group, host, glob, range, CIDR block or @file'],
    ['@', '--limit "@": column 1: @ needs a file name after it'],
    [',', '--limit ",": column 1: no pattern given'],
    ['web/*', 'unexpected "/" in glob "web/*"'],
  ])('refuses %j before any host is contacted: %s', (patterns, message) => {
    expect(() => select(patterns)).toThrow(message);
    try {
      select(patterns);
    } catch (err) {
      expect(err).toMatchObject({ code: 'E_LIMIT' });
    }
  });

  it("herd's folded output pasted back into -l selects exactly the hosts it names (property)", () => {
    const num = fc.oneof(
      fc.integer({ min: 0, max: 120 }).map(String),
      fc.integer({ min: 0, max: 120 }).map((n) => String(n).padStart(3, '0')),
    );
    const name = fc.oneof(
      fc
        .tuple(fc.constantFrom('web', 'db-', 'n'), num, fc.constantFrom('', '.dc1', '.dc2'))
        .map(([a, n, b]) => `${a}${n}${b}`),
      fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 40 })).map(([c, d]) => `10.0.${c}.${d}`),
      fc.constantFrom('::1', 'fe80::2'),
    );
    const host = fc
      .tuple(fc.constantFrom('', 'ops@', 'u1@', 'u2@'), name, fc.constantFrom('', ':2222', ':2223'))
      .map(([u, h, p]) => {
        const v6 = h.includes(':');
        return v6 && p !== '' ? `${u}[${h}]${p}` : `${u}${h}${p}`;
      });
    fc.assert(
      fc.property(
        fc.uniqueArray(host, { minLength: 1, maxLength: 60 }),
        fc.infiniteStream(fc.boolean()),
        (hosts, picks) => {
          const targets = parseInventory([{ name: 'inv', text: `[grp]\n${hosts.join('\n')}\n` }]).targets;
          const wanted = targets.filter(() => picks.next().value);
          if (wanted.length === 0) return;
          const folded = foldHosts(wanted.map((t) => t.id));
          const got = selectTargets(targets, folded, () => '').targets;
          expect(got.map((t) => t.id)).toEqual(wanted.map((t) => t.id));
          // And as an exclusion: everything else.
          const rest = selectTargets(targets, `all,!${folded.split(/,(?![^[]*\])/).join(',!')}`, () => '').targets;
          expect(rest.map((t) => t.id)).toEqual(targets.filter((t) => !wanted.includes(t)).map((t) => t.id));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers any pattern text with a subset of the inventory or a typed usage error (fuzz)', () => {
    const piece = fc.oneof(
      fc.constantFrom(
        'web',
        'db',
        'storage',
        'all',
        '*',
        '!',
        '&',
        '@failed.txt',
        '@',
        ',',
        '[',
        ']',
        '-',
        ':',
        '10.0.0.',
        '[1-3]',
        '[1,3]',
        '[01-044]',
        '[1:3]',
        '[9007199254740993]',
        '[1-99999999999]',
        '?',
        ' ',
        'ops@',
        ':2222',
        '/29',
        '0/30',
      ),
      fc.integer({ min: 0, max: 300 }).map(String),
      fc.string({ maxLength: 4 }),
    );
    fc.assert(
      fc.property(
        fc.array(piece, { minLength: 1, maxLength: 10 }).map((p) => p.join('')),
        (patterns) => {
          // No clock: a hang is the test timeout's to catch; a selection never widens, so count it.
          try {
            const got = select(patterns).targets;
            expect(got.length).toBeLessThanOrEqual(inventory.length);
            for (const t of got) expect(inventory).toContain(t);
          } catch (err) {
            if (!(err instanceof UsageError))
              throw new Error(`${JSON.stringify(patterns)}: ${String(err)}`, { cause: err });
          }
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
