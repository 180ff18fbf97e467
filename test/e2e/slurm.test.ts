// Sharded runs on a real scheduler: a Slurm job array (test/fleet/slurm.ts) runs `herd run --shard auto`
// against the loopback fleet, `herd merge` joins the shards, and the merged run is what one controller
// would have written; a task killed mid-run leaves its hosts visibly unfinished, and `herd rerun` ends them.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slurmSkipReason, startSlurm, type SlurmCluster } from '../fleet/slurm.js';
import { HERD_BIN, runDirOf, runHerd, scratchDir, useLoopbackFleet, type HerdResult } from './herd-cli.js';
import { writeInventory } from './fleet-args.js';
import { openGate, waitUntil } from './gate.js';

const skip = slurmSkipReason();
if (skip) console.warn(`skipping the Slurm tests: ${skip}`);

const scope = useLoopbackFleet();
let slurm: SlurmCluster | undefined;
beforeAll(async () => {
  if (!skip) slurm = await startSlurm();
});
afterAll(async () => {
  await slurm?.stop();
});

const SHARDS = 4;
/** What the test's own runHerd gives herd, so a job's herd sees the same environment (no agent, no /etc/ssh). */
const JOB_ENV = { NO_COLOR: '1', HERD_SSH_SYSTEM_CONFIG: 'none', SSH_AUTH_SOCK: undefined };

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The flags that connect herd to the fleet, with a known_hosts file the reference run has filled. */
function conn(knownHosts: string): string[] {
  const { fleet } = scope;
  return ['-u', fleet.user, '-p', String(fleet.port), '-k', fleet.keyPath, '--known-hosts', knownHosts];
}

/**
 * A batch script for one array task: the herd built from this checkout, by absolute path, writing its
 * shard's run under SHARED/<task id> (every shard's `latest` then names exactly its own run).
 */
function shardScript(dir: string, shared: string, herdArgs: string[]): string {
  const file = path.join(dir, 'shard.sbatch');
  fs.writeFileSync(
    file,
    '#!/bin/sh\n' +
      `exec ${q(HERD_BIN)} ${herdArgs.map(q).join(' ')} --shard auto --out ${q(shared)}/"$SLURM_ARRAY_TASK_ID"\n`,
    { mode: 0o755 },
  );
  return file;
}

/** The run directories the array's tasks left in SHARED, one per task that got as far as creating one. */
function shardRuns(shared: string): string[] {
  if (!fs.existsSync(shared)) return [];
  return fs
    .readdirSync(shared)
    .filter((n) => /^\d+$/.test(n) && fs.existsSync(path.join(shared, n, 'latest')))
    .map((n) => path.join(shared, n, 'latest'));
}

/** hosts.tsv without its duration column (the one thing a sharded run cannot reproduce). */
function hostRows(runDir: string): string[] {
  return fs
    .readFileSync(path.join(runDir, 'hosts.tsv'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) =>
      line
        .split('\t')
        .filter((_, i) => i !== 3)
        .join('\t'),
    );
}

function filesIn(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) out[name] = fs.readFileSync(path.join(dir, name), 'utf8');
  return out;
}

function sortedLines(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).sort();
}

/**
 * The merge step as the README gives it: a job submitted with the array, `--dependency=afterany:JOB` (so it runs
 * when tasks failed or were cancelled too), whose shell expands the shards' glob only when it runs.
 */
function mergeAfter(cluster: SlurmCluster, job: string, shared: string, out: string): () => Promise<MergeStep> {
  const log = path.join(path.dirname(out), 'merge.out');
  const command = `exec ${q(HERD_BIN)} merge ${q(shared)}/*/latest -o ${q(out)}`;
  const { done } = cluster.submitAndWait([`--dependency=afterany:${job}`, '-o', log, '--wrap', command], {
    env: { ...JOB_ENV, HOME: scope.home },
    timeoutMs: 170_000,
  });
  return async () => {
    const { code } = await done;
    const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
    return { code, text, dir: /^results: /m.test(text) ? runDirOf({ ...NO_RESULT, stderr: text }) : out };
  };
}

interface MergeStep {
  /** The merge job's exit code (sbatch --wait exits with it) and its output. */
  code: number | null;
  text: string;
  dir: string;
}

const NO_RESULT: HerdResult = { code: null, signal: null, stdout: '', stderr: '', durationMs: 0 };

/** Each host's shard, as the shards themselves recorded it (shard.tsv is the same in every shard's run). */
function shardOf(runDir: string): Map<string, number> {
  const lines = fs.readFileSync(path.join(runDir, 'shard.tsv'), 'utf8').trimEnd().split('\n').slice(1);
  return new Map(lines.map((l) => l.split('\t')).map(([h, k]) => [h!, Number(k)]));
}

async function taskGone(cluster: SlurmCluster, task: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await cluster.client('squeue', ['-h', '-j', task, '-o', '%T']);
    if (r.code === 0 && r.stdout.trim() === '') return;
    if (Date.now() > deadline) throw new Error(`array task ${task} still queued after 60 s: ${r.stdout}${r.stderr}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

// sbatch --wait polls the controller at growing intervals, and on a loaded machine every step is slower.
describe.skipIf(skip !== undefined)(
  'herd run --shard auto as a Slurm job array, then herd merge',
  { timeout: 180_000 },
  () => {
    it('the merged run of 4 array tasks equals one controller running the same inventory', async () => {
      const cluster = slurm!;
      const work = scratchDir('herd-slurm-equal-');
      const hosts = scope.fleet.hosts(10, 4000);
      // Two hosts refuse the connection, two end their command with exit 3, the rest are ok.
      const inventory = [...hosts.slice(0, 5), '127.0.0.1:1', ...hosts.slice(5), '127.0.0.2:1'];
      const failing = [hosts[2]!, hosts[7]!];
      const command =
        `me=$(echo "$SSH_CONNECTION" | cut -d' ' -f3); echo "out $me"; echo "err $me" >&2; ` +
        `case $me in ${failing.join('|')}) exit 3;; esac`;
      const inv = writeInventory(scope, 'slurm-equal.txt', inventory);
      const kh = path.join(work, 'kh');

      const single = await runHerd(['run', '-i', inv, ...conn(kh), '-o', path.join(work, 'single'), command], {
        env: { HOME: scope.home },
      });
      expect(single.stderr).toContain('12 hosts: 8 ok, 2 failed, 2 unreachable');
      expect(single.code).toBe(1);
      const reference = runDirOf(single);

      const shared = path.join(work, 'shared');
      const script = shardScript(work, shared, ['run', '-i', inv, ...conn(kh), command]);
      const { jobId, done } = cluster.submitAndWait(
        [`--array=0-${SHARDS - 1}`, '-o', path.join(work, 'task-%a.out'), script],
        { env: { ...JOB_ENV, HOME: scope.home }, timeoutMs: 170_000 },
      );
      const job = await jobId;
      const merged = mergeAfter(cluster, job, shared, path.join(work, 'merged'));
      const sbatch = await done;
      const taskLogs = (): string =>
        fs
          .readdirSync(work)
          .filter((f) => f.startsWith('task-'))
          .map((f) => `--- ${f}\n${fs.readFileSync(path.join(work, f), 'utf8')}`)
          .join('\n');
      // A task whose hosts failed exits 1, and sbatch --wait exits with the array's highest exit code.
      expect(sbatch.code, `${sbatch.stderr}\n${taskLogs()}`).toBe(1);

      const runs = shardRuns(shared);
      expect(runs).toHaveLength(SHARDS);
      for (const run of runs) {
        const record = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8'));
        const task = path.basename(path.dirname(run));
        expect(record.shard).toMatchObject({
          run_group: job,
          index: Number(task),
          count: SHARDS,
          from_env: `SLURM_ARRAY_TASK_ID=${task}`,
          selected_hosts: inventory.length,
        });
      }

      const { code, text, dir } = await merged();
      expect(text).toContain(`merged ${SHARDS} shards of ${SHARDS} (run group ${job})`);
      expect(text).not.toMatch(/no result/);
      const record = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
      expect(record.counts).toEqual(JSON.parse(fs.readFileSync(path.join(reference, 'run.json'), 'utf8')).counts);
      expect(hostRows(dir)).toEqual(hostRows(reference));
      expect(
        hostRows(dir)
          .slice(1)
          .map((r) => r.split('\t')[0]),
      ).toEqual(inventory);
      expect(fs.readFileSync(path.join(dir, 'failed.txt'), 'utf8')).toBe(
        fs.readFileSync(path.join(reference, 'failed.txt'), 'utf8'),
      );
      expect(filesIn(path.join(dir, 'stdout'))).toEqual(filesIn(path.join(reference, 'stdout')));
      expect(filesIn(path.join(dir, 'stderr'))).toEqual(filesIn(path.join(reference, 'stderr')));
      expect(sortedLines(path.join(dir, 'output.log'))).toEqual(sortedLines(path.join(reference, 'output.log')));
      expect(code).toBe(single.code);
    });

    it('a task cancelled mid-run: its running host gets --grace, the rest are not_started, rerun ends them', async () => {
      // Slurm's cancel sends SIGTERM to every process of the task, herd's workers included: herd alone decides
      // what it means (start no new host, give running commands --grace), as for a Ctrl-C on the terminal.
      const k = await killOneTask([], 'release once herd noted the signal');
      for (const h of k.hosts) {
        const row = k.rows.get(h);
        if (!k.itsHosts.includes(h) || h === k.running) expect(row, h).toMatchObject({ status: 'ok', exit: '0' });
        // A shard stopped before it finished gave no result for the hosts it never started.
        else
          expect(row, h).toMatchObject({
            status: 'not_started',
            reason: `shard ${k.killed}/${SHARDS} produced no result`,
          });
      }
      expect(fs.readFileSync(path.join(k.merged, 'stdout', k.running), 'utf8')).toBe(`done ${k.running}\n`);
      await rerunFinishes(
        k,
        k.itsHosts.filter((h) => h !== k.running),
      );
    });

    it('a task killed outright: its unstarted hosts are "shard K/N produced no result", rerun ends them', async () => {
      // --batch --signal=KILL: SIGKILL to every process of the task at once (what an OOM kill or a lost node
      // does), so herd never writes its final record; a plain scancel sends SIGTERM first.
      const k = await killOneTask(['--batch', '--signal=KILL'], 'release once the task is gone');
      for (const h of k.hosts) {
        const row = k.rows.get(h);
        if (!k.itsHosts.includes(h)) expect(row, h).toMatchObject({ status: 'ok', exit: '0' });
        // Its journal says its command started: it may have run.
        else if (h === k.running) expect(row, h).toMatchObject({ status: 'interrupted' });
        else
          expect(row, h).toMatchObject({
            status: 'not_started',
            reason: `shard ${k.killed}/${SHARDS} produced no result`,
          });
      }
      await rerunFinishes(
        k,
        k.itsHosts.filter((h) => h !== k.running),
        k.running,
      );
    });

    it('herd rerun of a merged run, sharded again as a job array, ends the hosts a killed task left', async () => {
      const cluster = slurm!;
      const k = await killOneTask(['--batch', '--signal=KILL'], 'release once the task is gone');
      const unstarted = k.itsHosts.filter((h) => h !== k.running);
      const shared = path.join(k.work, 'rerun-shared');
      const script = shardScript(k.work, shared, ['rerun', k.merged, '--include-interrupted']);
      const { jobId, done } = cluster.submitAndWait(['--array=0-1', '-o', path.join(k.work, 'rerun-%a.out'), script], {
        env: { ...JOB_ENV, HOME: scope.home },
        timeoutMs: 170_000,
      });
      const job = await jobId;
      const merged = mergeAfter(cluster, job, shared, path.join(k.work, 'rerun-merged'));
      expect((await done).code).toBe(0);
      const { code, text, dir } = await merged();
      expect(code, text).toBe(0);
      expect(text).toContain(`(run group ${job})`);
      // The killed task's hosts, in the merged run's order, split over the new array and all ok.
      expect(hostRows(dir).slice(1)).toEqual(k.itsHosts.map((h) => `${h}\tok\t0\t-\t-`));
      for (const h of unstarted) expect(fs.readFileSync(path.join(dir, 'stdout', h), 'utf8')).toBe(`done ${h}\n`);
      const record = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
      expect(record.merged.count).toBe(2);
    });
  },
);

interface KilledTask {
  work: string;
  hosts: string[];
  /** The killed task's shard index, its hosts, and the one of them that was mid-command. */
  killed: number;
  itsHosts: string[];
  running: string;
  /** The merged hosts.tsv (duration left out), by host. */
  rows: Map<string, { status: string; exit: string; reason: string }>;
  merged: string;
}

/**
 * Four array tasks on 12 gated hosts, one host at a time per task (--forks 1); once the task owning the most
 * hosts has one host mid-command, `scancel ARGS JOB_K` stops it, the gate opens (`release`), the others finish,
 * and the shards are merged (exit 1 asserted).
 */
async function killOneTask(
  scancelArgs: string[],
  release: 'release once herd noted the signal' | 'release once the task is gone',
): Promise<KilledTask> {
  const cluster = slurm!;
  const work = scratchDir('herd-slurm-kill-');
  const gate = openGate();
  // A failing step must not leave the hosts' commands waiting at the gate after the test.
  try {
    const hosts = scope.fleet.hosts(12, 4100);
    const inv = writeInventory(scope, 'slurm-kill.txt', hosts);
    const kh = path.join(work, 'kh');
    const shared = path.join(work, 'shared');
    const script = shardScript(work, shared, [
      'run',
      '-i',
      inv,
      ...conn(kh),
      '--forks',
      '1',
      gate.command('echo "done $me"'),
    ]);
    const { jobId, done } = cluster.submitAndWait(
      [`--array=0-${SHARDS - 1}`, '-o', path.join(work, 'task-%a.out'), script],
      { env: { ...JOB_ENV, HOME: scope.home }, timeoutMs: 170_000 },
    );
    const job = await jobId;
    const merged = mergeAfter(cluster, job, shared, path.join(work, 'merged'));

    // Which task owns which hosts, as the shards recorded it (shard.tsv is the same in every shard).
    const withPlan = (): string | undefined => shardRuns(shared).find((r) => fs.existsSync(path.join(r, 'shard.tsv')));
    await waitUntil(() => withPlan() !== undefined, 'a shard.tsv');
    const owner = shardOf(withPlan()!);
    const size = (k: number): number => [...owner.values()].filter((s) => s === k).length;
    const killed = [...Array(SHARDS).keys()].sort((a, b) => size(b) - size(a) || a - b)[0]!;
    const itsHosts = hosts.filter((h) => owner.get(h) === killed);
    expect(itsHosts.length).toBeGreaterThanOrEqual(3);
    await waitUntil(() => gate.started().some((h) => itsHosts.includes(h)), `a host of shard ${killed} to start`);
    const started = gate.started().filter((h) => itsHosts.includes(h));
    expect(started).toHaveLength(1);

    const task = `${job}_${killed}`;
    const cancel = await cluster.client('scancel', [...scancelArgs, task]);
    expect(cancel.code, cancel.stderr).toBe(0);
    switch (release) {
      case 'release once herd noted the signal': {
        const log = path.join(work, `task-${killed}.out`);
        const noted = (): boolean =>
          fs.existsSync(log) && /SIGTERM: starting no new hosts/.test(fs.readFileSync(log, 'utf8'));
        await waitUntil(noted, `herd's SIGTERM note in ${log}`);
        gate.release();
        await taskGone(cluster, task);
        break;
      }
      case 'release once the task is gone':
        await taskGone(cluster, task);
        gate.release();
        break;
      default: {
        const never: never = release;
        throw new Error(`unknown release ${String(never)}`);
      }
    }
    const sbatch = await done;
    expect(sbatch.code).not.toBe(0);

    const { code, text, dir } = await merged();
    expect(code, text).toBe(1);
    const rows = new Map(
      hostRows(dir)
        .slice(1)
        .map((r) => r.split('\t'))
        .map(([host, status, exit, reason]) => [host!, { status: status!, exit: exit!, reason: reason! }]),
    );
    expect([...rows.keys()]).toEqual(hosts);
    return { work, hosts, killed, itsHosts, running: started[0]!, rows, merged: dir };
  } finally {
    gate.release();
  }
}

/** One controller finishes what the killed task left: `unstarted` by a plain rerun, `interrupted` only when asked. */
async function rerunFinishes(k: KilledTask, unstarted: string[], interrupted?: string): Promise<void> {
  const plain = await runHerd(['rerun', k.merged, '-o', path.join(k.work, 'rerun')], { env: { HOME: scope.home } });
  expect(plain.code, plain.stderr).toBe(0);
  expect(hostRows(runDirOf(plain)).slice(1)).toEqual(unstarted.map((h) => `${h}\tok\t0\t-\t-`));
  for (const h of unstarted)
    expect(fs.readFileSync(path.join(runDirOf(plain), 'stdout', h), 'utf8')).toBe(`done ${h}\n`);
  if (interrupted === undefined) return;
  const all = await runHerd(['rerun', k.merged, '--include-interrupted', '-o', path.join(k.work, 'rerun-all')], {
    env: { HOME: scope.home },
  });
  expect(all.code, all.stderr).toBe(0);
  const rows = hostRows(runDirOf(all)).slice(1);
  expect(rows).toEqual(k.itsHosts.map((h) => `${h}\tok\t0\t-\t-`));
}
