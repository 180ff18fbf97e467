// A stock bastion: its sshd has no MaxStartups or MaxSessions line, so OpenSSH's defaults
// (10:30:100 unauthenticated connections, 10 sessions per connection) throttle whoever opens
// many connections at once. 300 targets behind it must all end ok, and the run must say how many
// bastion connections it opened (checked against the bastion's own log of logins).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../fleet/fleet.js';
import {
  PRINT_ADDRESS,
  readHostsTsv,
  type HerdResult,
  removeScratchDirs,
  runDirOf,
  runHerd,
  scratchDir,
} from './herd-cli.js';

describe('a bastion at OpenSSH defaults', () => {
  let bastion: Fleet;
  /** A bastion stricter than herd's pacing: beyond 3 unauthenticated connections it drops every new one. */
  let strict: Fleet;
  let targets: Fleet;
  let home: string;

  beforeAll(async () => {
    [bastion, strict, targets] = await Promise.all([
      startFleet({ opensshLimits: true, logLevel: 'INFO' }),
      startFleet({ maxStartups: '3:100:3' }),
      startFleet(),
    ]);
    // One key logs in everywhere: the bastions also trust the targets' user key.
    for (const b of [bastion, strict])
      fs.appendFileSync(path.join(b.dir, 'authorized_keys'), fs.readFileSync(`${targets.keyPath}.pub`));
    home = scratchDir('herd-jump-pacing-');
  });
  afterAll(async () => {
    await Promise.all([bastion?.stop(), strict?.stop(), targets?.stop()]);
    removeScratchDirs();
  });
  const viaStrict = (runs: string, retries: number): Promise<HerdResult> => {
    const inv = path.join(home, 'strict.txt');
    fs.writeFileSync(inv, targets.hosts(40, 3000).join('\n') + '\n');
    // One target per bastion connection: 40 bastion handshakes, 8 at once against a limit of 3.
    return runHerd(
      [
        'run',
        '-i',
        inv,
        '-u',
        targets.user,
        '-p',
        String(targets.port),
        '-k',
        targets.keyPath,
        '--known-hosts',
        path.join(home, 'kh'),
        '-o',
        path.join(home, runs),
        '-J',
        `${strict.user}@127.0.0.3:${strict.port}`,
        '--jump-sessions',
        '1',
        '--connect-retries',
        String(retries),
        '-q',
        'true',
      ],
      { env: { HOME: home }, timeoutMs: 120_000 },
    );
  };

  const logins = (): number =>
    fs
      .readFileSync(path.join(bastion.dir, 'sshd.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('Accepted publickey')).length;

  it('carries 300 targets with every host ok, pacing bastion handshakes, and reports the bastion connections', async () => {
    const hosts = targets.hosts(300, 2000);
    const inv = path.join(home, 'targets.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const jump = `${bastion.user}@127.0.0.2:${bastion.port}`;
    const before = logins();
    const r = await runHerd(
      [
        'run',
        '-i',
        inv,
        '-u',
        targets.user,
        '-p',
        String(targets.port),
        '-k',
        targets.keyPath,
        '--known-hosts',
        path.join(home, 'kh'),
        '-o',
        path.join(home, 'runs'),
        '-J',
        jump,
        '-q',
        PRINT_ADDRESS,
      ],
      { env: { HOME: home }, timeoutMs: 240_000 },
    );
    const dir = runDirOf(r);
    const rows = readHostsTsv(dir);
    const bad = [...rows].filter(([, row]) => row.status !== 'ok');
    expect(bad.slice(0, 5), r.stderr).toEqual([]);
    expect(r.code).toBe(0);
    for (const h of hosts.slice(0, 20)) expect(fs.readFileSync(path.join(dir, 'stdout', h), 'utf8')).toBe(`${h}\n`);
    const opened = logins() - before;
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    // Paced under MaxStartups' 10: sshd never had to drop one.
    expect(record.jump_hosts).toEqual([{ host: jump, connections: opened, throttled: 0 }]);
    // 256 sessions at once (--forks default), 8 per bastion connection at most (--jump-sessions
    // default): at least 32 connections, and far fewer than one per target.
    expect(opened).toBeGreaterThanOrEqual(32);
    expect(opened).toBeLessThan(100);
    expect(r.stderr).toContain(`jump host ${jump}: ${opened} connections`);
  }, 300_000);

  it('says in the reason that the bastion throttled, when it drops a handshake and no retry is left', async () => {
    const r = await viaStrict('runs-strict0', 0);
    const dir = runDirOf(r);
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    const throttled = [...readHostsTsv(dir).values()].filter((row) => row.status !== 'ok');
    expect(throttled.length).toBeGreaterThan(0);
    const label = `${strict.user}@127.0.0.3:${strict.port}`.replace(/\./g, '\\.');
    for (const row of throttled) {
      expect(row.status).toBe('unreachable');
      expect(row.reason).toMatch(
        new RegExp(
          `^jump host ${label} throttled new connections \\(dropped before authentication 1 time; its sshd MaxStartups\\?\\): `,
        ),
      );
    }
    expect(record.jump_hosts[0].throttled).toBe(throttled.length);
    expect(r.stderr).toMatch(
      /jump host .*: \d+ connections \(\d+ dropped before authentication by its sshd: throttled, retried with backoff\)/,
    );
  }, 150_000);

  it('reached directly, the same throttled sshd fails hosts with a close before the handshake, and retries save them', async () => {
    const inv = path.join(home, 'direct.txt');
    fs.writeFileSync(inv, targets.hosts(40, 3100).join('\n') + '\n');
    const args = (runs: string, retries: number) => [
      'run',
      '-i',
      inv,
      '-u',
      targets.user,
      '-p',
      String(strict.port),
      '-k',
      targets.keyPath,
      '--known-hosts',
      path.join(home, 'kh'),
      '-o',
      path.join(home, runs),
      '--max-handshakes',
      '16',
      '--connect-retries',
      String(retries),
      '-q',
      'true',
    ];
    const once = await runHerd(args('runs-direct0', 0), { env: { HOME: home }, timeoutMs: 120_000 });
    const dropped = [...readHostsTsv(runDirOf(once)).values()].filter((row) => row.status !== 'ok');
    expect(dropped.length).toBeGreaterThan(0);
    // sshd drops an unauthenticated connection over MaxStartups by closing it; when herd's KEXINIT is already on
    // its way, the kernel answers it with a reset instead: the same drop, told as what the socket saw.
    for (const row of dropped)
      expect(row).toMatchObject({
        status: 'unreachable',
        reason: expect.stringMatching(
          /^connection (closed by the server before the SSH handshake|reset by peer during key exchange)$/,
        ),
      });
    const retried = await runHerd(args('runs-direct8', 8), { env: { HOME: home }, timeoutMs: 120_000 });
    expect(retried.stderr).toContain('40 hosts: 40 ok');
  }, 300_000);

  it('retries a bastion handshake dropped before authentication, with backoff, until the hosts behind it are ok', async () => {
    const r = await viaStrict('runs-strict8', 8);
    const dir = runDirOf(r);
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    expect(r.stderr).toContain('40 hosts: 40 ok');
    expect(record.jump_hosts[0].throttled).toBeGreaterThan(0);
    expect(record.jump_hosts[0].connections).toBe(40);
  }, 150_000);
});
