// Every way a host can fail ends in its own status and reason, within its timeouts, without touching other hosts.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { refusedPort, silentListener, wrongHostKeyLine } from '../fleet/faults.js';
import { readHostsTsv, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';

const closers: (() => Promise<void>)[] = [];

const scope = useLoopbackFleet();
afterAll(async () => {
  for (const close of closers) await close();
});

describe('a mixed fleet of good and broken hosts', () => {
  it('gives each host the right status and reason, and the run ends within its timeouts', async () => {
    const good = scope.fleet.hosts(10, 500);
    const [exits3, sleeps, changedKey] = scope.fleet.hosts(3, 520);
    const refused = await refusedPort();
    const silent = await silentListener();
    closers.push(silent.close);
    const knownHosts = path.join(scope.home, 'kh-mixed');
    fs.writeFileSync(knownHosts, wrongHostKeyLine(changedKey!, scope.fleet.port) + '\n');
    const inventory = [
      ...good,
      exits3,
      sleeps,
      changedKey,
      `${refused.host}:${refused.port}`,
      `${silent.host}:${silent.port}`,
    ];
    const inv = path.join(scope.home, 'mixed.txt');
    fs.writeFileSync(inv, inventory.join('\n') + '\n');
    // Digits unique to this run: `sleep 60.<token>` is this test's process, never another test run's.
    const token = `${process.pid}${String(Date.now()).slice(-6)}`;
    const markerDir = scratchDir('herd-markers-');
    fs.chmodSync(markerDir, 0o777);
    const command = [
      `me=$(echo "$SSH_CONNECTION" | cut -d' ' -f3)`,
      `touch ${markerDir}/$me`,
      `case $me in ${exits3}) exit 3;; ${sleeps}) sleep 60.${token};; esac`,
      `echo fine`,
    ].join('; ');
    const result = await runHerd(
      [
        'run',
        '-i',
        inv,
        '-u',
        scope.fleet.user,
        '-p',
        String(scope.fleet.port),
        '-k',
        scope.fleet.keyPath,
        '--known-hosts',
        knownHosts,
        '--connect-timeout',
        '2',
        '--timeout',
        '3',
        '-o',
        path.join(scope.home, 'runs'),
        command,
      ],
      { env: { HOME: scope.home }, timeoutMs: 30_000 },
    );
    expect(result.code).toBe(1);
    expect(result.durationMs).toBeLessThan(15_000);
    const rows = readHostsTsv(runDirOf(result));
    for (const h of good) expect(rows.get(h)).toMatchObject({ status: 'ok', exit: '0' });
    expect(rows.get(exits3!)).toMatchObject({ status: 'failed', exit: '3', reason: 'exit code 3' });
    expect(rows.get(sleeps!)?.status).toBe('timeout');
    expect(rows.get(sleeps!)?.reason).toMatch(/--timeout 3s; remote processes killed: [1-9] \(verified gone\)$/);
    expect(rows.get(changedKey!)?.status).toBe('hostkey_mismatch');
    expect(rows.get(`${refused.host}:${refused.port}`)).toMatchObject({
      status: 'unreachable',
      reason: 'connection refused',
    });
    expect(rows.get(`${silent.host}:${silent.port}`)?.status).toBe('unreachable');
    expect(rows.get(`${silent.host}:${silent.port}`)?.reason).toMatch(/timed out after 2s waiting for the SSH banner/);
    // Nothing ran on the host whose key changed; everything else that connected ran.
    expect(fs.existsSync(path.join(markerDir, changedKey!))).toBe(false);
    for (const h of good) expect(fs.existsSync(path.join(markerDir, h))).toBe(true);
    const failed = fs
      .readFileSync(path.join(runDirOf(result), 'failed.txt'), 'utf8')
      .trim()
      .split('\n');
    expect(failed.sort()).toEqual(
      [exits3, sleeps, changedKey, `${refused.host}:${refused.port}`, `${silent.host}:${silent.port}`].sort(),
    );
    // The timed-out command's remote processes are gone, as its reason says.
    const stillThere = fs
      .readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`sleep\u000060.${token}`);
        } catch {
          return false;
        }
      });
    expect(stillThere).toEqual([]);
  });
});

describe('authentication failures', () => {
  it('marks a wrong password as auth_failed and never writes the password anywhere', async () => {
    if (scope.fleet.password === undefined) return; // a non-root sshd cannot check passwords
    const hosts = scope.fleet.hosts(2, 600);
    const inv = path.join(scope.home, 'pw.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const secret = 'not-the-password-Zq81';
    const result = await runHerd(
      [
        'run',
        '-i',
        inv,
        '-u',
        scope.fleet.user,
        '-p',
        String(scope.fleet.port),
        '--password-env',
        'HERD_TEST_PW',
        '--known-hosts',
        path.join(scope.home, 'kh-pw'),
        '-o',
        path.join(scope.home, 'runs'),
        'true',
      ],
      { env: { HOME: scope.home, HERD_TEST_PW: secret } },
    );
    const rows = readHostsTsv(runDirOf(result));
    for (const h of hosts) expect(rows.get(h)?.status).toBe('auth_failed');
    expect(result.stdout + result.stderr).not.toContain(secret);
  });

  it('logs in with the right password and keeps it out of every file and output', async () => {
    if (scope.fleet.password === undefined) return;
    const hosts = scope.fleet.hosts(3, 620);
    const inv = path.join(scope.home, 'pw-ok.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const out = path.join(scope.home, 'runs-pw');
    const result = await runHerd(
      [
        'run',
        '-i',
        inv,
        '-u',
        scope.fleet.user,
        '-p',
        String(scope.fleet.port),
        '--password-env',
        'HERD_TEST_PW',
        '--known-hosts',
        path.join(scope.home, 'kh-pw2'),
        '-o',
        out,
        'echo logged-in',
      ],
      { env: { HOME: scope.home, HERD_TEST_PW: scope.fleet.password } },
    );
    expect(result.stderr).toContain('3 hosts: 3 ok');
    expect(result.stdout + result.stderr).not.toContain(scope.fleet.password);
    const dir = runDirOf(result);
    const files = fs.readdirSync(dir, { recursive: true }).map(String);
    for (const f of files) {
      const full = path.join(dir, f);
      if (fs.statSync(full).isFile()) expect(fs.readFileSync(full, 'utf8')).not.toContain(scope.fleet.password);
    }
    expect(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')).toContain('"password_source": "env:HERD_TEST_PW"');
  });

  it('marks a wrong key as auth_failed', async () => {
    const hosts = scope.fleet.hosts(2, 640);
    const inv = path.join(scope.home, 'wrongkey.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const otherKey = path.join(scope.home, 'other_ed25519');
    const { execFileSync } = await import('node:child_process');
    execFileSync('ssh-keygen', ['-t', 'ed25519', '-N', '', '-q', '-f', otherKey]);
    const result = await runHerd(
      [
        'run',
        '-i',
        inv,
        '-u',
        scope.fleet.user,
        '-p',
        String(scope.fleet.port),
        '-k',
        otherKey,
        '--known-hosts',
        path.join(scope.home, 'kh-wk'),
        '-o',
        path.join(scope.home, 'runs'),
        'true',
      ],
      { env: { HOME: scope.home } },
    );
    expect(result.code).toBe(1);
    const rows = readHostsTsv(runDirOf(result));
    for (const h of hosts) expect(rows.get(h)).toMatchObject({ status: 'auth_failed' });
  });
});
