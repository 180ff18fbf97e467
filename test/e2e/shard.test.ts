// Sharded runs against a real loopback sshd fleet: --shard splits the selected hosts, herd merge joins
// the shards' run directories into one run that equals an unsharded run of the same inventory, and
// herd rerun finishes what a missing shard left not_started.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { refusedPort } from '../fleet/faults.js';
import type { RunRecord } from '../../src/results/run-record.js';
import { hashShard } from '../../src/inventory/shard.js';
import { fleetArgs, writeInventory } from './fleet-args.js';
import { runDirOf, runHerd, useLoopbackFleet, type HerdResult } from './herd-cli.js';

const scope = useLoopbackFleet();

/** hosts.tsv without durations: host, status, exit, reason, step. */
function rowsOf(dir: string): string[] {
  return fs
    .readFileSync(path.join(dir, 'hosts.tsv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split('\t'))
    .map(([host, status, exit, , reason, step]) => [host, status, exit, reason, step].join('\t'));
}

const read = (dir: string, file: string): string => fs.readFileSync(path.join(dir, file), 'utf8');
const json = (dir: string): RunRecord => JSON.parse(read(dir, 'run.json')) as RunRecord;

interface Mixed {
  inv: string;
  hosts: string[];
  failing: string[];
  unreachable: string;
  command: string;
  single: string;
  shards: string[];
}

const mixed = {} as Mixed;

/** `herd run` on the mixed fleet with these extra flags, into runs dir `runs`. */
function run(extra: string[], runs: string, env: Record<string, string> = {}): Promise<HerdResult> {
  return runHerd(
    ['run', '-i', mixed.inv, ...fleetArgs(scope, runs), '--connect-timeout', '3', ...extra, mixed.command],
    {
      env: { HOME: scope.home, ...env },
      timeoutMs: 60_000,
    },
  );
}

const merge = (args: string[]): Promise<HerdResult> => runHerd(['merge', ...args], { env: { HOME: scope.home } });

beforeAll(async () => {
  const refused = await refusedPort();
  mixed.hosts = scope.fleet.hosts(12, 700);
  mixed.failing = [mixed.hosts[2]!, mixed.hosts[7]!];
  mixed.unreachable = `${refused.host}:${refused.port}`;
  mixed.inv = writeInventory(scope, 'mixed.txt', [
    ...mixed.hosts.slice(0, 6),
    mixed.unreachable,
    ...mixed.hosts.slice(6),
  ]);
  mixed.command = [
    `me=$(echo "$SSH_CONNECTION" | cut -d' ' -f3)`,
    `echo "out $me"`,
    `echo "err $me" >&2`,
    `case $me in ${mixed.failing.join('|')}) exit 3;; esac`,
  ].join('; ');
  const single = await run([], 'runs-single');
  expect(single.code, single.stderr).toBe(1);
  mixed.single = runDirOf(single);
  mixed.shards = [];
  for (const k of [0, 1, 2]) {
    const r = await run(['--shard', `${k}/3`, '--run-group', 'g1'], 'runs-shards');
    expect([0, 1], r.stderr).toContain(r.code);
    mixed.shards.push(runDirOf(r));
  }
}, 180_000);

describe('herd run --shard K/N', () => {
  it('runs each selected host in exactly one shard and records the shard, its run group and the host list digest', () => {
    const seen: string[] = [];
    for (const [k, dir] of mixed.shards.entries()) {
      const rec = json(dir);
      expect(rec.shard).toMatchObject({ run_group: 'g1', index: k, count: 3, given: `${k}/3`, by: 'hash' });
      expect(rec.shard!.selected_hosts).toBe(13);
      expect(rec.shard!.selection_digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const own = rowsOf(dir)
        .slice(1)
        .map((r) => r.split('\t')[0]!);
      expect(rec.shard!.hosts).toBe(own.length);
      // shard.tsv: every selected host with its shard, the same in every shard.
      expect(read(dir, 'shard.tsv')).toBe(read(mixed.shards[0]!, 'shard.tsv'));
      const mine = read(dir, 'shard.tsv')
        .trim()
        .split('\n')
        .slice(1)
        .filter((l) => l.endsWith(`\t${k}`))
        .map((l) => l.split('\t')[0]);
      expect(own).toEqual(mine);
      seen.push(...own);
    }
    expect(seen.sort()).toEqual([...mixed.hosts, mixed.unreachable].sort());
  });

  it('--shard auto takes the shard from a Slurm job array, and refuses (exit 2, naming the variables) without one', async () => {
    const slurm = {
      SLURM_ARRAY_TASK_ID: '11',
      SLURM_ARRAY_TASK_MIN: '10',
      SLURM_ARRAY_TASK_MAX: '12',
      SLURM_ARRAY_JOB_ID: '4242',
    };
    const r = await run(['--shard', 'auto'], 'runs-auto', slurm);
    const rec = json(runDirOf(r));
    expect(rec.shard).toMatchObject({
      run_group: '4242',
      index: 1,
      count: 3,
      given: 'auto',
      from_env: 'SLURM_ARRAY_TASK_ID=11',
    });
    expect(rowsOf(runDirOf(r))).toEqual(rowsOf(mixed.shards[1]!).map((row) => row));
    const none = await run(['--shard', 'auto'], 'runs-auto');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/SLURM_ARRAY_TASK_ID.*JOB_COMPLETION_INDEX/);
    const k8s = await run(['--shard', 'auto'], 'runs-auto', { JOB_COMPLETION_INDEX: '1' });
    expect(k8s.code).toBe(2);
    expect(k8s.stderr).toContain('--shard-count');
    const counted = await run(['--shard', 'auto', '--shard-count', '3', '--run-group', 'k1'], 'runs-auto', {
      JOB_COMPLETION_INDEX: '1',
    });
    expect(rowsOf(runDirOf(counted))).toEqual(rowsOf(mixed.shards[1]!));
    expect(json(runDirOf(counted)).shard).toMatchObject({ run_group: 'k1', index: 1, count: 3 });
  });
});

describe('herd merge', () => {
  it('joins 3 shards into the run an unsharded run of the same mixed fleet is (statuses, exits, outputs)', async () => {
    const out = path.join(scope.home, 'merged', 'all');
    const m = await merge([...mixed.shards, '-o', out]);
    expect(m.code, m.stderr).toBe(1); // as the unsharded run: two hosts fail, one is unreachable
    expect(runDirOf(m)).toBe(out);
    expect(rowsOf(out)).toEqual(rowsOf(mixed.single));
    expect(read(out, 'failed.txt')).toBe(read(mixed.single, 'failed.txt'));
    for (const h of [...mixed.hosts, mixed.unreachable])
      for (const stream of ['stdout', 'stderr'])
        expect(fs.existsSync(path.join(out, stream, h)) && read(out, `${stream}/${h}`), `${stream}/${h}`).toBe(
          fs.existsSync(path.join(mixed.single, stream, h)) && read(mixed.single, `${stream}/${h}`),
        );
    expect(read(out, 'output.log').split('\n').sort()).toEqual(read(mixed.single, 'output.log').split('\n').sort());
    const rec = json(out);
    expect(rec).toMatchObject({ command: 'merge', state: 'done', hosts_total: 13, counts: json(mixed.single).counts });
    expect(rec.merged!.shards.map((s) => s.run)).toEqual(mixed.shards.map((d) => path.basename(d)));
    // herd show reads it like any run.
    const shown = await runHerd(['show', out, '--status', 'failed'], { env: { HOME: scope.home } });
    expect(shown.stdout.trim().split('\n').sort()).toEqual([...mixed.failing].sort());
    // Without -o: a new run directory in ./runs, which latest then names (herd show with no argument).
    const cwd = fs.mkdtempSync(path.join(scope.home, 'cwd-'));
    const here = await runHerd(['merge', ...mixed.shards], { cwd, env: { HOME: scope.home } });
    expect(path.dirname(runDirOf(here))).toBe(path.join(cwd, 'runs'));
    expect(fs.realpathSync(path.join(cwd, 'runs', 'latest'))).toBe(runDirOf(here));
    expect(read(runDirOf(here), 'hosts.tsv')).toBe(read(out, 'hosts.tsv'));
    const latest = await runHerd(['show', '--status', 'failed'], { cwd, env: { HOME: scope.home } });
    expect(latest.stdout).toBe(shown.stdout);
  });
});

describe('herd merge of an incomplete or foreign set of shards', () => {
  it("makes a missing shard's hosts not_started (exit 1), gives the same bytes twice, and herd rerun finishes them", async () => {
    const [s0, s1, s2] = mixed.shards as [string, string, string];
    const a = path.join(scope.home, 'merged', 'gap-a');
    const b = path.join(scope.home, 'merged', 'gap-b');
    const first = await merge([s2, s0, '-o', a]);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('shard 1/3: no directory given');
    const owned1 = rowsOf(s1)
      .slice(1)
      .map((r) => r.split('\t')[0]!);
    const rows = new Map(
      rowsOf(a)
        .slice(1)
        .map((r) => [r.split('\t')[0]!, r]),
    );
    for (const h of owned1) expect(rows.get(h)).toBe(`${h}\tnot_started\t-\tshard 1/3 produced no result\t-`);
    for (const dir of [s0, s2]) for (const r of rowsOf(dir).slice(1)) expect(rows.get(r.split('\t')[0]!)).toBe(r);
    expect(json(a).state).toBe('interrupted');
    expect(json(a).merged!.shards[1]).toMatchObject({ index: 1, run: null, hosts: owned1.length });
    // Idempotent: the same shards again give the same files, byte for byte; run.json differs in its id,
    // its command line and when the merge ran.
    expect((await merge([s0, s2, '-o', b])).code).toBe(1);
    for (const f of ['hosts.tsv', 'failed.txt', 'output.log']) expect(read(b, f), f).toBe(read(a, f));
    // The journal names the run it belongs to in its first line.
    expect(read(b, 'journal.ndjson').replace('"run":"gap-b"', '"run":"gap-a"')).toBe(read(a, 'journal.ndjson'));
    for (const stream of ['stdout', 'stderr'])
      for (const h of fs.readdirSync(path.join(a, stream)))
        expect(read(b, `${stream}/${h}`)).toBe(read(a, `${stream}/${h}`));
    const strip = (r: RunRecord): unknown => ({
      ...r,
      id: 0,
      argv: 0,
      merged: { ...r.merged, merged_at: 0 },
    });
    expect(strip(json(b))).toEqual(strip(json(a)));
    // herd rerun picks up the missing shard's hosts (and the failed ones) from one controller.
    const again = await runHerd(['rerun', a], { env: { HOME: scope.home }, timeoutMs: 60_000 });
    const rerun = runDirOf(again);
    const rerunRows = rowsOf(rerun).slice(1);
    const single = new Map(
      rowsOf(mixed.single)
        .slice(1)
        .map((r) => [r.split('\t')[0]!, r]),
    );
    for (const h of owned1) expect(rerunRows).toContain(single.get(h));
    expect(json(rerun).rerun_of).toBe(path.basename(a));
    // Or sharded again: two reruns of the same merged run, each --shard K/2, merge into the one-controller rerun.
    const halves: string[] = [];
    for (const k of [0, 1]) {
      const half = await runHerd(
        ['rerun', a, '--shard', `${k}/2`, '--run-group', 'again', '-o', path.join(scope.home, 'halves')],
        {
          env: { HOME: scope.home },
          timeoutMs: 60_000,
        },
      );
      // A half may own none of the few hosts to rerun: it says so and leaves no directory.
      if (!half.stderr.includes('owns none')) halves.push(runDirOf(half));
    }
    const joined = path.join(scope.home, 'merged', 'halves');
    await merge([...halves, '-o', joined]);
    expect(rowsOf(joined)).toEqual(rowsOf(rerun));
  });

  it('refuses shards of different run groups, a shard given twice, and a run that is no shard (exit 2)', async () => {
    const other = await run(['--shard', '1/3', '--run-group', 'g2'], 'runs-other');
    const foreign = await merge([mixed.shards[0]!, runDirOf(other), '-o', path.join(scope.home, 'merged', 'x')]);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(/run group g1 but .* of g2/);
    expect(fs.existsSync(path.join(scope.home, 'merged', 'x'))).toBe(false);
    // The same directory twice (a glob also matching `latest`) is one shard; a copy of it is a second one.
    const copy = path.join(scope.home, 'copy-of-shard-0');
    fs.cpSync(mixed.shards[0]!, copy, { recursive: true });
    const twice = await merge([mixed.shards[0]!, mixed.shards[0]!, copy]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('shard 0/3 is given twice');
    const globbed = await merge([...mixed.shards, path.join(path.dirname(mixed.shards[0]!), 'latest')]);
    expect(globbed.code, globbed.stderr).toBe(1);
    // -o names a new directory: an existing one is refused and left as it was.
    const taken = path.join(scope.home, 'taken');
    fs.mkdirSync(taken);
    fs.writeFileSync(path.join(taken, 'keep'), 'mine\n');
    const over = await merge([...mixed.shards, '-o', taken]);
    expect(over.code).toBe(2);
    expect(over.stderr).toContain('it already exists');
    expect(fs.readdirSync(taken)).toEqual(['keep']);
    const plain = await merge([mixed.single]);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('is not one shard of a sharded run');
    // Another host list (a different -l) is another logical run, even under the same run group.
    const narrower = await run(['--shard', '1/3', '--run-group', 'g1', '-l', `!${mixed.hosts[0]}`], 'runs-other');
    const mixedUp = await merge([mixed.shards[0]!, runDirOf(narrower)]);
    expect(mixedUp.code).toBe(2);
    expect(mixedUp.stderr).toContain('selected different hosts');
  });
});

describe('--shard on push, pull, play and rerun', () => {
  it("runs only the shard's hosts on each; --shard-by group keeps a group's hosts in one shard", async () => {
    const hosts = scope.fleet.hosts(9, 760);
    const groups = { a: hosts.slice(0, 4), b: hosts.slice(4, 7), c: hosts.slice(7) };
    const inv = writeInventory(
      scope,
      'groups.txt',
      Object.entries(groups).flatMap(([g, hs]) => [`[${g}]`, ...hs]),
    );
    // Largest group first to the least loaded shard: a (4) -> 0, b (3) -> 1, c (2) -> 1.
    const zero = groups.a;
    const one = [...groups.b, ...groups.c];
    const conn = fleetArgs(scope, 'runs-kinds');
    const by = ['--shard-by', 'group', '--run-group', 'kinds'];
    const own = (r: HerdResult): string[] =>
      rowsOf(runDirOf(r))
        .slice(1)
        .map((row) => row.split('\t')[0]!);
    const env = { env: { HOME: scope.home }, timeoutMs: 60_000 };
    const ran = await runHerd(['run', '-i', inv, ...conn, '--shard', '0/2', ...by, 'true'], env);
    expect(own(ran)).toEqual(zero);
    expect(json(runDirOf(ran)).shard).toMatchObject({ by: 'group', run_group: 'kinds', index: 0, count: 2 });
    const local = path.join(scope.home, 'payload.txt');
    fs.writeFileSync(local, 'payload\n');
    const remote = `/tmp/herd-shard-${process.pid}-{{ host }}.txt`;
    const pushed = await runHerd(['push', '-i', inv, ...conn, '--shard', '1/2', ...by, local, remote], env);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(own(pushed)).toEqual(one);
    const pulled = await runHerd(
      ['pull', '-i', inv, ...conn, '--shard', '1/2', ...by, remote, path.join(scope.home, 'pulled')],
      env,
    );
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(own(pulled)).toEqual(one);
    for (const h of one) fs.rmSync(`/tmp/herd-shard-${process.pid}-${h}.txt`, { force: true });
    const book = path.join(scope.home, 'book.yml');
    fs.writeFileSync(book, '- name: one step\n  steps:\n    - name: say\n      run: echo hi\n');
    const played = await runHerd(['play', '-i', inv, ...conn, '--shard', '0/2', ...by, book], env);
    expect(played.code, played.stderr).toBe(0);
    expect(own(played)).toEqual(zero);
    expect(JSON.parse(read(runDirOf(played), 'plays.json')).plays[0].hosts).toEqual(zero);
    // rerun: the hosts to rerun are split afresh (by hash: hosts.tsv, which rerun reads, has no groups).
    const failing = await runHerd(['run', '-i', inv, ...conn, 'false'], env);
    const rerun = await runHerd(['rerun', runDirOf(failing), '--shard', '1/2', '--run-group', 'again'], env);
    const listed = read(runDirOf(rerun), 'shard.tsv').trim().split('\n').slice(1);
    expect(listed.map((l) => l.split('\t')[0])).toEqual(hosts);
    expect(own(rerun)).toEqual(listed.filter((l) => l.endsWith('\t1')).map((l) => l.split('\t')[0]));
    expect(json(runDirOf(rerun)).shard).toMatchObject({ index: 1, count: 2, selected_hosts: 9, run_group: 'again' });
    const previewed = await runHerd(['hosts', '-i', inv, '--shard', '1/2', '--shard-by', 'group'], env);
    expect(previewed.stdout.trim().split('\n')).toEqual(one);
    const lone = await runHerd(['run', '-i', inv, ...conn, '--shard-by', 'group', 'true'], env);
    expect(lone.code).toBe(2);
    expect(lone.stderr).toContain('--shard-by needs --shard');
  });
});

describe('herd merge of a sharded playbook run', () => {
  it("keeps a missing shard's hosts in their plays, so herd rerun runs them there and nowhere else", async () => {
    const hosts = scope.fleet.hosts(6, 790);
    const inv = writeInventory(scope, 'plays.txt', ['[web]', ...hosts.slice(0, 3), '[db]', ...hosts.slice(3)]);
    const book = path.join(scope.home, 'two-plays.yml');
    fs.writeFileSync(
      book,
      '- name: web only\n  hosts: web\n  steps:\n    - name: w\n      run: echo web\n' +
        '- name: everyone\n  steps:\n    - name: e\n      run: echo all\n',
    );
    const env = { env: { HOME: scope.home }, timeoutMs: 60_000 };
    const conn = fleetArgs(scope, 'runs-plays');
    const by = ['--shard-by', 'group', '--run-group', 'plays'];
    // db and web both hold 3 hosts: by name, db -> shard 0, web -> shard 1; only shard 0 runs.
    const ran = await runHerd(['play', '-i', inv, ...conn, '--shard', '0/2', ...by, book], env);
    expect(ran.code, ran.stderr).toBe(0);
    const merged = path.join(scope.home, 'merged', 'plays');
    expect((await merge([runDirOf(ran), '-o', merged])).code).toBe(1);
    const plays = JSON.parse(read(merged, 'plays.json')) as { plays: { index: number; hosts: string[] }[] };
    expect(plays.plays.map((p) => p.hosts)).toEqual([hosts.slice(0, 3), hosts]);
    const rerun = await runHerd(['rerun', merged], env);
    expect(rerun.code, rerun.stderr).toBe(0);
    const steps = read(runDirOf(rerun), 'steps.tsv').trim().split('\n').slice(1);
    // web's hosts ran both their plays; db's, done in shard 0, were not touched again.
    const web = hosts.slice(0, 3);
    expect(steps.map((l) => l.split('\t').slice(0, 2).join(' ')).sort()).toEqual(
      [...web.map((h) => `${h} 1.1`), ...web.map((h) => `${h} 2.1`)].sort(),
    );
  });
});

describe('a shard that owns no host', () => {
  it('says so and exits 0 without a run directory; the merge of the others is complete', async () => {
    const hosts = scope.fleet.hosts(2, 800);
    const inv = writeInventory(scope, 'two.txt', hosts);
    const n = 6;
    const used = new Set(hosts.map((h) => hashShard(h, n)));
    const empty = [...Array(n).keys()].find((k) => !used.has(k))!;
    const conn = fleetArgs(scope, 'runs-empty');
    const env = { env: { HOME: scope.home }, timeoutMs: 60_000 };
    const none = await runHerd(
      ['run', '-i', inv, ...conn, '--shard', `${empty}/${n}`, '--run-group', 'e', 'true'],
      env,
    );
    expect(none.code).toBe(0);
    expect(none.stderr).toContain(`shard ${empty}/${n} owns none of the 2 selected hosts: nothing to run`);
    expect(fs.existsSync(path.join(scope.home, 'runs-empty'))).toBe(false);
    const dirs: string[] = [];
    for (const k of used) {
      const r = await runHerd(['run', '-i', inv, ...conn, '--shard', `${k}/${n}`, '--run-group', 'e', 'true'], env);
      dirs.push(runDirOf(r));
    }
    const m = await merge([...dirs, '-o', path.join(scope.home, 'merged', 'empty')]);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stderr).not.toContain('no directory given');
    expect(json(path.join(scope.home, 'merged', 'empty')).state).toBe('done');
  });
});

describe('herd hosts --shard', () => {
  it('herd hosts --shard lists the hosts that shard would run, before anything runs', async () => {
    const env = { env: { HOME: scope.home } };
    const listed = await runHerd(['hosts', '-i', mixed.inv, '--shard', '2/3'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.trim().split('\n')).toEqual(
      rowsOf(mixed.shards[2]!)
        .slice(1)
        .map((r) => r.split('\t')[0]),
    );
    const auto = await runHerd(['hosts', '-i', mixed.inv, '--shard', 'auto', '--shard-count', '3'], {
      env: { HOME: scope.home, JOB_COMPLETION_INDEX: '2' },
    });
    expect(auto.stdout).toBe(listed.stdout);
    const graph = await runHerd(['hosts', '-i', mixed.inv, '--shard', '2/3', '--graph'], env);
    expect(graph.code).toBe(2);
  });
});
