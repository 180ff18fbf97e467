// Start and stop the fleet simulator (server.ts) from a test or the benchmark: keys in a fresh
// directory, the spec written there, the process started by pid and stopped by pid.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loopbackAddress } from '../fleet.js';

export interface Sim {
  port: number;
  pid: number;
  user: string;
  password: string;
  keyPath: string;
  dir: string;
  /** n distinct loopback addresses, starting at the start-th one (never 127.0.0.1), as Fleet.hosts. */
  hosts(n: number, start?: number): string[];
  /** CPU seconds (user + system) the simulator has used so far. */
  cpuS(): number;
  /** Resident memory of the simulator now, MiB. */
  rssMiB(): number;
  /** Stops it (SIGTERM, then SIGKILL after 2 s); resolves with its final counters line. */
  stop(): Promise<string>;
}

export interface SimOptions {
  /** The behaviour spec (spec.ts); default: every host serves. */
  spec?: string;
  /** Seconds after which the simulator exits by itself (default 3600). */
  maxSeconds?: number;
  /** Raise its open-file limit towards this (prlimit, up to the hard limit): one descriptor per connection. */
  fdLimit?: number;
}

/** The checkout's root: the folder with package.json above this file (test/fleet/sim or dist/test/fleet/sim). */
function checkoutRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('herd-sim: no package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

export const SIM_SERVER = path.join(checkoutRoot(), 'dist', 'test', 'fleet', 'sim', 'server.js');

function keygen(file: string): void {
  execFileSync('ssh-keygen', ['-t', 'ed25519', '-N', '', '-q', '-C', 'herd-sim', '-f', file], { stdio: 'ignore' });
}

/** The soft and hard open-file limits of this process (inherited by what it starts). */
function fileLimits(): { soft: number; hard: number } | null {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
  const n = (t: string): number => (t === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(t));
  return m ? { soft: n(m[1]!), hard: n(m[2]!) } : null;
}

/**
 * The `prlimit` prefix that raises the soft open-file limit of what it runs towards `limit`, as far
 * as the hard limit allows (raising the hard limit needs CAP_SYS_RESOURCE, which a container's root
 * may lack: then `ulimit -Hn` bounds the sessions, one descriptor each); [] when nothing to raise.
 */
export function withFdLimit(limit: number | undefined): string[] {
  const now = fileLimits();
  if (limit === undefined || !now || now.soft >= limit || !fs.existsSync('/usr/bin/prlimit')) return [];
  return ['/usr/bin/prlimit', `--nofile=${Math.min(limit, now.hard)}:`, '--'];
}

export async function startSim(opts: SimOptions = {}): Promise<Sim> {
  if (!fs.existsSync(SIM_SERVER)) throw new Error(`${SIM_SERVER} is missing: npm run build first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-sim-'));
  const hostKey = path.join(dir, 'host_ed25519');
  const keyPath = path.join(dir, 'user_ed25519');
  keygen(hostKey);
  keygen(keyPath);
  const specFile = path.join(dir, 'spec');
  fs.writeFileSync(specFile, opts.spec ?? '* serve\n');
  const user = 'sim';
  const password = `sim-${randomBytes(9).toString('base64url')}`;
  const argv = [
    ...withFdLimit(opts.fdLimit),
    process.execPath,
    SIM_SERVER,
    ...['--host-key', hostKey, '--authorized-key', `${keyPath}.pub`, '--user', user, '--spec', specFile],
    ...['--max-seconds', String(opts.maxSeconds ?? 3600)],
  ];
  // prlimit execs node, so the child's pid is the simulator's own.
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HERD_SIM_PASSWORD: password },
  });
  const onExit = (): void => void child.kill('SIGKILL');
  process.once('exit', onExit);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`herd-sim did not start within 10 s: ${err}`)), 10_000);
    let settled = false;
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
      reject(e);
    };
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /herd-sim listening on 0\.0\.0\.0:(\d+)/.exec(out);
      if (m && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => fail(new Error(`herd-sim exited with ${code}: ${err.trim()}`)));
  });
  const pid = child.pid!;
  let stopped: Promise<string> | undefined;
  return {
    port,
    pid,
    user,
    password,
    keyPath,
    dir,
    hosts: (n, start = 0) => Array.from({ length: n }, (_, i) => loopbackAddress(start + i)),
    cpuS: () => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return (Number(fields[11]) + Number(fields[12])) / 100;
      } catch {
        return 0;
      }
    },
    rssMiB: () => {
      try {
        return (Number(fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096) / 1024 / 1024;
      } catch {
        return 0;
      }
    },
    stop: () => {
      stopped ??= new Promise<string>((resolve) => {
        process.off('exit', onExit);
        const finish = (): void => {
          clearTimeout(hard);
          fs.rmSync(dir, { recursive: true, force: true });
          resolve(/herd-sim exiting.*/.exec(out)?.[0] ?? '');
        };
        const hard = setTimeout(() => child.kill('SIGKILL'), 2_000);
        if (child.exitCode !== null || child.signalCode !== null) return finish();
        child.removeAllListeners('exit');
        child.once('close', finish);
        child.kill('SIGTERM');
      });
      return stopped;
    },
  };
}
