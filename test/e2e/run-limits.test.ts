// Limits that bound a run in time, output and file descriptors, and connection retries,
// each against the real loopback fleet with a real slow, silent, chatty or flaky peer.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { flakyProxy } from '../fleet/faults.js';
import { openGate } from './gate.js';
import { HERD_BIN, readHostsTsv, runDirOf, runHerd, treeRssMiB, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
});

function conn(runs = 'runs'): string[] {
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
    path.join(scope.home, runs),
  ];
}

function inventory(name: string, hosts: string[]): string {
  const file = path.join(scope.home, name);
  fs.writeFileSync(file, hosts.join('\n') + '\n');
  return file;
}

/** Digits unique to this test run: `sleep 41.<TOKEN>` is never another concurrent test run's process. */
const TOKEN = `${process.pid}${String(Date.now()).slice(-6)}`;

/** Processes on the fleet whose command line carries `needle` (the fleet runs as this machine's users). */
function remoteProcesses(needle: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(needle) && !l.includes('ps -eo'));
}

describe('time limits', () => {
  it('--idle-timeout stops a silent command (killed on the host) and spares one that keeps talking', async () => {
    const [silent, chatty] = scope.fleet.hosts(2, 2000);
    const inv = inventory('idle.txt', [silent!, chatty!]);
    const command = `me=$(echo "$SSH_CONNECTION" | cut -d' ' -f3); if [ "$me" = ${silent} ]; then sleep 41.${TOKEN}; else for i in 1 2 3 4 5 6 7 8; do echo tick; sleep 0.3; done; fi`;
    const result = await runHerd(['run', '-i', inv, ...conn(), '--idle-timeout', '1', command], {
      env: { HOME: scope.home },
      timeoutMs: 30_000,
    });
    const rows = readHostsTsv(runDirOf(result));
    expect(rows.get(silent!)?.status).toBe('timeout');
    expect(rows.get(silent!)?.reason).toMatch(
      /printed nothing for 1s \(--idle-timeout\); remote processes killed: [1-9]/,
    );
    expect(rows.get(chatty!)).toMatchObject({ status: 'ok', exit: '0' });
    expect(remoteProcesses(`sleep 41.${TOKEN}`)).toEqual([]);
    expect(result.durationMs).toBeLessThan(15_000);
  });

  it('--deadline ends the whole run: running hosts stop as timeout, unstarted ones are not_started, all listed in failed.txt', async () => {
    const hosts = scope.fleet.hosts(5, 2010);
    const inv = inventory('deadline.txt', hosts);
    // Each command marks itself, then holds on a gate never opened during the run: which hosts were running
    // at the deadline is read, not assumed (on a loaded machine a handshake can outlast the 2 s).
    const gate = openGate();
    const result = await runHerd(
      ['run', '-i', inv, ...conn(), '-f', '2', '--deadline', '2', gate.command(`sleep 42.${TOKEN}`)],
      {
        env: { HOME: scope.home },
        timeoutMs: 30_000,
      },
    );
    expect(result.code).toBe(1);
    // A timeout is the subject, so the bound is the behaviour: --deadline 2 against 42 s sleeps. Generous
    // (timed from spawn, startup included) and still far from what an ignored deadline takes.
    expect(result.durationMs).toBeLessThan(20_000);
    const dir = runDirOf(result);
    const tsv = readHostsTsv(dir);
    const rows = [...tsv.values()];
    const timedOut = rows.filter((r) => r.status === 'timeout');
    const notStarted = rows.filter((r) => r.status === 'not_started');
    const ran = gate.started();
    // -f 2: at most two commands ran; each was stopped as timeout; every other host is not_started.
    expect(ran.length).toBeLessThanOrEqual(2);
    for (const h of ran) expect(tsv.get(h)?.status).toBe('timeout');
    expect(timedOut.length).toBeLessThanOrEqual(2);
    expect(timedOut.length + notStarted.length).toBe(5);
    for (const r of timedOut) expect(r.reason).toMatch(/--deadline was reached; remote processes killed: [1-9]/);
    // Queued hosts never began; one still connecting at the deadline ends before its command started.
    for (const r of notStarted)
      expect(r.reason).toMatch(/the run's --deadline (2s )?was reached before (this host|the command) started/);
    expect(fs.readFileSync(path.join(dir, 'failed.txt'), 'utf8').trim().split('\n').sort()).toEqual([...hosts].sort());
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')).options.deadline_s).toBe(2);
    // The gate is never opened, so nothing of these commands ends by itself: what is gone, herd killed.
    expect(remoteProcesses(gate.dir)).toEqual([]);
    gate.release();
  });
});

describe('output', () => {
  it('--max-output keeps the first bytes per host and says what it dropped', async () => {
    const [host] = scope.fleet.hosts(1, 2020);
    const inv = inventory('cap.txt', [host!]);
    const result = await runHerd(['run', '-i', inv, ...conn(), '--max-output', '1M', 'head -c 5000000 /dev/zero'], {
      env: { HOME: scope.home },
      timeoutMs: 30_000,
    });
    expect(result.code).toBe(0);
    const dir = runDirOf(result);
    expect(readHostsTsv(dir).get(host!)).toMatchObject({
      status: 'ok',
      reason: 'output capped by --max-output at 1048576 bytes; 3951424 more bytes dropped',
    });
    expect(fs.statSync(path.join(dir, 'stdout', host!)).size).toBe(1048576);
  });

  it('streams a flood of output to its file with the process tree staying small', async () => {
    const [host] = scope.fleet.hosts(1, 2025);
    const inv = inventory('flood.txt', [host!]);
    let peak = 0;
    let sampler: NodeJS.Timeout | undefined;
    const size = 600 * 1024 * 1024;
    const result = await runHerd(['run', '-i', inv, ...conn(), '--no-group', `head -c ${size} /dev/zero`], {
      env: { HOME: scope.home },
      timeoutMs: 120_000,
      onSpawn: (child) => {
        sampler = setInterval(() => (peak = Math.max(peak, treeRssMiB(child.pid!))), 50);
      },
    });
    clearInterval(sampler);
    expect(result.code).toBe(0);
    expect(fs.statSync(path.join(runDirOf(result), 'stdout', host!)).size).toBe(size);
    // Parent and workers together: far below the 600 MiB that went through them.
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(300);
  });
});

describe('connections', () => {
  it('retries a handshake reset with backoff, and without retries reports the reset', async () => {
    const flaky = await flakyProxy({ host: '127.0.0.1', port: scope.fleet.port }, 2);
    closers.push(flaky.close);
    const inv = inventory('flaky.txt', [`127.0.0.1:${flaky.port}`]);
    const base = [
      '-u',
      scope.fleet.user,
      '-k',
      scope.fleet.keyPath,
      '--host-key-checking',
      'off',
      '-o',
      path.join(scope.home, 'runs'),
    ];
    const retried = await runHerd(['run', '-i', inv, ...base, '--connect-retries', '2', 'echo through'], {
      env: { HOME: scope.home },
    });
    expect(retried.code).toBe(0);
    expect(flaky.accepted()).toBe(3);
    expect(retried.stdout).toContain('through');

    const again = await flakyProxy({ host: '127.0.0.1', port: scope.fleet.port }, 1);
    closers.push(again.close);
    const inv2 = inventory('flaky2.txt', [`127.0.0.1:${again.port}`]);
    const once = await runHerd(['run', '-i', inv2, ...base, '--connect-retries', '0', 'echo through'], {
      env: { HOME: scope.home },
    });
    expect(once.code).toBe(1);
    expect(readHostsTsv(runDirOf(once)).get(`127.0.0.1:${again.port}`)).toMatchObject({
      status: 'unreachable',
      reason: 'connection reset by peer during key exchange',
    });
    expect(again.accepted()).toBe(1);
  });

  it('clamps --forks to fit ulimit -n with a warning instead of failing hosts with EMFILE', async () => {
    const hosts = scope.fleet.hosts(40, 2030);
    const inv = inventory('fds.txt', hosts);
    const args = ['run', '-i', inv, ...conn(), '-f', '500', '-w', '2', 'true'].map((a) => `'${a}'`).join(' ');
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn('bash', ['-c', `ulimit -n 90 && exec '${HERD_BIN}' ${args}`], {
        env: { ...process.env, HOME: scope.home },
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code: number | null) => resolve({ code, stderr }));
    });
    expect(result.stderr).toMatch(/--forks 500 does not fit ulimit -n 90 .* using --forks 26/);
    expect(result.stderr).toContain('40 hosts: 40 ok');
    expect(result.code).toBe(0);
  });
});
