// herd merge's inputs: the shard run directories, read and checked to be the shards of one logical
// run before anything is written. A shard directory may sit on a shared volume others write to, so
// what it holds is checked, not trusted: its record, its host list, its file names.
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { RunDirError, UsageError } from '../errors.js';
import type { RunRecord, ShardRecord } from './run-record.js';
import { ioReason } from '../io-reason.js';

export interface ShardInput {
  dir: string;
  record: RunRecord;
  shard: ShardRecord;
}

/** What every shard of one logical run agrees on. */
export interface LogicalRun {
  runGroup: string;
  count: number;
  by: ShardRecord['by'];
  digest: string;
  selected: number;
}

function readRecord(dir: string): RunRecord {
  const file = path.join(dir, 'run.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as RunRecord;
  } catch (err) {
    throw new RunDirError(`merge: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

function isShardRecord(s: unknown): s is ShardRecord {
  if (typeof s !== 'object' || s === null) return false;
  const r = s as Record<string, unknown>;
  return (
    typeof r['run_group'] === 'string' &&
    Number.isSafeInteger(r['index']) &&
    Number.isSafeInteger(r['count']) &&
    (r['index'] as number) >= 0 &&
    (r['index'] as number) < (r['count'] as number) &&
    (r['by'] === 'hash' || r['by'] === 'group') &&
    typeof r['selection_digest'] === 'string' &&
    Number.isSafeInteger(r['selected_hosts'])
  );
}

function realpathOf(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch (err) {
    throw new RunDirError(`merge: cannot read ${dir}: ${ioReason(err)}`, { cause: err });
  }
}

const label = (s: ShardRecord): string => `shard ${s.index}/${s.count}`;

/**
 * Every directory read and checked: each a shard run, all of one run group, one host-list digest, one
 * shard count and rule, one task, no shard twice. Refusals are usage errors (exit 2), naming the directories.
 */
export function readShardInputs(dirs: readonly string[]): { shards: ShardInput[]; run: LogicalRun } {
  if (dirs.length === 0) throw new UsageError('merge: give the shard run directories to merge');
  const shards: ShardInput[] = [];
  const seen = new Set<string>();
  for (const given of dirs) {
    const dir = path.resolve(given);
    // One directory named twice (a glob over a runs directory also matches its `latest` link) is one shard.
    const real = realpathOf(dir);
    if (seen.has(real)) continue;
    seen.add(real);
    const record = readRecord(dir);
    if (!isShardRecord(record.shard))
      throw new UsageError(
        `merge: ${given} is not one shard of a sharded run (its run.json has no shard: ` + 'was it run with --shard?)',
      );
    shards.push({ dir, record, shard: record.shard });
  }
  shards.sort((a, b) => a.shard.index - b.shard.index);
  const first = shards[0]!;
  for (const s of shards.slice(1)) {
    const a = first.shard;
    const b = s.shard;
    if (b.run_group !== a.run_group)
      throw new UsageError(
        `merge: ${first.dir} is of run group ${a.run_group} but ${s.dir} of ${b.run_group}: ` +
          'not shards of one run (give every shard the same --run-group)',
      );
    if (b.count !== a.count || b.by !== a.by)
      throw new UsageError(
        `merge: ${first.dir} is shard ${a.index}/${a.count} by ${a.by} but ${s.dir} is ${b.index}/${b.count} by ${b.by}`,
      );
    if (b.selection_digest !== a.selection_digest || b.selected_hosts !== a.selected_hosts)
      throw new UsageError(
        `merge: ${first.dir} and ${s.dir} selected different hosts (host-list digests ${a.selection_digest} ` +
          `and ${b.selection_digest}): not shards of one run`,
      );
    if (!isDeepStrictEqual(s.record.task, first.record.task))
      throw new UsageError(`merge: ${first.dir} and ${s.dir} ran different tasks: not shards of one run`);
  }
  for (let i = 1; i < shards.length; i++) {
    if (shards[i]!.shard.index === shards[i - 1]!.shard.index)
      throw new UsageError(
        `merge: ${label(shards[i]!.shard)} is given twice: ${shards[i - 1]!.dir} and ${shards[i]!.dir}`,
      );
  }
  const s = first.shard;
  return {
    shards,
    run: {
      runGroup: s.run_group,
      count: s.count,
      by: s.by,
      digest: s.selection_digest,
      selected: s.selected_hosts,
    },
  };
}

/**
 * A host id used as a file name in the merged directory: ids are inventory lines, but a shard.tsv on
 * a shared volume could say anything, and `../x` must not write outside it.
 */
export function safeHostName(id: string, where: string): string {
  if (id === '' || id === '.' || id === '..' || id.includes('/') || id.includes('\0') || /[\t\r\n]/.test(id))
    throw new UsageError(`merge: ${where}: ${JSON.stringify(id)} is not a host id`);
  return id;
}
