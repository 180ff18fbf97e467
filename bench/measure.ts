// Measure one command: wall time, CPU of its whole process tree, and peak summed RSS of the tree.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface Measurement {
  wallS: number;
  cpuS: number;
  peakRssMiB: number;
  exitCode: number | null;
  /** Stopped at timeoutMs (the tree got SIGINT, then SIGKILL): the numbers cover only that much. */
  timedOut: boolean;
  /** With a SessionProbe: the most processes of that name seen under its root in one sample. */
  peakSessions?: number;
}

interface ProcEntry {
  ppid: number;
  comm: string;
}

/** Every process's parent and name, from one /proc scan. */
function scanProc(): Map<number, ProcEntry> {
  const procs = new Map<number, ProcEntry>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      procs.set(Number(entry), { ppid, comm: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      /* the process ended while we looked */
    }
  }
  return procs;
}

/** Descendants of `root` (inclusive) in one scan. */
function treeOf(procs: Map<number, ProcEntry>, root: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of procs) {
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
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

/** Whether this kernel lists a task's children (/proc/PID/task/TID/children, CONFIG_PROC_CHILDREN). */
const childrenFiles = fs.existsSync(`/proc/${process.pid}/task/${process.pid}/children`);

/** The direct children of one process: those of each of its threads (a thread may be the one that forked). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      for (const c of fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' '))
        if (c) out.push(Number(c));
    } catch {
      /* the thread ended while we looked */
    }
  }
  return out;
}

/**
 * Descendants of `root` (inclusive). Walked from the root through the kernel's children lists, so a sample costs
 * in proportion to the measured tree, not to every process on the machine: a whole /proc scan every 20 ms took
 * ~7 ms with a warm fleet's ~470 processes, a third of a core taken from the tools being measured (a --persist run
 * of 200 hosts measured 1.2 s instead of 0.75 s beside it). Without those lists: one /proc scan.
 */
function processTree(root: number): number[] {
  if (!childrenFiles) return treeOf(scanProc(), root);
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...childrenOf(pid));
  }
  return out;
}

function commOf(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trimEnd();
  } catch {
    return undefined;
  }
}

function rssBytes(pid: number): number {
  try {
    const statm = fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
    return Number(statm[1]) * 4096;
  } catch {
    return 0;
  }
}

/** utime, stime, cutime, cstime of one process, in seconds (0 when it is gone). */
function cpuFields(pid: number): [number, number, number, number] {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [Number(f[11]) / 100, Number(f[12]) / 100, Number(f[13]) / 100, Number(f[14]) / 100];
  } catch {
    return [0, 0, 0, 0];
  }
}

/** CPU seconds (user+sys) a process spent itself plus what its reaped children spent: /proc/<pid>/stat. */
export function childrenCpuS(pid: number): number {
  return cpuFields(pid).reduce((a, b) => a + b, 0);
}

/**
 * CPU seconds of a whole live tree: the root's own and reaped children's, plus every live descendant's
 * own and reaped. Connections that outlive a measurement (ControlPersist, a keeper) keep their sshd
 * processes alive, so the reaped children alone would miss their share.
 */
export function treeCpuS(root: number): number {
  const [u, s, cu, cs] = cpuFields(root);
  let total = u + s + cu + cs;
  for (const pid of processTree(root).slice(1)) total += childrenCpuS(pid);
  return total;
}

let setAsideCount = 0;

/**
 * Move a measured run's output out of the way (under WORK/spent/, removed with the work directory when the bench
 * ends) instead of deleting it between runs. ext4 skips inodes freed in the last minute (longer while their table
 * block is dirty) when it allocates new ones, so deleting a run's thousands of files just before the next run made
 * that run's file creations several times dearer (a new file cost 16 us in a quiet directory and 160-280 us after
 * such deletions, measured here): a cost of the bench's cleaning that fell only on the tools that write files.
 */
export function setAside(dir: string, work: string): void {
  if (!fs.existsSync(dir)) return;
  const spent = path.join(work, 'spent');
  fs.mkdirSync(spent, { recursive: true });
  fs.renameSync(dir, path.join(spent, `${path.basename(dir)}-${++setAsideCount}`));
}

/** The environment variable every measured command gets, so processes it leaves behind can be found. */
export const BENCH_TAG = 'HERD_BENCH_TAG';

/**
 * Processes still running that a tool left in the background (an OpenSSH ControlMaster, a connection keeper):
 * those with BENCH_TAG=tag in their environment, or with `mark` (a path only this bench uses, such as its work
 * directory) in their command line. OpenSSH's masters rewrite their argv and environ into their title
 * (`ssh: PATH [mux]`), so the tag alone misses them; their control path names the work directory. Once
 * detached they are not in the measured tree, so `times` never sees their CPU: the bench adds it from here
 * and ends them afterwards.
 */
export function taggedProcesses(tag: string, mark?: string): { pid: number; cpuS: number }[] {
  const needle = `${BENCH_TAG}=${tag}\0`;
  const out: { pid: number; cpuS: number }[] = [];
  for (const pid of scanProc().keys()) {
    if (pid === process.pid) continue;
    try {
      const ours =
        fs.readFileSync(`/proc/${pid}/environ`, 'latin1').includes(needle) ||
        (mark !== undefined && fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(mark));
      if (ours) out.push({ pid, cpuS: childrenCpuS(pid) });
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

/** Stop what taggedProcesses finds, by pid (SIGTERM, then SIGKILL for what is still there after 2 s). */
export async function endTagged(tag: string, mark?: string): Promise<number> {
  const found = taggedProcesses(tag, mark);
  for (const { pid } of found) signal(pid, 'SIGTERM');
  if (found.length === 0) return 0;
  await new Promise((r) => setTimeout(r, 2000));
  for (const { pid } of taggedProcesses(tag, mark)) signal(pid, 'SIGKILL');
  return found.length;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** Count processes named `comm` under `root` at each sample: how many remote commands ran at once. */
export interface SessionProbe {
  root: number;
  comm: string;
  /** Called with each sample's count (the memory case opens its gate from here). */
  onCount?(n: number): void;
}

/**
 * Run argv under bash so `times` reports the CPU of every reaped descendant, while a sampler
 * sums the RSS of the live process tree every 20 ms.
 */
export function measure(
  argv: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  timeoutMs: number,
  probe?: SessionProbe,
): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('bash', ['-c', '"$@" >/dev/null 2>&1; rc=$?; times >&2; exit $rc', 'measure', ...argv], {
      env,
      cwd,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let peak = 0;
    let peakSessions = 0;
    // Each sample reads only the measured tree (and the probe's), never the whole of /proc: see processTree.
    const sampler = setInterval(() => {
      const total = processTree(child.pid!).reduce((sum, pid) => sum + rssBytes(pid), 0);
      peak = Math.max(peak, total);
      if (probe) {
        const n = processTree(probe.root).filter((pid) => commOf(pid) === probe.comm).length;
        peakSessions = Math.max(peakSessions, n);
        probe.onCount?.(n);
      }
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
        ...(probe ? { peakSessions } : {}),
      });
    });
  });
}
