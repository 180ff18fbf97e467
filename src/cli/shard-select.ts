// --shard, --shard-by, --shard-count and --run-group: the selected hosts this shard runs, and what
// run.json and shard.tsv record so herd merge can prove it holds every shard of one logical run.
import { randomBytes } from 'node:crypto';
import { UsageError } from '../errors.js';
import {
  assignShards,
  parseShardCount,
  parseShardSpec,
  selectionDigest,
  SHARD_ENV,
  shardFromEnv,
  type ShardRule,
} from '../inventory/shard.js';
import type { Target } from '../inventory/types.js';
import type { ShardRecord } from '../results/run-record.js';
import type { RawOptions } from './options.js';

export interface ShardPlan {
  record: ShardRecord;
  /**
   * Every selected host (before sharding) with its shard, in selection order: shard.tsv. Playbook runs: also
   * the plays each host is in, so a merge knows them for a shard that never ran.
   */
  all: { id: string; shard: number; plays?: number[] }[];
}

type Env = Readonly<Record<string, string | undefined>>;

const RUN_GROUP = /^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$/;

/** The header of shard.tsv, which every shard of one logical run writes alike (`plays`: playbook runs only). */
export const SHARD_TSV_HEADER = ['host', 'shard'] as const;
export const SHARD_TSV_PLAYS_HEADER = ['host', 'shard', 'plays'] as const;

/** Each host's plays (by index), from the plays' host lists: what shard.tsv records for a playbook run. */
export function playsByHost(playHosts: ReadonlyMap<number, readonly string[]>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [index, ids] of [...playHosts].sort(([a], [b]) => a - b))
    for (const id of ids) out.set(id, [...(out.get(id) ?? []), index]);
  return out;
}

/** --run-group as given, else the Slurm array's job id, else a new id (then only this shard has it). */
function runGroupOf(raw: RawOptions, env: Env): string {
  const given = raw.runGroup ?? env['SLURM_ARRAY_JOB_ID'];
  if (given === undefined || given === '') return `rg-${randomBytes(8).toString('hex')}`;
  const flag = raw.runGroup !== undefined ? '--run-group' : 'SLURM_ARRAY_JOB_ID';
  if (!RUN_GROUP.test(given))
    throw new UsageError(
      `${flag} ${JSON.stringify(given)}: expected up to 128 letters, digits and . _ : @ + - (starting with a letter or digit)`,
    );
  return given;
}

/** Where `--shard auto` found the position, for run.json. */
function envSource(env: Env): string {
  if (env[SHARD_ENV.slurmId] !== undefined && env[SHARD_ENV.slurmId] !== '')
    return `${SHARD_ENV.slurmId}=${env[SHARD_ENV.slurmId]}`;
  return `${SHARD_ENV.k8sIndex}=${env[SHARD_ENV.k8sIndex] ?? ''}`;
}

/**
 * This shard's hosts (in selection order) and its plan, or all the targets and null without --shard.
 * The flags that only mean something with --shard are refused without it.
 */
export function selectShard(
  raw: RawOptions,
  targets: Target[],
  env: Env = process.env,
  plays?: ReadonlyMap<string, number[]>,
): { targets: Target[]; plan: ShardPlan | null } {
  if (raw.shard === undefined) {
    for (const [key, flag] of [
      ['shardBy', '--shard-by'],
      ['shardCount', '--shard-count'],
      ['runGroup', '--run-group'],
    ] as const)
      if (raw[key] !== undefined) throw new UsageError(`${flag} needs --shard K/N or --shard auto`);
    return { targets, plan: null };
  }
  const spec = parseShardSpec(raw.shard);
  const shardCount = raw.shardCount === undefined ? undefined : parseShardCount(raw.shardCount);
  if (spec !== 'auto' && shardCount !== undefined)
    throw new UsageError(`--shard-count goes with --shard auto; --shard ${raw.shard} already says N`);
  const position = spec === 'auto' ? shardFromEnv(env, shardCount) : spec;
  const by: ShardRule = raw.shardBy ?? 'hash';
  const shards = assignShards(targets, position.count, by);
  const mine = targets.filter((_, i) => shards[i] === position.index);
  const record: ShardRecord = {
    run_group: runGroupOf(raw, env),
    index: position.index,
    count: position.count,
    given: raw.shard,
    from_env: spec === 'auto' ? envSource(env) : null,
    by,
    selected_hosts: targets.length,
    selection_digest: selectionDigest(targets.map((t) => t.id)),
    hosts: mine.length,
  };
  const all = targets.map((t, i) => ({
    id: t.id,
    shard: shards[i]!,
    ...(plays ? { plays: plays.get(t.id) ?? [] } : {}),
  }));
  return { targets: mine, plan: { record, all } };
}
