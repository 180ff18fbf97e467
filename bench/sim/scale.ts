// Scale cases on the fleet simulator (test/fleet/sim/): how far one controller goes, 1,000 to
// 50,000 hosts, where one OpenSSH sshd could not hold the sessions. Each case gets a fresh
// simulator, so its counters (handshakes) and memory are the case's own.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startSim, withFdLimit } from '../../test/fleet/sim/sim.js';
import { measure, setAside, type Measurement } from '../measure.js';

export interface SimCase {
  name: string;
  hosts: number;
  forks: number;
  command: string;
  /** The case stops itself after this long (herd gets SIGINT, then SIGKILL); --max-case-seconds lowers it. */
  timeoutS: number;
  /**
   * A merge case: `hosts` are split into this many shards, each run by herd (--shard K/N, one run group) before the
   * measurement, which is `herd merge` of them all.
   */
  mergeShards?: number;
}

/** Same forks at every size: CPU per host should stay flat from 1k to 50k (issue 15's target). */
const CURVE_FORKS = 1000;

export const SIM_CASES: SimCase[] = [
  ...[1000, 5000, 10_000, 50_000].map((n) => ({
    name: `sim: true, ${n} hosts at forks ${CURVE_FORKS}`,
    hosts: n,
    forks: CURVE_FORKS,
    command: 'true',
    timeoutS: Math.max(300, n / 20),
  })),
  {
    name: 'sim: sleep 20, 10000 hosts at forks 10000',
    hosts: 10_000,
    forks: 10_000,
    command: 'sleep 20',
    timeoutS: 600,
  },
  // On two cores handshakes run at ~200/s (herd and simulator together), so under `sleep 20` about 4,000 of the
  // 10,000 sessions overlap: this one keeps every session open long enough for all 10,000 to be up at once.
  {
    name: 'sim: sleep 120, 10000 hosts at forks 10000 (held open)',
    hosts: 10_000,
    forks: 10_000,
    command: 'sleep 120',
    timeoutS: 900,
  },
  // herd merge streams (issue 15's target: seconds, not all in memory). One host in ten is served by the simulator
  // (output, exit codes); the others refuse the connection, so the shards are quick to make and mixed.
  {
    name: 'sim: merge 50 x 1000',
    hosts: 50_000,
    forks: 1000,
    command: 'addr',
    timeoutS: 600,
    mergeShards: 50,
  },
];

export const SIM_QUICK_CASES: SimCase[] = [
  { name: 'sim: true, 500 hosts at forks 500', hosts: 500, forks: 500, command: 'true', timeoutS: 120 },
];

export interface SimMeasurement extends Measurement {
  /** CPU seconds the simulator spent: the fleet's side of every handshake and session. */
  simCpuS: number;
  simPeakRssMiB: number;
  /** Authentications the simulator accepted (one per handshake). */
  logins: number;
  /** Most commands the simulator had running at once: how concurrent the sessions really were. */
  peakSessions: number;
}

// One descriptor per session on each side, plus room: herd's fd preflight must not shrink --forks.
const FD_LIMIT = 262_144;

export async function runSimCase(c: SimCase, root: string, work: string, maxCaseS: number): Promise<SimMeasurement> {
  if (c.mergeShards !== undefined) return runMergeCase(c, c.mergeShards, root, work, maxCaseS);
  const timeoutS = Math.min(c.timeoutS, maxCaseS);
  const sim = await startSim({ fdLimit: FD_LIMIT, maxSeconds: timeoutS + 120 });
  try {
    const hostsFile = path.join(work, `sim-hosts-${c.hosts}.txt`);
    fs.writeFileSync(hostsFile, sim.hosts(c.hosts).join('\n') + '\n');
    const argv = [
      ...withFdLimit(FD_LIMIT),
      path.join(root, 'bin', 'herd'),
      'run',
      ...['-i', hostsFile, '-u', sim.user, '-p', String(sim.port), '-k', sim.keyPath, '--host-key-checking', 'off'],
      // Unpaced: the case measures what the controller can do, not the default pacing of 250 connections/s.
      ...['-f', String(c.forks), '--connect-rate', '0', '-q', '-o', path.join(work, 'runs')],
      c.command,
    ];
    let simPeak = 0;
    const sampler = setInterval(() => (simPeak = Math.max(simPeak, sim.rssMiB())), 500);
    const simCpuBefore = sim.cpuS();
    const m = await measure(argv, { ...process.env, HOME: work }, work, timeoutS * 1000).finally(() =>
      clearInterval(sampler),
    );
    const simCpuS = sim.cpuS() - simCpuBefore;
    const counters = await sim.stop();
    const logins = Number(/"authOk":(\d+)/.exec(counters)?.[1] ?? NaN);
    const peakSessions = Number(/"peakRunning":(\d+)/.exec(counters)?.[1] ?? NaN);
    return { ...m, simCpuS, simPeakRssMiB: simPeak, logins, peakSessions };
  } finally {
    await sim.stop();
    setAside(path.join(work, 'runs'), work);
  }
}

/** Every tenth host is the simulator's; the others are on a port nothing listens on (refused at once). */
export function mergeInventory(hosts: string[], closedPort: number): string {
  return hosts.map((h, i) => (i % 10 === 0 ? h : `${h}:${closedPort}`)).join('\n') + '\n';
}

/** A port nothing listens on: bound on loopback, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Make the shards with herd itself (--shard K/N of one run group, two at a time), then measure `herd merge` of them
 * all. The simulator columns are the shards' making, not the merge's.
 */
async function runMergeCase(
  c: SimCase,
  shards: number,
  root: string,
  work: string,
  maxCaseS: number,
): Promise<SimMeasurement> {
  const sim = await startSim({ fdLimit: FD_LIMIT, maxSeconds: Math.min(c.timeoutS, maxCaseS) * 3 + 120 });
  const dir = path.join(work, 'merge-case');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  try {
    const inventory = path.join(dir, 'hosts.txt');
    fs.writeFileSync(inventory, mergeInventory(sim.hosts(c.hosts), await closedPort()));
    const simCpuBefore = sim.cpuS();
    const shardDir = (k: number): string => path.join(dir, `shard-${k}`);
    const runShard = (k: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const argv = [
          path.join(root, 'bin', 'herd'),
          'run',
          ...['-i', inventory, '-u', sim.user, '-p', String(sim.port), '-k', sim.keyPath, '--host-key-checking', 'off'],
          ...['-f', String(c.forks), '--connect-rate', '0', '-q', '-o', shardDir(k)],
          ...['--shard', `${k}/${shards}`, '--run-group', 'bench-merge', c.command],
        ];
        const child = spawn(process.execPath, argv, { stdio: 'ignore', env: { ...process.env, HOME: work } });
        child.on('error', reject);
        // Exit 1: some hosts failed (the refused ones), as intended.
        child.on('exit', (code) =>
          code === 0 || code === 1 ? resolve() : reject(new Error(`shard ${k}: exit ${code}`)),
        );
      });
    for (let k = 0; k < shards; k += 2) await Promise.all([runShard(k), ...(k + 1 < shards ? [runShard(k + 1)] : [])]);
    const simCpuS = sim.cpuS() - simCpuBefore;
    const counters = await sim.stop();
    const runs = Array.from({ length: shards }, (_, k) => fs.realpathSync(path.join(shardDir(k), 'latest')));
    const argv = [path.join(root, 'bin', 'herd'), 'merge', ...runs, '-o', path.join(dir, 'merged')];
    const m = await measure(argv, { ...process.env, HOME: work }, work, Math.min(c.timeoutS, maxCaseS) * 1000);
    const logins = Number(/"authOk":(\d+)/.exec(counters)?.[1] ?? NaN);
    // herd merge exits 1 when any host is not ok, as the refused ones are by design: the case failed only if the
    // merged run is not whole (a host missing, or a shard's hosts without a result).
    const merged = fs
      .readFileSync(path.join(dir, 'merged', 'hosts.tsv'), 'utf8')
      .trimEnd()
      .split('\n')
      .slice(1);
    const whole = merged.length === c.hosts && !merged.some((row) => row.includes('produced no result'));
    const exitCode = m.exitCode === 1 && whole ? 0 : m.exitCode === 0 && !whole ? 1 : m.exitCode;
    return { ...m, exitCode, simCpuS, simPeakRssMiB: 0, logins, peakSessions: 0 };
  } finally {
    await sim.stop();
    setAside(dir, work);
  }
}

/** What simTargets reads of a bench row. */
export interface SimRow {
  case: string;
  hosts: number;
  wallS: number;
  cpuMsPerHost: number;
  peakRssMiB: number;
  stoppedAtS?: number;
  peakSessions?: number;
}

/** The simulator rows against issue 15's targets, as markdown lines (none when no simulator case ran). */
export function simTargets(rows: SimRow[]): string[] {
  const sim = rows.filter((r) => r.case.startsWith('sim: '));
  if (sim.length === 0) return [];
  const note = (r: SimRow): string => (r.stoppedAtS === undefined ? '' : ` (stopped at ${r.stoppedAtS} s: partial)`);
  const lines = ['', 'Targets (issue 15), herd process tree:'];
  for (const r of sim.filter((x) => x.case.startsWith('sim: sleep'))) {
    const verdict = r.peakRssMiB < 600 ? 'under' : 'OVER';
    lines.push(
      `- ${r.case}: peak ${r.peakRssMiB.toFixed(0)} MiB, ${verdict} 600 MiB, with ${r.peakSessions ?? '?'} ` +
        `sessions at once at most${note(r)}`,
    );
  }
  for (const r of sim.filter((x) => x.hosts >= 50_000 && x.case.startsWith('sim: true')))
    lines.push(
      `- ${r.case}: peak ${r.peakRssMiB.toFixed(0)} MiB, ${r.peakRssMiB < 1024 ? 'under' : 'OVER'} 1 GiB${note(r)}`,
    );
  for (const r of sim.filter((x) => x.case.startsWith('sim: merge')))
    lines.push(
      `- ${r.case}: ${r.wallS.toFixed(1)} s, CPU ${((r.cpuMsPerHost * r.hosts) / 1000).toFixed(1)} s, ` +
        `peak ${r.peakRssMiB.toFixed(0)} MiB (target: seconds, streaming)`,
    );
  const curve = sim.filter((x) => x.case.startsWith('sim: true') && x.stoppedAtS === undefined);
  if (curve.length > 0) {
    const cpu = curve.map((r) => r.cpuMsPerHost);
    lines.push(
      `- CPU per host (flat is the target): ${curve.map((r) => `${r.hosts} hosts ${r.cpuMsPerHost.toFixed(1)} ms`).join(', ')}` +
        ` (max/min ${(Math.max(...cpu) / Math.min(...cpu)).toFixed(2)})`,
    );
  }
  return lines;
}
