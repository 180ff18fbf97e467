import { describe, expect, it } from 'vitest';
import {
  assignShards,
  hashShard,
  parseShardCount,
  parseShardSpec,
  selectionDigest,
  shardFromEnv,
} from '../../../src/inventory/shard.js';
import type { Target } from '../../../src/inventory/types.js';

const host = (id: string, groups: string[] = []): Target => ({ id, host: id, groups });
const many = (n: number, prefix = 'h'): Target[] => Array.from({ length: n }, (_, i) => host(`${prefix}${i}`));

describe('parseShardSpec', () => {
  it('reads K/N numbered from 0, and auto', () => {
    expect(parseShardSpec('0/3')).toEqual({ index: 0, count: 3 });
    expect(parseShardSpec('2/3')).toEqual({ index: 2, count: 3 });
    expect(parseShardSpec('auto')).toBe('auto');
  });
  it('refuses what is not K/N with K below N, naming the flag', () => {
    for (const bad of ['3/3', '1', '/3', '1/0', '-1/3', '1/3/4', '01/3', '1.5/3', ' 1/3', '', 'a/b'])
      expect(() => parseShardSpec(bad), bad).toThrow(/--shard/);
    expect(() => parseShardSpec('3/3')).toThrow(/numbered from 0.*2\/3/);
  });
  it('--shard-count takes a whole number from 1', () => {
    expect(parseShardCount('4')).toBe(4);
    for (const bad of ['0', '-1', 'x', '1.5']) expect(() => parseShardCount(bad)).toThrow(/--shard-count/);
  });
});

describe('shardFromEnv (--shard auto)', () => {
  it('reads a Slurm job array: the task id offset by its minimum, the count from min and max', () => {
    expect(
      shardFromEnv({ SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '3' }, undefined),
    ).toEqual({ index: 2, count: 4 });
    expect(
      shardFromEnv(
        { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '5', SLURM_ARRAY_TASK_MAX: '8', SLURM_ARRAY_TASK_COUNT: '4' },
        undefined,
      ),
    ).toEqual({ index: 0, count: 4 });
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '3' }, undefined)).toEqual({
      index: 1,
      count: 3,
    });
  });
  it('refuses an array with gaps, a disagreeing --shard-count, and a Slurm id without a count', () => {
    const gaps = {
      SLURM_ARRAY_TASK_ID: '4',
      SLURM_ARRAY_TASK_MIN: '0',
      SLURM_ARRAY_TASK_MAX: '12',
      SLURM_ARRAY_TASK_COUNT: '4',
    };
    expect(() => shardFromEnv(gaps, undefined)).toThrow(/not contiguous/);
    const ok = { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '3' };
    expect(() => shardFromEnv(ok, 5)).toThrow(/--shard-count 5 disagrees/);
    expect(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: '1' }, undefined)).toThrow(/SLURM_ARRAY_TASK_COUNT/);
    expect(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: 'x' }, undefined)).toThrow(/SLURM_ARRAY_TASK_ID="x"/);
  });
  it('reads a Kubernetes Indexed Job with the count from --shard-count, and says when it is missing', () => {
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '3' }, 4)).toEqual({ index: 3, count: 4 });
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: '3' }, undefined)).toThrow(/--shard-count/);
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: '4' }, 4)).toThrow(/not below --shard-count 4/);
  });
  it('names the variables when the environment says nothing', () => {
    expect(() => shardFromEnv({}, 4)).toThrow(/SLURM_ARRAY_TASK_ID.*JOB_COMPLETION_INDEX/);
  });
});

describe('assignShards', () => {
  it('hash: every host in exactly one shard, all shards used on a large selection', () => {
    const targets = many(1000);
    const shards = assignShards(targets, 7, 'hash');
    expect(shards).toHaveLength(1000);
    for (const s of shards) expect(s >= 0 && s < 7 && Number.isInteger(s)).toBe(true);
    const sizes = new Array(7).fill(0);
    for (const s of shards) sizes[s]++;
    for (const n of sizes) expect(n).toBeGreaterThan(100);
  });
  it('hash: a host keeps its shard when hosts are added, removed or reordered', () => {
    const before = many(200);
    const after = [...many(300, 'new'), ...before.slice(50).reverse()];
    const was = new Map(before.map((t, i) => [t.id, assignShards(before, 5, 'hash')[i]]));
    const now = assignShards(after, 5, 'hash');
    after.forEach((t, i) => {
      if (was.has(t.id)) expect(now[i], t.id).toBe(was.get(t.id));
    });
    expect(hashShard('10.0.0.1', 5)).toBe(assignShards([host('10.0.0.1')], 5, 'hash')[0]);
  });
  it('group: a group stays together, largest groups first to the least loaded shard', () => {
    const targets = [
      ...['a1', 'a2', 'a3', 'a4'].map((id) => host(id, ['dc-a', 'web'])),
      ...['b1', 'b2', 'b3'].map((id) => host(id, ['dc-b'])),
      ...['c1', 'c2'].map((id) => host(id, ['dc-c', 'dc-a'])),
      host('lone'),
      ...['d1', 'd2'].map((id) => host(id, ['dc-d'])),
    ];
    const shards = assignShards(targets, 3, 'group');
    const of = new Map(targets.map((t, i) => [t.id, shards[i]]));
    // dc-a (4) -> 0, dc-b (3) -> 1, dc-c (2, before dc-d by name) -> 2, dc-d (2) -> 2 (loads 4,3,2), lone -> 1.
    expect(['a1', 'a2', 'a3', 'a4'].map((id) => of.get(id))).toEqual([0, 0, 0, 0]);
    expect(['b1', 'b2', 'b3'].map((id) => of.get(id))).toEqual([1, 1, 1]);
    expect(['c1', 'c2', 'd1', 'd2'].map((id) => of.get(id))).toEqual([2, 2, 2, 2]);
    expect(of.get('lone')).toBe(1);
    // The same hosts in another order: the same shards.
    const again = assignShards([...targets].reverse(), 3, 'group');
    [...targets].reverse().forEach((t, i) => expect(again[i], t.id).toBe(of.get(t.id)));
  });
  it('every host in exactly one shard whatever N, for both rules', () => {
    const targets = many(50).map((t, i) => ({ ...t, groups: i % 3 === 0 ? [] : [`g${i % 4}`] }));
    for (const rule of ['hash', 'group'] as const)
      for (const n of [1, 2, 5, 60]) {
        const s = assignShards(targets, n, rule);
        expect(s.every((k) => k >= 0 && k < n)).toBe(true);
        if (n === 1) expect(new Set(s)).toEqual(new Set([0]));
      }
  });
});

describe('selectionDigest', () => {
  it('depends on the ids and their order', () => {
    expect(selectionDigest(['a', 'b'])).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(selectionDigest(['a', 'b'])).toBe(selectionDigest(['a', 'b']));
    expect(selectionDigest(['a', 'b'])).not.toBe(selectionDigest(['b', 'a']));
  });
});
