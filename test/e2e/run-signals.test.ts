// Ctrl-C as a real signal to the real CLI, and ssh-agent authentication with a real agent.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHostsTsv, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';


const scope = useLoopbackFleet();

function conn(out: string): string[] {
  return ['-u', scope.fleet.user, '-p', String(scope.fleet.port), '-k', scope.fleet.keyPath, '--known-hosts', path.join(scope.home, 'kh'), '-o', out];
}

async function waitForRunning(out: string, count: number): Promise<void> {
  const journal = path.join(out, 'latest', 'journal.ndjson');
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (fs.existsSync(journal) && (fs.readFileSync(journal, 'utf8').match(/host_running/g) ?? []).length >= count) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('hosts never started running');
}

describe('Ctrl-C', () => {
  it('once: starts nothing new, lets running commands finish, records the rest as not_started, exits 130', async () => {
    const hosts = scope.fleet.hosts(10, 1400);
    const inv = path.join(scope.home, 'int1.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const out = path.join(scope.home, 'runs-int1');
    const result = await runHerd(['run', '-i', inv, ...conn(out), '-f', '4', 'sleep 2; echo finished'], {
      env: { HOME: scope.home },
      onSpawn: (child) => void waitForRunning(out, 4).then(() => child.kill('SIGINT')),
    });
    expect(result.code).toBe(130);
    const rows = [...readHostsTsv(runDirOf(result)).values()];
    expect(rows.filter((r) => r.status === 'ok')).toHaveLength(4);
    expect(rows.filter((r) => r.status === 'not_started')).toHaveLength(6);
    const failed = fs.readFileSync(path.join(runDirOf(result), 'failed.txt'), 'utf8').trim().split('\n');
    expect(failed).toHaveLength(6);
    expect(JSON.parse(fs.readFileSync(path.join(runDirOf(result), 'run.json'), 'utf8')).state).toBe('interrupted');
  });

  it('twice: stops running commands at once on the hosts too', async () => {
    const hosts = scope.fleet.hosts(3, 1420);
    const inv = path.join(scope.home, 'int2.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const out = path.join(scope.home, 'runs-int2');
    const marker = `sleep 47.${process.pid}`;
    const result = await runHerd(['run', '-i', inv, ...conn(out), marker], {
      env: { HOME: scope.home },
      onSpawn: (child) =>
        void waitForRunning(out, 3).then(async () => {
          await new Promise((r) => setTimeout(r, 300));
          child.kill('SIGINT');
          await new Promise((r) => setTimeout(r, 200));
          child.kill('SIGINT');
        }),
      timeoutMs: 20_000,
    });
    expect(result.code).toBe(130);
    expect(result.durationMs).toBeLessThan(15_000);
    const rows = [...readHostsTsv(runDirOf(result)).values()];
    expect(rows.map((r) => r.status)).toEqual(['interrupted', 'interrupted', 'interrupted']);
    expect(rows[0]!.reason).toMatch(/remote processes killed: [1-9]/);
    const left = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`47.${process.pid}`);
      } catch {
        return false;
      }
    });
    expect(left).toEqual([]);
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
      const args = ['run', '-i', inv, '-u', scope.fleet.user, '-p', String(scope.fleet.port), '--known-hosts', path.join(scope.home, 'kh-agent'), '-o', path.join(scope.home, 'runs-agent'), 'true'];
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
