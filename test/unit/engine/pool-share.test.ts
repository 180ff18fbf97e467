import { describe, expect, it } from 'vitest';
import { shareOf } from '../../../src/engine/pool.js';
import { planJobs } from '../../../src/engine/run.js';

describe('splitting forks over workers', () => {
  it.each([
    [256, 2, [128, 128]],
    [5, 2, [3, 2]],
    [1, 3, [1, 1, 1]],
  ])('%i sessions over %i workers', (total, parts, expected) => {
    expect(Array.from({ length: parts }, (_, i) => shareOf(total, parts, i))).toEqual(expected);
  });
});

describe('planning jobs', () => {
  it('fills in the default user and port and gives each job its own tag', () => {
    const jobs = planJobs(
      [
        { id: '10.0.0.1', host: '10.0.0.1', groups: [] },
        { id: 'ops@10.0.0.2:2222', host: '10.0.0.2', port: 2222, user: 'ops', groups: [] },
      ],
      'me',
      22,
    );
    expect(jobs.map(({ tag: _t, ...j }) => j)).toEqual([
      { id: '10.0.0.1', host: '10.0.0.1', port: 22, user: 'me' },
      { id: 'ops@10.0.0.2:2222', host: '10.0.0.2', port: 2222, user: 'ops' },
    ]);
    expect(jobs[0]!.tag).toMatch(/^[0-9a-f]{16}$/);
    expect(jobs[0]!.tag).not.toBe(jobs[1]!.tag);
  });
});
