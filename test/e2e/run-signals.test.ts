// Ctrl-C as a real signal to the real CLI, and ssh-agent authentication with a real agent.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { driver, openGate, stderrMatches, waitUntil } from './gate.js';
import { pidsWith, readHostsTsv, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';

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

describe('Ctrl-C', () => {
  it('once: starts nothing new, lets running commands finish, records the rest as not_started, exits 130', async () => {
    const hosts = scope.fleet.hosts(10, 1400);
    const inv = path.join(scope.home, 'int1.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const out = path.join(scope.home, 'runs-int1');
    const gate = openGate();
    let atSignal: string[] = [];
    const run = driver(async (child) => {
      const seen = stderrMatches(child, /herd: SIGINT: starting no new hosts/);
      // -f 4: once four commands have announced themselves, every slot holds a command blocked on the gate.
      await waitUntil(() => gate.started().length >= 4, 'four commands to start');
      atSignal = gate.started().sort();
      child.kill('SIGINT');
      // Released only once herd has taken the signal in: a slot that frees up must not start a new host.
      await seen;
      gate.release();
    });
    // --grace outlasts the test: the released commands finish however slow the machine is.
    const result = await runHerd(
      ['run', '-i', inv, ...conn(out), '-f', '4', '--grace', '3600', gate.command('echo finished')],
      {
        env: { HOME: scope.home },
        onSpawn: run.onSpawn,
      },
    );
    expect(run.failure()).toBeUndefined();
    expect(result.code).toBe(130);
    expect(atSignal).toHaveLength(4);
    expect(gate.started().sort()).toEqual(atSignal); // nothing started after the signal
    const dir = runDirOf(result);
    const rows = readHostsTsv(dir);
    const rest = hosts.filter((h) => !atSignal.includes(h));
    for (const h of atSignal) {
      expect(rows.get(h)?.status).toBe('ok');
      expect(fs.readFileSync(path.join(dir, 'stdout', h), 'utf8')).toBe('finished\n');
    }
    for (const h of rest) expect(rows.get(h)?.status).toBe('not_started');
    const failed = fs.readFileSync(path.join(dir, 'failed.txt'), 'utf8').trim().split('\n');
    expect(failed.sort()).toEqual(rest.sort());
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')).state).toBe('interrupted');
  });

  it('twice: stops running commands at once on the hosts too', async () => {
    const hosts = scope.fleet.hosts(3, 1420);
    const inv = path.join(scope.home, 'int2.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const out = path.join(scope.home, 'runs-int2');
    const token = `47.${process.pid}`;
    const gate = openGate();
    const run = driver(async (child) => {
      const once = stderrMatches(child, /herd: SIGINT: starting no new hosts/);
      const twice = stderrMatches(child, /herd: SIGINT again: stopping running commands now/);
      await waitUntil(() => gate.started().length === 3, 'all three commands to start');
      child.kill('SIGINT');
      await once;
      child.kill('SIGINT');
      await twice;
    });
    // The gate is never released and --grace outlasts the test: only the second Ctrl-C can end these
    // commands. The marker is written after `sleep` starts, so that process exists when the signals go.
    const command = `sleep ${token} & ${gate.command('wait')}`;
    try {
      const result = await runHerd(['run', '-i', inv, ...conn(out), '--grace', '3600', command], {
        env: { HOME: scope.home },
        onSpawn: run.onSpawn,
        timeoutMs: 60_000,
      });
      expect(run.failure()).toBeUndefined();
      expect(result.code).toBe(130);
      const rows = [...readHostsTsv(runDirOf(result)).values()];
      expect(rows.map((r) => r.status)).toEqual(['interrupted', 'interrupted', 'interrupted']);
      expect(rows[0]!.reason).toMatch(/remote processes killed: [1-9]/);
      // Nothing on the hosts ends by itself (a 47 s sleep, a gate never opened): what is gone, herd killed.
      expect(pidsWith(token)).toEqual([]);
      expect(pidsWith(gate.dir)).toEqual([]);
    } finally {
      gate.release();
    }
  });
});

describe('--grace', () => {
  it('is how long running commands get after one Ctrl-C before they are stopped', async () => {
    const hosts = scope.fleet.hosts(2, 1430);
    const inv = path.join(scope.home, 'grace.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const gate = openGate();
    let signalled = 0;
    const run = driver(async (child) => {
      await waitUntil(() => gate.started().length === 2, 'both commands to start');
      signalled = Date.now();
      child.kill('SIGINT');
    });
    try {
      // The gate is never opened: only the grace timer can end these commands (no second Ctrl-C is sent).
      const result = await runHerd(
        ['run', '-i', inv, ...conn(path.join(scope.home, 'runs-grace')), '--grace', '1', gate.command('true')],
        {
          env: { HOME: scope.home },
          onSpawn: run.onSpawn,
        },
      );
      const afterSignalMs = Date.now() - signalled;
      expect(run.failure()).toBeUndefined();
      expect(result.code).toBe(130);
      expect(result.stderr).toContain('running commands get 1s to finish');
      const rows = readHostsTsv(runDirOf(result));
      for (const h of hosts) expect(rows.get(h)?.status).toBe('interrupted');
      expect(pidsWith(gate.dir)).toEqual([]);
      // The subject is a timeout, so a bound is the behaviour: about the 1 s given, and well before the
      // default 10 s, which an ignored --grace would take (8 s of slack for a loaded machine).
      expect(afterSignalMs).toBeGreaterThanOrEqual(900); // timers may round a millisecond or so early
      expect(afterSignalMs, result.stderr).toBeLessThan(9_000);
    } finally {
      gate.release();
    }
  });
});

describe('ssh-agent', () => {
  it('authenticates with a key held by a real agent when SSH_AUTH_SOCK is set', async () => {
    const sock = path.join(scratchDir('herd-agent-'), 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      const deadline = Date.now() + 5_000;
      while (!fs.existsSync(sock) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      execFileSync('ssh-add', [scope.fleet.keyPath], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      const hosts = scope.fleet.hosts(3, 1440);
      const inv = path.join(scope.home, 'agent.txt');
      fs.writeFileSync(inv, hosts.join('\n') + '\n');
      const noKeyHome = scratchDir();
      const args = [
        'run',
        '-i',
        inv,
        '-u',
        scope.fleet.user,
        '-p',
        String(scope.fleet.port),
        '--known-hosts',
        path.join(scope.home, 'kh-agent'),
        '-o',
        path.join(scope.home, 'runs-agent'),
        'true',
      ];
      const result = await runHerd(args, { env: { HOME: noKeyHome, SSH_AUTH_SOCK: sock } });
      expect(result.stderr).toContain('3 hosts: 3 ok');
      // Without the agent nothing is left to offer: refused up front rather than auth_failed on every host.
      const without = await runHerd(args, { env: { HOME: noKeyHome } });
      expect(without.code).toBe(2);
      expect(without.stderr).toBe('herd: no credentials: give -k, run ssh-agent, or --password-env\n');
    } finally {
      agent.kill('SIGTERM');
    }
  });
});
