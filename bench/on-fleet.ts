// One measured run of a tool against the loopback fleet: the tool's own numbers (bench/measure.ts), plus the CPU
// of anything it left running in the background, the CPU the fleet's sshd spent and the logins it accepted.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { BENCH_TAG, measure, taggedProcesses, treeCpuS, type Measurement, type SessionProbe } from './measure.js';

export interface FleetRef {
  /** The fleet's sshd listener. */
  pid: number;
  /** Its log at LogLevel INFO: one "Accepted publickey" line per login. */
  log: string;
}

export interface FleetRun extends Measurement {
  sshdCpuS: number;
  /** Logins the fleet's sshd accepted during the run (its log is the oracle: every tool alike). */
  logins: number;
  /** Processes carrying the run's tag still alive after it (ControlMasters, a keeper). */
  background: number;
}

/** Logins accepted so far, from the fleet sshd's log. */
export function acceptedLogins(logFile: string): number {
  let n = 0;
  for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) if (line.includes('Accepted publickey')) n++;
  return n;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** The median of an even count is the mean of the middle two (10 runs, 4 warm runs). */
export function midMedian(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length / 2;
  return s.length % 2 === 1 ? s[Math.floor(mid)]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface RunOptions {
  timeoutMs: number;
  /**
   * Put in the tool's environment (BENCH_TAG): what it leaves behind is found by it. Runs of one sequence share
   * a tag, so a background process started by the first run has its CPU counted in each later run it serves.
   */
  tag: string;
  /** Also count as the tool's a process whose command line contains this (bench/measure.ts taggedProcesses). */
  mark?: string;
  probe?: SessionProbe;
}

/**
 * Measure one run. Its controller CPU is the tree's (bash `times`) plus what the tool's background processes spent
 * meanwhile: a detached ControlMaster or keeper does the crypto of every warm run, and leaving it out would make a
 * persistent tool look free.
 */
export async function runOnFleet(
  fleet: FleetRef,
  argv: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  opts: RunOptions,
): Promise<FleetRun> {
  spawnSync('sync');
  const sshdBefore = treeCpuS(fleet.pid);
  const loginsBefore = acceptedLogins(fleet.log);
  const bgBefore = new Map(taggedProcesses(opts.tag, opts.mark).map((p) => [p.pid, p.cpuS]));
  const m = await measure(argv, { ...env, [BENCH_TAG]: opts.tag }, cwd, opts.timeoutMs, opts.probe);
  const bgAfter = taggedProcesses(opts.tag, opts.mark);
  const bgCpuS = bgAfter.reduce((sum, p) => sum + p.cpuS - (bgBefore.get(p.pid) ?? 0), 0);
  return {
    ...m,
    cpuS: m.cpuS + bgCpuS,
    sshdCpuS: treeCpuS(fleet.pid) - sshdBefore,
    logins: acceptedLogins(fleet.log) - loginsBefore,
    background: bgAfter.length,
  };
}
