// results/merge.ts and merge-input.ts on shard run directories the real engine wrote: herd itself is
// run with --shard K/N against a loopback sshd fleet (fixtures from the real producer), then merged here.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fleetArgs, writeInventory } from '../../e2e/fleet-args.js';
import { runDirOf, runHerd, useLoopbackFleet, type HerdResult } from '../../e2e/herd-cli.js';
import { refusedPort } from '../../fleet/faults.js';
import { readShardInputs } from '../../../src/results/merge-input.js';
import { mergeShards, type MergeTarget } from '../../../src/results/merge.js';
import { readRun } from '../../../src/results/reader.js';
import { HerdError } from '../../../src/errors.js';
import { hashShard } from '../../../src/inventory/shard.js';

const scope = useLoopbackFleet();

const shards: string[] = [];
let inv = '';
let hosts: string[] = [];
let slow = '';

const command = (sleepy: string): string =>
  [
    `me=$(echo "$SSH_CONNECTION" | cut -d' ' -f3)`,
    `echo "out $me"`,
    `case $me in ${sleepy}) sleep 3;; ${hosts[1]}) exit 4;; esac`,
  ].join('; ');

function herd(
  args: string[],
  runs: string,
  opts: { onSpawn?: (c: import('node:child_process').ChildProcess) => void } = {},
): Promise<HerdResult> {
  return runHerd(['run', '-i', inv, ...fleetArgs(scope, runs), '--connect-timeout', '3', ...args], {
    env: { HOME: scope.home },
    timeoutMs: 60_000,
    ...opts,
  });
}

let merges = 0;
function target(): MergeTarget {
  return {
    dir: path.join(scope.home, 'merged', `m${++merges}`),
    controller: 'merger',
    user: 'tester',
    cwd: '/',
    argv: ['merge'],
    herdVersion: '0.0.0',
    now: new Date(Date.UTC(2026, 0, 1, 0, 0, merges)),
  };
}

const merge = (dirs: string[]) => {
  const { shards: input, run } = readShardInputs(dirs);
  return mergeShards(input, run, target());
};
/** The refusal's message; nothing is left where the merged run would have been written. */
const refusal = (dirs: string[]): string => {
  const wouldBe = path.join(scope.home, 'merged', `m${merges + 1}`);
  try {
    merge(dirs);
  } catch (err) {
    expect(err).toBeInstanceOf(HerdError);
    expect(fs.existsSync(wouldBe)).toBe(false);
    return (err as Error).message;
  }
  throw new Error('merged');
};
/** The host_done entry of a host in a run's journal. */
const journalOf = (dir: string, host: string): Record<string, unknown> | undefined =>
  fs
    .readFileSync(path.join(dir, 'journal.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((e) => e['kind'] === 'host_done' && e['id'] === host);
const rows = (dir: string): string[][] =>
  fs
    .readFileSync(path.join(dir, 'hosts.tsv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'));

beforeAll(async () => {
  const refused = await refusedPort();
  hosts = [...scope.fleet.hosts(8, 820), `${refused.host}:${refused.port}`];
  inv = writeInventory(scope, 'merge-unit.txt', hosts);
  // A host of shard 1 whose command takes a while, so a run of shard 1 can be killed in the middle of it.
  slow = hosts.slice(2, 8).find((h) => hashShard(h, 3) === 1)!;
  expect(slow).toBeDefined();
  for (const k of [0, 1, 2]) {
    const r = await herd(['--shard', `${k}/3`, '--run-group', 'u1', command(slow)], 'runs');
    shards.push(runDirOf(r));
  }
}, 120_000);

describe('mergeShards', () => {
  it("gives every selected host its shard's row, in selection order, and every shard's journal entries", () => {
    const out = merge(shards);
    expect(out.missing).toEqual([]);
    expect(out.record.state).toBe('done');
    expect(rows(out.dir).map((r) => r[0])).toEqual(hosts);
    const byHost = new Map(rows(out.dir).map((r) => [r[0], r]));
    expect(byHost.get(hosts[1]!)?.slice(1, 3)).toEqual(['failed', '4']);
    expect(byHost.get(hosts[8]!)?.[1]).toBe('unreachable');
    const back = readRun(out.dir);
    expect(back.hosts.every((h) => h.result !== null && h.doneAt !== null)).toBe(true);
    expect(journalOf(out.dir, hosts[1]!)).toMatchObject({ status: 'failed', code: 'E_EXIT', exitCode: 4 });
    expect(fs.readFileSync(path.join(out.dir, 'failed.txt'), 'utf8')).toBe(`${hosts[1]}\n${hosts[8]}\n`);
    for (const h of hosts.slice(0, 8))
      expect(fs.readFileSync(path.join(out.dir, 'stdout', h), 'utf8')).toBe(`out ${h}\n`);
  });

  it('a missing shard: its hosts not_started, "shard K/N produced no result", the run interrupted', () => {
    const out = merge([shards[0]!, shards[2]!]);
    expect(out.missing).toEqual([1]);
    expect(out.record.state).toBe('interrupted');
    const mine = new Set(rows(shards[1]!).map((r) => r[0]));
    for (const r of rows(out.dir))
      if (mine.has(r[0])) expect(r.slice(1)).toEqual(['not_started', '-', '0', 'shard 1/3 produced no result', '-']);
    for (const h of mine)
      if (h !== undefined)
        expect(journalOf(out.dir, h)).toMatchObject({ status: 'not_started', code: 'E_NOT_STARTED' });
  });

  it('is idempotent: the same shards, in any order, give the same bytes', () => {
    const a = merge([shards[2]!, shards[0]!, shards[1]!]);
    const b = merge([...shards]);
    for (const f of ['hosts.tsv', 'failed.txt', 'output.log'])
      expect(fs.readFileSync(path.join(b.dir, f)), f).toEqual(fs.readFileSync(path.join(a.dir, f)));
    const journal = (d: string): string =>
      fs.readFileSync(path.join(d, 'journal.ndjson'), 'utf8').replace(/"run":"m\d+"/, '"run":"M"');
    expect(journal(b.dir)).toBe(journal(a.dir));
    const strip = (d: string): unknown => {
      const r = JSON.parse(fs.readFileSync(path.join(d, 'run.json'), 'utf8'));
      return { ...r, id: 0, merged: { ...r.merged, merged_at: 0 } };
    };
    expect(strip(b.dir)).toEqual(strip(a.dir));
  });

  it('refuses a shard given twice, shards of different run groups, and a tampered shard, writing nothing', async () => {
    const copy = path.join(scope.home, 'dup');
    fs.cpSync(shards[0]!, copy, { recursive: true });
    expect(refusal([shards[0]!, copy])).toMatch(/shard 0\/3 is given twice/);
    const other = runDirOf(await herd(['--shard', '1/3', '--run-group', 'u2', command(slow)], 'runs-u2'));
    expect(refusal([shards[0]!, other])).toMatch(/run group u1 but .* of u2/);
    const otherCount = runDirOf(await herd(['--shard', '1/4', '--run-group', 'u1', command(slow)], 'runs-u2'));
    expect(refusal([shards[0]!, otherCount])).toMatch(/shard 0\/3 by hash but .* is 1\/4 by hash/);
    // A shard.tsv edited to claim a host ../x: refused as no host id before anything is written there.
    const tampered = path.join(scope.home, 'tampered');
    fs.cpSync(shards[0]!, tampered, { recursive: true });
    const tsv = path.join(tampered, 'shard.tsv');
    fs.writeFileSync(tsv, fs.readFileSync(tsv, 'utf8').replace(`${hosts[0]}\t`, '../x\t'));
    expect(refusal([tampered])).toMatch(/"\.\.\/x" is not a host id/);
    expect(fs.existsSync(path.join(scope.home, 'merged', 'x'))).toBe(false);
    expect(fs.existsSync(path.join(scope.home, 'x'))).toBe(false);
    // A hosts.tsv row with a field more than the header (a tab smuggled in) is not copied into the merge.
    const extra = path.join(scope.home, 'extra-field');
    fs.cpSync(shards[0]!, extra, { recursive: true });
    const hostsTsv = path.join(extra, 'hosts.tsv');
    const [head, row, ...rest] = fs.readFileSync(hostsTsv, 'utf8').split('\n');
    fs.writeFileSync(hostsTsv, [head, `${row}\tsmuggled`, ...rest].join('\n'));
    expect(refusal([extra, shards[1]!, shards[2]!])).toMatch(/does not list the hosts its shard.tsv gives it/);
  });

  it('a shard killed outright: its finished hosts kept, the one mid-command interrupted, the rest not_started', async () => {
    // Shard 1 again, with one host sleeping: herd is killed (-9) once the others have ended.
    const mine = rows(shards[1]!).map((r) => r[0]!);
    let dir = '';
    const killed = await herd(['--shard', '1/3', '--run-group', 'u1', '-f', '1', command(slow)], 'runs-killed', {
      onSpawn: (child) => {
        const poll = setInterval(() => {
          const runs = path.join(scope.home, 'runs-killed');
          const latest = path.join(runs, 'latest');
          if (!fs.existsSync(latest)) return;
          dir = fs.realpathSync(latest);
          const journal = fs.readFileSync(path.join(dir, 'journal.ndjson'), 'utf8');
          if (journal.includes(`"host_running","host":"${slow}"`)) {
            clearInterval(poll);
            child.kill('SIGKILL');
          }
        }, 20);
      },
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')).state).toBe('running');
    const out = merge([shards[0]!, dir, shards[2]!]);
    expect(out.partial).toEqual([1]);
    const byHost = new Map(rows(out.dir).map((r) => [r[0]!, r]));
    expect(byHost.get(slow)?.slice(1, 5)).toEqual([
      'interrupted',
      '-',
      '0',
      'shard 1/3 ended while the command was running',
    ]);
    const order = mine;
    const before = order.slice(0, order.indexOf(slow));
    const after = order.slice(order.indexOf(slow) + 1);
    for (const h of before) expect(byHost.get(h)?.[1]).not.toBe('not_started');
    for (const h of after)
      expect(byHost.get(h)?.slice(1)).toEqual(['not_started', '-', '0', 'shard 1/3 produced no result', '-']);
    expect(readRun(out.dir).hosts.find((h) => h.id === slow)?.result?.status).toBe('interrupted');
  });

  it("a shard stopped by SIGTERM (scancel): the hosts it never started are the merge's not_started", async () => {
    const mine = rows(shards[1]!).map((r) => r[0]!);
    let dir = '';
    const stopped = await herd(
      ['--shard', '1/3', '--run-group', 'u1', '-f', '1', '--grace', '0', command(slow)],
      'runs-stopped',
      {
        onSpawn: (child) => {
          const poll = setInterval(() => {
            const latest = path.join(scope.home, 'runs-stopped', 'latest');
            if (!fs.existsSync(latest)) return;
            dir = fs.realpathSync(latest);
            if (fs.readFileSync(path.join(dir, 'journal.ndjson'), 'utf8').includes(`"host_running","host":"${slow}"`)) {
              clearInterval(poll);
              child.kill('SIGTERM');
            }
          }, 20);
        },
      },
    );
    expect(stopped.code).toBe(130);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')).state).toBe('interrupted');
    const out = merge([shards[0]!, dir, shards[2]!]);
    expect(out.partial).toEqual([1]);
    const byHost = new Map(rows(out.dir).map((r) => [r[0]!, r]));
    expect(byHost.get(slow)?.[1]).toBe('interrupted');
    const after = mine.slice(mine.indexOf(slow) + 1);
    expect(after.length).toBeGreaterThan(0);
    for (const h of after) {
      expect(byHost.get(h)?.slice(1)).toEqual(['not_started', '-', '0', 'shard 1/3 produced no result', '-']);
      expect(journalOf(out.dir, h)).toMatchObject({ reason: 'shard 1/3 produced no result' });
    }
    // One host_done per host: the shard's own not_started entries are replaced, not repeated.
    const done = fs
      .readFileSync(path.join(out.dir, 'journal.ndjson'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"kind":"host_done"'));
    expect(done).toHaveLength(hosts.length);
  });
});
