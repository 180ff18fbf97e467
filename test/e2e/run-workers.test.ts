// The worker pool survives a killed worker, and rerun picks exactly the hosts that did not end ok.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { childPids, readHostsTsv, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';


const scope = useLoopbackFleet();

function connArgs(): string[] {
  return ['-u', scope.fleet.user, '-p', String(scope.fleet.port), '-k', scope.fleet.keyPath, '--known-hosts', path.join(scope.home, 'kh'), '-o', path.join(scope.home, 'runs')];
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a worker process killed mid-run', () => {
  it('records its running hosts as interrupted while every other host finishes', async () => {
    const hosts = scope.fleet.hosts(40, 700);
    const inv = path.join(scope.home, 'kill.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    let killed = 0;
    const result = await runHerd(['run', '-i', inv, ...connArgs(), '-w', '2', '-f', '40', 'sleep 3; echo done'], {
      env: { HOME: scope.home },
      onSpawn: (child) => {
        void (async () => {
          await waitFor(() => childPids(child.pid!).length === 2, 10_000);
          const latest = path.join(scope.home, 'runs', 'latest', 'journal.ndjson');
          // Wait until commands are running (the journal records each host_running), then kill one worker.
          await waitFor(() => fs.existsSync(latest) && (fs.readFileSync(latest, 'utf8').match(/host_running/g) ?? []).length >= 40, 15_000);
          const [victim] = childPids(child.pid!);
          process.kill(victim!, 'SIGKILL');
          killed = victim!;
        })();
      },
    });
    expect(killed).toBeGreaterThan(0);
    const rows = readHostsTsv(runDirOf(result));
    expect(rows.size).toBe(40);
    const statuses = [...rows.values()].map((r) => r.status);
    const interrupted = statuses.filter((s) => s === 'interrupted').length;
    const ok = statuses.filter((s) => s === 'ok').length;
    expect(interrupted).toBe(20);
    expect(ok).toBe(20);
    for (const r of rows.values()) if (r.status === 'interrupted') expect(r.reason).toMatch(/worker process died \(signal SIGKILL\)/);
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
      const runs = fs.readFileSync(path.join(flagDir, `count-${h}`), 'utf8').trim().split('\n').length;
      expect(runs).toBe(bad.includes(h) ? 2 : 1);
    }
    const third = await runHerd(['rerun', '-o', path.join(scope.home, 'runs')], { env: { HOME: scope.home } });
    expect(third.code).toBe(0);
    expect(third.stderr).toContain('nothing to rerun');
  });
});
