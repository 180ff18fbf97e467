// A single-node Slurm cluster from Debian's packages (slurm-wlm, munge) for the sharded-run tests: munged,
// slurmctld and slurmd on a generated slurm.conf in a temp dir, every daemon started and stopped by its pid.
// Nothing here touches /etc/slurm, /etc/munge or /run/munge, so it runs beside a real cluster on the machine.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, isRoot } from './fleet.js';

const DAEMONS = ['/usr/sbin/munged', '/usr/sbin/mungekey', '/usr/sbin/slurmctld', '/usr/sbin/slurmd'];
const CLIENTS = ['sbatch', 'sinfo', 'squeue', 'scancel', 'scontrol'];
/** Every wait here is bounded: a cluster that does not come up is a clear failure, never a hung test. */
const START_TIMEOUT_MS = 30_000;
/** A cancelled herd job gets its --grace (10 s by default) before it ends. */
const JOBS_STOP_TIMEOUT_MS = 15_000;
const DAEMONS_STOP_TIMEOUT_MS = 5_000;

export interface SlurmCluster {
  dir: string;
  /** The generated slurm.conf: clients find the cluster through SLURM_CONF. */
  conf: string;
  /** This machine's node name, as `slurmd -C` reports it. */
  node: string;
  /**
   * Environment for client commands and jobs: SLURM_CONF, and a token every process of this cluster inherits
   * (daemons, step daemons, jobs), so stop() finds leftovers by pid without matching any other process by name.
   */
  env: Record<string, string>;
  /** Run a Slurm client (sbatch, squeue, scancel...) against this cluster; never throws on a non-zero exit. */
  client(command: string, args: string[], opts?: ClientOptions): Promise<ClientResult>;
  /** `sbatch --parsable --wait ARGS`: the job id as soon as Slurm accepts the job, and sbatch's end. */
  submitAndWait(args: string[], opts?: ClientOptions): { jobId: Promise<string>; done: Promise<ClientResult> };
  stop(): Promise<void>;
}

export interface ClientOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
}

export interface ClientResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Why this machine cannot run the cluster, or undefined when it can. Only a missing privilege is a reason to skip. */
export function slurmSkipReason(): string | undefined {
  if (!isRoot())
    return 'the Slurm tests need root: slurmd runs jobs as their submitter and munged reads a root-only key';
  return undefined;
}

function requireInstalled(): void {
  const missing = DAEMONS.filter((bin) => !fs.existsSync(bin));
  for (const bin of CLIENTS) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      missing.push(bin);
    }
  }
  if (missing.length > 0)
    throw new Error(`${missing.join(', ')} missing: install slurm-wlm and munge (bash .ci/setup does it)`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `slurmd -C`: the node line Slurm itself computes for this machine (its real CPUs and memory). */
function nodeLine(): { node: string; line: string } {
  const text = execFileSync('/usr/sbin/slurmd', ['-C'], { encoding: 'utf8' });
  const line = text.split('\n').find((l) => l.startsWith('NodeName='));
  const node = line && /^NodeName=(\S+)/.exec(line)?.[1];
  if (!line || !node) throw new Error(`slurmd -C printed no NodeName line:\n${text}`);
  return { node, line: line.trim() };
}

function slurmConf(dir: string, node: string, line: string, ports: { ctld: number; slurmd: number }): string {
  return (
    [
      `ClusterName=herd${randomBytes(3).toString('hex')}`,
      `SlurmctldHost=${node}(127.0.0.1)`,
      `SlurmctldPort=${ports.ctld}`,
      `SlurmdPort=${ports.slurmd}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${path.join(dir, 'munge.socket')}`,
      `StateSaveLocation=${path.join(dir, 'state')}`,
      `SlurmdSpoolDir=${path.join(dir, 'spool')}`,
      `SlurmctldPidFile=${path.join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${path.join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${path.join(dir, 'slurmctld.log')}`,
      `SlurmdLogFile=${path.join(dir, 'slurmd.log')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'MpiDefault=none',
      'SwitchType=switch/none',
      'MailProg=/bin/true',
      'ReturnToService=2',
      // Per CPU, not per node, so several array tasks share the one node; FORCE:4 lets an array of four run
      // at once on a two-core machine (the shards wait on SSH, not on the CPU).
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_CPU',
      `${line} NodeAddr=127.0.0.1 State=UNKNOWN`,
      `PartitionName=herd Nodes=${node} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4`,
    ].join('\n') + '\n'
  );
}

function startDaemon(dir: string, name: string, argv: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const log = fs.openSync(path.join(dir, `${name}.out`), 'a');
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', log, log], env, cwd: dir });
  fs.closeSync(log);
  return child;
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function logsOf(dir: string): string {
  return ['munged.out', 'slurmctld.out', 'slurmd.out']
    .map((f) => {
      const file = path.join(dir, f);
      return fs.existsSync(file) ? `--- ${f}\n${fs.readFileSync(file, 'utf8').slice(-4000)}` : '';
    })
    .join('\n');
}

/** Pids of processes whose environment holds `token` (this cluster's daemons, step daemons and jobs). */
function pidsWithEnv(token: string): number[] {
  const self = process.pid;
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((pid) => {
      if (pid === self) return false;
      try {
        return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(token);
      } catch {
        return false;
      }
    });
}

function killPids(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function submitAndWait(
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: ClientOptions,
): { jobId: Promise<string>; done: Promise<ClientResult> } {
  const child = spawn('sbatch', ['--parsable', '--wait', ...args], {
    env: { ...env, ...opts.env },
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let announce: (id: string) => void = () => undefined;
  let refuse: (err: Error) => void = () => undefined;
  const jobId = new Promise<string>((resolve, reject) => ((announce = resolve), (refuse = reject)));
  // A caller that only awaits `done` must not see an unhandled rejection here.
  jobId.catch(() => undefined);
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    // --parsable prints "JOBID" or "JOBID;CLUSTER" on its first line, before it waits.
    const m = /^(\d+)(;\S*)?\n/.exec(stdout);
    if (m) announce(m[1]!);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const done = new Promise<ClientResult>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      refuse(new Error(`sbatch printed no job id:\n${stdout}${stderr}`));
      resolve({ code, stdout, stderr });
    });
  });
  return { jobId, done };
}

function runClient(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: ClientOptions,
): Promise<ClientResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { env: { ...env, ...opts.env }, cwd: opts.cwd, timeout: opts.timeoutMs ?? 30_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export async function startSlurm(): Promise<SlurmCluster> {
  const skip = slurmSkipReason();
  if (skip) throw new Error(skip);
  requireInstalled();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-slurm-'));
  // munged refuses a socket in a directory others cannot search; the key file itself stays 0600.
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'state'));
  fs.mkdirSync(path.join(dir, 'spool'));
  const token = `HERD_SLURM_CLUSTER=${dir}`;
  const conf = path.join(dir, 'slurm.conf');
  const env: Record<string, string> = { SLURM_CONF: conf, HERD_SLURM_CLUSTER: dir };
  const daemonEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  const children: ChildProcess[] = [];
  const { node, line } = nodeLine();

  // A test process that dies still takes its cluster with it.
  const onExit = (): void => {
    for (const child of children) if (alive(child)) child.kill('SIGKILL');
    killPids(pidsWithEnv(token), 'SIGKILL');
  };
  process.once('exit', onExit);

  const client = (command: string, args: string[], opts: ClientOptions = {}): Promise<ClientResult> =>
    runClient(command, args, daemonEnv, opts);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      // Jobs first, through Slurm itself and while the controller is up: a step daemon whose job ends after
      // slurmctld has gone waits to report it and outlives everything else.
      if (children.every(alive)) {
        const queued = await client('squeue', ['-h', '-o', '%A'], { timeoutMs: 5_000 });
        const ids = queued.stdout.split('\n').filter((l) => /^\d+$/.test(l.trim()));
        if (ids.length > 0) await client('scancel', ['--quiet', ...ids], { timeoutMs: 5_000 });
        const jobsDeadline = Date.now() + JOBS_STOP_TIMEOUT_MS;
        while (ids.length > 0 && Date.now() < jobsDeadline) {
          const left = await client('squeue', ['-h', '-o', '%A'], { timeoutMs: 5_000 });
          if (left.code === 0 && left.stdout.trim() === '') break;
          await sleep(200);
        }
      }
      const deadline = Date.now() + DAEMONS_STOP_TIMEOUT_MS;
      for (const child of [...children].reverse()) if (alive(child)) child.kill('SIGTERM');
      while (Date.now() < deadline && (children.some(alive) || pidsWithEnv(token).length > 0)) {
        // What is left once the daemons are gone (a job that would not end) is stopped by pid.
        if (!children.some(alive)) killPids(pidsWithEnv(token), 'SIGTERM');
        await sleep(100);
      }
      for (const child of children) if (alive(child)) child.kill('SIGKILL');
      killPids(pidsWithEnv(token), 'SIGKILL');
      process.off('exit', onExit);
      fs.rmSync(dir, { recursive: true, force: true });
    })());

  try {
    execFileSync('/usr/sbin/mungekey', ['--create', `--keyfile=${path.join(dir, 'munge.key')}`], { stdio: 'ignore' });
    const munged = startDaemon(
      dir,
      'munged',
      [
        '/usr/sbin/munged',
        '--foreground',
        `--socket=${path.join(dir, 'munge.socket')}`,
        `--key-file=${path.join(dir, 'munge.key')}`,
        `--log-file=${path.join(dir, 'munged.log')}`,
        `--pid-file=${path.join(dir, 'munged.pid')}`,
        `--seed-file=${path.join(dir, 'munged.seed')}`,
      ],
      daemonEnv,
    );
    children.push(munged);
    await waitFor(
      () => fs.existsSync(path.join(dir, 'munge.socket')),
      () => alive(munged),
      'munged socket',
      dir,
    );

    for (let attempt = 0; ; attempt++) {
      const ports = { ctld: await freePort(), slurmd: await freePort() };
      fs.writeFileSync(conf, slurmConf(dir, node, line, ports));
      const ctld = startDaemon(dir, 'slurmctld', ['/usr/sbin/slurmctld', '-D', '-f', conf], daemonEnv);
      const slurmd = startDaemon(dir, 'slurmd', ['/usr/sbin/slurmd', '-D', '-f', conf], daemonEnv);
      children.push(ctld, slurmd);
      try {
        await waitFor(
          () => execFileSync('sinfo', ['-h', '-N', '-n', node, '-o', '%T'], { env: daemonEnv, encoding: 'utf8' }),
          () => alive(ctld) && alive(slurmd),
          `sinfo to report node ${node} idle`,
          dir,
          (state) => state.trim() === 'idle',
        );
        break;
      } catch (err) {
        // Another process took a port between freePort() and the daemon's bind: try new ports.
        const clash = /Address already in use/.test(logsOf(dir));
        for (const c of [ctld, slurmd]) if (alive(c)) c.kill('SIGKILL');
        children.splice(children.indexOf(ctld), 2);
        if (!clash || attempt >= 2) throw err;
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    dir,
    conf,
    node,
    env,
    client,
    submitAndWait: (args, opts = {}) => submitAndWait(args, daemonEnv, opts),
    stop,
  };
}

/**
 * Poll `probe` until `ready` accepts what it returns (a probe that throws is not ready yet); fails at once,
 * with the daemons' logs, when `running` says a daemon exited, and after START_TIMEOUT_MS.
 */
async function waitFor<T>(
  probe: () => T,
  running: () => boolean,
  what: string,
  dir: string,
  ready: (value: T) => boolean = Boolean,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (!running()) throw new Error(`a Slurm daemon exited while waiting for ${what}:\n${logsOf(dir)}`);
    try {
      if (ready(probe())) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`no ${what} after ${START_TIMEOUT_MS} ms:\n${logsOf(dir)}`);
    await sleep(200);
  }
}
