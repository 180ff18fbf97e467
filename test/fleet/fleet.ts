// A loopback fleet: one real OpenSSH sshd on a free high port listening on 0.0.0.0, so every
// 127.x.y.z address answers as a distinct host. Used by the tests, the demo and the benchmark.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Fleet {
  port: number;
  user: string;
  /** Login password; undefined when sshd cannot check passwords (not running as root). */
  password: string | undefined;
  keyPath: string;
  /** An empty known_hosts file in the fleet's directory. */
  knownHostsPath: string;
  /** The sshd host key as `ssh-ed25519 AAAA...`. */
  hostPublicKey: string;
  dir: string;
  pid: number;
  /** n distinct loopback addresses, starting at the start-th one (never 127.0.0.1). */
  hosts(n: number, start?: number): string[];
  stop(): Promise<void>;
}

export const FLEET_USER_AS_ROOT = 'herdfleet';
const SSHD = '/usr/sbin/sshd';

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** The index-th loopback address after 127.0.1.0, skipping .0 and .255 in every octet. */
export function loopbackAddress(index: number): string {
  const perOctet = 254;
  const d = (index % perOctet) + 1;
  const c = (Math.floor(index / perOctet) % perOctet) + 1;
  const b = Math.floor(index / (perOctet * perOctet)) % perOctet;
  return `127.${b}.${c}.${d}`;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '0.0.0.0', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function keygen(file: string, type = 'ed25519'): void {
  execFileSync('ssh-keygen', ['-t', type, '-N', '', '-q', '-C', 'herd-fleet', '-f', file], { stdio: 'ignore' });
}

/** As root: a dedicated login user with a random password (fed to chpasswd on stdin). */
function prepareRootUser(): string {
  try {
    execFileSync('id', [FLEET_USER_AS_ROOT], { stdio: 'ignore' });
  } catch {
    try {
      execFileSync('useradd', ['-m', '-s', '/bin/sh', FLEET_USER_AS_ROOT], { stdio: 'ignore' });
    } catch {
      // A concurrent test run may have created it a moment ago.
      execFileSync('id', [FLEET_USER_AS_ROOT], { stdio: 'ignore' });
    }
  }
  // One password per machine, kept in a root-only file: fleets started at the same time by
  // concurrent test runs would otherwise each chpasswd a new one under the others' feet.
  const file = path.join(os.tmpdir(), 'herd-fleet-password');
  let password = `fleet-${randomBytes(9).toString('base64url')}`;
  try {
    fs.writeFileSync(file, password, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    password = fs.readFileSync(file, 'utf8');
  }
  execFileSync('chpasswd', [], { input: `${FLEET_USER_AS_ROOT}:${password}\n`, stdio: ['pipe', 'ignore', 'ignore'] });
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  return password;
}

/** Is the TCP port answering with an SSH banner? */
function bannerSeen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => done(false), 500);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    socket.once('data', (d) => done(d.toString().startsWith('SSH-2.0')));
    socket.once('error', () => done(false));
  });
}

export interface FleetOptions {
  maxStartups?: string;
  /** Write no MaxStartups and no MaxSessions line: sshd's own defaults (10:30:100, 10) apply, as on a stock bastion. */
  opensshLimits?: boolean;
  extraConfig?: string[];
  /** Run sshd inside this network namespace, probed at `probeAddress` (its veth address). */
  netns?: { name: string; probeAddress: string };
  /** sshd LogLevel (default ERROR); tests that read sshd.log raise it. */
  logLevel?: string;
  /**
   * Also present a host certificate for the host key, signed by this CA private key for these names (none: an
   * empty list); `validity` is ssh-keygen's -V; `user` signs a user certificate instead (a host misusing one).
   */
  hostCertificate?: { caKey: string; principals: string[]; validity?: string; user?: boolean };
  /** The host key's type (ssh-keygen -t; default ed25519). */
  hostKeyType?: string;
  /** Leave sshd running after this process exits (`npm run fleet`): its own session, not killed on exit. */
  detached?: boolean;
}

export async function startFleet(opts: FleetOptions = {}): Promise<Fleet> {
  if (!fs.existsSync(SSHD)) throw new Error(`${SSHD} is missing: install openssh-server (bash .ci/setup does it)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-fleet-'));
  fs.chmodSync(dir, 0o755);
  const hostKey = path.join(dir, 'host_ed25519');
  const userKey = path.join(dir, 'user_ed25519');
  keygen(hostKey, opts.hostKeyType);
  keygen(userKey);
  if (opts.hostCertificate) {
    const { caKey, principals, validity, user } = opts.hostCertificate;
    const args = [
      ...(user ? [] : ['-h']),
      ...(principals.length > 0 ? ['-n', principals.join(',')] : []),
      ...(validity ? ['-V', validity] : []),
    ];
    execFileSync('ssh-keygen', ['-q', '-s', caKey, '-I', 'herd-fleet-host', ...args, `${hostKey}.pub`], {
      stdio: 'ignore',
    });
  }
  const authorized = path.join(dir, 'authorized_keys');
  fs.copyFileSync(`${userKey}.pub`, authorized);
  fs.chmodSync(authorized, 0o644);
  const knownHostsPath = path.join(dir, 'known_hosts');
  fs.writeFileSync(knownHostsPath, '');
  const root = isRoot();
  const password = root ? prepareRootUser() : undefined;
  const user = root ? FLEET_USER_AS_ROOT : os.userInfo().username;

  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = path.join(dir, 'sshd_config');
    fs.writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 0.0.0.0',
        `HostKey ${hostKey}`,
        ...(opts.hostCertificate ? [`HostCertificate ${hostKey}-cert.pub`] : []),
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${authorized}`,
        'StrictModes no',
        'UsePAM no',
        'UseDNS no',
        `PasswordAuthentication ${root ? 'yes' : 'no'}`,
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        ...(opts.opensshLimits ? [] : [`MaxStartups ${opts.maxStartups ?? '10000:30:10000'}`, 'MaxSessions 64']),
        'MaxAuthTries 10',
        'LoginGraceTime 30',
        `LogLevel ${opts.logLevel ?? 'ERROR'}`,
        'PermitRootLogin yes',
        'Subsystem sftp internal-sftp',
        'AcceptEnv LANG LC_*',
        'PrintMotd no',
        'PrintLastLog no',
        ...(opts.extraConfig ?? []),
      ].join('\n') + '\n',
    );
    const log = fs.openSync(path.join(dir, 'sshd.log'), 'a');
    const argv = [SSHD, '-D', '-e', '-f', config];
    // `ip netns exec` execs sshd, so the child's pid is sshd's own.
    const [bin, ...args] = opts.netns ? ['/usr/sbin/ip', 'netns', 'exec', opts.netns.name, ...argv] : argv;
    const child: ChildProcess = spawn(bin!, args, { stdio: ['ignore', log, log], detached: opts.detached ?? false });
    fs.closeSync(log);
    if (opts.detached) child.unref();
    const deadline = Date.now() + 10_000;
    let up = false;
    let exited = false;
    child.once('exit', () => (exited = true));
    while (Date.now() < deadline && !exited) {
      if (await bannerSeen(port, opts.netns?.probeAddress)) {
        up = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!up) {
      child.kill('SIGKILL');
      const text = fs.readFileSync(path.join(dir, 'sshd.log'), 'utf8');
      if (/Address already in use/.test(text) && attempt < 4) continue;
      throw new Error(`sshd did not start on port ${port}:\n${text}`);
    }
    const hostPublicKey = fs.readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    return makeFleet(child, port, dir, user, password, userKey, knownHostsPath, hostPublicKey, opts.detached ?? false);
  }
  throw new Error('could not find a free port for sshd');
}

function makeFleet(
  child: ChildProcess,
  port: number,
  dir: string,
  user: string,
  password: string | undefined,
  keyPath: string,
  knownHostsPath: string,
  hostPublicKey: string,
  detached: boolean,
): Fleet {
  let stopped: Promise<void> | undefined;
  // A test process that dies still takes its sshd with it.
  const onExit = (): void => {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  };
  if (!detached) process.once('exit', onExit);
  return {
    port,
    user,
    password,
    keyPath,
    knownHostsPath,
    hostPublicKey,
    dir,
    pid: child.pid!,
    hosts: (n, start = 0) => Array.from({ length: n }, (_, i) => loopbackAddress(start + i)),
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        process.off('exit', onExit);
        const finish = (): void => {
          clearTimeout(hard);
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null || child.signalCode !== null) return finish();
        const hard = setTimeout(() => child.kill('SIGKILL'), 2_000);
        child.once('exit', finish);
        child.kill('SIGTERM');
      });
      return stopped;
    },
  };
}

export function canUsePasswords(fleet: Fleet): boolean {
  return fleet.password !== undefined;
}

/**
 * Authenticated logins per target address, from the sshd log of a fleet started with logLevel 'VERBOSE' (sshd then
 * logs "Connection from C port N on HOST port P", which names the target address). Client ports are reused: the
 * latest connection from a port wins.
 */
export function loginsPerHost(fleet: Pick<Fleet, 'dir'>): Map<string, number> {
  const lines = fs.readFileSync(path.join(fleet.dir, 'sshd.log'), 'utf8').split('\n');
  const target = new Map<string, string>();
  const logins = new Map<string, number>();
  for (const line of lines) {
    const conn = /Connection from \S+ port (\d+) on (\S+) port \d+/.exec(line);
    if (conn) target.set(conn[1]!, conn[2]!);
    const ok = /Accepted publickey for \S+ from \S+ port (\d+)/.exec(line);
    if (ok) {
      const host = target.get(ok[1]!) ?? '?';
      logins.set(host, (logins.get(host) ?? 0) + 1);
    }
  }
  return logins;
}
