// Connection persistence (--persist): a keeper process holds the connections one command made, and later
// commands with the same credentials run over them. The fleet's sshd log is the oracle for how many times
// each host authenticated; every keeper a test starts is ended by its pid in afterAll.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isRoot, type Fleet, loginsPerHost } from '../fleet/fleet.js';
import {
  childPids,
  pidsWith,
  readHostsTsv,
  removeScratchDirs,
  runDirOf,
  runHerd,
  scratchDir,
  type HerdResult,
} from './herd-cli.js';
import { encodeFrame } from '../../src/keeper/frames.js';

let fleet: Fleet;
let home: string;
/** $XDG_RUNTIME_DIR of the current test (each its own): the keepers' directory is <runtime>/herd. */
let runtime: string;
const keeperPids = new Set<number>();

beforeAll(async () => {
  const { startFleet } = await import('../fleet/fleet.js');
  // VERBOSE: sshd logs "Connection from C port N on HOST port P", which names the target address.
  fleet = await startFleet({ logLevel: 'VERBOSE' });
  home = scratchDir();
});
beforeEach(() => {
  runtime = scratchDir('herd-runtime-');
});
afterAll(async () => {
  for (const pid of keeperPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await fleet?.stop();
  removeScratchDirs();
});

const keeperDir = (): string => path.join(runtime, 'herd');

/** The pids of the keepers whose state files are in the directory (recorded for afterAll). */
function keepers(): number[] {
  if (!fs.existsSync(keeperDir())) return [];
  const pids = fs
    .readdirSync(keeperDir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => (JSON.parse(fs.readFileSync(path.join(keeperDir(), f), 'utf8')) as { pid: number }).pid);
  for (const pid of pids) keeperPids.add(pid);
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, test: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function herd(args: string[], env: Record<string, string> = {}): Promise<HerdResult> {
  return runHerd(args, { cwd: home, env: { HOME: home, XDG_RUNTIME_DIR: runtime, ...env } });
}

function runArgs(inv: string, knownHosts: string, ...rest: string[]): string[] {
  return [
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
    knownHosts,
    '-o',
    path.join(home, 'runs'),
    '--no-progress',
    ...rest,
  ];
}

function runJson(result: HerdResult): { reused?: string[]; handshakes?: number } {
  return JSON.parse(fs.readFileSync(path.join(runDirOf(result), 'run.json'), 'utf8')) as {
    reused?: string[];
    handshakes?: number;
  };
}

function filesOf(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

async function closeKeepers(): Promise<void> {
  const pids = keepers();
  for (const pid of pids) process.kill(pid, 'SIGTERM');
  await waitFor('the keepers to leave', () => pids.every((p) => !alive(p)));
}

describe('herd run --persist', () => {
  it('leaves a keeper whose connections the next commands reuse: one login per host across three runs', async () => {
    const hosts = fleet.hosts(3, 8100);
    const inv = path.join(home, 'reuse.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const kh = path.join(home, 'kh-reuse');
    const first = await herd(runArgs(inv, kh, '--persist', '30s', 'echo hi'));
    expect(first.code, first.stderr).toBe(0);
    expect(keepers()).toHaveLength(1);
    const second = await herd(runArgs(inv, kh, 'echo hi'));
    const third = await herd(runArgs(inv, kh, 'echo hi'));
    expect(second.code, second.stderr).toBe(0);
    expect(third.code, third.stderr).toBe(0);
    const logins = loginsPerHost(fleet);
    for (const h of hosts) expect(logins.get(h), `logins on ${h}`).toBe(1);
    expect(runJson(first).reused).toEqual([]);
    expect(runJson(first).handshakes).toBe(3);
    for (const later of [second, third]) {
      expect([...(runJson(later).reused ?? [])].sort()).toEqual([...hosts].sort());
      expect(runJson(later).handshakes).toBe(0);
    }
    // The results contract: the same files, the same output.
    expect(filesOf(runDirOf(third))).toEqual(filesOf(runDirOf(first)));
    for (const h of hosts) {
      expect(fs.readFileSync(path.join(runDirOf(third), 'stdout', h), 'utf8')).toBe('hi\n');
    }
    await closeKeepers();
  });
});

describe('HERD_PERSIST and fewer workers', () => {
  it('HERD_PERSIST starts the keeper; a later one-worker run on any one host finds the keeper worker holding it', async () => {
    const hosts = fleet.hosts(4, 8150);
    const inv = path.join(home, 'spread.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const kh = path.join(home, 'kh-spread');
    const first = await herd(runArgs(inv, kh, '-w', '2', 'true'), { HERD_PERSIST: '30s' });
    expect(first.code, first.stderr).toBe(0);
    expect(keepers()).toHaveLength(1);
    for (const host of hosts) {
      const one = path.join(home, `one-${host}.txt`);
      fs.writeFileSync(one, `${host}\n`);
      const run = await herd(runArgs(one, kh, '-w', '1', 'true'));
      expect(run.code, run.stderr).toBe(0);
      expect(runJson(run).reused, host).toEqual([host]);
    }
    const logins = loginsPerHost(fleet);
    for (const h of hosts) expect(logins.get(h), `logins on ${h}`).toBe(1);
    await closeKeepers();
  });
});

describe('play, push and pull --persist', () => {
  it('push --persist leaves a keeper that pull and play then run over: one login per host across the three', async () => {
    const hosts = fleet.hosts(2, 8200);
    const inv = path.join(home, 'kinds.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const kh = path.join(home, 'kh-kinds');
    const remote = scratchDir('herd-remote-');
    fs.chmodSync(remote, 0o777);
    const local = path.join(home, 'payload.txt');
    fs.writeFileSync(local, 'payload\n');
    const common = ['-i', inv, '-u', fleet.user, '-p', String(fleet.port), '-k', fleet.keyPath, '--known-hosts', kh];
    const out = ['-o', path.join(home, 'runs'), '--no-progress'];
    const push = await herd(['push', ...common, ...out, '--persist', '30s', local, `${remote}/{{ host }}.txt`]);
    expect(push.code, push.stderr).toBe(0);
    const pulled = path.join(home, 'pulled');
    const pull = await herd(['pull', ...common, ...out, `${remote}/{{ host }}.txt`, pulled]);
    expect(pull.code, pull.stderr).toBe(0);
    const book = path.join(home, 'persist.yml');
    fs.writeFileSync(book, `- name: look\n  steps:\n    - name: cat\n      run: cat ${remote}/{{ host }}.txt\n`);
    const play = await herd(['play', ...common, ...out, book]);
    expect(play.code, play.stderr).toBe(0);
    const logins = loginsPerHost(fleet);
    for (const h of hosts) {
      expect(logins.get(h), `logins on ${h}`).toBe(1);
      expect(fs.readFileSync(path.join(pulled, h, `${h}.txt`), 'utf8')).toBe('payload\n');
    }
    for (const later of [pull, play]) expect([...(runJson(later).reused ?? [])].sort()).toEqual([...hosts].sort());
    await closeKeepers();
  });
});

/**
 * Connect to a keeper's socket as `uid`, with the token when given, naming itself (or the process `claim`) in its
 * hello sent `waitMs` after connecting, and say what happened.
 */
function connectAs(uid: number, socket: string, token = 'none', claim?: number, waitMs = 0): string {
  const script = `
    const net = require('node:net');
    const v8 = require('node:v8');
    const s = net.connect(process.argv[1]);
    s.on('error', (e) => { console.log('refused:' + e.code); process.exit(0); });
    s.on('connect', () => setTimeout(() => {
      const pid = process.argv[3] === 'self' ? process.pid : Number(process.argv[3]);
      const body = v8.serialize({ t: 'hello', token: process.argv[2], pid, want: 'info' });
      const head = Buffer.alloc(4);
      head.writeUInt32BE(body.length);
      s.write(Buffer.concat([head, body]));
    }, Number(process.argv[4])));
    s.on('data', () => { console.log('answered'); process.exit(0); });
    s.on('close', () => { console.log('closed'); process.exit(0); });
  `;
  return execFileSync(
    'setpriv',
    [
      `--reuid=${uid}`,
      `--regid=${uid}`,
      '--clear-groups',
      process.execPath,
      '-e',
      script,
      socket,
      token,
      claim === undefined ? 'self' : String(claim),
      String(waitMs),
    ],
    { encoding: 'utf8' },
  ).trim();
}

/** Connect as this user and send a hello with the wrong token: what comes back. */
function wrongToken(socket: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(socket);
    s.on('error', (e: NodeJS.ErrnoException) => resolve(`error:${e.code}`));
    s.on('connect', () => s.write(encodeFrame({ t: 'hello', token: 'f'.repeat(64), pid: process.pid, want: 'info' })));
    s.on('data', () => resolve('answered'));
    s.on('close', () => resolve('closed'));
  });
}

describe("the keeper is the user's alone", () => {
  it('lives in a 0700 directory with a 0600 socket and token, refuses another uid and a wrong token', async () => {
    const [host] = fleet.hosts(1, 8300) as [string];
    const inv = path.join(home, 'sec.txt');
    fs.writeFileSync(inv, `${host}\n`);
    // A world-traversable runtime directory, as /tmp is: only the keeper directory's own mode stands in the way.
    fs.chmodSync(runtime, 0o755);
    const first = await herd(runArgs(inv, path.join(home, 'kh-sec'), '--persist', '30s', 'true'));
    expect(first.code, first.stderr).toBe(0);
    const [pid] = keepers();
    expect(pid).toBeDefined();
    const dir = keeperDir();
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(dir).uid).toBe(process.getuid!());
    const [name] = fs.readdirSync(dir).filter((f) => f.endsWith('.sock'));
    const socket = path.join(dir, name!);
    for (const f of fs.readdirSync(dir)) expect(fs.statSync(path.join(dir, f)).mode & 0o077, f).toBe(0);
    expect(fs.statSync(socket).isSocket()).toBe(true);
    expect(connectAs(65534, socket)).toBe('refused:EACCES');
    // Even a directory opened by mistake leaves the 0600 socket, and then the token.
    fs.chmodSync(dir, 0o711);
    expect(connectAs(65534, socket)).toBe('refused:EACCES');
    // Even with the socket open to all and the token known, Linux says the peer is another uid: refused.
    fs.chmodSync(socket, 0o666);
    const token = fs.readFileSync(socket.replace(/\.sock$/, '.token'), 'utf8');
    expect(connectAs(0, socket, token)).toBe('answered');
    // Dropped unanswered (a reset when the keeper closes before the hello is read).
    expect(['closed', 'refused:ECONNRESET']).toContain(connectAs(65534, socket, token));
    // Naming a process of this user does not help: the process named must hold the other end of the socket.
    expect(['closed', 'refused:ECONNRESET']).toContain(connectAs(65534, socket, token, process.pid));
    expect(['closed', 'refused:ECONNRESET']).toContain(connectAs(0, socket, token, process.pid));
    expect(['closed', 'refused:ECONNRESET']).toContain(connectAs(0, socket, token, pid!));
    // The keeper asks Linux who connected as soon as it accepts (herd connects before its hello is ready): a hello
    // that comes later is judged the same.
    expect(connectAs(0, socket, token, undefined, 300)).toBe('answered');
    expect(['closed', 'refused:ECONNRESET']).toContain(connectAs(65534, socket, token, undefined, 300));
    expect(['closed', 'refused:ECONNRESET']).toContain(connectAs(0, socket, token, process.pid, 300));
    fs.chmodSync(socket, 0o600);
    fs.chmodSync(dir, 0o700);
    expect(await wrongToken(socket)).toBe('closed');
    expect(alive(pid!)).toBe(true);
    await closeKeepers();
  });

  it('refuses a keeper directory others may use, before any host (exit 2)', async () => {
    const [host] = fleet.hosts(1, 8310) as [string];
    const inv = path.join(home, 'open.txt');
    fs.writeFileSync(inv, `${host}\n`);
    fs.mkdirSync(keeperDir(), { mode: 0o755 });
    fs.chmodSync(keeperDir(), 0o755);
    const before = loginsPerHost(fleet).get(host) ?? 0;
    const open = await herd(runArgs(inv, path.join(home, 'kh-open'), '--persist', '30s', 'true'));
    expect(open.code).toBe(2);
    expect(open.stderr).toContain(`refusing the connection keeper directory: ${keeperDir()} has mode 0755`);
    fs.chmodSync(keeperDir(), 0o700);
    fs.chownSync(keeperDir(), 65534, 65534);
    const theirs = await herd(runArgs(inv, path.join(home, 'kh-open'), '--persist', '30s', 'true'));
    expect(theirs.code).toBe(2);
    expect(theirs.stderr).toContain(`${keeperDir()} is owned by uid 65534, not by you`);
    expect(loginsPerHost(fleet).get(host) ?? 0).toBe(before);
    expect(keepers()).toEqual([]);
  });
});

describe('the keeper and secrets', () => {
  it.skipIf(!isRoot())(
    'a password run reuses the connections the next password run asks for; the password is in no keeper file, argv or environment',
    async () => {
      const hosts = fleet.hosts(2, 8800);
      const inv = path.join(home, 'pw.txt');
      fs.writeFileSync(inv, hosts.join('\n') + '\n');
      const kh = path.join(home, 'kh-pw');
      const args = (...rest: string[]): string[] => [
        'run',
        '-i',
        inv,
        '-u',
        fleet.user,
        '-p',
        String(fleet.port),
        '--password-env',
        'HERD_T_PW',
        '--known-hosts',
        kh,
        '-o',
        path.join(home, 'runs'),
        '--no-progress',
        ...rest,
      ];
      const env = { HERD_T_PW: fleet.password! };
      const first = await herd(args('--persist', '30s', 'true'), env);
      expect(first.code, first.stderr).toBe(0);
      const second = await herd(args('true'), env);
      expect(second.code, second.stderr).toBe(0);
      expect([...(runJson(second).reused ?? [])].sort()).toEqual([...hosts].sort());
      const [pid] = keepers();
      const secret = Buffer.from(fleet.password!);
      for (const f of fs.readdirSync(keeperDir()).filter((f) => !f.endsWith('.sock'))) {
        expect(fs.readFileSync(path.join(keeperDir(), f)).includes(secret), f).toBe(false);
      }
      for (const p of [pid!, ...childPids(pid!)]) {
        for (const what of ['cmdline', 'environ']) {
          expect(fs.readFileSync(`/proc/${p}/${what}`).includes(secret), `${p} ${what}`).toBe(false);
        }
      }
      await closeKeepers();
    },
  );
});

describe('the keeper ends', () => {
  it('by itself after its idle time: a --persist 2s keeper is gone about 2 s after the command', async () => {
    const [host] = fleet.hosts(1, 8400) as [string];
    const inv = path.join(home, 'idle.txt');
    fs.writeFileSync(inv, `${host}\n`);
    const run = await herd(runArgs(inv, path.join(home, 'kh-idle'), '--persist', '2s', 'true'));
    expect(run.code, run.stderr).toBe(0);
    const ended = Date.now();
    const [pid] = keepers();
    expect(alive(pid!)).toBe(true);
    await waitFor('the idle keeper to leave', () => !alive(pid!), 20_000);
    expect(Date.now() - ended).toBeGreaterThanOrEqual(1_500);
    expect(fs.readdirSync(keeperDir())).toEqual([]);
  });

  it('when a host key changes: the next run does not reuse, reports the changed key, and the keeper leaves', async () => {
    const hosts = fleet.hosts(2, 8500) as [string, string];
    const inv = path.join(home, 'hostkey.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const kh = path.join(home, 'kh-hostkey');
    const first = await herd(runArgs(inv, kh, '--persist', '30s', 'true'));
    expect(first.code, first.stderr).toBe(0);
    const [pid] = keepers();
    // Another key on record for the first host: as if the host had been replaced since.
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(home, 'other')]);
    const lines = fs.readFileSync(kh, 'utf8').trim().split('\n');
    const replaced = fs.readFileSync(path.join(home, 'other.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    fs.writeFileSync(
      kh,
      lines.map((l) => (l.startsWith(`[${hosts[0]}]`) ? `[${hosts[0]}]:${fleet.port} ${replaced}` : l)).join('\n') +
        '\n',
    );
    const next = await herd(runArgs(inv, kh, 'true'));
    expect(next.code).toBe(1);
    expect(next.stderr).toContain('known_hosts or ssh_config changed since the connection keeper connected');
    const rows = readHostsTsv(runDirOf(next));
    expect(rows.get(hosts[0])?.status).toBe('hostkey_mismatch');
    expect(rows.get(hosts[0])?.reason).toMatch(/host key/i);
    expect(rows.get(hosts[1])?.status).toBe('ok');
    expect(runJson(next).reused).toBeUndefined();
    await waitFor('the keeper to leave', () => !alive(pid!));
    // Its second host authenticated again: nothing was reused.
    expect(loginsPerHost(fleet).get(hosts[1])).toBe(2);
  });
});

describe('a command that dies while it uses the keeper', () => {
  it('has its running command stopped on the host by the keeper, which then serves the next command', async () => {
    const [host] = fleet.hosts(1, 8700) as [string];
    const inv = path.join(home, 'killed.txt');
    fs.writeFileSync(inv, `${host}\n`);
    const kh = path.join(home, 'kh-killed');
    const first = await herd(runArgs(inv, kh, '--persist', '30s', 'true'));
    expect(first.code, first.stderr).toBe(0);
    const [pid] = keepers();
    const marker = path.join(scratchDir('herd-marker-'), 'started');
    fs.chmodSync(path.dirname(marker), 0o777);
    const token = `${process.pid}${Date.now() % 100000}.5`;
    let herdPid = 0;
    const killed = runHerd(runArgs(inv, kh, `touch ${marker}; sleep ${token}`), {
      cwd: home,
      env: { HOME: home, XDG_RUNTIME_DIR: runtime },
      onSpawn: (child) => (herdPid = child.pid!),
    });
    await waitFor('the command to start on the host', () => fs.existsSync(marker));
    expect(pidsWith(`sleep ${token}`).length).toBeGreaterThan(0);
    process.kill(herdPid, 'SIGKILL');
    expect((await killed).signal).toBe('SIGKILL');
    await waitFor('the remote command to be stopped', () => pidsWith(`sleep ${token}`).length === 0);
    expect(alive(pid!)).toBe(true);
    const next = await herd(runArgs(inv, kh, 'echo after'));
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).not.toContain('serving another herd command');
    expect(runJson(next).reused).toBeDefined();
    await closeKeepers();
  });
});

describe('herd connections', () => {
  it('lists what the keeper holds by user (pid, hosts, age, idle) and --close ends it', async () => {
    const hosts = fleet.hosts(3, 8600);
    const inv = path.join(home, 'list.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const none = await herd(['connections']);
    expect(none.code).toBe(0);
    expect(none.stderr).toContain('no connection keeper is running');
    const run = await herd(runArgs(inv, path.join(home, 'kh-list'), '--persist', '5m', 'true'));
    expect(run.code, run.stderr).toBe(0);
    const [pid] = keepers();
    const list = await herd(['connections']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(`^keeper ${pid}: 3 hosts, up \\d+s, idle \\d+s \\(closes after 5m00s idle\\)$`, 'm'),
    );
    expect(list.stdout).toContain(`  ${fleet.user} port ${fleet.port}: 3 hosts `);
    const json = await herd(['connections', '--json']);
    const info = JSON.parse(json.stdout) as { kind: string; pid: number; hosts: { host: string; user: string }[] };
    expect(info.kind).toBe('keeper');
    expect(info.pid).toBe(pid);
    expect(info.hosts.map((h) => h.host).sort()).toEqual([...hosts].sort());
    const close = await herd(['connections', '--close']);
    expect(close.code, close.stderr).toBe(0);
    expect(close.stderr).toContain(`closed the connection keeper ${pid} and its connections`);
    expect(alive(pid!)).toBe(false);
    expect(fs.readdirSync(keeperDir())).toEqual([]);
    const after = await herd(['connections']);
    expect(after.stderr).toContain('no connection keeper is running');
  });
});
