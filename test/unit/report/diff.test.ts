import { describe, expect, it } from 'vitest';
import { diffRecords, formatDiff } from '../../../src/report/diff.js';

const outputs = new Map([
  ['10.0.0.1', 'sda disk 100G\nsdb disk 2T\n'],
  ['10.0.0.2', 'sda disk 100G\nsdb disk 2T\n'],
  ['10.0.0.3', 'sda disk 100G\nsdb disk 2T\n'],
  ['10.0.0.4', 'sda disk 100G\nsdm disk 2T\n'],
]);

describe('diff against the majority', () => {
  it('shows each variant as a unified diff against the majority, with hosts folded', () => {
    const { text, differs } = formatDiff(outputs);
    expect(differs).toBe(true);
    expect(text).toBe(
      [
        'majority: 3 hosts: 10.0.0.[1-3]',
        '',
        'differs: 1 host: 10.0.0.4',
        '--- majority',
        '+++ 1 host: 10.0.0.4',
        '@@ -1,2 +1,2 @@',
        ' sda disk 100G',
        '-sdb disk 2T',
        '+sdm disk 2T',
        '',
      ].join('\n'),
    );
  });

  it('compares with one host when asked', () => {
    const { text } = formatDiff(outputs, '10.0.0.4');
    expect(text.split('\n').slice(0, 3)).toEqual([
      'as 10.0.0.4: 1 host: 10.0.0.4',
      '',
      'differs: 3 hosts: 10.0.0.[1-3]',
    ]);
  });

  it('says so when every host agrees', () => {
    expect(
      formatDiff(
        new Map([
          ['a', 'x'],
          ['b', 'x'],
        ]),
      ),
    ).toEqual({ text: 'majority: 2 hosts: a,b\nall 2 hosts printed the same output\n', differs: false });
  });
});

describe('what a host prints', () => {
  it('stays in the patch, prefixed, even a line of = signs like the separator that is dropped', () => {
    const { text } = formatDiff(
      new Map([
        ['a', 'x\n'],
        ['b', 'x\n'],
        ['c', '=====\n+++ fake\n'],
      ]),
    );
    expect(text).toContain('\n+=====\n++++ fake\n');
    expect(text.split('\n').filter((l) => /^=+$/.test(l))).toEqual([]);
  });
});

describe('--json records', () => {
  it('the reference first with its output, each other variant with its diff', () => {
    const records = diffRecords(outputs);
    expect(records.map((r) => [r['reference'], r['count'], r['folded']])).toEqual([
      [true, 3, '10.0.0.[1-3]'],
      [false, 1, '10.0.0.4'],
    ]);
    expect(records[0]!['output']).toBe('sda disk 100G\nsdb disk 2T\n');
    expect(records[1]!['diff']).toContain('-sdb disk 2T\n+sdm disk 2T');
    expect(diffRecords(outputs, '10.0.0.4')[1]!['reference']).toBe(true);
    expect(diffRecords(new Map())).toEqual([]);
  });
});

describe('at fleet scale', () => {
  it('groups 100,000 hosts in linear time (no copy of the host list per host)', () => {
    const many = new Map<string, string>();
    for (let i = 0; i < 100_000; i++)
      many.set(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, i % 10_000 === 1 ? `odd ${i}\n` : 'same\n');
    const started = Date.now();
    const { text, differs } = formatDiff(many);
    expect(Date.now() - started).toBeLessThan(10_000); // linear: well under a second; a copy per host: minutes
    expect(differs).toBe(true);
    expect(text.split('\n')[0]).toMatch(/^majority: 99990 hosts: 10\.0\.0\.\[0,2-255\],/);
    expect(text.split('\n').filter((l) => l.startsWith('differs: 1 host: '))).toHaveLength(10);
  }, 30_000);
});
