import { describe, expect, it } from 'vitest';
import { playsByHost, selectShard } from '../../../src/cli/shard-select.js';
import { selectionDigest } from '../../../src/inventory/shard.js';
import type { Target } from '../../../src/inventory/types.js';

const targets: Target[] = ['a', 'b', 'c', 'd', 'e'].map((id, i) => ({ id, host: id, groups: [i < 3 ? 'x' : 'y'] }));

describe('selectShard', () => {
  it('without --shard: every target, no plan; the flags that need --shard are refused naming it', () => {
    expect(selectShard({}, targets, {})).toEqual({ targets, plan: null });
    expect(() => selectShard({ shardBy: 'group' }, targets, {})).toThrow('--shard-by needs --shard');
    expect(() => selectShard({ shardCount: '3' }, targets, {})).toThrow('--shard-count needs --shard');
    expect(() => selectShard({ runGroup: 'g' }, targets, {})).toThrow('--run-group needs --shard');
  });

  it("keeps the shard's targets in selection order and records the plan of the whole selection", () => {
    const { targets: mine, plan } = selectShard({ shard: '1/2', shardBy: 'group', runGroup: 'g' }, targets, {});
    expect(mine.map((t) => t.id)).toEqual(['d', 'e']);
    expect(plan!.record).toEqual({
      run_group: 'g',
      index: 1,
      count: 2,
      given: '1/2',
      from_env: null,
      by: 'group',
      selected_hosts: 5,
      selection_digest: selectionDigest(['a', 'b', 'c', 'd', 'e']),
      hosts: 2,
    });
    expect(plan!.all.map((h) => `${h.id}${h.shard}`)).toEqual(['a0', 'b0', 'c0', 'd1', 'e1']);
  });

  it('run group: --run-group, else SLURM_ARRAY_JOB_ID, else a new one; a bad one refused naming its source', () => {
    const env = { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '2', SLURM_ARRAY_JOB_ID: '977' };
    const auto = selectShard({ shard: 'auto' }, targets, env).plan!.record;
    expect(auto).toMatchObject({
      run_group: '977',
      index: 0,
      count: 2,
      given: 'auto',
      from_env: 'SLURM_ARRAY_TASK_ID=0',
    });
    expect(selectShard({ shard: 'auto', runGroup: 'mine' }, targets, env).plan!.record.run_group).toBe('mine');
    const fresh = selectShard({ shard: '0/2' }, targets, {}).plan!.record.run_group;
    expect(fresh).toMatch(/^rg-[0-9a-f]{16}$/);
    expect(selectShard({ shard: '0/2' }, targets, {}).plan!.record.run_group).not.toBe(fresh);
    expect(() => selectShard({ shard: '0/2', runGroup: '../x' }, targets, {})).toThrow(/--run-group "\.\.\/x"/);
    expect(() => selectShard({ shard: '0/2' }, targets, { SLURM_ARRAY_JOB_ID: 'a b' })).toThrow(
      /SLURM_ARRAY_JOB_ID "a b"/,
    );
  });

  it('refuses --shard-count beside K/N, which already says N', () => {
    expect(() => selectShard({ shard: '0/2', shardCount: '2' }, targets, {})).toThrow(
      /--shard-count goes with --shard auto/,
    );
  });

  it("records each host's plays for a playbook run", () => {
    const plays = playsByHost(
      new Map([
        [2, ['a', 'd']],
        [1, ['a']],
      ]),
    );
    expect(plays).toEqual(
      new Map([
        ['a', [1, 2]],
        ['d', [2]],
      ]),
    );
    const { plan } = selectShard({ shard: '0/1' }, targets, {}, plays);
    expect(plan!.all.map((h) => h.plays)).toEqual([[1, 2], [], [], [2], []]);
  });
});
