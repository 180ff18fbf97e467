// Measure one command: wall time, CPU of its whole process tree, and peak summed RSS of the tree.
import { spawn } from 'node:child_process';
import fs from 'node:fs';

export interface Measurement {
  wallS: number;
  cpuS: number;
  peakRssMiB: number;
  exitCode: number | null;
  /** Stopped at timeoutMs (the tree got SIGINT, then SIGKILL): the numbers cover only that much. */
  timedOut: boolean;
}

/** Descendants of `root` (inclusive) from one /proc scan. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      /* the process ended while we looked */
    }
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

function rssBytes(pid: number): number {
  try {
    const statm = fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
    return Number(statm[1]) * 4096;
  } catch {
    return 0;
  }
}

/** CPU seconds (user+sys) a process's reaped children spent: /proc/<pid>/stat cutime + cstime. */
export function childrenCpuS(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[13]) + Number(fields[14]) + Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

/**
 * Run argv under bash so `times` reports the CPU of every reaped descendant, while a sampler
 * sums the RSS of the live process tree every 20 ms.
 */
export function measure(argv: string[], env: NodeJS.ProcessEnv, cwd: string, timeoutMs: number): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('bash', ['-c', '"$@" >/dev/null 2>&1; rc=$?; times >&2; exit $rc', 'measure', ...argv], {
      env,
      cwd,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let peak = 0;
    const sampler = setInterval(() => {
      const total = processTree(child.pid!).reduce((sum, pid) => sum + rssBytes(pid), 0);
      peak = Math.max(peak, total);
    }, 20);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A bounded case stops the whole tree, not just bash: SIGINT first (herd writes its results, as on
    // Ctrl-C), then SIGKILL to every process still there, so nothing outlives the measurement.
    let timedOut = false;
    let hard: NodeJS.Timeout | undefined;
    // bash itself is spared the SIGINT: it must live on to report `times` for what it waited for.
    const signalTree = (signal: NodeJS.Signals): void => {
      for (const pid of processTree(child.pid!).filter((p) => signal === 'SIGKILL' || p !== child.pid))
        try {
          process.kill(pid, signal);
        } catch {
          /* already gone */
        }
    };
    const killer = setTimeout(() => {
      timedOut = true;
      signalTree('SIGINT');
      hard = setTimeout(() => signalTree('SIGKILL'), 15_000);
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(sampler);
      clearTimeout(killer);
      clearTimeout(hard);
      const wallS = Number(process.hrtime.bigint() - started) / 1e9;
      // The second line of `times` is the children's user and system time, e.g. "0m1.234s 0m0.567s".
      const line = stderr.trim().split('\n').pop() ?? '';
      const secs = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
      resolve({
        wallS,
        cpuS: (secs[0] ?? 0) + (secs[1] ?? 0),
        peakRssMiB: peak / 1024 / 1024,
        exitCode: code,
        timedOut,
      });
    });
  });
}
