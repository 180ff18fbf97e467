// Trust files: an unreadable known_hosts stops the run before any host; the files OpenSSH reads
// by default are read; run.json says which files were used, and rerun keeps using them.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HERD_BIN, readHostsTsv, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

/** A TCP listener that counts connections: proof that no host was contacted. */
let listener: net.Server;
let listenerPort = 0;
let contacts = 0;
beforeAll(async () => {
  listener = net.createServer((s) => {
    contacts++;
    s.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  listenerPort = (listener.address() as net.AddressInfo).port;
});
afterAll(() => listener.close());

function inventoryFor(dir: string): string {
  const inv = path.join(dir, 'inv');
  fs.writeFileSync(inv, '127.0.0.1\n', { mode: 0o644 });
  return inv;
}

describe('an unreadable known_hosts file stops the run before any host (exit 2)', () => {
  const cases: [string, (dir: string) => string, RegExp][] = [
    [
      'a directory (EISDIR)',
      (dir) => (fs.mkdirSync(path.join(dir, 'kh-dir')), path.join(dir, 'kh-dir')),
      /is a directory/,
    ],
    [
      'under a file (ENOTDIR)',
      (dir) => (fs.writeFileSync(path.join(dir, 'plain'), ''), path.join(dir, 'plain', 'known_hosts')),
      /not a directory/,
    ],
    [
      'a FIFO (would block)',
      (dir) => (execFileSync('mkfifo', [path.join(dir, 'kh-fifo')]), path.join(dir, 'kh-fifo')),
      /not a regular file/,
    ],
  ];
  it.each(cases)('--known-hosts naming %s', async (_what, make, reason) => {
    const dir = scratchDir();
    const kh = make(dir);
    const before = contacts;
    const result = await runHerd(
      [
        'run',
        '-i',
        inventoryFor(dir),
        '-p',
        String(listenerPort),
        '--password-env',
        'HERD_T_PW',
        '--known-hosts',
        kh,
        '-o',
        path.join(dir, 'runs'),
        'true',
      ],
      {
        env: { HOME: dir, HERD_T_PW: 'x' },
        cwd: dir,
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`known_hosts file ${kh}: cannot read it`);
    expect(result.stderr).toMatch(reason);
    expect(contacts).toBe(before);
    expect(fs.existsSync(path.join(dir, 'runs'))).toBe(false);
  });

  it('a GlobalKnownHostsFile from ssh_config that is a directory', async () => {
    const dir = scratchDir();
    fs.mkdirSync(path.join(dir, 'global'));
    const config = path.join(dir, 'ssh_config');
    fs.writeFileSync(
      config,
      `Host *\n  UserKnownHostsFile ${path.join(dir, 'user')}\n  GlobalKnownHostsFile ${path.join(dir, 'global')}\n`,
    );
    const result = await runHerd(
      [
        'run',
        '-i',
        inventoryFor(dir),
        '-F',
        config,
        '-p',
        String(listenerPort),
        '--password-env',
        'HERD_T_PW',
        '-o',
        path.join(dir, 'runs'),
        'true',
      ],
      {
        env: { HOME: dir, HERD_T_PW: 'x' },
        cwd: dir,
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`known_hosts file ${path.join(dir, 'global')}: cannot read it (is a directory)`);
  });

  // Root reads any file: the test drops herd to nobody, which needs root.
  it.skipIf(process.getuid?.() !== 0)(
    'a file the user running herd may not read (EACCES), herd running unprivileged',
    async () => {
      const dir = scratchDir();
      fs.chmodSync(dir, 0o755);
      const kh = path.join(dir, 'kh-secret');
      fs.writeFileSync(kh, '', { mode: 0o600 });
      const inv = inventoryFor(dir);
      const before = contacts;
      const args = [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        '--',
        HERD_BIN,
        'run',
        '-i',
        inv,
        '-p',
        String(listenerPort),
      ];
      args.push('--password-env', 'HERD_T_PW', '--known-hosts', kh, '-o', path.join(dir, 'runs'), 'true');
      const env = { PATH: process.env['PATH'], HOME: '/nonexistent', NO_COLOR: '1', HERD_T_PW: 'x' };
      const result = await promisify(execFile)('setpriv', args, { cwd: '/', env }).then(
        () => ({ code: 0, stderr: '' }),
        (err: { code: number; stderr: string }) => err,
      );
      expect(result.stderr).toContain(`known_hosts file ${kh}: cannot read it (permission denied)`);
      expect(result.code).toBe(2);
      expect(contacts).toBe(before);
    },
  );

  it('a missing file is empty: accept-new records into it', async () => {
    const [host] = scope.fleet.hosts(1, 900);
    const dir = scratchDir();
    const kh = path.join(dir, 'new', 'known_hosts');
    const inv = path.join(dir, 'inv');
    fs.writeFileSync(inv, `${host}\n`);
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
        kh,
        '-o',
        path.join(dir, 'runs'),
        'true',
      ],
      {
        env: { HOME: dir },
      },
    );
    expect(result.code).toBe(0);
    expect(fs.readFileSync(kh, 'utf8')).toBe(`[${host}]:${scope.fleet.port} ${scope.fleet.hostPublicKey}\n`);
  });
});

describe("--host-key-checking off under HashKnownHosts yes (Debian's /etc/ssh/ssh_config sets it)", () => {
  it('connects every host and reads or records no known_hosts file', async () => {
    const hosts = scope.fleet.hosts(2, 905);
    const dir = scratchDir();
    const inv = path.join(dir, 'inv');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const config = path.join(dir, 'ssh_config');
    fs.writeFileSync(config, 'Host *\n  HashKnownHosts yes\n');
    const conn = ['-u', scope.fleet.user, '-p', String(scope.fleet.port), '-k', scope.fleet.keyPath];
    const result = await runHerd(
      ['run', '-i', inv, '-F', config, ...conn, '--host-key-checking', 'off', '-o', path.join(dir, 'runs'), 'true'],
      { env: { HOME: dir } },
    );
    expect(result.stderr).toContain('2 hosts: 2 ok');
    expect(fs.existsSync(path.join(dir, '.ssh', 'known_hosts'))).toBe(false);
  });
});

describe("OpenSSH's default files", () => {
  it('trusts a pin kept only in ~/.ssh/known_hosts2 and records new keys in ~/.ssh/known_hosts', async () => {
    const [pinned, fresh] = scope.fleet.hosts(2, 910);
    const home = scratchDir();
    fs.mkdirSync(path.join(home, '.ssh'), { mode: 0o700 });
    fs.writeFileSync(
      path.join(home, '.ssh', 'known_hosts2'),
      `[${pinned}]:${scope.fleet.port} ${scope.fleet.hostPublicKey}\n`,
    );
    const inv = path.join(home, 'inv');
    fs.writeFileSync(inv, `${pinned}\n`);
    const common = [
      '-u',
      scope.fleet.user,
      '-p',
      String(scope.fleet.port),
      '-k',
      scope.fleet.keyPath,
      '-F',
      'none',
      '-o',
      path.join(home, 'runs'),
    ];
    const strict = await runHerd(['run', '-i', inv, ...common, '--strict-host-keys', 'true'], { env: { HOME: home } });
    expect(strict.stderr).toContain('1 host: 1 ok');
    fs.writeFileSync(inv, `${fresh}\n`);
    const acceptNew = await runHerd(['run', '-i', inv, ...common, 'true'], { env: { HOME: home } });
    expect(acceptNew.code).toBe(0);
    expect(fs.readFileSync(path.join(home, '.ssh', 'known_hosts'), 'utf8')).toBe(
      `[${fresh}]:${scope.fleet.port} ${scope.fleet.hostPublicKey}\n`,
    );
    const record = JSON.parse(fs.readFileSync(path.join(runDirOf(acceptNew), 'run.json'), 'utf8'));
    expect(record.options.known_hosts).toBeNull();
    expect(record.options.known_hosts_files).toEqual([
      path.join(home, '.ssh', 'known_hosts'),
      path.join(home, '.ssh', 'known_hosts2'),
      '/etc/ssh/ssh_known_hosts',
      '/etc/ssh/ssh_known_hosts2',
    ]);
  });
});

describe('run.json and rerun with ssh_config UserKnownHostsFile', () => {
  it('records the files ssh_config named (not ~/.ssh/known_hosts), and rerun checks against them, still strict', async () => {
    const [a, b] = scope.fleet.hosts(2, 920) as [string, string];
    const home = scratchDir();
    const kh = path.join(home, 'fleet_known_hosts');
    fs.writeFileSync(kh, `[${a}]:${scope.fleet.port} ${scope.fleet.hostPublicKey}\n`);
    const config = path.join(home, 'ssh_config');
    fs.writeFileSync(
      config,
      `Host *\n  UserKnownHostsFile ${kh}\n  GlobalKnownHostsFile none\n  StrictHostKeyChecking yes\n`,
    );
    const inv = path.join(home, 'inv');
    fs.writeFileSync(inv, `${a}\n${b}\n`);
    const first = await runHerd(
      [
        'run',
        '-i',
        inv,
        '-F',
        config,
        '-u',
        scope.fleet.user,
        '-p',
        String(scope.fleet.port),
        '-k',
        scope.fleet.keyPath,
        '-o',
        path.join(home, 'runs'),
        'true',
      ],
      {
        env: { HOME: home },
      },
    );
    const dir = runDirOf(first);
    expect(readHostsTsv(dir).get(b)?.status).toBe('hostkey_unknown');
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    expect(record.options.known_hosts).toBeNull();
    expect(record.options.known_hosts_files).toEqual([kh]);
    // Still unknown on rerun: the ssh_config's strict checking holds (it must not become accept-new).
    const again = await runHerd(['rerun', dir, '-o', path.join(home, 'runs')], { env: { HOME: home } });
    expect(readHostsTsv(runDirOf(again)).get(b)?.status).toBe('hostkey_unknown');
    expect(fs.readFileSync(kh, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
    // Pinned in the ssh_config's file, b is trusted on the next rerun.
    fs.appendFileSync(kh, `[${b}]:${scope.fleet.port} ${scope.fleet.hostPublicKey}\n`);
    const third = await runHerd(['rerun', runDirOf(again), '-o', path.join(home, 'runs')], { env: { HOME: home } });
    expect(readHostsTsv(runDirOf(third)).get(b)?.status).toBe('ok');
    expect(fs.existsSync(path.join(home, '.ssh', 'known_hosts'))).toBe(false);
  });
});

describe('a playbook that reaches hosts in several passes', () => {
  it('records each new key once: a later pass trusts what an earlier pass recorded', async () => {
    const hosts = scope.fleet.hosts(3, 930);
    const home = scratchDir();
    const kh = path.join(home, 'kh');
    const inv = path.join(home, 'inv');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const book = path.join(home, 'two-passes.yml');
    // The consensus gate ends the first pass; the second step is a second connection to every host.
    fs.writeFileSync(
      book,
      'name: two passes\nsteps:\n  - name: look\n    run: echo same\n    check: true\n    expect: { consensus: true }\n  - name: act\n    run: "true"\n',
    );
    const common = [
      '-u',
      scope.fleet.user,
      '-p',
      String(scope.fleet.port),
      '-k',
      scope.fleet.keyPath,
      '--known-hosts',
      kh,
      '-o',
      path.join(home, 'runs'),
    ];
    const result = await runHerd(['play', '-i', inv, ...common, book], { env: { HOME: home } });
    expect(result.code).toBe(0);
    const recorded = fs.readFileSync(kh, 'utf8').trim().split('\n');
    expect(recorded.sort()).toEqual(hosts.map((h) => `[${h}]:${scope.fleet.port} ${scope.fleet.hostPublicKey}`).sort());
  });
});
