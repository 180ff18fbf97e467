// Time to the first answer (issue 17): a run on a handful of hosts starts no more worker processes than its hosts
// need, and an explicit --workers is still obeyed; workers start from the bundle, the first one as herd starts.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { driver, hostsHeldBy, openGate, waitUntil, type Gate } from './gate.js';
import { childPids, ROOT, runDirOf, runHerd, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();
const BUNDLED_WORKER = path.join(ROOT, 'dist', 'src', 'bundle', 'worker.js');

function conn(out: string): string[] {
  return [
    '-u',
    scope.fleet.user,
    '-p',
    String(scope.fleet.port),
    '-k',
    scope.fleet.keyPath,
    '--known-hosts',
    path.join(scope.home, 'kh'),
    '-o',
    path.join(scope.home, out),
  ];
}

/** Runs `args` with every host blocked on a gate, and reports which worker processes held which hosts. */
async function workersHolding(hosts: string[], name: string, extra: string[]): Promise<Map<number, string[]>> {
  const inv = path.join(scope.home, `${name}.txt`);
  fs.writeFileSync(inv, hosts.join('\n') + '\n');
  const gate: Gate = openGate();
  const held = new Map<number, string[]>();
  const run = driver(async (child) => {
    await waitUntil(() => gate.started().length === hosts.length, `all ${hosts.length} commands to start`);
    for (const pid of childPids(child.pid!)) {
      held.set(pid, hostsHeldBy(pid, gate));
      // A worker is the bundled module, one file to load (scripts/bundle.mjs), not the ~50 modules it is built from.
      expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain(BUNDLED_WORKER);
    }
    gate.release();
  });
  const result = await runHerd(['run', '-i', inv, ...conn(`runs-${name}`), ...extra, gate.command('true')], {
    env: { HOME: scope.home },
    onSpawn: run.onSpawn,
  });
  expect(run.failure()).toBeUndefined();
  expect(result.code).toBe(0);
  const record = JSON.parse(fs.readFileSync(path.join(runDirOf(result), 'run.json'), 'utf8')) as {
    options: { workers: number };
  };
  // run.json says how many worker processes the run had (a rerun repeats it).
  expect(record.options.workers).toBe(held.size);
  return held;
}

describe('worker processes of a small run', () => {
  it('a 5-host run forks one worker, which holds every host, unless --workers asks for more', async () => {
    const hosts = scope.fleet.hosts(5, 810);
    const auto = await workersHolding(hosts, 'auto', []);
    expect([...auto.values()].map((h) => h.sort())).toEqual([[...hosts].sort()]);
    // Two are what the user asked for: two there are, each with some of the hosts.
    const asked = await workersHolding(hosts, 'asked', ['-w', '2', '-f', '5']);
    expect(asked.size).toBe(2);
    expect([...asked.values()].flat().sort()).toEqual([...hosts].sort());
  });

  it('a 40-host run forks one worker per 32 hosts begun, at most one per CPU', async () => {
    const hosts = scope.fleet.hosts(40, 820);
    const held = await workersHolding(hosts, 'forty', []);
    expect(held.size).toBe(Math.min(2, os.availableParallelism()));
    expect([...held.values()].flat().sort()).toEqual([...hosts].sort());
  });
});

/** The inventory as a FIFO nobody has written yet: herd blocks reading it, and the test says when it is there. */
function inventoryFifo(name: string): string {
  const fifo = path.join(scope.home, `${name}.fifo`);
  execFileSync('mkfifo', [fifo]);
  return fifo;
}

function cmdline(pid: number): string[] {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z';
  } catch {
    return false;
  }
}

describe('the first worker process', () => {
  it('is forked before the inventory is read, and is the worker that runs the hosts', async () => {
    const hosts = scope.fleet.hosts(2, 830);
    const fifo = inventoryFifo('early');
    const gate = openGate();
    let early = 0;
    let workers: number[] = [];
    let held: string[] = [];
    const run = driver(async (child) => {
      await waitUntil(() => childPids(child.pid!).length === 1, 'a worker while the inventory is unwritten');
      early = childPids(child.pid!)[0]!;
      expect(cmdline(early)).toContain(BUNDLED_WORKER);
      await fs.promises.writeFile(fifo, hosts.join('\n') + '\n');
      await waitUntil(() => gate.started().length === hosts.length, 'both commands to start');
      workers = childPids(child.pid!);
      held = hostsHeldBy(early, gate);
      gate.release();
    });
    const result = await runHerd(['run', '-i', fifo, ...conn('runs-early'), gate.command('true')], {
      env: { HOME: scope.home },
      onSpawn: run.onSpawn,
    });
    expect(run.failure()).toBeUndefined();
    expect(result.stderr).toContain('2 hosts: 2 ok');
    expect(result.code).toBe(0);
    expect(workers).toEqual([early]);
    expect(held.sort()).toEqual([...hosts].sort());
  });

  it('leaves with herd when the command ends before its run (a bad inventory: exit 2)', async () => {
    const fifo = inventoryFifo('early-bad');
    let early = 0;
    const run = driver(async (child) => {
      await waitUntil(() => childPids(child.pid!).length === 1, 'a worker while the inventory is unwritten');
      early = childPids(child.pid!)[0]!;
      await fs.promises.writeFile(fifo, '127.0.0.1:99999\n');
    });
    const result = await runHerd(['run', '-i', fifo, ...conn('runs-early-bad'), 'true'], {
      env: { HOME: scope.home },
      onSpawn: run.onSpawn,
    });
    expect(run.failure()).toBeUndefined();
    expect(result.stderr).toBe(`herd: ${fifo}:1:11: port 99999 out of range 1-65535\n`);
    expect(result.code).toBe(2);
    expect(early).toBeGreaterThan(0);
    await waitUntil(() => !alive(early), 'the early worker to leave with herd', 10_000);
  });
});

describe('the parent process', () => {
  it('loads no SSH library when no -k is given: only its workers parse keys and connect', async () => {
    const hosts = scope.fleet.hosts(1, 840);
    const inv = path.join(scope.home, 'parent.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const config = path.join(scope.home, 'parent_ssh_config');
    const { user, port, keyPath } = scope.fleet;
    const kh = path.join(scope.home, 'kh');
    fs.writeFileSync(
      config,
      `Host *\n  Port ${port}\n  User ${user}\n  IdentityFile ${keyPath}\n  UserKnownHostsFile ${kh}\n`,
    );
    const gate = openGate();
    // ssh2's native crypto binding, mapped into each process that loaded ssh2.
    const mapsSsh2 = (pid: number): boolean => fs.readFileSync(`/proc/${pid}/maps`, 'utf8').includes('sshcrypto.node');
    let parent: boolean | undefined;
    let worker: boolean | undefined;
    const run = driver(async (child) => {
      await waitUntil(() => gate.started().length === 1, 'the command to start');
      parent = mapsSsh2(child.pid!);
      worker = mapsSsh2(childPids(child.pid!)[0]!);
      gate.release();
    });
    const out = path.join(scope.home, 'runs-parent');
    const result = await runHerd(['run', '-i', inv, '-F', config, '-o', out, gate.command('true')], {
      env: { HOME: scope.home },
      onSpawn: run.onSpawn,
    });
    expect(run.failure()).toBeUndefined();
    expect(result.code).toBe(0);
    expect(worker).toBe(true);
    expect(parent).toBe(false);
  });
});
