import { describe, expect, it } from 'vitest';
import {
  judgeConsensus,
  normaliseOutput,
  resolveAmount,
  splitBatches,
  splitSegments,
} from '../../../src/playbook/plan.js';
import type { Play, Step } from '../../../src/playbook/types.js';

const pos = { file: 'p.yml', line: 1, column: 1 };
const step = (index: number, consensus = false): Step =>
  ({
    index,
    name: `s${index}`,
    kind: 'run',
    run: 'true',
    check: consensus,
    ignoreErrors: false,
    become: false,
    position: pos,
    ...(consensus ? { expect: { consensus: true } } : {}),
  }) as Step;
const play = (steps: Step[]): Play => ({ index: 1, name: 'p', hosts: 'all', vars: {}, steps, position: pos });

describe('batches and amounts', () => {
  it.each([
    [{ kind: 'count', n: 3 } as const, 10, 3],
    [{ kind: 'percent', p: 10 } as const, 10, 1],
    [{ kind: 'percent', p: 10 } as const, 15, 2],
    [{ kind: 'percent', p: 1 } as const, 5, 1],
  ])('resolves %j of %i hosts to %i', (amount, total, expected) => {
    expect(resolveAmount(amount, total)).toBe(expected);
  });

  it('splits hosts into serial batches, the first being the canary', () => {
    expect(splitBatches([1, 2, 3, 4, 5], { kind: 'count', n: 2 })).toEqual([[1, 2], [3, 4], [5]]);
    expect(splitBatches([1, 2, 3], undefined)).toEqual([[1, 2, 3]]);
  });
});

describe('segments at consensus steps', () => {
  it('cuts after each consensus step', () => {
    expect(splitSegments(play([step(1, true), step(2), step(3, true), step(4)]))).toEqual([
      { from: 1, to: 1, gate: true },
      { from: 2, to: 3, gate: true },
      { from: 4, to: 4, gate: false },
    ]);
    expect(splitSegments(play([step(1), step(2)]))).toEqual([{ from: 1, to: 2, gate: false }]);
  });
});

describe('judging consensus', () => {
  it('ignores trailing whitespace and blank lines', () => {
    expect(normaliseOutput('a  \nb\n\n')).toBe('a\nb');
  });

  it('holds back the minority', () => {
    const v = judgeConsensus(
      new Map([
        ['h1', 'sdb\n'],
        ['h2', 'sdb'],
        ['h3', 'sdm\n'],
      ]),
    );
    expect(v.majority).toBe('sdb');
    expect(v.diverged).toEqual(['h3']);
    expect(v.groups.map((g) => g.hosts)).toEqual([['h1', 'h2'], ['h3']]);
  });

  it('holds back everyone when the largest groups tie', () => {
    const v = judgeConsensus(
      new Map([
        ['h1', 'a'],
        ['h2', 'b'],
      ]),
    );
    expect(v.majority).toBeNull();
    expect(v.diverged.sort()).toEqual(['h1', 'h2']);
  });

  it('judges a later batch against the canary reference', () => {
    const v = judgeConsensus(
      new Map([
        ['h4', 'sdm'],
        ['h5', 'sdm'],
        ['h6', 'sdb'],
      ]),
      'sdb',
    );
    expect(v.diverged).toEqual(['h4', 'h5']);
  });
});
