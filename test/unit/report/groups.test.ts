import { describe, expect, it } from 'vitest';
import { formatGroups, groupOutputs, type HostOutputEntry } from '../../../src/report/groups.js';

const entry = (id: string, text: string): HostOutputEntry => ({
  id,
  exitCode: 0,
  summary: { digest: text, preview: `${text}\n`, bytes: text.length + 1, truncated: false },
});
const view = (outputs: string[], all = false): string => formatGroups(groupOutputs(outputs.map((t, i) => entry(`h${i + 1}`, t))), all);
const headers = (text: string): number => text.split('\n').filter((l) => l.startsWith('==== ')).length;

describe('grouped view threshold', () => {
  it('keeps every group for one majority and up to 7 minorities', () => {
    const text = view([...Array(10).fill('same'), 'a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(headers(text)).toBe(8);
    expect(text).not.toContain('more distinct');
    expect(text.split('\n').slice(0, 4)).toEqual(['==== 10 hosts exit 0: h[1-10]', '   same', '==== DIFFERS 1 host exit 0: h11', '   a']);
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
