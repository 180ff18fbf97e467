// The fleet simulator (test/fleet/sim/) for the scale benchmarks: herd against ~50 simulated hosts
// gets what the spec asks of each (output, exit codes, unreachable and auth failures, --timeout kills),
// and the simulator is bounded (exits when its parent dies).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type Sim } from '../fleet/sim/sim.js';
import { parseExec, parseScript, parseSpec, behaviourOf } from '../fleet/sim/spec.js';
import { buildKillCommand, buildRemoteCommand } from '../../src/transport/remote-command.js';
import { readHostsTsv, removeScratchDirs, ROOT, runDirOf, runHerd, scratchDir } from './herd-cli.js';

describe('the simulator spec and command language', () => {
  it('maps addresses to behaviours, first match wins, and names file:line:column on errors', () => {
    const rules = parseSpec(
      '# comment\n127.0.1.1-127.0.1.3,127.0.2.9 hang\n127.0.1.0/24 run exit 3 # tail\n* auth-fail\n',
      'spec',
    );
    expect(behaviourOf(rules, '127.0.1.2').kind).toBe('hang');
    expect(behaviourOf(rules, '127.0.2.9').kind).toBe('hang');
    expect(behaviourOf(rules, '127.0.1.200')).toEqual({
      kind: 'run',
      script: [{ and: false, op: { op: 'exit', code: 3 } }],
    });
    expect(behaviourOf(rules, '10.0.0.1').kind).toBe('auth-fail');
    expect(() => parseSpec('* serve\n127.0.1.300 hang\n', 'f.spec')).toThrow(
      'f.spec:2:1: not an IPv4 address, CIDR block, range or *: 127.0.1.300',
    );
    expect(() => parseSpec('127.0.0.1,127.0.0.2-1 hang\n', 'f.spec')).toThrow('f.spec:1:11: not an IPv4 range');
    expect(() => parseSpec('*  explode\n', 'f.spec')).toThrow('f.spec:1:4: unknown behaviour explode');
    expect(() => parseSpec('* run sleep x\n', 'f.spec')).toThrow('f.spec:1:13: sleep wants a number');
    expect(() => parseSpec('* run exit 2.5\n', 'f.spec')).toThrow('f.spec:1:12: exit wants a whole number');
    expect(behaviourOf(parseSpec("* run echo '#1' # comment\n", 's'), '127.0.0.2')).toEqual({
      kind: 'run',
      script: [{ and: false, op: { op: 'echo', text: '#1\n', stderr: false } }],
    });
  });

  it("unwraps herd's remote command and recognises its kill script", () => {
    // As herd sends them (remote-command.ts), sudo or not.
    expect(parseExec(buildRemoteCommand(`echo 'a b'; exit 4`, 'ab12'))).toEqual({
      kind: 'script',
      tag: 'ab12',
      script: [
        { and: false, op: { op: 'echo', text: 'a b\n', stderr: false } },
        { and: false, op: { op: 'exit', code: 4 } },
      ],
    });
    expect(parseExec(buildRemoteCommand('exit 4', 'ab12', {})).tag).toBe('ab12');
    expect(parseExec(buildRemoteCommand('exit 4', 'ab12', undefined, 'posix'))).toEqual({
      kind: 'script',
      tag: 'ab12',
      script: [{ and: false, op: { op: 'exit', code: 4 } }],
    });
    expect(parseExec(buildKillCommand('ab12'))).toEqual({
      kind: 'kill',
      tag: 'ab12',
    });
    expect(parseScript('true && addr; bytes 10 stderr')).toEqual([
      { and: false, op: { op: 'status', code: 0 } },
      { and: true, op: { op: 'addr' } },
      { and: false, op: { op: 'bytes', n: 10, stderr: true } },
    ]);
  });
});

describe('herd against 50 simulated hosts', () => {
  let sim: Sim;
  let home: string;
  beforeAll(async () => {
    home = scratchDir('herd-sim-test-');
    sim = await startSim({
      spec: [
        '127.0.1.41-127.0.1.43 run echo failing >&2; exit 3',
        '127.0.1.44,127.0.1.45 run bytes 100000',
        '127.0.1.46,127.0.1.47 auth-fail',
        '127.0.1.48 hang',
        '127.0.1.49 close',
        '127.0.1.50 run sleep 60',
        '* serve',
      ].join('\n'),
      maxSeconds: 300,
    });
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('gives each host the output, exit code and status the spec asks for', async () => {
    const hosts = sim.hosts(50);
    expect(hosts[0]).toBe('127.0.1.1');
    expect(hosts[49]).toBe('127.0.1.50');
    const inv = path.join(home, 'sim.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const args = ['-i', inv, '-u', sim.user, '-p', String(sim.port), '--host-key-checking', 'off'];
    const result = await runHerd(
      [
        'run',
        ...args,
        // 5 s: the hung host's bound, yet room for 50 handshakes on a loaded machine.
        ...['-k', sim.keyPath, '--connect-timeout', '5', '--connect-retries', '1', '--timeout', '5'],
        ...['-o', path.join(home, 'runs'), 'addr'],
      ],
      { env: { HOME: home }, timeoutMs: 40_000 },
    );
    expect(result.code).toBe(1);
    const dir = runDirOf(result);
    const rows = readHostsTsv(dir);
    for (const h of hosts.slice(0, 40)) {
      expect(rows.get(h)).toMatchObject({ status: 'ok', exit: '0' });
      // `addr` prints the address herd dialled: each simulated host is told apart by it.
      expect(fs.readFileSync(path.join(dir, 'stdout', h), 'utf8')).toBe(`${h}\n`);
    }
    for (const h of hosts.slice(40, 43)) {
      expect(rows.get(h)).toMatchObject({ status: 'failed', exit: '3', reason: 'exit code 3' });
      expect(fs.readFileSync(path.join(dir, 'stderr', h), 'utf8')).toBe('failing\n');
    }
    for (const h of hosts.slice(43, 45)) {
      expect(rows.get(h)).toMatchObject({ status: 'ok', exit: '0' });
      expect(fs.statSync(path.join(dir, 'stdout', h)).size).toBe(100_000);
    }
    for (const h of hosts.slice(45, 47))
      expect(rows.get(h)).toMatchObject({
        status: 'auth_failed',
        reason: 'authentication failed (all offered methods were rejected)',
      });
    expect(rows.get(hosts[47]!)?.status).toBe('unreachable');
    expect(rows.get(hosts[47]!)?.reason).toMatch(/timed out after 5s waiting for the SSH banner/);
    expect(rows.get(hosts[48]!)?.status).toBe('unreachable');
    expect(rows.get(hosts[48]!)?.reason).toMatch(/before the SSH handshake|reset/);
    expect(rows.get(hosts[49]!)?.status).toBe('timeout');
    expect(rows.get(hosts[49]!)?.reason).toMatch(/--timeout 5s; remote processes killed: 1 \(verified gone\)$/);
  }, 60_000);

  it('accepts the password and rejects a wrong one', async () => {
    const inv = path.join(home, 'pw.txt');
    fs.writeFileSync(inv, sim.hosts(3).join('\n') + '\n');
    const base = ['run', '-i', inv, '-u', sim.user, '-p', String(sim.port), '--host-key-checking', 'off'];
    const rest = ['--password-env', 'SIM_PASS', '-o', path.join(home, 'runs'), 'echo', 'pw'];
    const good = await runHerd([...base, ...rest], { env: { HOME: home, SIM_PASS: sim.password } });
    expect(good.code).toBe(0);
    for (const row of readHostsTsv(runDirOf(good)).values()) expect(row.status).toBe('ok');
    const bad = await runHerd([...base, ...rest], { env: { HOME: home, SIM_PASS: 'wrong' } });
    expect(bad.code).toBe(1);
    for (const row of readHostsTsv(runDirOf(bad)).values()) expect(row.status).toBe('auth_failed');
  }, 60_000);
});

afterAll(() => removeScratchDirs());

/** Running, not a zombie: an exited orphan stays in /proc until init reaps it. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('the simulator is bounded', () => {
  it('exits when the process that started it dies', async () => {
    const dir = scratchDir('herd-sim-parent-');
    const script = path.join(dir, 'parent.mjs');
    const simJs = path.join(ROOT, 'dist', 'test', 'fleet', 'sim', 'sim.js');
    fs.writeFileSync(
      script,
      `const { startSim } = await import(${JSON.stringify(simJs)});\n` +
        `const sim = await startSim();\nconsole.log(JSON.stringify([sim.pid, sim.dir]));\nsetInterval(() => {}, 1000);\n`,
    );
    const parent = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [simPid, simDir] = await new Promise<[number, string]>((resolve) =>
      parent.stdout.on('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as [number, string])),
    );
    expect(fs.existsSync(`/proc/${simPid}`)).toBe(true);
    // SIGKILL: no exit handler of the parent runs; the simulator must notice on its own.
    parent.kill('SIGKILL');
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && alive(simPid)) await new Promise((r) => setTimeout(r, 100));
    const gone = !alive(simPid);
    if (!gone) process.kill(simPid, 'SIGKILL');
    // Its keys: the killed parent could not remove them.
    fs.rmSync(simDir, { recursive: true, force: true });
    expect(gone).toBe(true);
  }, 20_000);
});
