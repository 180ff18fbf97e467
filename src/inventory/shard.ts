// Sharded runs: which of the selected hosts one shard of a logical run owns. Pure: the scheduler's
// environment is passed in, never read here.
//
// Shards are numbered from 0 (K/N with 0 <= K < N), as Slurm array indices usually are and as
// Kubernetes' JOB_COMPLETION_INDEX is, so `--shard auto` and a hand-typed --shard agree.
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';
import type { Target } from './types.js';

export const SHARD_RULES = ['hash', 'group'] as const;
export type ShardRule = (typeof SHARD_RULES)[number];

/** One shard of N: index 0..count-1. */
export interface ShardPosition {
  index: number;
  count: number;
}

/** What --shard said: a position, or `auto` (from the scheduler's environment). */
export type ShardSpec = ShardPosition | 'auto';

/** Shard counts above this are a typo, not a plan (and keep every count a safe integer). */
export const MAX_SHARDS = 1_000_000;

const DECIMAL = /^(0|[1-9][0-9]*)$/;

function integerIn(text: string, max: number): number | null {
  if (!DECIMAL.test(text)) return null;
  const n = Number(text);
  return n <= max ? n : null;
}

/** `K/N` (0 <= K < N) or `auto`; `flag` names the option in messages. */
export function parseShardSpec(text: string, flag = '--shard'): ShardSpec {
  if (text === 'auto') return 'auto';
  const m = /^([^/]*)\/([^/]*)$/.exec(text);
  const index = m ? integerIn(m[1]!, MAX_SHARDS) : null;
  const count = m ? integerIn(m[2]!, MAX_SHARDS) : null;
  if (index === null || count === null || count < 1)
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected K/N (shard K of N, K from 0 to N-1) or auto`);
  if (index >= count)
    throw new UsageError(
      `${flag} ${text}: K is numbered from 0, so K must be below N (the last shard is ${count - 1}/${count})`,
    );
  return { index, count };
}

/** --shard-count: a positive integer. */
export function parseShardCount(text: string, flag = '--shard-count'): number {
  const n = integerIn(text, MAX_SHARDS);
  if (n === null || n < 1) throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a whole number from 1`);
  return n;
}

/** The variables `--shard auto` reads, for messages. */
export const SHARD_ENV = {
  slurmId: 'SLURM_ARRAY_TASK_ID',
  slurmMin: 'SLURM_ARRAY_TASK_MIN',
  slurmMax: 'SLURM_ARRAY_TASK_MAX',
  slurmCount: 'SLURM_ARRAY_TASK_COUNT',
  k8sIndex: 'JOB_COMPLETION_INDEX',
} as const;

type Env = Readonly<Record<string, string | undefined>>;

function envInteger(env: Env, name: string): number | null | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  return integerIn(v.trim(), Number.MAX_SAFE_INTEGER);
}

/**
 * `--shard auto`: the position from a Slurm job array (SLURM_ARRAY_TASK_ID, offset by SLURM_ARRAY_TASK_MIN,
 * counted by SLURM_ARRAY_TASK_MAX or SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX,
 * counted by --shard-count, which Kubernetes does not export). `shardCount` is --shard-count, if given; it
 * must agree with Slurm's count.
 */
export function shardFromEnv(env: Env, shardCount: number | undefined): ShardPosition {
  const E = SHARD_ENV;
  const bad = (name: string): UsageError =>
    new UsageError(`--shard auto: ${name}=${JSON.stringify(env[name])} is not a whole number`);
  const id = envInteger(env, E.slurmId);
  if (id === null) throw bad(E.slurmId);
  if (id !== undefined) {
    const min = envInteger(env, E.slurmMin);
    const max = envInteger(env, E.slurmMax);
    const listed = envInteger(env, E.slurmCount);
    for (const [name, v] of [
      [E.slurmMin, min],
      [E.slurmMax, max],
      [E.slurmCount, listed],
    ] as const)
      if (v === null) throw bad(name);
    const first = min ?? 0;
    const span = max !== undefined && max !== null ? max - first + 1 : undefined;
    const count = span ?? listed ?? shardCount;
    if (count === undefined || count === null)
      throw new UsageError(
        `--shard auto: ${E.slurmId} is set but not how many tasks the array has ` +
          `(${E.slurmMin}/${E.slurmMax} or ${E.slurmCount}); give --shard K/N`,
      );
    // --array=0-15:4 or 1,3,7: indices with gaps would leave shards no task runs.
    if (listed !== undefined && listed !== null && span !== undefined && listed !== span)
      throw new UsageError(
        `--shard auto: the job array's indices are not contiguous (${E.slurmMin}=${first}, ${E.slurmMax}=${max}, ` +
          `${E.slurmCount}=${listed}): submit --array=0-${listed - 1}, or give --shard K/N`,
      );
    if (shardCount !== undefined && shardCount !== count)
      throw new UsageError(`--shard-count ${shardCount} disagrees with the Slurm job array's ${count} tasks`);
    const index = id - first;
    if (index < 0 || index >= count)
      throw new UsageError(`--shard auto: ${E.slurmId}=${id} is outside the array ${first}..${first + count - 1}`);
    return { index, count };
  }
  const k8s = envInteger(env, E.k8sIndex);
  if (k8s === null) throw bad(E.k8sIndex);
  if (k8s !== undefined) {
    if (shardCount === undefined)
      throw new UsageError(
        `--shard auto: ${E.k8sIndex} is set (a Kubernetes Indexed Job) but Kubernetes does not export the ` +
          "number of completions: give --shard-count N (the Job's spec.completions)",
      );
    if (k8s >= shardCount)
      throw new UsageError(`--shard auto: ${E.k8sIndex}=${k8s} is not below --shard-count ${shardCount}`);
    return { index: k8s, count: shardCount };
  }
  throw new UsageError(
    `--shard auto: the environment does not say which shard this is: neither ${E.slurmId} (a Slurm job array) ` +
      `nor ${E.k8sIndex} (a Kubernetes Indexed Job) is set; give --shard K/N`,
  );
}

/** hash: the first 48 bits of sha256(host id), big-endian, modulo N. */
export function hashShard(id: string, count: number): number {
  return createHash('sha256').update(id).digest().readUIntBE(0, 6) % count;
}

/**
 * Each selected host's shard, in the order given. hash: by the host id alone, so a host keeps its
 * shard when others are added or removed. group: a host goes with its first group (a host in no
 * group forms a unit of its own, keyed by its id); units are taken largest first (ties: by key, in
 * byte order) and each goes to the shard with the fewest hosts so far (ties: the lowest index).
 */
export function assignShards(targets: readonly Target[], count: number, rule: ShardRule): number[] {
  switch (rule) {
    case 'hash':
      return targets.map((t) => hashShard(t.id, count));
    case 'group':
      return groupShards(targets, count);
    default: {
      const never: never = rule;
      throw new Error(`unknown shard rule ${String(never)}`);
    }
  }
}

/** A unit's key: its first group, or the host itself; `=` and `@` keep the two kinds apart. */
const unitKey = (t: Target): string => (t.groups[0] !== undefined ? `@${t.groups[0]}` : `=${t.id}`);

function groupShards(targets: readonly Target[], count: number): number[] {
  const sizes = new Map<string, number>();
  for (const t of targets) sizes.set(unitKey(t), (sizes.get(unitKey(t)) ?? 0) + 1);
  const units = [...sizes].sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : ka > kb ? 1 : 0));
  const load = new Array<number>(count).fill(0);
  const shardOf = new Map<string, number>();
  for (const [key, size] of units) {
    let best = 0;
    for (let i = 1; i < count; i++) if (load[i]! < load[best]!) best = i;
    shardOf.set(key, best);
    load[best]! += size;
  }
  return targets.map((t) => shardOf.get(unitKey(t))!);
}

/** sha256 of the selected host ids, one per line: shards of one logical run agree on it. */
export function selectionDigest(ids: readonly string[]): string {
  const h = createHash('sha256');
  for (const id of ids) h.update(id + '\n');
  return `sha256:${h.digest('hex')}`;
}
