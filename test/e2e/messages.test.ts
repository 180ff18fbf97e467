// What the operator sees: each message names the option the user typed, says the fix, and reads
// `herd: ...`. Every message here is asserted exactly (issue 12, "Messages that name what the user typed").
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HERD_BIN, readHostsTsv, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';

/** An inventory whose one host nobody listens on: a refusal before contact never gets that far. */
function unreachableInventory(dir: string): string {
  const inv = path.join(dir, 'inv.txt');
  fs.writeFileSync(inv, '127.0.0.1:1\n');
  return inv;
}

function becomePlaybook(dir: string): string {
  const file = path.join(dir, 'become.yml');
  fs.writeFileSync(file, '- name: p\n  hosts: all\n  steps:\n    - name: s\n      run: id -u\n      become: true\n');
  return file;
}

describe('secret options name the flag the user gave', () => {
  it('--become-pass-env NOTSET names --become-pass-env, not --password-env', async () => {
    const dir = scratchDir();
    const r = await runHerd(
      [
        'play',
        '-i',
        unreachableInventory(dir),
        becomePlaybook(dir),
        '--password-env',
        'HERD_T_PW',
        '--become-pass-env',
        'NOTSET',
      ],
      {
        cwd: dir,
        env: { HOME: dir, HERD_T_PW: 'x', NOTSET: undefined },
      },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('herd: --become-pass-env NOTSET: environment variable NOTSET is not set or empty\n');
  });

  it('a prompt without a terminal names the --ask-* flag given and its environment-variable alternative', async () => {
    const dir = scratchDir();
    const inv = unreachableInventory(dir);
    const env = { HOME: dir, HERD_T_PW: 'x' };
    const become = await runHerd(
      ['play', '-i', inv, becomePlaybook(dir), '--password-env', 'HERD_T_PW', '--ask-become-pass'],
      { cwd: dir, env },
    );
    expect(become.code).toBe(2);
    expect(become.stderr).toBe(
      'herd: --ask-become-pass needs a terminal on stdin; use --become-pass-env VAR instead\n',
    );
    const pass = await runHerd(['run', '-i', inv, '--ask-pass', 'true'], { cwd: dir, env });
    expect(pass.code).toBe(2);
    expect(pass.stderr).toBe('herd: --ask-pass needs a terminal on stdin; use --password-env VAR instead\n');
    const kp = await runHerd(['run', '-i', inv, '--password-env', 'HERD_T_PW', '--ask-key-passphrase', 'true'], {
      cwd: dir,
      env,
    });
    expect(kp.code).toBe(2);
    expect(kp.stderr).toBe(
      'herd: --ask-key-passphrase needs a terminal on stdin; use --key-passphrase-env VAR instead\n',
    );
  });
});

describe('one error style: herd: ...', () => {
  it("commander's own refusals read `herd: unknown option '--x'` (exit 2)", async () => {
    const dir = scratchDir();
    const r = await runHerd(['play', '--timeout', '1', 'book.yml'], { cwd: dir, env: { HOME: dir } });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("herd: unknown option '--timeout'\n(add --help for usage)\n");
    const cmd = await runHerd(['bogus'], { cwd: dir, env: { HOME: dir } });
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toBe("herd: unknown command 'bogus'\n(add --help for usage)\n");
  });

  it('says no such file instead of ENOENT, and never doubles the prefix', async () => {
    const dir = scratchDir();
    const env = { HOME: dir };
    const inv = await runHerd(['run', '-i', path.join(dir, 'missing.txt'), 'uptime'], { cwd: dir, env });
    expect(inv.code).toBe(2);
    expect(inv.stderr).toBe(`herd: cannot read inventory ${path.join(dir, 'missing.txt')}: no such file\n`);
    const limit = await runHerd(['run', '-i', unreachableInventory(dir), '-l', '@missing.txt', 'uptime'], {
      cwd: dir,
      env,
    });
    expect(limit.code).toBe(2);
    expect(limit.stderr).toBe('herd: -l @missing.txt: cannot read it (no such file)\n');
    fs.writeFileSync(path.join(dir, 'plain'), '');
    const out = await runHerd(
      ['run', '-i', unreachableInventory(dir), '--password-env', 'HERD_T_PW', '-o', 'plain/runs', 'uptime'],
      {
        cwd: dir,
        env: { ...env, HERD_T_PW: 'x' },
      },
    );
    expect(out.code).toBe(2);
    expect(out.stderr).toBe(
      `herd: cannot create a run directory in ${path.join(dir, 'plain', 'runs')}: a path component is not a directory\n`,
    );
    const book = await runHerd(['play', '-i', unreachableInventory(dir), 'missing.yml'], { cwd: dir, env });
    expect(book.code).toBe(2);
    expect(book.stderr).toBe('herd: cannot read playbook missing.yml: no such file\n');
    const push = await runHerd(['push', '-i', unreachableInventory(dir), 'missing.txt', '/tmp/x'], { cwd: dir, env });
    expect(push.code).toBe(2);
    expect(push.stderr).toBe('herd: push: missing.txt: no such file or directory\n');
    const run = await runHerd(['run', '-i', unreachableInventory(dir), ' '], { cwd: dir, env });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('herd: run: give the command to run, e.g. herd run -i hosts.txt uptime\n');
  });
});

describe('nothing to log in with is refused before any host is contacted', () => {
  it('-k naming a public key, or a file that is no key, is refused naming the file (exit 2)', async () => {
    const dir = scratchDir();
    const key = path.join(dir, 'id_test');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const notKey = path.join(dir, 'notes.txt');
    fs.writeFileSync(notKey, 'hello\n');
    const inv = unreachableInventory(dir);
    const pub = await runHerd(['run', '-i', inv, '-k', `${key}.pub`, '-o', path.join(dir, 'runs'), 'true'], {
      cwd: dir,
      env: { HOME: dir },
    });
    expect(pub.code).toBe(2);
    expect(pub.stderr).toBe(
      `herd: key ${key}.pub is a public key; -k takes a private key (the private key is usually ${key})\n`,
    );
    const text = await runHerd(['run', '-i', inv, '-k', notKey, '-o', path.join(dir, 'runs'), 'true'], {
      cwd: dir,
      env: { HOME: dir },
    });
    expect(text.code).toBe(2);
    expect(text.stderr).toBe(`herd: key ${notKey} is not a private key (no key format herd knows)\n`);
    expect(fs.existsSync(path.join(dir, 'runs'))).toBe(false);
  });

  it('no key, no agent and no password: one line up front instead of auth_failed on every host', async () => {
    const dir = scratchDir();
    const listener = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    let contacts = 0;
    listener.on('connection', () => contacts++);
    const inv = path.join(dir, 'inv.txt');
    fs.writeFileSync(inv, `127.0.0.1:${(listener.address() as net.AddressInfo).port}\n`);
    try {
      const r = await runHerd(['run', '-i', inv, '-o', path.join(dir, 'runs'), 'true'], {
        cwd: dir,
        env: { HOME: dir },
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('herd: no credentials: give -k, run ssh-agent, or --password-env\n');
      expect(contacts).toBe(0);
      expect(fs.existsSync(path.join(dir, 'runs'))).toBe(false);
      // A default key in ~/.ssh is something to offer: the run goes ahead (and reaches the host).
      fs.mkdirSync(path.join(dir, '.ssh'));
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, '.ssh', 'id_ed25519')]);
      const withKey = await runHerd(['run', '-i', inv, '-o', path.join(dir, 'runs'), 'true'], {
        cwd: dir,
        env: { HOME: dir },
      });
      expect(withKey.code).toBe(1);
      expect(contacts).toBeGreaterThan(0);
    } finally {
      listener.close();
    }
  });
});

describe('the live line', () => {
  it('counts hosts still connecting, and its eta waits out their connect timeout', async () => {
    const dir = scratchDir();
    // A host that accepts TCP and never speaks: it stays `connecting` until --connect-timeout.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const inv = path.join(dir, 'live.txt');
    fs.writeFileSync(inv, `127.0.0.2:1\n127.0.0.3:1\n127.0.0.1:${(silent.address() as net.AddressInfo).port}\n`);
    try {
      const r = await runHerd(
        [
          'run',
          '-i',
          inv,
          '--password-env',
          'HERD_T_PW',
          '--connect-retries',
          '0',
          '--connect-timeout',
          '12',
          '-o',
          path.join(dir, 'runs'),
          'true',
        ],
        { cwd: dir, env: { HOME: dir, HERD_T_PW: 'x' } },
      );
      expect(r.code).toBe(1);
      // Without a terminal the line is printed every 5 s: at 5 s the silent host has 7 s or more of its 12 left
      // (it started connecting after the workers came up), never the `1s` the rate alone gives.
      const live = r.stderr.split('\n').filter((l) => l.startsWith('herd: 2/3'));
      expect(live.length).toBeGreaterThan(0);
      const m =
        /^herd: 2\/3 done {2}0 ok {2}2 not ok {2}0 running {2}1 connecting {2}0\.[34] hosts\/s {2}eta (\d+)s$/.exec(
          live[0]!,
        );
      expect(m, live[0]).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThanOrEqual(6);
      expect(Number(m![1])).toBeLessThanOrEqual(12);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  }, 30_000);
});

describe('the ulimit warning', () => {
  it('says the number to set, and that number makes the warning go away', async () => {
    const dir = scratchDir();
    const inv = path.join(dir, 'many.txt');
    fs.writeFileSync(inv, Array.from({ length: 40 }, (_, i) => `127.0.9.${i + 1}:1`).join('\n') + '\n');
    const args = [
      'run',
      '-i',
      inv,
      '--password-env',
      'HERD_T_PW',
      '--connect-retries',
      '0',
      '-f',
      '500',
      '-w',
      '2',
      '-o',
      path.join(dir, 'runs'),
      'true',
    ];
    // The real shell builtin sets the limit herd inherits.
    const limited = (n: number) =>
      new Promise<{ stderr: string }>((resolve) => {
        const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, HERD_T_PW: 'x', NO_COLOR: '1' };
        delete env['SSH_AUTH_SOCK'];
        const child = spawn('bash', ['-c', `ulimit -n ${n} && exec "$@"`, 'herd', HERD_BIN, ...args], {
          cwd: dir,
          env,
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', () => resolve({ stderr }));
      });
    const low = await limited(90);
    const warning =
      'herd: warning: --forks 500 does not fit ulimit -n 90 (2 descriptors per session, 2 workers); using --forks 26. ' +
      'For 40 sessions at once: ulimit -n 104';
    expect(low.stderr.split('\n')[0]).toBe(warning);
    const raised = await limited(104);
    expect(raised.stderr).not.toContain('does not fit ulimit');
    expect(raised.stderr).toContain('40 hosts: 40 unreachable');
  });
});

describe('a changed host key', () => {
  const scope = useLoopbackFleet();

  /** `SHA256:...` of a public key line, as the real ssh-keygen prints it (the oracle). */
  function fingerprint(pubLine: string): string {
    const file = path.join(scratchDir('herd-fp-'), 'k.pub');
    fs.writeFileSync(file, pubLine + '\n');
    return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], { encoding: 'utf8' }).split(' ')[1]!;
  }

  it('accept-new says how many new host keys it recorded and where, in one line', async () => {
    const { fleet, home } = scope;
    const hosts = fleet.hosts(3, 3110);
    const kh = path.join(home, 'kh-new');
    const inv = path.join(home, 'new.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const args = [
      'run',
      '-i',
      inv,
      '-u',
      fleet.user,
      '-p',
      String(fleet.port),
      '-k',
      fleet.keyPath,
      '--known-hosts',
      kh,
      '-o',
      path.join(home, 'runs-new'),
      'true',
    ];
    const first = await runHerd(args, { env: { HOME: home } });
    expect(first.code).toBe(0);
    expect(first.stderr).toBe(`3 hosts: 3 ok\nrecorded 3 new host keys in ${kh}\nresults: ${runDirOf(first)}\n`);
    expect(fs.readFileSync(kh, 'utf8').trim().split('\n')).toHaveLength(3);
    const again = await runHerd(args, { env: { HOME: home } });
    expect(again.stderr).toBe(`3 hosts: 3 ok\nresults: ${runDirOf(again)}\n`);
  });

  it('a transfer says `1 file` and `12 KB`, not `1 files (0.0 MB)`', async () => {
    const { fleet, home } = scope;
    const [host] = fleet.hosts(1, 3120);
    const src = path.join(scratchDir('herd-size-'), 'twelve.bin');
    fs.writeFileSync(src, Buffer.alloc(12 * 1024, 7));
    const inv = path.join(home, 'size.txt');
    fs.writeFileSync(inv, `${host}\n`);
    const remote = `/tmp/herd-msgs-${process.pid}-twelve.bin`;
    const conn = [
      '-u',
      fleet.user,
      '-p',
      String(fleet.port),
      '-k',
      fleet.keyPath,
      '--known-hosts',
      path.join(home, 'kh-size'),
    ];
    try {
      const push = await runHerd(['push', '-i', inv, ...conn, '-o', path.join(home, 'runs-size'), src, remote], {
        env: { HOME: home },
      });
      expect(push.code, push.stderr).toBe(0);
      expect(readHostsTsv(runDirOf(push)).get(host!)?.reason).toBe('sent 1 file (12 KB), 0 unchanged');
      const again = await runHerd(['push', '-i', inv, ...conn, '-o', path.join(home, 'runs-size'), src, remote], {
        env: { HOME: home },
      });
      expect(readHostsTsv(runDirOf(again)).get(host!)?.reason).toBe('sent 0 files (0 bytes), 1 unchanged');
    } finally {
      fs.rmSync(remote, { force: true });
    }
  });

  it('names the key type, both SHA256 fingerprints, file and line, and the ssh-keygen -R fix, once per run', async () => {
    const { fleet, home } = scope;
    const hosts = fleet.hosts(3, 3100);
    const wrong = path.join(scratchDir('herd-wrong-'), 'k');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrong]);
    const pinned = fs.readFileSync(`${wrong}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const kh = path.join(home, 'kh-changed');
    fs.writeFileSync(kh, hosts.map((h) => `[${h}]:${fleet.port} ${pinned}\n`).join(''));
    const inv = path.join(home, 'changed.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const r = await runHerd(
      [
        'run',
        '-i',
        inv,
        '-u',
        fleet.user,
        '-p',
        String(fleet.port),
        '-k',
        fleet.keyPath,
        '--known-hosts',
        kh,
        '-o',
        path.join(home, 'runs-changed'),
        'true',
      ],
      {
        env: { HOME: home },
      },
    );
    expect(r.code).toBe(1);
    const offeredFp = fingerprint(fleet.hostPublicKey);
    const pinnedFp = fingerprint(pinned);
    const head = `host key changed: offered ssh-ed25519 ${offeredFp}, known_hosts has ssh-ed25519 ${pinnedFp} at ${kh}`;
    const folded = `  3 hostkey_mismatch: ${head} lines 1, 2, 3; nothing was run; fix: ssh-keygen -R HOST -f ${kh} for each host below`;
    expect(r.stderr.split('\n').filter((l) => l.includes('host key changed'))).toEqual([folded]);
    const rows = readHostsTsv(runDirOf(r));
    hosts.forEach((h, i) => {
      expect(rows.get(h)).toMatchObject({
        status: 'hostkey_mismatch',
        reason: `${head}:${i + 1}; nothing was run; fix: ssh-keygen -R '[${h}]:${fleet.port}' -f ${kh}`,
      });
    });
    // The fix as printed works: the real ssh-keygen removes that host's line and no other.
    const fix = rows.get(hosts[0]!)!.reason.split('fix: ')[1]!;
    execFileSync('sh', ['-c', `${fix} 2>/dev/null`]);
    const left = fs.readFileSync(kh, 'utf8');
    expect(left).not.toContain(`[${hosts[0]}]`);
    expect(left).toContain(`[${hosts[1]}]`);
  });
});
