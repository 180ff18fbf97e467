// `npm run fleet` (test/fleet/fleet-cli.ts) as a process: it stops only its own sshd and removes only
// what it created, whatever state it finds.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, removeScratchDirs, scratchDir } from './herd-cli.js';

const FLEET_CLI = path.join(ROOT, 'dist', 'test', 'fleet', 'fleet-cli.js');

function fleetCli(cwd: string, ...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [FLEET_CLI, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const started: string[] = [];
afterAll(() => {
  for (const dir of started) if (fs.existsSync(path.join(dir, 'fleet', 'fleet.json'))) fleetCli(dir, 'stop');
  removeScratchDirs();
});

describe('npm run fleet', () => {
  it('leaves files it did not create, and fleet/ itself when it was already there', () => {
    const dir = scratchDir('herd-fleetcli-');
    started.push(dir);
    fs.mkdirSync(path.join(dir, 'fleet'));
    fs.writeFileSync(path.join(dir, 'fleet', 'notes.txt'), 'mine\n');
    expect(fleetCli(dir).code).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'fleet')).sort()).toEqual([
      'fleet.json',
      'id_ed25519',
      'inventory.txt',
      'known_hosts',
      'notes.txt',
      'ssh_config',
      'sshd.pid',
    ]);
    const stop = fleetCli(dir, 'stop');
    expect(stop.code).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'fleet'))).toEqual(['notes.txt']);
  });

  it('after its sshd died: status says so (exit 1), stop cleans up, start starts a new one', () => {
    const dir = scratchDir('herd-fleetcli-');
    started.push(dir);
    expect(fleetCli(dir).code).toBe(0);
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'fleet', 'fleet.json'), 'utf8')) as {
      pid: number;
      sshdDir: string;
    };
    process.kill(state.pid, 'SIGKILL'); // the sshd this test started
    const deadline = Date.now() + 5_000;
    while (alive(state.pid) && Date.now() < deadline) spawnSync('sleep', ['0.05']);
    const status = fleetCli(dir, 'status');
    expect(status.code).toBe(1);
    expect(status.out).toContain(`sshd pid ${state.pid} is gone`);
    const restart = fleetCli(dir);
    expect(restart.code).toBe(0);
    expect(restart.out).toContain(`sshd pid ${state.pid} is gone`);
    expect(fs.existsSync(state.sshdDir)).toBe(false);
    const again = JSON.parse(fs.readFileSync(path.join(dir, 'fleet', 'fleet.json'), 'utf8')) as { pid: number };
    expect(again.pid).not.toBe(state.pid);
    expect(fleetCli(dir, 'status').code).toBe(0);
    expect(fleetCli(dir, 'stop').code).toBe(0);
    expect(alive(again.pid)).toBe(false);
  });

  it('never signals a pid that is no longer its sshd', async () => {
    const dir = scratchDir('herd-fleetcli-');
    started.push(dir);
    expect(fleetCli(dir).code).toBe(0);
    const file = path.join(dir, 'fleet', 'fleet.json');
    const state = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number };
    // A stranger now holds the pid the state file names (as after a reboot or pid reuse).
    const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
    fs.writeFileSync(file, JSON.stringify({ ...state, pid: stranger.pid }));
    try {
      const stop = fleetCli(dir, 'stop');
      expect(stop.code).toBe(0);
      expect(stop.out).toContain('was not running');
      expect(alive(stranger.pid!)).toBe(true);
    } finally {
      stranger.kill('SIGKILL');
      process.kill(state.pid, 'SIGTERM'); // the real sshd, started by this test
    }
  });
});
