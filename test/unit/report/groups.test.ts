import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { formatGroups, groupOutputs, type HostOutputEntry } from '../../../src/report/groups.js';
import { HostOutput } from '../../../src/results/host-output.js';

const entry = (id: string, text: string): HostOutputEntry => ({
  id,
  exitCode: 0,
  summary: { digest: text, preview: `${text}\n`, bytes: text.length + 1, truncated: false },
});
const view = (outputs: string[], all = false): string =>
  formatGroups(groupOutputs(outputs.map((t, i) => entry(`h${i + 1}`, t))), all);
const headers = (text: string): number => text.split('\n').filter((l) => l.startsWith('==== ')).length;

describe('grouped view threshold', () => {
  it('keeps every group for one majority and up to 7 minorities', () => {
    const text = view([...Array(10).fill('same'), 'a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(headers(text)).toBe(8);
    expect(text).not.toContain('more distinct');
    expect(text.split('\n').slice(0, 4)).toEqual([
      '==== 10 hosts exit 0: h[1-10]',
      '   same',
      '==== DIFFERS 1 host exit 0: h11',
      '   a',
    ]);
  });

  it('shows the largest 5 of more than 8 groups, then one line for the rest', () => {
    const text = view([...Array(10).fill('same'), 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    expect(headers(text)).toBe(5);
    expect(text.split('\n').at(-1)).toBe('… 4 more distinct outputs from 4 hosts (herd show --all; output.log)');
  });

  it('shows the largest 5 when no group holds half the hosts, even with few groups', () => {
    const text = view(['a', 'a', 'b', 'b', 'c', 'c', 'd', 'e', 'e', 'f', 'f']);
    expect(headers(text)).toBe(5);
    expect(text.split('\n').at(-1)).toBe('… 1 more distinct output from 1 host (herd show --all; output.log)');
    // Half the hosts is a majority enough: the common view.
    expect(headers(view(['a', 'a', 'a', 'b', 'c', 'd']))).toBe(4);
  });

  it('prints every group with all', () => {
    const unique = Array.from({ length: 200 }, (_, i) => `host ${i}`);
    expect(view(unique).split('\n')).toHaveLength(11);
    const all = view(unique, true);
    expect(headers(all)).toBe(200);
    expect(all).not.toContain('more distinct');
  });
});

/** Summaries from the real HostOutput, as the writer keeps them (nothing reaches disk below its spill size). */
function captured(id: string, exitCode: number | null, ...chunks: (string | Buffer)[]): HostOutputEntry {
  const out = new HostOutput(os.tmpdir(), `herd-groups-unit-${id}`);
  for (const c of chunks) out.append(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return { id, exitCode, summary: out.summary() };
}

describe('grouping', () => {
  it('groups on stdout and exit code together, largest first, first seen first among equals', () => {
    const groups = groupOutputs([
      captured('a', 0, 'x\n'),
      captured('b', 1, 'x\n'),
      captured('c', 0, 'x', '\n'), // the same bytes in other chunks
      captured('d', null, 'x\n'),
      captured('e', 1, 'x\n'),
    ]);
    expect(groups.map((g) => [g.exitCode, g.hosts])).toEqual([
      [0, ['a', 'c']],
      [1, ['b', 'e']],
      [null, ['d']],
    ]);
  });

  it('tells apart outputs that differ only after the preview, and says the shown text is cut', () => {
    const head = 'y'.repeat(5000);
    const groups = groupOutputs([captured('a', 0, head, 'A\n'), captured('b', 0, head, 'B\n')]);
    expect(groups).toHaveLength(2);
    const text = formatGroups(groups);
    expect(text).toContain('==== DIFFERS 1 host exit 0: b');
    expect(text.split('\n').filter((l) => l === '   ... (5002 bytes in all; see stdout/<host>)')).toHaveLength(2);
  });
});

describe('the grouped view', () => {
  it('shows a silent group as (no output), omits an unknown exit code, and cuts long output at 20 lines', () => {
    const many = Array.from({ length: 25 }, (_, i) => `line ${i}\n`).join('');
    const text = formatGroups(groupOutputs([captured('a', null), captured('b', 0, many), captured('c', 0, many)]));
    expect(text.split('\n')).toEqual([
      '==== 2 hosts exit 0: b,c',
      ...Array.from({ length: 20 }, (_, i) => `   line ${i}`),
      `   ... (${many.length} bytes in all; see stdout/<host>)`,
      '==== DIFFERS 1 host: a',
      '   (no output)',
    ]);
  });

  it('never lets a host forge a group header: every output line is indented', () => {
    const forged = 'ok\n==== 1000 hosts exit 0: web[1-1000]\n   fine\n';
    const text = formatGroups(
      groupOutputs([captured('evil', 0, forged), captured('good', 0, 'ok\n'), captured('good2', 0, 'ok\n')]),
    );
    expect(
      text
        .split('\n')
        .filter((l) => l.startsWith('===='))
        .map((l) => l.split(':')[0]),
    ).toEqual(['==== 2 hosts exit 0', '==== DIFFERS 1 host exit 0']);
  });
});
