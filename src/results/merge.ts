// herd merge: the shard run directories of one logical run into one ordinary run directory. Streams:
// result files and journals go through line by line and block by block; what is held is one id and
// shard number per selected host. The same shards give the same bytes (times come from the shards).
import fs from 'node:fs';
import path from 'node:path';
import { RunDirError, UsageError } from '../errors.js';
import { ioReason } from '../io-reason.js';
import { readRun } from './reader.js';
import { LineReader, linesOf } from './line-reader.js';
import { safeHostName, type LogicalRun, type ShardInput } from './merge-input.js';
import type { MergedShard, RunRecord, RunState } from './run-record.js';
import {
  HOST_STATUSES,
  hostResult,
  interruptedOutcome,
  notStarted,
  type HostResult,
  type HostStatus,
} from './status.js';
import { HOSTS_TSV_HEADER, STEPS_TSV_HEADER, TRANSFERS_TSV_HEADER, hostRow, tsvField } from './tsv.js';
import { selectionDigest } from '../inventory/shard.js';

/** The reason a host of a shard that gave no result for it is recorded with (scripts match on it). */
export const noResultReason = (index: number, count: number): string => `shard ${index}/${count} produced no result`;

export interface MergeOutcome {
  dir: string;
  record: RunRecord;
  /** Shards no directory was given for, that owned hosts. */
  missing: number[];
  /** Shards given whose run had not finished (killed): their hosts without a result are not_started. */
  partial: number[];
}

/** Writes to one file with few syscalls: lines are gathered and written in blocks. */
class Out {
  private readonly fd: number;
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(file: string) {
    this.fd = fs.openSync(file, 'wx', 0o600);
  }
  write(data: string | Buffer): void {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size >= 64 * 1024) this.flush();
  }
  flush(): void {
    if (this.chunks.length > 0) fs.writeSync(this.fd, Buffer.concat(this.chunks));
    this.chunks = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}

/** Copy a regular file (never a link a shared volume planted) block by block. */
function copyRegular(src: string, dst: string, block: Buffer): boolean {
  let fd: number;
  try {
    fd = fs.openSync(src, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') return false;
    throw err;
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return false;
    const out = fs.openSync(dst, 'wx', 0o600);
    try {
      for (let n = fs.readSync(fd, block); n > 0; n = fs.readSync(fd, block)) fs.writeSync(out, block, 0, n);
    } finally {
      fs.closeSync(out);
    }
    return true;
  } finally {
    fs.closeSync(fd);
  }
}

interface Selection {
  ids: string[];
  shardOf: Map<string, number>;
  /** Playbook runs: each host's plays (shard.tsv's plays column), also for the hosts of a shard that never ran. */
  playsOf: Map<string, number[]> | null;
}

/** The selected hosts in order with their shard, from one shard's shard.tsv, checked against the digest. */
function readSelection(shard: ShardInput, run: LogicalRun): Selection {
  const file = path.join(shard.dir, 'shard.tsv');
  const ids: string[] = [];
  const shardOf = new Map<string, number>();
  let playsOf: Map<string, number[]> | null = null;
  let header = true;
  for (const line of linesOf(file)) {
    if (header) {
      if (line === 'host\tshard\tplays') playsOf = new Map();
      else if (line !== 'host\tshard')
        throw new UsageError(`merge: ${file}: not a shard.tsv (header ${JSON.stringify(line)})`);
      header = false;
      continue;
    }
    if (line === '') continue;
    const [id = '', k = '', plays = '-'] = line.split('\t');
    const index = Number(k);
    safeHostName(id, file);
    if (!/^\d+$/.test(k) || index >= run.count || shardOf.has(id) || !/^(-|\d+(,\d+)*)$/.test(plays))
      throw new UsageError(`merge: ${file}: bad row ${JSON.stringify(line)}`);
    ids.push(id);
    shardOf.set(id, index);
    playsOf?.set(id, plays === '-' ? [] : plays.split(',').map(Number));
  }
  if (selectionDigest(ids) !== run.digest || ids.length !== run.selected)
    throw new UsageError(`merge: ${file} does not match the host-list digest its run.json records`);
  return { ids, shardOf, playsOf };
}

/** One present shard's final rows, in its order (a subsequence of the selection). */
interface Row {
  line: string;
  status: HostStatus;
  /** A result the merge made (the shard left none in its journal): journaled by the merge. */
  made?: HostResult;
}

interface RowSource {
  /** The row of `id` as a hosts.tsv line and its status, or null when the shard gave no result for it. */
  next(id: string): Row | null;
  close(): void;
}

const isStatus = (s: string): s is HostStatus => (HOST_STATUSES as readonly string[]).includes(s);

/**
 * A finished shard: its hosts.tsv, final, line by line. A shard that was stopped (state interrupted) gave
 * no result for the hosts it never started: those become the merge's not_started, as a missing shard's.
 */
function finishedRows(shard: ShardInput): RowSource {
  const stopped = shard.record.state !== 'done';
  const file = path.join(shard.dir, 'hosts.tsv');
  const reader = new LineReader(file);
  const header = reader.next();
  if (header !== HOSTS_TSV_HEADER.join('\t')) {
    reader.close();
    throw new UsageError(`merge: ${file}: not a hosts.tsv (header ${JSON.stringify(header)})`);
  }
  return {
    next: (id) => {
      const line = reader.next();
      const fields = line?.split('\t') ?? [];
      const [host, status = ''] = fields;
      if (line === null || host !== id || fields.length !== HOSTS_TSV_HEADER.length)
        throw new UsageError(`merge: ${file} does not list the hosts its shard.tsv gives it (expected ${id})`);
      if (!isStatus(status) || (stopped && status === 'not_started')) return null;
      return { line, status };
    },
    close: () => reader.close(),
  };
}

/** A shard killed before it finished: its journal is the truth, as for any run. */
function partialRows(shard: ShardInput): RowSource {
  const run = readRun(shard.dir);
  const byId = new Map(run.hosts.map((h) => [h.id, h]));
  return {
    next: (id) => {
      const h = byId.get(id);
      if (h?.result && h.result.status !== 'not_started')
        return { line: hostRow(h.result).map(tsvField).join('\t'), status: h.result.status };
      if (!h?.wasRunning) return null;
      // Its command may have run: interrupted, as a run that ends under a running command records it.
      const where = `shard ${shard.shard.index}/${shard.shard.count}`;
      const r = hostResult(id, 0, interruptedOutcome('E_INTERRUPTED', `${where} ended while the command was running`));
      return { line: hostRow(r).map(tsvField).join('\t'), status: r.status, made: r };
    },
    close: () => undefined,
  };
}

/** Lines of a shard's TSV file (steps.tsv, transfers.tsv) for the hosts it owns, without the header. */
function copyTsvRows(file: string, header: readonly string[], owned: (id: string) => boolean, out: Out): void {
  if (!fs.existsSync(file)) return;
  let first = true;
  for (const line of linesOf(file)) {
    if (first) {
      if (line !== header.join('\t')) throw new UsageError(`merge: ${file}: unexpected header ${JSON.stringify(line)}`);
      first = false;
      continue;
    }
    if (line !== '' && owned(line.slice(0, line.indexOf('\t')))) out.write(line + '\n');
  }
}

/** Copy the per-step outputs of a playbook shard (steps/<play.step>/<stream>/<host>). */
function copyStepOutputs(shard: ShardInput, outDir: string, owned: (id: string) => boolean, block: Buffer): void {
  const base = path.join(shard.dir, 'steps');
  if (!fs.existsSync(base)) return;
  for (const step of fs.readdirSync(base).sort()) {
    if (!/^\d+\.\d+$/.test(step)) continue;
    for (const stream of ['stdout', 'stderr']) {
      const src = path.join(base, step, stream);
      if (!fs.lstatSync(path.join(base, step)).isDirectory() || !fs.existsSync(src)) continue;
      const dst = path.join(outDir, 'steps', step, stream);
      fs.mkdirSync(dst, { recursive: true, mode: 0o700 });
      for (const name of fs.readdirSync(src).sort())
        if (!name.startsWith('.') && owned(name)) copyRegular(path.join(src, name), path.join(dst, name), block);
    }
  }
}

const JOURNAL_DROPPED = new Set(['run_start', 'run_done']);

/** A shard's journal entries for its own hosts (run_start and run_done are the merged run's own). */
function copyJournal(shard: ShardInput, owned: (id: string) => boolean, remade: ReadonlySet<string>, out: Out): void {
  const file = path.join(shard.dir, 'journal.ndjson');
  if (!fs.existsSync(file)) return;
  for (const line of linesOf(file)) {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // the last line of a killed shard may be cut short
    }
    if (typeof entry !== 'object' || entry === null || JOURNAL_DROPPED.has(String(entry['kind']))) continue;
    const host = entry['host'] ?? entry['id'];
    if (typeof host === 'string' && !owned(host)) continue;
    // The merge journals its own result for these (not_started: shard K/N produced no result).
    if (entry['kind'] === 'host_done' && typeof host === 'string' && remade.has(host)) continue;
    out.write(line + '\n');
  }
}

function copyAppend(src: string, out: Out): void {
  if (!fs.existsSync(src)) return;
  out.flush();
  let fd: number;
  try {
    fd = fs.openSync(src, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    throw new RunDirError(`merge: cannot read ${src}: ${ioReason(err)}`, { cause: err });
  }
  try {
    const block = Buffer.allocUnsafe(256 * 1024);
    for (let n = fs.readSync(fd, block); n > 0; n = fs.readSync(fd, block))
      out.write(Buffer.from(block.subarray(0, n)));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * plays.json of a playbook run: each play's hosts in selection order, from shard.tsv's plays column (so a
 * missing shard's hosts are in their plays, and a rerun resumes them), the names from the shards' plays.json.
 */
function mergePlays(shards: ShardInput[], selection: Selection): unknown {
  const names = new Map<number, string>();
  let any = false;
  for (const s of shards) {
    const file = path.join(s.dir, 'plays.json');
    if (!fs.existsSync(file)) continue;
    any = true;
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as { plays: { index: number; name: string }[] };
    for (const p of data.plays) if (!names.has(p.index)) names.set(p.index, String(p.name));
  }
  if (!any || selection.playsOf === null) return null;
  const hosts = new Map<number, string[]>([...names.keys()].map((i) => [i, []]));
  for (const id of selection.ids)
    for (const index of selection.playsOf.get(id) ?? []) {
      const list = hosts.get(index) ?? [];
      list.push(id);
      hosts.set(index, list);
    }
  const plays = [...hosts]
    .sort(([a], [b]) => a - b)
    .map(([index, ids]) => ({ index, name: names.get(index) ?? '', hosts: ids }));
  return { plays };
}

const maxOf = (xs: (string | null | undefined)[]): string | null =>
  xs
    .filter((x): x is string => typeof x === 'string')
    .sort()
    .at(-1) ?? null;
const minOf = (xs: (string | null | undefined)[]): string | null =>
  xs.filter((x): x is string => typeof x === 'string').sort()[0] ?? null;

export interface MergeTarget {
  /** The merged run directory, created here (it must not exist). */
  dir: string;
  /** Facts of this merge for run.json: who merged, where, when. */
  controller: string;
  user: string;
  cwd: string;
  argv: string[];
  herdVersion: string;
  now: Date;
}

/** Write the merged run directory; on any failure the half-written directory is removed. */
export function mergeShards(shards: ShardInput[], run: LogicalRun, target: MergeTarget): MergeOutcome {
  fs.mkdirSync(path.dirname(target.dir), { recursive: true });
  try {
    fs.mkdirSync(target.dir, { mode: 0o700 });
  } catch (err) {
    const exists = (err as NodeJS.ErrnoException).code === 'EEXIST';
    const why = exists ? 'it already exists (a merge writes a new run directory: choose another -o)' : ioReason(err);
    throw new UsageError(`merge: cannot create ${target.dir}: ${why}`, 'E_RUN_DIR', { cause: err });
  }
  fs.chmodSync(target.dir, 0o700);
  try {
    return writeMerged(shards, run, target);
  } catch (err) {
    fs.rmSync(target.dir, { recursive: true, force: true });
    throw err;
  }
}

function writeMerged(shards: ShardInput[], run: LogicalRun, target: MergeTarget): MergeOutcome {
  const out = target.dir;
  const selection = readSelection(shards[0]!, run);
  const { ids, shardOf } = selection;
  const present = new Map(shards.map((s) => [s.shard.index, s]));
  const owners = new Array<number>(run.count).fill(0);
  for (const k of shardOf.values()) owners[k]!++;
  for (const s of shards)
    if (owners[s.shard.index] !== s.shard.hosts)
      throw new UsageError(
        `merge: ${s.dir} ran ${s.shard.hosts} hosts but its shard.tsv gives shard ${s.shard.index} ${owners[s.shard.index]}`,
      );
  const missing = owners.flatMap((n, k) => (n > 0 && !present.has(k) ? [k] : []));
  // Killed (running) or stopped (interrupted): the hosts it did not run are the merge's not_started.
  const partial = shards.filter((s) => s.record.state !== 'done').map((s) => s.shard.index);
  const noResult = (id: string): HostResult => notStarted(id, noResultReason(shardOf.get(id)!, run.count));
  const sources = new Map<number, RowSource>();
  for (const s of shards) sources.set(s.shard.index, s.record.state === 'running' ? partialRows(s) : finishedRows(s));

  fs.mkdirSync(path.join(out, 'stdout'), { mode: 0o700 });
  fs.mkdirSync(path.join(out, 'stderr'), { mode: 0o700 });
  const block = Buffer.allocUnsafe(256 * 1024);
  const hosts = new Out(path.join(out, 'hosts.tsv'));
  const failed = new Out(path.join(out, 'failed.txt'));
  const counts: Partial<Record<HostStatus, number>> = {};
  // Hosts the merge gives a result to (no shard did): journaled after the shards' own entries.
  const synthesized: HostResult[] = [];
  hosts.write(HOSTS_TSV_HEADER.join('\t') + '\n');
  try {
    for (const id of ids) {
      const k = shardOf.get(id)!;
      const source = sources.get(k);
      let row = source?.next(id) ?? null;
      if (row === null) {
        const r = noResult(id);
        row = { line: hostRow(r).map(tsvField).join('\t'), status: r.status, made: r };
      }
      if (row.made) synthesized.push(row.made);
      hosts.write(row.line + '\n');
      counts[row.status] = (counts[row.status] ?? 0) + 1;
      if (row.status !== 'ok') failed.write(id + '\n');
      const s = present.get(k);
      if (s)
        for (const stream of ['stdout', 'stderr'])
          copyRegular(path.join(s.dir, stream, id), path.join(out, stream, id), block);
    }
  } finally {
    for (const source of sources.values()) source.close();
    hosts.close();
    failed.close();
  }

  const ownedBy = (s: ShardInput) => (id: string) => shardOf.get(id) === s.shard.index;
  const startedAt = minOf(shards.map((s) => s.record.started_at));
  const endedAt = maxOf(shards.flatMap((s) => [s.record.ended_at, s.record.started_at]));
  const state: RunState =
    missing.length === 0 && shards.every((s) => s.record.state === 'done') ? 'done' : 'interrupted';
  const id = path.basename(out);

  const journal = new Out(path.join(out, 'journal.ndjson'));
  try {
    journal.write(JSON.stringify({ t: startedAt, kind: 'run_start', run: id, hosts: ids.length }) + '\n');
    const remade = new Set(synthesized.map((r) => r.id));
    for (const s of shards) copyJournal(s, ownedBy(s), remade, journal);
    for (const r of synthesized) journal.write(JSON.stringify({ t: endedAt, kind: 'host_done', ...r }) + '\n');
    journal.write(JSON.stringify({ t: endedAt, kind: 'run_done', state }) + '\n');
  } finally {
    journal.close();
  }

  const log = new Out(path.join(out, 'output.log'));
  try {
    for (const s of shards) copyAppend(path.join(s.dir, 'output.log'), log);
  } finally {
    log.close();
  }
  for (const [name, header] of [
    ['steps.tsv', STEPS_TSV_HEADER],
    ['transfers.tsv', TRANSFERS_TSV_HEADER],
  ] as const) {
    if (!shards.some((s) => fs.existsSync(path.join(s.dir, name)))) continue;
    const tsv = new Out(path.join(out, name));
    try {
      tsv.write(header.join('\t') + '\n');
      for (const s of shards) copyTsvRows(path.join(s.dir, name), header, ownedBy(s), tsv);
    } finally {
      tsv.close();
    }
  }
  for (const s of shards) copyStepOutputs(s, out, ownedBy(s), block);
  const plays = mergePlays(shards, selection);
  if (plays !== null)
    fs.writeFileSync(path.join(out, 'plays.json'), JSON.stringify(plays, null, 2) + '\n', { mode: 0o600 });

  const first = shards[0]!.record;
  const merged: MergedShard[] = owners.map((n, k) => {
    const s = present.get(k);
    return {
      index: k,
      run: s?.record.id ?? null,
      controller: s?.record.controller ?? null,
      state: s?.record.state ?? null,
      started_at: s?.record.started_at ?? null,
      ended_at: s?.record.ended_at ?? null,
      hosts: n,
    };
  });
  const { shard: _shard, jump_hosts: _jumps, handshakes: _handshakes, ...base } = first;
  const record: RunRecord = {
    ...base,
    id,
    herd_version: target.herdVersion,
    command: 'merge',
    user: target.user,
    controller: target.controller,
    cwd: target.cwd,
    argv: target.argv,
    state,
    started_at: startedAt ?? target.now.toISOString(),
    ended_at: endedAt,
    hosts_total: ids.length,
    counts,
    merged: {
      run_group: run.runGroup,
      count: run.count,
      by: run.by,
      selection_digest: run.digest,
      merged_at: target.now.toISOString(),
      shards: merged,
    },
  };
  fs.writeFileSync(path.join(out, 'run.json'), JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
  return { dir: out, record, missing, partial };
}
