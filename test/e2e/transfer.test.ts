// herd push / herd pull against the real loopback fleet: a whole tree there and back.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { childPids, readHostsTsv, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

function conn(): string[] {
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

/** A tree with nested and empty dirs, modes, a symlink, an empty file, a multi-MB file and many small files. */
function makeTree(root: string): void {
  fs.mkdirSync(path.join(root, 'etc', 'app', 'conf.d'), { recursive: true });
  fs.mkdirSync(path.join(root, 'empty', 'deeper'), { recursive: true });
  fs.mkdirSync(path.join(root, 'small'));
  fs.writeFileSync(path.join(root, 'etc', 'app', 'app.conf'), 'listen = 8080\n');
  fs.writeFileSync(path.join(root, 'etc', 'app', 'conf.d', 'secret.conf'), 'token = x\n', { mode: 0o600 });
  fs.writeFileSync(path.join(root, 'run.sh'), '#!/bin/sh\necho run\n', { mode: 0o755 });
  fs.writeFileSync(path.join(root, 'zero'), '');
  fs.writeFileSync(path.join(root, 'big.bin'), crypto.randomBytes(3 * 1024 * 1024));
  fs.symlinkSync('etc/app/app.conf', path.join(root, 'link-to-conf'));
  for (let i = 0; i < 1000; i++) fs.writeFileSync(path.join(root, 'small', `f${i}.txt`), `file ${i}\n`);
}

/** relative path -> [kind, mode, content digest or link target] for every entry under root. */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, rel: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      const st = fs.lstatSync(full);
      if (e.isSymbolicLink()) out.set(r, `link ${fs.readlinkSync(full)}`);
      else if (e.isDirectory()) {
        out.set(r, `dir ${(st.mode & 0o777).toString(8)}`);
        walk(full, r);
      } else
        out.set(
          r,
          `file ${(st.mode & 0o777).toString(8)} ${crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex')}`,
        );
    }
  };
  walk(root, '');
  return out;
}

describe('push and pull of a whole tree', () => {
  it('round-trips to 20 hosts with templated destinations, byte for byte and mode for mode; a second push sends nothing', async () => {
    const src = scratchDir('herd-src-');
    makeTree(src);
    const remoteBase = scratchDir('herd-remote-');
    fs.chmodSync(remoteBase, 0o777);
    const hosts = scope.fleet.hosts(20, 1500);
    const inv = path.join(scope.home, 'transfer.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');

    const push = await runHerd(['push', '-i', inv, ...conn(), `${src}/`, `${remoteBase}/{{ host }}`], {
      env: { HOME: scope.home },
      timeoutMs: 120_000,
    });
    expect(push.stderr).toContain('20 hosts: 20 ok');
    const expected = snapshot(src);
    for (const h of hosts) expect(snapshot(path.join(remoteBase, h))).toEqual(expected);
    const transfers = fs
      .readFileSync(path.join(runDirOf(push), 'transfers.tsv'), 'utf8')
      .trim()
      .split('\n');
    expect(transfers[0]).toBe('host\tpath\tbytes\tstatus');
    expect(transfers.filter((l) => l.endsWith('\tsent'))).toHaveLength(20 * 1005);

    const again = await runHerd(['push', '-i', inv, ...conn(), `${src}/`, `${remoteBase}/{{ host }}`], {
      env: { HOME: scope.home },
      timeoutMs: 120_000,
    });
    expect(again.stderr).toContain('20 hosts: 20 ok');
    const second = fs
      .readFileSync(path.join(runDirOf(again), 'transfers.tsv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1);
    expect(second.filter((l) => l.endsWith('\tsent'))).toEqual([]);
    expect(readHostsTsv(runDirOf(again)).get(hosts[0]!)?.reason).toBe('sent 0 files (0 bytes), 1005 unchanged');

    const back = scratchDir('herd-back-');
    const pull = await runHerd(['pull', '-i', inv, ...conn(), `${remoteBase}/{{ host }}`, back], {
      env: { HOME: scope.home },
      timeoutMs: 120_000,
    });
    expect(pull.stderr).toContain('20 hosts: 20 ok');
    for (const h of hosts) expect(snapshot(path.join(back, h))).toEqual(expected);
    // No temporary files are left anywhere.
    for (const h of hosts)
      expect([...snapshot(path.join(remoteBase, h)).keys()].filter((k) => k.includes('herd-tmp'))).toEqual([]);
  });

  it('fails only the host whose source is missing, with the reason', async () => {
    const remoteBase = scratchDir('herd-remote-');
    fs.chmodSync(remoteBase, 0o777);
    const hosts = scope.fleet.hosts(3, 1550);
    fs.mkdirSync(path.join(remoteBase, hosts[0]!));
    fs.mkdirSync(path.join(remoteBase, hosts[2]!));
    fs.writeFileSync(path.join(remoteBase, hosts[0]!, 'a.log'), 'a\n');
    fs.writeFileSync(path.join(remoteBase, hosts[2]!, 'a.log'), 'c\n');
    const inv = path.join(scope.home, 'missing.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const back = scratchDir('herd-back-');
    const pull = await runHerd(['pull', '-i', inv, ...conn(), `${remoteBase}/{{ host }}`, back], {
      env: { HOME: scope.home },
    });
    expect(pull.code).toBe(1);
    const rows = readHostsTsv(runDirOf(pull));
    expect(rows.get(hosts[0]!)?.status).toBe('ok');
    expect(rows.get(hosts[1]!)).toMatchObject({
      status: 'failed',
      reason: `${remoteBase}/${hosts[1]}: no such file or directory on the host`,
    });
    expect(fs.readFileSync(path.join(back, hosts[2]!, 'a.log'), 'utf8')).toBe('c\n');
  });

  it('never follows a local symlink where the host now has a directory', async () => {
    const [host] = scope.fleet.hosts(1, 1570);
    const remote = scratchDir('herd-remote-');
    fs.chmodSync(remote, 0o755);
    fs.mkdirSync(path.join(remote, 'evil'));
    fs.writeFileSync(path.join(remote, 'evil', 'payload'), 'owned\n');
    fs.chmodSync(path.join(remote, 'evil'), 0o755);
    const outside = scratchDir('herd-outside-');
    const back = scratchDir('herd-back-');
    fs.mkdirSync(path.join(back, host!));
    fs.symlinkSync(outside, path.join(back, host!, 'evil'));
    const inv = path.join(scope.home, 'evil.txt');
    fs.writeFileSync(inv, `${host}\n`);
    const pull = await runHerd(['pull', '-i', inv, ...conn(), remote, back], { env: { HOME: scope.home } });
    expect(pull.code).toBe(1);
    expect(readHostsTsv(runDirOf(pull)).get(host!)?.reason).toContain('exists and is not a directory');
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it('pulls names that only begin with two dots (..cfg, a ..d directory): they stay inside, nothing is refused', async () => {
    const [host] = scope.fleet.hosts(1, 1590);
    const remote = scratchDir('herd-remote-');
    fs.chmodSync(remote, 0o755);
    fs.writeFileSync(path.join(remote, '..cfg'), 'dots\n');
    fs.mkdirSync(path.join(remote, '..d'), { mode: 0o755 });
    fs.writeFileSync(path.join(remote, '..d', 'inner'), 'in\n');
    fs.chmodSync(path.join(remote, '..d'), 0o755);
    const back = scratchDir('herd-back-');
    const inv = path.join(scope.home, 'dots.txt');
    fs.writeFileSync(inv, `${host}\n`);
    const pull = await runHerd(['pull', '-i', inv, ...conn(), remote, back], { env: { HOME: scope.home } });
    expect(readHostsTsv(runDirOf(pull)).get(host!)).toMatchObject({
      status: 'ok',
      reason: 'received 2 files (8 bytes), 0 unchanged',
    });
    expect(pull.code).toBe(0);
    expect(fs.readFileSync(path.join(back, host!, '..cfg'), 'utf8')).toBe('dots\n');
    expect(fs.readFileSync(path.join(back, host!, '..d', 'inner'), 'utf8')).toBe('in\n');
  });

  it('recreates symlinks as links by default, and sends what they point to with --follow-links', async () => {
    const outside = scratchDir('herd-outside-');
    fs.writeFileSync(path.join(outside, 'shared.conf'), 'shared\n');
    const src = scratchDir('herd-links-');
    fs.writeFileSync(path.join(src, 'real.txt'), 'real\n');
    fs.symlinkSync('real.txt', path.join(src, 'inner-link'));
    fs.symlinkSync(path.join(outside, 'shared.conf'), path.join(src, 'outer-link'));
    const remoteBase = scratchDir('herd-remote-');
    fs.chmodSync(remoteBase, 0o777);
    const hosts = scope.fleet.hosts(2, 1560);
    const inv = path.join(scope.home, 'links.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');

    const plain = await runHerd(['push', '-i', inv, ...conn(), `${src}/`, `${remoteBase}/plain-{{ host }}`], {
      env: { HOME: scope.home },
    });
    expect(plain.stderr).toContain('2 hosts: 2 ok');
    const followed = await runHerd(
      ['push', '-i', inv, ...conn(), '--follow-links', `${src}/`, `${remoteBase}/followed-{{ host }}`],
      { env: { HOME: scope.home } },
    );
    expect(followed.stderr).toContain('2 hosts: 2 ok');
    for (const h of hosts) {
      const plainDir = path.join(remoteBase, `plain-${h}`);
      expect(fs.readlinkSync(path.join(plainDir, 'inner-link'))).toBe('real.txt');
      expect(fs.readlinkSync(path.join(plainDir, 'outer-link'))).toBe(path.join(outside, 'shared.conf'));
      const followedDir = path.join(remoteBase, `followed-${h}`);
      expect(fs.lstatSync(path.join(followedDir, 'outer-link')).isFile()).toBe(true);
      expect(fs.readFileSync(path.join(followedDir, 'outer-link'), 'utf8')).toBe('shared\n');
      expect(fs.lstatSync(path.join(followedDir, 'inner-link')).isFile()).toBe(true);
    }
  });
});

describe('directory times', () => {
  it("push and pull keep every directory's modification time, set after what is inside it is written", async () => {
    const src = scratchDir('herd-src-');
    fs.mkdirSync(path.join(src, 'a', 'b'), { recursive: true });
    fs.mkdirSync(path.join(src, 'empty'));
    fs.writeFileSync(path.join(src, 'a', 'b', 'f.txt'), 'f\n');
    fs.writeFileSync(path.join(src, 'a', 'g.txt'), 'g\n');
    fs.symlinkSync('g.txt', path.join(src, 'a', 'link'));
    const times: Record<string, number> = { '': 978307200, a: 1000000000, 'a/b': 1100000000, empty: 1200000000 };
    for (const [rel, t] of Object.entries(times)) fs.utimesSync(path.join(src, rel), t, t);
    const mtimes = (root: string): Record<string, number> =>
      Object.fromEntries(
        Object.keys(times).map((rel) => [rel, Math.floor(fs.statSync(path.join(root, rel)).mtimeMs / 1000)]),
      );
    expect(mtimes(src)).toEqual(times);
    const remoteBase = scratchDir('herd-remote-');
    fs.chmodSync(remoteBase, 0o777);
    const [host] = scope.fleet.hosts(1, 1660);
    const inv = path.join(scope.home, 'dirtimes.txt');
    fs.writeFileSync(inv, `${host}\n`);
    const push = await runHerd(['push', '-i', inv, ...conn(), `${src}/`, `${remoteBase}/tree`], {
      env: { HOME: scope.home },
    });
    expect(push.stderr).toContain('1 host: 1 ok');
    expect(mtimes(path.join(remoteBase, 'tree'))).toEqual(times);
    const back = scratchDir('herd-back-');
    const pull = await runHerd(['pull', '-i', inv, ...conn(), `${remoteBase}/tree`, back], {
      env: { HOME: scope.home },
    });
    expect(pull.stderr).toContain('1 host: 1 ok');
    expect(mtimes(path.join(back, host!))).toEqual(times);
  });
});

describe('--checksum and --delete', () => {
  it('--checksum catches a same-size, same-mtime change that size+mtime misses; --delete removes only extras inside the tree', async () => {
    const src = scratchDir('herd-src-');
    fs.mkdirSync(path.join(src, 'conf'));
    fs.writeFileSync(path.join(src, 'conf', 'a.conf'), 'value = 1\n');
    fs.writeFileSync(path.join(src, 'b.txt'), 'bee\n');
    const remoteBase = scratchDir('herd-remote-');
    fs.chmodSync(remoteBase, 0o777);
    const hosts = scope.fleet.hosts(2, 1580);
    const inv = path.join(scope.home, 'checksum.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const push = (...extra: string[]) =>
      runHerd(['push', '-i', inv, ...conn(), ...extra, `${src}/`, `${remoteBase}/{{ host }}/app`], {
        env: { HOME: scope.home },
      });
    expect((await push()).stderr).toContain('2 hosts: 2 ok');

    // Tamper on one host: same size, same mtime, different bytes.
    const tampered = path.join(remoteBase, hosts[0]!, 'app', 'conf', 'a.conf');
    const { mtime, atime } = fs.statSync(tampered);
    fs.writeFileSync(tampered, 'value = 9\n');
    fs.utimesSync(tampered, atime, mtime);
    const plain = await push();
    expect(fs.readFileSync(tampered, 'utf8')).toBe('value = 9\n');
    expect(fs.readFileSync(path.join(runDirOf(plain), 'transfers.tsv'), 'utf8')).not.toMatch(/\tsent$/m);
    const summed = await push('--checksum');
    expect(fs.readFileSync(tampered, 'utf8')).toBe('value = 1\n');
    const rows = fs
      .readFileSync(path.join(runDirOf(summed), 'transfers.tsv'), 'utf8')
      .trim()
      .split('\n');
    expect(rows.filter((r) => r.endsWith('\tsent'))).toEqual([`${hosts[0]}\tconf/a.conf\t10\tsent`]);

    // Extras inside the destination go with --delete; a file beside the destination stays.
    fs.writeFileSync(path.join(remoteBase, hosts[1]!, 'app', 'stale.txt'), 'old\n');
    fs.mkdirSync(path.join(remoteBase, hosts[1]!, 'app', 'old-dir'), { mode: 0o777 });
    fs.chmodSync(path.join(remoteBase, hosts[1]!, 'app', 'old-dir'), 0o777); // the fleet user must be able to empty it
    fs.writeFileSync(path.join(remoteBase, hosts[1]!, 'app', 'old-dir', 'x'), 'x\n');
    fs.writeFileSync(path.join(remoteBase, hosts[1]!, 'beside.txt'), 'keep\n');
    const withoutDelete = await push();
    expect(withoutDelete.stderr).toContain('2 hosts: 2 ok');
    expect(fs.existsSync(path.join(remoteBase, hosts[1]!, 'app', 'stale.txt'))).toBe(true);
    const deleted = await push('--delete');
    expect(fs.existsSync(path.join(remoteBase, hosts[1]!, 'app', 'stale.txt'))).toBe(false);
    expect(fs.existsSync(path.join(remoteBase, hosts[1]!, 'app', 'old-dir'))).toBe(false);
    expect(fs.readFileSync(path.join(remoteBase, hosts[1]!, 'beside.txt'), 'utf8')).toBe('keep\n');
    expect(fs.readFileSync(path.join(runDirOf(deleted), 'transfers.tsv'), 'utf8')).toContain(
      `${hosts[1]}\tstale.txt\t0\tdeleted`,
    );
    expect(fs.readdirSync(path.join(remoteBase, hosts[1]!, 'app')).sort()).toEqual(['b.txt', 'conf']);
  });
});

describe('a hostile server', () => {
  it('cannot make pull write outside LOCAL_DIR/<host>/ with names like ../../x', async () => {
    const { startHostileSftp } = await import('../fleet/hostile-sftp.js');
    // ('..' itself never reaches herd: ssh2 drops . and .. from listings.)
    for (const evil of ['../../escaped', 'a/../../escaped', '/tmp/escaped']) {
      const server = await startHostileSftp(['fine.txt', evil]);
      try {
        const top = scratchDir('herd-hostile-out-');
        const local = path.join(top, 'pulled');
        const inv = path.join(scope.home, 'hostile.txt');
        fs.writeFileSync(inv, `${server.host}:${server.port}\n`);
        const result = await runHerd(
          [
            'pull',
            '-i',
            inv,
            '-u',
            'x',
            '--password-env',
            'HOSTILE_PW',
            '--known-hosts',
            path.join(scope.home, 'kh-hostile'),
            '-o',
            path.join(scope.home, 'runs'),
            '/data',
            local,
          ],
          { env: { HOME: scope.home, HOSTILE_PW: 'anything' } },
        );
        expect(result.code).toBe(1);
        const row = readHostsTsv(runDirOf(result)).get(`${server.host}:${server.port}`);
        expect(row?.status).toBe('failed');
        expect(row?.reason).toContain(`refused entry ${JSON.stringify(evil)} in /data`);
        // Nothing at all landed outside the host's folder.
        expect(fs.readdirSync(top)).toEqual(['pulled']);
        expect(fs.readdirSync(local)).toEqual([`${server.host}:${server.port}`]);
        expect(fs.existsSync(path.join(top, 'escaped'))).toBe(false);
      } finally {
        await server.close();
      }
    }
  });
});

describe('large files', () => {
  it('stream with bounded memory: a file far larger than the heap limit goes through', async () => {
    const src = scratchDir('herd-big-');
    const big = path.join(src, 'big.bin');
    fs.writeFileSync(big, crypto.randomBytes(1024 * 1024));
    fs.appendFileSync(big, Buffer.alloc(199 * 1024 * 1024)); // 200 MiB; the heap below is 48 MiB
    const remoteBase = scratchDir('herd-remote-');
    fs.chmodSync(remoteBase, 0o777);
    const [host] = scope.fleet.hosts(1, 1620);
    const inv = path.join(scope.home, 'big.txt');
    fs.writeFileSync(inv, `${host}\n`);
    const result = await runHerd(['push', '-i', inv, ...conn(), big, `${remoteBase}/big.bin`], {
      env: { HOME: scope.home, NODE_OPTIONS: '--max-old-space-size=48' },
      timeoutMs: 120_000,
    });
    expect(result.stderr).toContain('1 host: 1 ok');
    expect(fs.statSync(path.join(remoteBase, 'big.bin')).size).toBe(200 * 1024 * 1024);
  });

  it('a connection killed mid-transfer leaves no partial file under the final name, and rerun completes it', async () => {
    const src = scratchDir('herd-big-');
    const big = path.join(src, 'big.bin');
    fs.writeFileSync(big, Buffer.alloc(400 * 1024 * 1024, 7));
    const remoteBase = scratchDir('herd-remote-');
    fs.chmodSync(remoteBase, 0o777);
    const [host] = scope.fleet.hosts(1, 1640);
    const inv = path.join(scope.home, 'cut.txt');
    fs.writeFileSync(inv, `${host}\n`);
    const out = path.join(scope.home, 'runs-cut');
    // The temporary name is random: `.big.bin.<16 hex>.herd-tmp`.
    const temps = (): string[] =>
      fs.readdirSync(remoteBase).filter((n) => /^\.big\.bin\.[0-9a-f]{16}\.herd-tmp$/.test(n));
    const cut = await runHerd(['push', '-i', inv, ...conn().slice(0, -2), '-o', out, big, `${remoteBase}/big.bin`], {
      env: { HOME: scope.home },
      timeoutMs: 120_000,
      onSpawn: () => {
        const timer = setInterval(() => {
          const temp = temps()[0];
          if (temp !== undefined && fs.statSync(path.join(remoteBase, temp)).size > 20 * 1024 * 1024) {
            clearInterval(timer);
            // Kill the sshd processes serving this connection (children of our own test sshd).
            // The session process that holds the socket is a grandchild (privilege separation).
            const victims: number[] = [];
            const walk = (pid: number): void => childPids(pid).forEach((c) => (victims.push(c), walk(c)));
            walk(scope.fleet.pid);
            for (const pid of victims) process.kill(pid, 'SIGKILL');
          }
        }, 20);
      },
    });
    expect(cut.code).toBe(1);
    const row = readHostsTsv(runDirOf(cut)).get(host!);
    expect(['failed', 'unreachable', 'interrupted']).toContain(row?.status);
    expect(fs.existsSync(path.join(remoteBase, 'big.bin'))).toBe(false);
    expect(temps()).toHaveLength(1);

    const rerun = await runHerd(['rerun', '-o', out], { env: { HOME: scope.home }, timeoutMs: 120_000 });
    expect(rerun.stderr).toContain('1 host: 1 ok');
    expect(fs.statSync(path.join(remoteBase, 'big.bin')).size).toBe(400 * 1024 * 1024);
    // The rerun removed the leftover it recognised by name.
    expect(temps()).toEqual([]);
  });
});
