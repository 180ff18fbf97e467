// A host whose tree an attacker crafted, served by the real sshd: pulling from it or pushing into
// a directory another user of it can write must never write anywhere but where herd was told to.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isRoot } from '../fleet/fleet.js';
import { childPids, readHostsTsv, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

function conn(): string[] {
  return ['-u', scope.fleet.user, '-p', String(scope.fleet.port), '-k', scope.fleet.keyPath, '--known-hosts', path.join(scope.home, 'kh'), '-o', path.join(scope.home, 'runs')];
}

function inventory(name: string, hosts: string[]): string {
  const inv = path.join(scope.home, `${name}.txt`);
  fs.writeFileSync(inv, hosts.join('\n') + '\n');
  return inv;
}

function transferRows(run: string): string[] {
  return fs.readFileSync(path.join(run, 'transfers.tsv'), 'utf8').trim().split('\n').slice(1);
}

/** A file outside every destination, whose content the test checks afterwards. */
function victim(name: string): string {
  const dir = scratchDir('herd-victim-');
  fs.chmodSync(dir, 0o755);
  const file = path.join(dir, name);
  fs.writeFileSync(file, 'precious\n');
  return file;
}

/** A tree the fleet user can read. */
function remoteTree(): string {
  const dir = scratchDir('herd-hostile-tree-');
  fs.chmodSync(dir, 0o755);
  return dir;
}

/** Every entry under `root` whose name looks like a herd temporary file. */
function tempsUnder(root: string): string[] {
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((p) => p.includes('herd-tmp'));
}

describe('pull from a hostile host', () => {
  it('a host link named like the temporary file is never recreated, and nothing is written through one', async () => {
    const [host] = scope.fleet.hosts(1, 2100);
    const tree = remoteTree();
    const small = victim('small');
    const large = victim('large');
    // The names herd's temporary files used to have, pointing at files outside LOCAL_DIR/<host>/.
    fs.symlinkSync(small, path.join(tree, '.x.herd-tmp'));
    fs.symlinkSync(large, path.join(tree, '.big.herd-tmp'));
    const back = scratchDir('herd-back-');
    const inv = inventory('pull-tmp', [host!]);
    // First the host serves only the links; then the files whose temporary names they take.
    const first = await runHerd(['pull', '-i', inv, ...conn(), tree, back], { env: { HOME: scope.home } });
    expect(first.stderr).toContain('1 host: 1 ok');
    fs.writeFileSync(path.join(tree, 'x'), 'from the host\n');
    const bigContent = crypto.randomBytes(300 * 1024);
    fs.writeFileSync(path.join(tree, 'big'), bigContent);
    const second = await runHerd(['pull', '-i', inv, ...conn(), tree, back], { env: { HOME: scope.home } });
    expect(second.stderr).toContain('1 host: 1 ok');

    expect(fs.readFileSync(small, 'utf8')).toBe('precious\n');
    expect(fs.readFileSync(large, 'utf8')).toBe('precious\n');
    const mine = path.join(back, host!);
    expect(fs.readFileSync(path.join(mine, 'x'), 'utf8')).toBe('from the host\n');
    expect(fs.readFileSync(path.join(mine, 'big')).equals(bigContent)).toBe(true);
    expect(tempsUnder(mine)).toEqual([]);
    const rows = transferRows(runDirOf(second));
    expect(rows).toContain(`${host}\t.x.herd-tmp\t0\tskipped_temp_name`);
    expect(rows).toContain(`${host}\t.big.herd-tmp\t0\tskipped_temp_name`);
    expect(readHostsTsv(runDirOf(second)).get(host!)?.reason).toBe('received 2 files (300 KB), 0 unchanged, 2 skipped (named like herd temporary files)');
  });

  it('keeps only the 0777 permission bits of a pulled file; --keep-special-bits keeps setuid, setgid and sticky', async () => {
    const [host] = scope.fleet.hosts(1, 2110);
    const tree = remoteTree();
    const modes: Record<string, number> = { suid: 0o4755, sgid: 0o2755, sticky: 0o1755, plain: 0o640 };
    for (const [name, mode] of Object.entries(modes)) {
      fs.writeFileSync(path.join(tree, name), '#!/bin/sh\n');
      fs.chmodSync(path.join(tree, name), mode | 0o004);
    }
    fs.writeFileSync(path.join(tree, 'big-suid'), crypto.randomBytes(200 * 1024));
    fs.chmodSync(path.join(tree, 'big-suid'), 0o4755);
    const inv = inventory('pull-modes', [host!]);
    const back = scratchDir('herd-back-');
    const pull = await runHerd(['pull', '-i', inv, ...conn(), tree, back], { env: { HOME: scope.home } });
    expect(pull.stderr).toContain('1 host: 1 ok');
    const modeOf = (dir: string, name: string): string => (fs.statSync(path.join(dir, host!, name)).mode & 0o7777).toString(8);
    expect(['suid', 'sgid', 'sticky', 'plain', 'big-suid'].map((n) => modeOf(back, n))).toEqual(['755', '755', '755', '644', '755']);
    // A single file takes the same path.
    const single = scratchDir('herd-back-');
    expect((await runHerd(['pull', '-i', inv, ...conn(), path.join(tree, 'suid'), single], { env: { HOME: scope.home } })).stderr).toContain('1 host: 1 ok');
    expect(modeOf(single, 'suid')).toBe('755');

    const kept = scratchDir('herd-back-');
    const special = await runHerd(['pull', '-i', inv, ...conn(), '--keep-special-bits', tree, kept], { env: { HOME: scope.home } });
    expect(special.stderr).toContain('1 host: 1 ok');
    expect(['suid', 'sgid', 'sticky', 'big-suid'].map((n) => modeOf(kept, n))).toEqual(['4755', '2755', '1755', '4755']);
  });
});

describe('pull: what herd leaves behind and takes along', () => {
  it('--delete removes local links the host no longer has, never what they point to', async () => {
    const [host] = scope.fleet.hosts(1, 2130);
    const tree = remoteTree();
    fs.writeFileSync(path.join(tree, 'kept'), 'kept\n');
    const outsideDir = scratchDir('herd-outside-');
    fs.writeFileSync(path.join(outsideDir, 'inside'), 'precious\n');
    const outsideFile = victim('file');
    // Links an earlier pull recreated from the host, which the host has since removed.
    fs.symlinkSync(outsideDir, path.join(tree, 'to-dir'));
    fs.symlinkSync(outsideFile, path.join(tree, 'to-file'));
    const inv = inventory('pull-delete', [host!]);
    const back = scratchDir('herd-back-');
    expect((await runHerd(['pull', '-i', inv, ...conn(), tree, back], { env: { HOME: scope.home } })).stderr).toContain('1 host: 1 ok');
    expect(fs.readlinkSync(path.join(back, host!, 'to-dir'))).toBe(outsideDir);
    fs.rmSync(path.join(tree, 'to-dir'));
    fs.rmSync(path.join(tree, 'to-file'));
    const pull = await runHerd(['pull', '-i', inv, ...conn(), '--delete', tree, back], { env: { HOME: scope.home } });
    expect(pull.stderr).toContain('1 host: 1 ok');
    expect(fs.readdirSync(path.join(back, host!))).toEqual(['kept']);
    expect(fs.readFileSync(path.join(outsideDir, 'inside'), 'utf8')).toBe('precious\n');
    expect(fs.readFileSync(outsideFile, 'utf8')).toBe('precious\n');
  });

  it('herd rerun keeps --keep-special-bits', async () => {
    const hosts = scope.fleet.hosts(2, 2140);
    const tree = remoteTree();
    fs.mkdirSync(path.join(tree, hosts[0]!), { mode: 0o755 });
    fs.writeFileSync(path.join(tree, hosts[0]!, 'suid'), '#!/bin/sh\n', { mode: 0o4755 });
    fs.chmodSync(path.join(tree, hosts[0]!, 'suid'), 0o4755);
    const inv = inventory('pull-rerun-bits', hosts);
    const back = scratchDir('herd-back-');
    const out = path.join(scope.home, 'runs-bits');
    const first = await runHerd(['pull', '-i', inv, ...conn().slice(0, -2), '-o', out, '--keep-special-bits', `${tree}/{{ host }}`, back], { env: { HOME: scope.home } });
    expect(first.code).toBe(1);
    fs.cpSync(path.join(tree, hosts[0]!), path.join(tree, hosts[1]!), { recursive: true });
    expect(fs.statSync(path.join(tree, hosts[1]!, 'suid')).mode & 0o7777).toBe(0o4755);
    const rerun = await runHerd(['rerun', '-o', out], { env: { HOME: scope.home } });
    expect(rerun.stderr).toContain('1 host: 1 ok');
    expect(fs.statSync(path.join(back, hosts[1]!, 'suid')).mode & 0o7777).toBe(0o4755);
  });

  it('a pull killed mid-file leaves only a recognisable temporary file, which the next pull removes', async () => {
    const [host] = scope.fleet.hosts(1, 2150);
    const tree = remoteTree();
    // Sparse on the host: reading it costs no disk there.
    fs.closeSync(fs.openSync(path.join(tree, 'big.bin'), 'w'));
    fs.truncateSync(path.join(tree, 'big.bin'), 400 * 1024 * 1024);
    const inv = inventory('pull-cut', [host!]);
    const back = scratchDir('herd-back-');
    const mine = path.join(back, host!);
    const temps = (): string[] => (fs.existsSync(mine) ? fs.readdirSync(mine).filter((n) => /^\.big\.bin\.[0-9a-f]{16}\.herd-tmp$/.test(n)) : []);
    const cut = await runHerd(['pull', '-i', inv, ...conn(), tree, back], {
      env: { HOME: scope.home },
      timeoutMs: 120_000,
      onSpawn: (child) => {
        const timer = setInterval(() => {
          const temp = temps()[0];
          if (temp !== undefined && fs.statSync(path.join(mine, temp)).size > 20 * 1024 * 1024) {
            clearInterval(timer);
            // herd and its workers die at once (a dropped connection alone lets herd remove the file itself).
            const victims: number[] = [child.pid!];
            const walk = (pid: number): void => childPids(pid).forEach((c) => (victims.push(c), walk(c)));
            walk(child.pid!);
            for (const pid of victims) process.kill(pid, 'SIGKILL');
          }
        }, 20);
      },
    });
    expect(cut.signal).toBe('SIGKILL');
    expect(fs.existsSync(path.join(mine, 'big.bin'))).toBe(false);
    expect(temps()).toHaveLength(1);
    const again = await runHerd(['pull', '-i', inv, ...conn(), tree, back], { env: { HOME: scope.home }, timeoutMs: 120_000 });
    expect(again.stderr).toContain('1 host: 1 ok');
    expect(fs.statSync(path.join(mine, 'big.bin')).size).toBe(400 * 1024 * 1024);
    expect(temps()).toEqual([]);
  });
});

describe.skipIf(!isRoot())('push into a directory another user of the host can write', () => {
  it('goes through no link that user planted at a predictable temporary name, nor at the target', async () => {
    const [host] = scope.fleet.hosts(1, 2120);
    const id = (flag: string): number => Number(execFileSync('id', [flag, scope.fleet.user], { encoding: 'utf8' }).trim());
    const fleetUser = { uid: id('-u'), gid: id('-g') };
    const nobody = { uid: 65534, gid: 65534 };
    // The fleet user's own files: what the attacker wants the fleet user to overwrite.
    const victimDir = scratchDir('herd-victim-');
    fs.chownSync(victimDir, fleetUser.uid, fleetUser.gid);
    const victims = ['small', 'large', 'target'].map((n) => path.join(victimDir, n));
    for (const v of victims) {
      fs.writeFileSync(v, 'precious\n');
      fs.chownSync(v, fleetUser.uid, fleetUser.gid);
    }
    // A shared directory the attacker owns and the fleet user may write (a web root, a spool).
    const shared = scratchDir('herd-shared-');
    fs.chownSync(shared, nobody.uid, nobody.gid);
    fs.chmodSync(shared, 0o777);
    const plant = (name: string, target: string): void => {
      fs.symlinkSync(target, path.join(shared, name));
      fs.lchownSync(path.join(shared, name), nobody.uid, nobody.gid);
    };
    plant('.app.conf.herd-tmp', victims[0]!);
    plant('.big.bin.herd-tmp', victims[1]!);
    plant('index.html', victims[2]!);

    const src = scratchDir('herd-src-');
    fs.writeFileSync(path.join(src, 'app.conf'), 'pushed\n');
    const big = crypto.randomBytes(300 * 1024);
    fs.writeFileSync(path.join(src, 'big.bin'), big);
    fs.writeFileSync(path.join(src, 'index.html'), '<p>pushed</p>\n');
    const inv = inventory('push-planted', [host!]);
    const push = await runHerd(['push', '-i', inv, ...conn(), `${src}/`, shared], { env: { HOME: scope.home } });
    expect(push.stderr).toContain('1 host: 1 ok');
    // The shared directory is the attacker's: its times are not the fleet user's to set, and that is said.
    expect(readHostsTsv(runDirOf(push)).get(host!)?.reason).toBe('sent 3 files (300 KB), 0 unchanged, times of 1 directory not kept (not permitted)');
    for (const v of victims) expect(fs.readFileSync(v, 'utf8')).toBe('precious\n');
    for (const name of ['app.conf', 'big.bin', 'index.html']) {
      const st = fs.lstatSync(path.join(shared, name));
      expect(st.isFile()).toBe(true);
      expect(st.uid).toBe(fleetUser.uid);
    }
    expect(fs.readFileSync(path.join(shared, 'big.bin')).equals(big)).toBe(true);
    // A single file goes the same way.
    const single = await runHerd(['push', '-i', inv, ...conn(), path.join(src, 'app.conf'), `${shared}/`], { env: { HOME: scope.home } });
    expect(single.stderr).toContain('1 host: 1 ok');
    expect(fs.readFileSync(victims[0]!, 'utf8')).toBe('precious\n');
  });

  it('--delete removes a link that user planted, never what it points to', async () => {
    const [host] = scope.fleet.hosts(1, 2160);
    const victimDir = scratchDir('herd-victim-');
    fs.chmodSync(victimDir, 0o777);
    fs.writeFileSync(path.join(victimDir, 'inside'), 'precious\n');
    fs.chmodSync(path.join(victimDir, 'inside'), 0o666);
    const shared = scratchDir('herd-shared-');
    fs.chownSync(shared, 65534, 65534);
    fs.chmodSync(shared, 0o777);
    fs.symlinkSync(victimDir, path.join(shared, 'planted-dir'));
    fs.lchownSync(path.join(shared, 'planted-dir'), 65534, 65534);
    const src = scratchDir('herd-src-');
    fs.writeFileSync(path.join(src, 'index.html'), 'pushed\n');
    const inv = inventory('push-delete', [host!]);
    const push = await runHerd(['push', '-i', inv, ...conn(), '--delete', `${src}/`, shared], { env: { HOME: scope.home } });
    expect(push.stderr).toContain('1 host: 1 ok');
    expect(fs.readdirSync(shared)).toEqual(['index.html']);
    expect(fs.readFileSync(path.join(victimDir, 'inside'), 'utf8')).toBe('precious\n');
  });
});
