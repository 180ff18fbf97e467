import { describe, expect, it } from 'vitest';
import { formatDiff } from '../../../src/report/diff.js';

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
