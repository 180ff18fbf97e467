// The worker pool survives a killed worker, and rerun picks exactly the hosts that did not end ok.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { driver, hostsHeldBy, openGate, waitUntil } from './gate.js';
import { childPids, readHostsTsv, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

function connArgs(): string[] {
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
    path.join(scope.home, 'runs'),
  ];
}

describe('a worker process killed mid-run', () => {
  it('records its running hosts as interrupted while every other host finishes', async () => {
    const hosts = scope.fleet.hosts(40, 700);
    const inv = path.join(scope.home, 'kill.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const gate = openGate();
    let victimHosts: string[] = [];
    let killed = 0;
    const run = driver(async (child) => {
      await waitUntil(() => childPids(child.pid!).length === 2, 'two workers');
      // Every command has announced itself and blocks on the gate: each host is running on one worker.
      await waitUntil(() => gate.started().length === 40, 'all 40 commands to start');
      const [victim] = childPids(child.pid!);
      victimHosts = hostsHeldBy(victim!, gate);
      process.kill(victim!, 'SIGKILL');
      killed = victim!;
      gate.release();
    });
    const result = await runHerd(['run', '-i', inv, ...connArgs(), '-w', '2', '-f', '40', gate.command('echo done')], {
      env: { HOME: scope.home },
      onSpawn: run.onSpawn,
    });
    expect(run.failure()).toBeUndefined();
    expect(killed).toBeGreaterThan(0);
    // Both workers had hosts (the pool spreads them), so the run shows both outcomes.
    expect(victimHosts.length).toBeGreaterThan(0);
    expect(victimHosts.length).toBeLessThan(40);
    const rows = readHostsTsv(runDirOf(result));
    expect(rows.size).toBe(40);
    const withStatus = (status: string): string[] => hosts.filter((h) => rows.get(h)?.status === status);
    expect(withStatus('interrupted')).toEqual(hosts.filter((h) => victimHosts.includes(h)));
    expect(withStatus('ok')).toEqual(hosts.filter((h) => !victimHosts.includes(h)));
    for (const h of victimHosts) expect(rows.get(h)?.reason).toMatch(/worker process died \(signal SIGKILL\)/);
    expect(result.code).toBe(1);
  });
});

describe('herd rerun', () => {
  it('runs again exactly the hosts that did not end ok, and records where it came from', async () => {
    const hosts = scope.fleet.hosts(12, 800);
    const bad = hosts.slice(3, 7);
    const inv = path.join(scope.home, 'rerun.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const flagDir = scratchDir('herd-flags-');
    fs.chmodSync(flagDir, 0o777);
    for (const h of bad) fs.writeFileSync(path.join(flagDir, h), '');
    // Hosts with a flag file fail; a rerun after the flags are removed succeeds on them.
    const command = `me=$(echo "$SSH_CONNECTION" | cut -d' ' -f3); echo ran >> ${flagDir}/count-$me; test ! -e ${flagDir}/$me`;
    const first = await runHerd(['run', '-i', inv, ...connArgs(), command], { env: { HOME: scope.home } });
    expect(first.code).toBe(1);
    const firstDir = runDirOf(first);
    expect(fs.readFileSync(path.join(firstDir, 'failed.txt'), 'utf8')).toBe(bad.map((h) => h + '\n').join(''));
    for (const h of bad) fs.unlinkSync(path.join(flagDir, h));

    const second = await runHerd(['rerun', '-o', path.join(scope.home, 'runs')], { env: { HOME: scope.home } });
    expect(second.code).toBe(0);
    const secondDir = runDirOf(second);
    expect([...readHostsTsv(secondDir).keys()]).toEqual(bad);
    const record = JSON.parse(fs.readFileSync(path.join(secondDir, 'run.json'), 'utf8'));
    expect(record.rerun_of).toBe(path.basename(firstDir));
    expect(record.command).toBe('rerun');
    for (const h of hosts) {
      const runs = fs
        .readFileSync(path.join(flagDir, `count-${h}`), 'utf8')
        .trim()
        .split('\n').length;
      expect(runs).toBe(bad.includes(h) ? 2 : 1);
    }
    const third = await runHerd(['rerun', '-o', path.join(scope.home, 'runs')], { env: { HOME: scope.home } });
    expect(third.code).toBe(0);
    expect(third.stderr).toContain('nothing to rerun');
  });
});
