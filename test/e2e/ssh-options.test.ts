// The ssh_config options fleets rely on, held against OpenSSH's own client on the loopback fleet:
// HostKeyAlias (lookup, recording and certificate principals under the alias), ServerAliveInterval/
// ServerAliveCountMax (a frozen host is given up after interval*count) and ConnectionAttempts.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackAddress, startFleet, type Fleet } from '../fleet/fleet.js';
import { childPids, readHostsTsv, removeScratchDirs, runDirOf, runHerd, scratchDir } from './herd-cli.js';

const run = promisify(execFile);

type Verdict = 'accepted' | 'refused' | 'changed';
type Mode = 'yes' | 'accept-new';
const MODES: Mode[] = ['yes', 'accept-new'];
// Upper case in the file: ssh lower-cases the alias before it looks it up, records it or checks principals.
const ALIAS = 'Pool-Alias';

interface Ctx {
  address: string;
  /** `[address]:port`: the name ssh would use without the alias. */
  name: string;
  port: number;
  good: string;
  wrong: string;
  ca: string;
}

interface Case {
  name: string;
  /** The sshd presenting a certificate: for the alias, or for the address only. */
  server: 'plain' | 'cert-alias' | 'cert-address';
  known: (c: Ctx) => string;
  /** What herd does instead of ssh under accept-new, and why. */
  acceptNew?: Verdict;
}

const CASES: Case[] = [
  { name: 'nothing known: accept-new records the bare alias', server: 'plain', known: () => '' },
  { name: 'key pinned under the alias', server: 'plain', known: (c) => `pool-alias ${c.good}\n` },
  { name: 'key pinned under [address]:port only', server: 'plain', known: (c) => `${c.name} ${c.good}\n` },
  {
    name: 'key pinned under [alias]:port (ssh adds no port)',
    server: 'plain',
    known: (c) => `[pool-alias]:${c.port} ${c.good}\n`,
  },
  { name: 'another key pinned under the alias', server: 'plain', known: (c) => `pool-alias ${c.wrong}\n` },
  {
    name: 'right key under the alias, another under [address]:port',
    server: 'plain',
    known: (c) => `pool-alias ${c.good}\n${c.name} ${c.wrong}\n`,
  },
  {
    name: 'certificate for the alias, CA for every host',
    server: 'cert-alias',
    known: (c) => `@cert-authority * ${c.ca}\n`,
  },
  {
    name: 'certificate for the alias, CA line for the alias',
    server: 'cert-alias',
    known: (c) => `@cert-authority pool-alias ${c.ca}\n`,
  },
  {
    name: 'certificate for the address only',
    server: 'cert-address',
    known: (c) => `@cert-authority * ${c.ca}\n`,
    // ssh falls back to the plain key and records it; herd never records a key whose certificate failed.
    acceptNew: 'refused',
  },
];

function sshVerdict(code: number, stderr: string): Verdict {
  if (code === 0) return 'accepted';
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) return 'changed';
  if (/Host key verification failed/.test(stderr)) return 'refused';
  throw new Error(`ssh failed in a way this test does not know:\n${stderr}`);
}

function herdVerdict(row: { status: string; reason: string } | undefined): Verdict {
  if (!row) throw new Error('no hosts.tsv row');
  if (row.status === 'ok') return 'accepted';
  if (row.status === 'hostkey_mismatch') return 'changed';
  if (row.status === 'hostkey_unknown') return 'refused';
  throw new Error(`unexpected herd result ${row.status}: ${row.reason}`);
}

const pub = (file: string): string => fs.readFileSync(`${file}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');

describe(`HostKeyAlias ${ALIAS} against OpenSSH 9.2 (ssh and herd, same known_hosts, same sshd)`, () => {
  const fleets = new Map<Case['server'], Fleet>();
  const results = new Map<string, { ssh: Verdict; herd: Verdict; reason: string; bySsh: string; byHerd: string }>();

  beforeAll(async () => {
    const root = scratchDir('herd-hostkeyalias-');
    const ca = path.join(root, 'ca');
    const wrong = path.join(root, 'wrong');
    for (const k of [ca, wrong]) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k]);
    const address = (s: Case['server']): string =>
      loopbackAddress(900 + ['plain', 'cert-alias', 'cert-address'].indexOf(s));
    fleets.set('plain', await startFleet());
    fleets.set('cert-alias', await startFleet({ hostCertificate: { caKey: ca, principals: ['pool-alias'] } }));
    fleets.set(
      'cert-address',
      await startFleet({ hostCertificate: { caKey: ca, principals: [address('cert-address')] } }),
    );
    for (const mode of MODES) {
      const dir = path.join(root, mode);
      fs.mkdirSync(dir);
      const blocks: string[] = [];
      CASES.forEach((c, i) => {
        const fleet = fleets.get(c.server)!;
        const a = address(c.server);
        const ctx: Ctx = {
          address: a,
          name: `[${a}]:${fleet.port}`,
          port: fleet.port,
          good: fleet.hostPublicKey,
          wrong: pub(wrong),
          ca: pub(ca),
        };
        for (const who of ['ssh', 'herd']) fs.writeFileSync(path.join(dir, `${who}-kh-${i}`), c.known(ctx));
        blocks.push(
          `Host c${i}`,
          `  HostName ${a}`,
          `  Port ${fleet.port}`,
          `  User ${fleet.user}`,
          `  IdentityFile ${fleet.keyPath}`,
          '  IdentitiesOnly yes',
          `  HostKeyAlias ${ALIAS}`,
          `  UserKnownHostsFile ${path.join(dir, 'WHO-kh-' + i)}`,
          '  GlobalKnownHostsFile none',
          '',
        );
      });
      const config = (who: string): string => {
        const file = path.join(dir, `${who}_config`);
        fs.writeFileSync(file, blocks.join('\n').replaceAll('WHO-kh-', `${who}-kh-`));
        return file;
      };
      const sshConfig = config('ssh');
      const ssh = await Promise.all(
        CASES.map((_, i) =>
          run('ssh', ['-F', sshConfig, '-o', 'BatchMode=yes', '-o', `StrictHostKeyChecking=${mode}`, `c${i}`, 'true'], {
            env: { ...process.env, HOME: dir },
            timeout: 60_000,
          }).then(
            () => 'accepted' as Verdict,
            (err: { code: number; stderr: string }) => sshVerdict(err.code, err.stderr),
          ),
        ),
      );
      const inv = path.join(dir, 'inventory');
      fs.writeFileSync(inv, CASES.map((_, i) => `c${i}`).join('\n') + '\n');
      const hk = mode === 'yes' ? 'strict' : 'accept-new';
      const args = ['run', '-i', inv, '-F', config('herd'), '--host-key-checking', hk, '-o', path.join(dir, 'runs')];
      const result = await runHerd([...args, 'true'], { env: { HOME: dir }, timeoutMs: 120_000 });
      const rows = readHostsTsv(runDirOf(result));
      CASES.forEach((c, i) => {
        const row = rows.get(`c${i}`);
        results.set(`${c.name} / ${mode}`, {
          ssh: ssh[i]!,
          herd: herdVerdict(row),
          reason: row!.reason,
          bySsh: fs.readFileSync(path.join(dir, `ssh-kh-${i}`), 'utf8'),
          byHerd: fs.readFileSync(path.join(dir, `herd-kh-${i}`), 'utf8'),
        });
      });
    }
  }, 240_000);

  afterAll(async () => {
    for (const f of fleets.values()) await f.stop();
    removeScratchDirs();
  });

  for (const mode of MODES) {
    describe(`StrictHostKeyChecking ${mode}`, () => {
      for (const c of CASES) {
        it(c.name, () => {
          const r = results.get(`${c.name} / ${mode}`)!;
          const differs = mode === 'accept-new' ? c.acceptNew : undefined;
          if (differs) {
            expect(r.ssh).not.toBe(differs);
            expect(r.herd, r.reason).toBe(differs);
            return;
          }
          expect(r.herd, r.reason).toBe(r.ssh);
          // The same verdict and the same bytes: under accept-new ssh writes `pool-alias <key>`.
          expect(r.byHerd).toBe(r.bySsh);
        });
      }
    });
  }

  it('hosts sharing an alias not pinned yet are refused by accept-new, never pinned to whichever key came first; once pinned through one host, the others are checked against it', async () => {
    const plain = fleets.get('plain')!;
    const other = fleets.get('cert-alias')!; // another host key (no CA line here: it shows its plain key)
    const dir = scratchDir('herd-alias-shared-');
    const kh = path.join(dir, 'known_hosts');
    const config = path.join(dir, 'ssh_config');
    const hosts: [string, Fleet][] = [
      [loopbackAddress(960), plain],
      [loopbackAddress(961), plain],
      [loopbackAddress(962), other],
    ];
    const lines: string[] = [];
    for (const [a, f] of hosts)
      lines.push(`Host ${a}`, `  Port ${f.port}`, `  User ${f.user}`, `  IdentityFile ${f.keyPath}`);
    lines.push('Host *', '  IdentitiesOnly yes', '  HostKeyAlias pool', `  UserKnownHostsFile ${kh}`);
    lines.push('  GlobalKnownHostsFile none');
    fs.writeFileSync(config, lines.join('\n') + '\n');
    const inv = path.join(dir, 'inventory');
    fs.writeFileSync(inv, hosts.map(([a]) => a).join('\n') + '\n');
    const args = ['run', '-i', inv, '-F', config, '--host-key-checking', 'accept-new', '--workers', '2'];
    const runAll = async (...more: string[]) => {
      const result = await runHerd([...args, ...more, '-o', path.join(dir, 'runs'), 'true'], { env: { HOME: dir } });
      return readHostsTsv(runDirOf(result));
    };
    // In parallel, the first key to arrive would be pinned for all three: refused, nothing recorded.
    const first = await runAll();
    for (const [a] of hosts) {
      expect(first.get(a)?.status, a).toBe('hostkey_unknown');
      expect(first.get(a)?.reason).toContain(
        'not in known_hosts under HostKeyAlias pool, which 3 hosts of this run share',
      );
    }
    expect(fs.existsSync(kh) ? fs.readFileSync(kh, 'utf8') : '').toBe('');
    // Pinned through one host, as ssh's first contact would pin it.
    expect((await runAll('-l', hosts[0]![0])).get(hosts[0]![0])?.status).toBe('ok');
    expect(fs.readFileSync(kh, 'utf8')).toBe(`pool ${plain.hostPublicKey}\n`);
    // Then each is checked against the pin: the host with another key is a changed key, as for ssh.
    const again = await runAll();
    expect([hosts[0]![0], hosts[1]![0]].map((a) => again.get(a)?.status)).toEqual(['ok', 'ok']);
    expect(again.get(hosts[2]![0])?.status).toBe('hostkey_mismatch');
    expect(fs.readFileSync(kh, 'utf8')).toBe(`pool ${plain.hostPublicKey}\n`);
  }, 120_000);

  it('a jump host is checked under its own HostKeyAlias, the target under its own, strict, as by ssh', async () => {
    const fleet = fleets.get('plain')!;
    const dir = scratchDir('herd-alias-jump-');
    const kh = path.join(dir, 'known_hosts');
    const config = path.join(dir, 'ssh_config');
    const lines = [
      'Host target',
      `  HostName ${loopbackAddress(970)}`,
      '  ProxyJump bastion',
      '  HostKeyAlias target-alias',
    ];
    lines.push('Host bastion', `  HostName ${loopbackAddress(971)}`, '  HostKeyAlias bastion-alias', 'Host *');
    lines.push(
      `  Port ${fleet.port}`,
      `  User ${fleet.user}`,
      `  IdentityFile ${fleet.keyPath}`,
      '  IdentitiesOnly yes',
    );
    lines.push('  StrictHostKeyChecking yes', `  UserKnownHostsFile ${kh}`, '  GlobalKnownHostsFile none');
    fs.writeFileSync(config, lines.join('\n') + '\n');
    const inv = path.join(dir, 'inventory');
    fs.writeFileSync(inv, 'target\n');
    const both = async (): Promise<[Verdict, Verdict]> => {
      const ssh = await run('ssh', ['-F', config, '-o', 'BatchMode=yes', 'target', 'true'], {
        env: { ...process.env, HOME: dir },
      }).then(
        () => 'accepted' as Verdict,
        (err: { code: number; stderr: string }) => sshVerdict(err.code, err.stderr),
      );
      const out = path.join(dir, `runs-${Math.random().toString(16).slice(2)}`);
      const result = await runHerd(['run', '-i', inv, '-F', config, '-o', out, 'true'], { env: { HOME: dir } });
      return [ssh, herdVerdict(readHostsTsv(runDirOf(result)).get('target'))];
    };
    fs.writeFileSync(kh, `target-alias ${fleet.hostPublicKey}\n`);
    expect(await both()).toEqual(['refused', 'refused']);
    fs.writeFileSync(kh, `target-alias ${fleet.hostPublicKey}\nbastion-alias ${fleet.hostPublicKey}\n`);
    expect(await both()).toEqual(['accepted', 'accepted']);
  }, 120_000);

  it('records under the lower-cased alias, no [host]:port (what ssh wrote, checked by name)', () => {
    const r = results.get(`${CASES[0]!.name} / accept-new`)!;
    expect(r.bySsh).toMatch(/^pool-alias ssh-ed25519 \S+\n$/);
    expect(r.byHerd).toBe(r.bySsh);
  });
});

/** Every sshd process under this test's own fleet listener: the monitors and sessions serving its connections. */
function sessionSshds(fleetPid: number): number[] {
  const found: number[] = [];
  const walk = (pid: number): void => {
    for (const c of childPids(pid)) {
      try {
        if (fs.readFileSync(`/proc/${c}/comm`, 'utf8').startsWith('sshd')) found.push(c);
      } catch {
        continue;
      }
      walk(c);
    }
  };
  walk(fleetPid);
  return found;
}

describe('ServerAliveInterval / ServerAliveCountMax: a host that stops answering is given up', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet();
  });
  afterAll(async () => {
    await fleet.stop();
    removeScratchDirs();
  });

  it('its sshd frozen (SIGSTOP) mid-command: interrupted after about interval x (count + 1), the reason names both', async () => {
    const dir = scratchDir('herd-keepalive-');
    const config = path.join(dir, 'ssh_config');
    fs.writeFileSync(
      config,
      [
        'Host frozen',
        `  HostName ${loopbackAddress(950)}`,
        `  Port ${fleet.port}`,
        `  User ${fleet.user}`,
        `  IdentityFile ${fleet.keyPath}`,
        '  IdentitiesOnly yes',
        '  ServerAliveInterval 1',
        '  ServerAliveCountMax 2',
        '  StrictHostKeyChecking accept-new',
        `  UserKnownHostsFile ${path.join(dir, 'known_hosts')}`,
        '  GlobalKnownHostsFile none',
        '',
      ].join('\n'),
    );
    const inv = path.join(dir, 'inventory');
    fs.writeFileSync(inv, 'frozen\n');
    const stopped: number[] = [];
    let frozeAt = 0;
    try {
      const result = await runHerd(
        ['run', '-i', inv, '-F', config, '--timeout', '45', '-o', path.join(dir, 'runs'), 'echo started; sleep 40'],
        {
          env: { HOME: dir },
          timeoutMs: 90_000,
          onSpawn: () => {
            const timer = setInterval(() => {
              // Once the command runs (a shell under the session), freeze every sshd serving it.
              const sshds = sessionSshds(fleet.pid);
              if (!sshds.some((p) => childPids(p).some((c) => !sshds.includes(c)))) return;
              clearInterval(timer);
              for (const p of sshds) {
                process.kill(p, 'SIGSTOP');
                stopped.push(p);
              }
              frozeAt = Date.now();
            }, 50);
          },
        },
      );
      const givenUpAfter = Date.now() - frozeAt;
      expect(frozeAt).toBeGreaterThan(0);
      const row = readHostsTsv(runDirOf(result)).get('frozen');
      expect(row?.status, row?.reason).toBe('interrupted');
      expect(row?.reason).toMatch(/^connection lost while the command was running \(it may have run\): /);
      expect(row?.reason).toMatch(/no answer to keepalives for 3s \(ServerAliveInterval 1, ServerAliveCountMax 2\)/);
      // Three seconds of silence, then given up: long before --timeout 45 (the machine is shared: generous).
      expect(givenUpAfter).toBeLessThan(20_000);
    } finally {
      for (const p of stopped) {
        try {
          process.kill(p, 'SIGCONT');
        } catch {
          // already gone
        }
      }
    }
  }, 120_000);
});

describe('ConnectionAttempts: N tries in all, unless --connect-retries is given', () => {
  let closer: net.Server;
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  let refusedPort = 0;
  let dir: string;

  beforeAll(async () => {
    dir = scratchDir('herd-attempts-');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'key')]);
    // Accepts and closes at once, counting: each count is one connection attempt.
    closer = net.createServer((socket) => {
      accepted++;
      sockets.add(socket);
      socket.on('error', () => {});
      socket.destroy();
    });
    await new Promise<void>((resolve) => closer.listen(0, '127.0.0.1', resolve));
    const spare = net.createServer();
    await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
    refusedPort = (spare.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => spare.close(() => resolve()));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => closer.close(() => resolve()));
    removeScratchDirs();
  });

  const config = (port: number, attempts?: number): string => {
    const file = path.join(dir, `ssh_config-${port}-${attempts ?? 'unset'}`);
    const lines = ['Host target', '  HostName 127.0.0.1', `  Port ${port}`, '  User nobody'];
    lines.push(`  IdentityFile ${path.join(dir, 'key')}`, '  IdentitiesOnly yes');
    if (attempts !== undefined) lines.push(`  ConnectionAttempts ${attempts}`);
    fs.writeFileSync(file, [...lines, '  GlobalKnownHostsFile none', ''].join('\n'));
    return file;
  };
  const herd = async (file: string, extra: string[] = []) => {
    const inv = path.join(dir, 'inventory');
    fs.writeFileSync(inv, 'target\n');
    const out = path.join(dir, `runs-${Math.random().toString(16).slice(2)}`);
    const result = await runHerd(['run', '-i', inv, '-F', file, ...extra, '-o', out, 'true'], {
      env: { HOME: dir },
      timeoutMs: 90_000,
    });
    return readHostsTsv(runDirOf(result)).get('target')!;
  };

  it('a host whose connections are closed at once is tried ConnectionAttempts times (4), or --connect-retries + 1', async () => {
    accepted = 0;
    const row = await herd(config((closer.address() as net.AddressInfo).port, 4));
    expect(row.status).toBe('unreachable');
    expect(row.reason).toMatch(/\(after 4 attempts\)$/);
    expect(accepted).toBe(4);
    accepted = 0;
    const cli = await herd(config((closer.address() as net.AddressInfo).port, 4), ['--connect-retries', '0']);
    expect(cli.status).toBe('unreachable');
    expect(accepted).toBe(1);
  }, 120_000);

  it('a refused port is tried ConnectionAttempts times, as by ssh (ssh -v says "Connecting to" once per try)', async () => {
    const file = config(refusedPort, 3);
    const ssh = await run('ssh', ['-v', '-F', file, '-o', 'BatchMode=yes', 'target', 'true'], {
      env: { ...process.env, HOME: dir },
    }).then(
      () => '',
      (err: { stderr: string }) => err.stderr,
    );
    expect(ssh.match(/debug1: Connecting to 127\.0\.0\.1 /g)).toHaveLength(3);
    const row = await herd(file);
    expect(row.status).toBe('unreachable');
    expect(row.reason).toBe('connection refused (after 3 attempts)');
    // Without ConnectionAttempts, a refused connection is final, as for ssh (and --connect-retries retries only drops).
    expect((await herd(config(refusedPort))).reason).toBe('connection refused');
  }, 120_000);
});
