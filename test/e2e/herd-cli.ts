// Run the built herd CLI as a subprocess the way a user does: bin/herd itself, through its shebang
// (so its V8 flags apply), never `node bin/herd`.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HERD_BIN = path.join(ROOT, 'bin', 'herd');

export interface HerdResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface HerdOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  /** Called once the process is spawned (for tests that signal or inspect it). */
  onSpawn?: (child: ChildProcess) => void;
  timeoutMs?: number;
}

/** A scratch directory used as HOME and cwd, so no test reads or writes the real ~/.ssh. */
export function scratchDir(prefix = 'herd-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratchDirs.push(dir);
  return dir;
}

// Removed when the test file's fleet stops: transfer tests leave hundreds of MB behind otherwise.
const scratchDirs: string[] = [];

export function removeScratchDirs(): void {
  for (const dir of scratchDirs.splice(0)) {
    fs.chmodSync(dir, 0o700);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function runHerd(args: string[], opts: HerdOptions = {}): Promise<HerdResult> {
  return runHerdAt(HERD_BIN, args, opts);
}

/** runHerd with another herd executable: an installed package's `herd`, or the single executable (package.test.ts). */
export function runHerdAt(executable: string, args: string[], opts: HerdOptions = {}): Promise<HerdResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    // The machine's /etc/ssh/ssh_config (e.g. Debian's HashKnownHosts yes) must not leak into tests.
    const env: Record<string, string | undefined> = {
      ...process.env,
      NO_COLOR: '1',
      HERD_SSH_SYSTEM_CONFIG: 'none',
      ...opts.env,
    };
    delete env['SSH_AUTH_SOCK'];
    if (opts.env && 'SSH_AUTH_SOCK' in opts.env) env['SSH_AUTH_SOCK'] = opts.env['SSH_AUTH_SOCK'];
    const child = spawn(executable, args, {
      cwd: opts.cwd ?? ROOT,
      env: env as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`herd ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 60_000} ms\nstderr: ${stderr}`),
      );
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, durationMs: Date.now() - started });
    });
    child.stdin.end(opts.input ?? '');
    opts.onSpawn?.(child);
  });
}

/** Parse a hosts.tsv into host -> row. */
export function readHostsTsv(runDir: string): Map<string, { status: string; exit: string; reason: string }> {
  const lines = fs.readFileSync(path.join(runDir, 'hosts.tsv'), 'utf8').trim().split('\n');
  const header = lines.shift();
  if (header !== 'host\tstatus\texit\tduration_ms\treason\tstep')
    throw new Error(`unexpected hosts.tsv header: ${header}`);
  const rows = new Map<string, { status: string; exit: string; reason: string }>();
  for (const line of lines) {
    const [host, status, exit, , reason] = line.split('\t');
    rows.set(host!, { status: status!, exit: exit!, reason: reason! });
  }
  return rows;
}

/** The run directory printed on herd's last `results:` line. */
export function runDirOf(result: HerdResult): string {
  const m = /^results: (.+)$/m.exec(result.stderr);
  if (!m) throw new Error(`no results line in herd output:\n${result.stderr}`);
  return m[1]!.trim();
}

/** Child pids of a process (Linux /proc). */
export function childPids(pid: number): number[] {
  try {
    const text = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text === '' ? [] : text.split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

/** Summed RSS in MiB of a process and all its descendants. */
export function treeRssMiB(pid: number): number {
  let kib = 0;
  const visit = (p: number): void => {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) kib += Number(m[1]);
    } catch {
      return;
    }
    for (const c of childPids(p)) visit(c);
  };
  visit(pid);
  return kib / 1024;
}

/** Pids whose command line contains `text` (a token unique to one test, so concurrent test runs never match). */
export function pidsWith(text: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(text);
      } catch {
        return false;
      }
    });
}

/** The command every e2e test runs to make each host print its own address. */
export const PRINT_ADDRESS = `echo "$SSH_CONNECTION" | cut -d' ' -f3`;

/** One loopback fleet and one scratch HOME for a test file, started before and stopped after its tests. */
export interface FleetScope {
  fleet: import('../fleet/fleet.js').Fleet;
  home: string;
}

export function useLoopbackFleet(): FleetScope {
  const scope = {} as FleetScope;
  beforeAll(async () => {
    const { startFleet } = await import('../fleet/fleet.js');
    scope.fleet = await startFleet();
    scope.home = scratchDir();
  });
  afterAll(async () => {
    await scope.fleet?.stop();
    removeScratchDirs();
  });
  return scope;
}
