// A bug that throws inside a worker (here: from an ssh2 channel callback, via a test-only fault)
// ends that worker's hosts as `error` with the reason; the run completes and never hangs.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { driver, hostsHeldBy, openGate, stderrMatches, waitUntil } from './gate.js';
import { childPids, pidsWith, readHostsTsv, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

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
    out,
  ];
}

/** `n` fleet hosts from `start`, an inventory of them named `name`, and where their runs go. */
function fleetRun(n: number, start: number, name: string): { hosts: string[]; inv: string; out: string } {
  const hosts = scope.fleet.hosts(n, start);
  const inv = path.join(scope.home, `${name}.txt`);
  fs.writeFileSync(inv, hosts.join('\n') + '\n');
  return { hosts, inv, out: path.join(scope.home, `runs-${name}`) };
}

/** host_done entries of a run's journal, by host. */
function journalResults(dir: string): Map<string, Record<string, unknown>> {
  const lines = fs
    .readFileSync(path.join(dir, 'journal.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return new Map(lines.filter((l) => l['kind'] === 'host_done').map((l) => [String(l['host'] ?? l['id']), l]));
}

describe('an exception thrown inside a worker', () => {
  /** One worker, three hosts; the first host's channel throws as `how` says: only that host ends as error. */
  async function expectContained(how: 'sync' | 'resumed', start: number, workers = '1'): Promise<void> {
    const { hosts, inv, out } = fleetRun(3, start, `throw-${how}`);
    const result = await runHerd(
      ['run', '-i', inv, ...conn(out), '-w', workers, '-f', '3', 'echo first; sleep 1; echo second'],
      {
        env: { HOME: scope.home, HERD_TEST_THROW_IN_CHANNEL: hosts[0], HERD_TEST_THROW_HOW: how },
        timeoutMs: 30_000,
      },
    );
    expect(result.code).toBe(1);
    const dir = runDirOf(result);
    const rows = readHostsTsv(dir);
    expect(rows.get(hosts[0]!)?.status).toBe('error');
    expect(rows.get(hosts[0]!)?.reason).toMatch(
      /^internal error while this host was running: test fault thrown inside the channel callback/,
    );
    expect(rows.get(hosts[0]!)?.reason).toMatch(/it may have run/);
    expect(journalResults(dir).get(hosts[0]!)?.['code']).toBe('E_INTERNAL');
    // The same worker's other hosts are untouched: the exception belonged to one connection.
    for (const h of hosts.slice(1)) expect(rows.get(h)).toMatchObject({ status: 'ok', exit: '0' });
    expect(result.durationMs).toBeLessThan(15_000);
  }

  it('thrown inside a channel callback (ssh2 catches it and drops that connection): only that host ends as error', async () => {
    await expectContained('sync', 1990);
  });

  it("thrown by a chunk a paused stream delivers when it resumes (outside ssh2's parser): still only that host ends as error", async () => {
    // The first chunk pauses the channel for 1.5 s; `second` arrives meanwhile and is delivered on resume.
    await expectContained('resumed', 1995);
  });

  it("in herd's own process (--workers 0): thrown inside a channel callback, still only that host ends as error", async () => {
    await expectContained('sync', 2030, '0');
  });

  it("uncaught in herd's own process (--workers 0): its running host ends as error, the others run, herd ends normally", async () => {
    const { hosts, inv, out } = fleetRun(3, 2040, 'throw-in');
    // One session: the faulty host runs alone; the other two wait in the worker's queue, not begun, when it throws.
    const result = await runHerd(
      ['run', '-i', inv, ...conn(out), '-w', '0', '-f', '1', 'echo first; sleep 1; echo second'],
      {
        env: { HOME: scope.home, HERD_TEST_THROW_IN_CHANNEL: hosts[0], HERD_TEST_THROW_HOW: 'async' },
        timeoutMs: 30_000,
      },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "herd: warning: uncaught error in herd's own process (--workers 0): test fault thrown inside the channel callback",
    );
    const dir = runDirOf(result);
    const rows = readHostsTsv(dir);
    expect(rows.get(hosts[0]!)?.status).toBe('error');
    expect(rows.get(hosts[0]!)?.reason).toMatch(
      /^uncaught error in herd's own process \(--workers 0\) while this host was running: test fault thrown inside/,
    );
    expect(journalResults(dir).get(hosts[0]!)?.['code']).toBe('E_WORKER_ERROR');
    // Not begun when it failed: a new in-process worker ran them, each once.
    for (const h of hosts.slice(1)) expect(rows.get(h)).toMatchObject({ status: 'ok', exit: '0' });
    expect(fs.readFileSync(path.join(dir, 'stdout', hosts[1]!), 'utf8')).toBe('first\nsecond\n');
    expect(result.durationMs).toBeLessThan(15_000);
  });

  it("two uncaught errors at once in herd's own process (--workers 0): every host recorded as error, herd ends normally", async () => {
    // The same bug hit by two hosts in one turn: the second error comes while the first failure is on its way out.
    // Injected by a preload into herd itself, once all four commands run (each leaves a file named by its pid).
    const { hosts, inv, out } = fleetRun(4, 2050, 'throw-twice');
    // Where the fleet's user may write.
    const shared = scratchDir('herd-throw-twice-');
    fs.chmodSync(shared, 0o777);

    const preload = path.join(scope.home, 'throw-twice.cjs');
    fs.writeFileSync(
      preload,
      `const fs = require('fs');
      const look = setInterval(() => {
        if (fs.readdirSync(${JSON.stringify(shared)}).length < 4) return;
        clearInterval(look);
        setImmediate(() => { throw new Error('bug A'); });
        setImmediate(() => { throw new Error('bug B'); });
      }, 20);
      look.unref();\n`,
    );
    const result = await runHerd(['run', '-i', inv, ...conn(out), '-w', '0', `touch ${shared}/$$; sleep 3; echo fin`], {
      env: { HOME: scope.home, NODE_OPTIONS: `--require ${preload}` },
      timeoutMs: 30_000,
    });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain("herd: warning: uncaught error in herd's own process (--workers 0): bug A");
    expect(result.stderr).not.toContain('bug B');
    const rows = readHostsTsv(runDirOf(result));
    expect(rows.size).toBe(4);
    for (const h of hosts) expect(rows.get(h)?.status).toBe('error');
  });

  it("uncaught (a rejected promise nobody handles): every running host of that worker ends as error; the other worker's host finishes ok", async () => {
    const {
      hosts: [bad, good],
      inv,
      out,
    } = fleetRun(2, 2000, 'throw');
    // Two workers with one session each: each host is alone in its worker.
    const result = await runHerd(
      ['run', '-i', inv, ...conn(out), '-w', '2', '-f', '2', 'echo first; sleep 1; echo second'],
      {
        env: { HOME: scope.home, HERD_TEST_THROW_IN_CHANNEL: bad, HERD_TEST_THROW_HOW: 'async' },
        timeoutMs: 30_000,
      },
    );
    expect(result.code).toBe(1);
    const dir = runDirOf(result);
    const rows = readHostsTsv(dir);
    expect(rows.get(good!)).toMatchObject({ status: 'ok', exit: '0' });
    expect(rows.get(bad!)?.status).toBe('error');
    expect(rows.get(bad!)?.reason).toMatch(
      /^uncaught error in its worker process while this host was running: test fault thrown inside the channel callback/,
    );
    expect(rows.get(bad!)?.reason).toMatch(/it may have run/);
    expect(journalResults(dir).get(bad!)?.['code']).toBe('E_WORKER_ERROR');
    expect(result.durationMs).toBeLessThan(15_000);
  });

  it('uncaught, with one worker: each of its running hosts ends as error, and the run completes', async () => {
    const { hosts, inv, out } = fleetRun(3, 2010, 'throw1');
    // Each command prints only once all three are running (a barrier on the hosts) and then holds on a gate
    // never opened before herd ends: when the faulty host throws, every host is running, none has finished.
    const gate = openGate();
    const command = gate
      .command('true')
      .replace(/; while \[ ! -e /, () => `; ${gate.awaitStarted(3)}; echo out; while [ ! -e `);
    try {
      const result = await runHerd(['run', '-i', inv, ...conn(out), '-w', '1', '-f', '3', command], {
        env: { HOME: scope.home, HERD_TEST_THROW_IN_CHANNEL: hosts[0], HERD_TEST_THROW_HOW: 'async' },
        timeoutMs: 60_000,
      });
      expect(result.code).toBe(1);
      expect(gate.started().sort()).toEqual([...hosts].sort());
      const rows = readHostsTsv(runDirOf(result));
      expect(rows.size).toBe(3);
      for (const h of hosts) {
        expect(rows.get(h)?.status).toBe('error');
        expect(rows.get(h)?.reason).toMatch(/test fault thrown inside the channel callback/);
      }
    } finally {
      gate.release();
    }
  });
});

describe('a worker that cannot answer an abort', () => {
  it('is killed a bounded time after the second Ctrl-C; its hosts end interrupted and the run ends', async () => {
    const { hosts, inv, out } = fleetRun(2, 2020, 'stopped');
    const marker = `sleep 40.${process.pid}${Date.now() % 1000}`;
    const journal = path.join(out, 'latest', 'journal.ndjson');
    let stoppedWorker = 0;
    let secondSignal = 0;
    const run = driver(async (child) => {
      const once = stderrMatches(child, /herd: SIGINT: starting no new hosts/);
      await waitUntil(
        () => fs.existsSync(journal) && (fs.readFileSync(journal, 'utf8').match(/host_running/g) ?? []).length >= 2,
        'both hosts running',
      );
      // A real hang: the worker process is stopped and answers nothing.
      stoppedWorker = childPids(child.pid!)[0] ?? 0;
      process.kill(stoppedWorker, 'SIGSTOP');
      child.kill('SIGINT');
      await once; // the second Ctrl-C only once herd took the first in
      secondSignal = Date.now();
      child.kill('SIGINT');
    });
    const result = await runHerd(['run', '-i', inv, ...conn(out), '-w', '1', marker], {
      env: { HOME: scope.home },
      timeoutMs: 60_000,
      onSpawn: run.onSpawn,
    });
    try {
      expect(run.failure()).toBeUndefined();
      expect(stoppedWorker).toBeGreaterThan(0);
      expect(result.code).toBe(130);
      // The subject is a timeout (the worker is killed 10 s after the abort), so the bound is the behaviour:
      // timed from the second Ctrl-C, with 10 s of slack for a loaded machine.
      expect(Date.now() - secondSignal, result.stderr).toBeLessThan(20_000);
      const rows = readHostsTsv(runDirOf(result));
      for (const h of hosts) {
        expect(rows.get(h)?.status).toBe('interrupted');
        expect(rows.get(h)?.reason).toMatch(
          /its worker process did not stop the command within 10s of the abort and was killed/,
        );
      }
    } finally {
      for (const pid of pidsWith(marker)) process.kill(pid, 'SIGKILL');
    }
  });
});

describe('a worker killed after the first Ctrl-C', () => {
  it('leaves no host behind: its running hosts are interrupted, the ones it had not started are not_started', async () => {
    const { hosts, inv, out } = fleetRun(40, 2030, 'drain-kill');
    const gate = openGate();
    let victim = 0;
    let victimHosts: string[] = [];
    let runningAtSignal: string[] = [];
    const run = driver(async (child) => {
      const once = stderrMatches(child, /herd: SIGINT: starting no new hosts/);
      // -f 4: four commands held on the gate fill every session; the other 36 hosts are queued or prefetched.
      await waitUntil(() => gate.started().length === 4, 'four commands to start');
      runningAtSignal = gate.started();
      child.kill('SIGINT');
      await once; // the run drains before the worker dies: what it had prefetched must not move elsewhere
      victim = childPids(child.pid!)[0] ?? 0;
      victimHosts = hostsHeldBy(victim, gate);
      process.kill(victim, 'SIGKILL');
      gate.release();
    });
    // Two workers of two sessions each: each also holds prefetched hosts it has not started.
    const result = await runHerd(
      ['run', '-i', inv, ...conn(out), '-w', '2', '-f', '4', '--grace', '3600', gate.command('true')],
      {
        env: { HOME: scope.home },
        timeoutMs: 60_000,
        onSpawn: run.onSpawn,
      },
    );
    expect(run.failure()).toBeUndefined();
    expect(victim).toBeGreaterThan(0);
    expect(result.code).toBe(130);
    expect(victimHosts.length).toBeGreaterThan(0);
    expect(gate.started().sort()).toEqual([...runningAtSignal].sort()); // nothing started after Ctrl-C
    const tsv = readHostsTsv(runDirOf(result));
    expect(tsv.size).toBe(40);
    const withStatus = (status: string): string[] => hosts.filter((h) => tsv.get(h)?.status === status);
    expect(withStatus('interrupted')).toEqual(hosts.filter((h) => victimHosts.includes(h)));
    expect(withStatus('ok')).toEqual(hosts.filter((h) => runningAtSignal.includes(h) && !victimHosts.includes(h)));
    expect(withStatus('not_started')).toEqual(hosts.filter((h) => !runningAtSignal.includes(h)));
    const rows = [...tsv.values()];
    const count = (status: string): number => rows.filter((r) => r.status === status).length;
    expect(count('not_started')).toBe(36);
  });
});
