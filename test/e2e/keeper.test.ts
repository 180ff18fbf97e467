// Connection persistence (--persist): a keeper process holds the connections one command made, and later
// commands with the same credentials run over them. The fleet's sshd log is the oracle for how many times
// each host authenticated; every keeper a test starts is ended by its pid in afterAll.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fleet } from '../fleet/fleet.js';
import { removeScratchDirs, runDirOf, runHerd, scratchDir, type HerdResult } from './herd-cli.js';

let fleet: Fleet;
let home: string;
/** $XDG_RUNTIME_DIR of these tests: the keepers' directory is <runtime>/herd. */
let runtime: string;
const keeperPids = new Set<number>();

beforeAll(async () => {
  const { startFleet } = await import('../fleet/fleet.js');
  // VERBOSE: sshd logs "Connection from C port N on HOST port P", which names the target address.
  fleet = await startFleet({ logLevel: 'VERBOSE' });
  home = scratchDir();
  runtime = scratchDir('herd-runtime-');
});
afterAll(async () => {
  for (const pid of keeperPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await fleet?.stop();
  removeScratchDirs();
});

/** Authenticated logins per target address, read from the fleet sshd's log. */
function loginsPerHost(): Map<string, number> {
  const lines = fs.readFileSync(path.join(fleet.dir, 'sshd.log'), 'utf8').split('\n');
  const target = new Map<string, string>();
  const logins = new Map<string, number>();
  for (const line of lines) {
    const conn = /Connection from \S+ port (\d+) on (\S+) port \d+/.exec(line);
    if (conn) target.set(conn[1]!, conn[2]!);
    const ok = /Accepted publickey for \S+ from \S+ port (\d+)/.exec(line);
    if (ok) {
      const host = target.get(ok[1]!) ?? '?';
      logins.set(host, (logins.get(host) ?? 0) + 1);
    }
  }
  return logins;
}

const keeperDir = (): string => path.join(runtime, 'herd');

/** The pids of the keepers whose state files are in the directory (recorded for afterAll). */
function keepers(): number[] {
  if (!fs.existsSync(keeperDir())) return [];
  const pids = fs
    .readdirSync(keeperDir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => (JSON.parse(fs.readFileSync(path.join(keeperDir(), f), 'utf8')) as { pid: number }).pid);
  for (const pid of pids) keeperPids.add(pid);
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, test: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function herd(args: string[], env: Record<string, string> = {}): Promise<HerdResult> {
  return runHerd(args, { cwd: home, env: { HOME: home, XDG_RUNTIME_DIR: runtime, ...env } });
}

function runArgs(inv: string, knownHosts: string, ...rest: string[]): string[] {
  return [
    'run',
    '-i',
    inv,
    '-u',
    fleet.user,
    '-p',
    String(fleet.port),
    '-k',
    fleet.keyPath,
    '--known-hosts',
    knownHosts,
    '-o',
    path.join(home, 'runs'),
    '--no-progress',
    ...rest,
  ];
}

function runJson(result: HerdResult): { reused?: string[]; handshakes?: number } {
  return JSON.parse(fs.readFileSync(path.join(runDirOf(result), 'run.json'), 'utf8')) as {
    reused?: string[];
    handshakes?: number;
  };
}

function filesOf(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

async function closeKeepers(): Promise<void> {
  const pids = keepers();
  for (const pid of pids) process.kill(pid, 'SIGTERM');
  await waitFor('the keepers to leave', () => pids.every((p) => !alive(p)));
}

describe('herd run --persist', () => {
  it('leaves a keeper whose connections the next commands reuse: one login per host across three runs', async () => {
    const hosts = fleet.hosts(3, 8100);
    const inv = path.join(home, 'reuse.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const kh = path.join(home, 'kh-reuse');
    const first = await herd(runArgs(inv, kh, '--persist', '30s', 'echo hi'));
    expect(first.code, first.stderr).toBe(0);
    expect(keepers()).toHaveLength(1);
    const second = await herd(runArgs(inv, kh, 'echo hi'));
    const third = await herd(runArgs(inv, kh, 'echo hi'));
    expect(second.code, second.stderr).toBe(0);
    expect(third.code, third.stderr).toBe(0);
    const logins = loginsPerHost();
    for (const h of hosts) expect(logins.get(h), `logins on ${h}`).toBe(1);
    expect(runJson(first).reused).toEqual([]);
    expect(runJson(first).handshakes).toBe(3);
    for (const later of [second, third]) {
      expect([...(runJson(later).reused ?? [])].sort()).toEqual([...hosts].sort());
      expect(runJson(later).handshakes).toBe(0);
    }
    // The results contract: the same files, the same output.
    expect(filesOf(runDirOf(third))).toEqual(filesOf(runDirOf(first)));
    for (const h of hosts) {
      expect(fs.readFileSync(path.join(runDirOf(third), 'stdout', h), 'utf8')).toBe('hi\n');
    }
    await closeKeepers();
  });
});

describe('play, push and pull --persist', () => {
  it('push --persist leaves a keeper that pull and play then run over: one login per host across the three', async () => {
    const hosts = fleet.hosts(2, 8200);
    const inv = path.join(home, 'kinds.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const kh = path.join(home, 'kh-kinds');
    const remote = scratchDir('herd-remote-');
    fs.chmodSync(remote, 0o777);
    const local = path.join(home, 'payload.txt');
    fs.writeFileSync(local, 'payload\n');
    const common = ['-i', inv, '-u', fleet.user, '-p', String(fleet.port), '-k', fleet.keyPath, '--known-hosts', kh];
    const out = ['-o', path.join(home, 'runs'), '--no-progress'];
    const push = await herd(['push', ...common, ...out, '--persist', '30s', local, `${remote}/{{ host }}.txt`]);
    expect(push.code, push.stderr).toBe(0);
    const pulled = path.join(home, 'pulled');
    const pull = await herd(['pull', ...common, ...out, `${remote}/{{ host }}.txt`, pulled]);
    expect(pull.code, pull.stderr).toBe(0);
    const book = path.join(home, 'persist.yml');
    fs.writeFileSync(book, `- name: look\n  steps:\n    - name: cat\n      run: cat ${remote}/{{ host }}.txt\n`);
    const play = await herd(['play', ...common, ...out, book]);
    expect(play.code, play.stderr).toBe(0);
    const logins = loginsPerHost();
    for (const h of hosts) {
      expect(logins.get(h), `logins on ${h}`).toBe(1);
      expect(fs.readFileSync(path.join(pulled, h, `${h}.txt`), 'utf8')).toBe('payload\n');
    }
    for (const later of [pull, play]) expect([...(runJson(later).reused ?? [])].sort()).toEqual([...hosts].sort());
    await closeKeepers();
  });
});
