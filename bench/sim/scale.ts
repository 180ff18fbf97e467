// Scale cases on the fleet simulator (test/fleet/sim/): how far one controller goes, 1,000 to
// 50,000 hosts, where one OpenSSH sshd could not hold the sessions. Each case gets a fresh
// simulator, so its counters (handshakes) and memory are the case's own.
import fs from 'node:fs';
import path from 'node:path';
import { startSim, withFdLimit } from '../../test/fleet/sim/sim.js';
import { measure, type Measurement } from '../measure.js';

export interface SimCase {
  name: string;
  hosts: number;
  forks: number;
  command: string;
  /** The case stops itself after this long (herd gets SIGINT, then SIGKILL); --max-case-seconds lowers it. */
  timeoutS: number;
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
    fs.rmSync(path.join(work, 'runs'), { recursive: true, force: true });
  }
}

/** What simTargets reads of a bench row. */
export interface SimRow {
  case: string;
  hosts: number;
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
