// Jump hosts for real: the targets live on the loopback of a network namespace, which nothing
// outside can reach; the bastion is the same namespace's sshd on its veth address. A run that
// succeeds can only have gone through the bastion, and its sshd log counts the connections.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../fleet/fleet.js';
import { canCreateNetns, createNetns, type Netns } from '../fleet/netns.js';
import { readHostsTsv, runDirOf, runHerd, scratchDir, removeScratchDirs } from './herd-cli.js';

const available = canCreateNetns();

describe.runIf(available)('jump hosts (bastions)', () => {
  let ns: Netns | undefined;
  let inner: Fleet;
  let home: string;

  beforeAll(async () => {
    ns = createNetns();
    inner = await startFleet({ netns: { name: ns.name, probeAddress: ns.innerAddress }, logLevel: 'INFO' });
    home = scratchDir('herd-jump-home-');
  });
  afterAll(async () => {
    await inner?.stop();
    ns?.remove();
    removeScratchDirs();
  });

  const bastion = (): string => `${inner.user}@${ns!.innerAddress}:${inner.port}`;
  const inventory = (name: string, hosts: string[]): string => {
    const file = path.join(home, name);
    fs.writeFileSync(file, hosts.join('\n') + '\n');
    return file;
  };
  const common = (runs: string): string[] => [
    '-k',
    inner.keyPath,
    '--known-hosts',
    path.join(home, 'kh'),
    '-o',
    path.join(home, runs),
  ];
  /** sshd logins seen from `address`, as the namespace's sshd logged them. */
  const loginsFrom = (address: string): number =>
    fs
      .readFileSync(path.join(inner.dir, 'sshd.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('Accepted publickey') && l.includes(` from ${address} `)).length;

  it('reaches hosts only the bastion can reach, carrying several sessions per bastion connection', async () => {
    const targets = Array.from({ length: 12 }, (_, i) => `127.0.0.${i + 2}`);
    const inv = inventory('inner.txt', targets);
    const base = ['run', '-i', inv, '-u', inner.user, '-p', String(inner.port), ...common('runs')];

    const direct = await runHerd([...base, 'true'], { env: { HOME: home } });
    const directRows = readHostsTsv(runDirOf(direct));
    for (const t of targets)
      expect(directRows.get(t)).toMatchObject({ status: 'unreachable', reason: 'connection refused' });

    const bastionBefore = loginsFrom(ns!.outerAddress);
    const viaBastion = await runHerd(
      [
        ...base,
        '-J',
        bastion(),
        '--jump-sessions',
        '4',
        '-w',
        '1',
        '-f',
        '12',
        'echo "$SSH_CONNECTION" | cut -d" " -f1,3',
      ],
      { env: { HOME: home } },
    );
    expect(viaBastion.stderr).toContain('12 hosts: 12 ok');
    const rows = readHostsTsv(runDirOf(viaBastion));
    for (const t of targets) {
      expect(rows.get(t)?.status).toBe('ok');
      // The target saw the connection come from inside the namespace, and answered on its own address.
      expect(fs.readFileSync(path.join(runDirOf(viaBastion), 'stdout', t), 'utf8')).toBe(`127.0.0.1 ${t}\n`);
    }
    // 12 targets over connections of at most 4 sessions each: 3 bastion logins, not 12.
    expect(loginsFrom(ns!.outerAddress) - bastionBefore).toBe(3);
    const record = JSON.parse(fs.readFileSync(path.join(runDirOf(viaBastion), 'run.json'), 'utf8'));
    expect(record.options).toMatchObject({ jump: bastion(), jump_sessions: 4 });
  });

  it('says goodbye to the bastion: its connections end with an SSH disconnect when the workers shut down, not a dropped socket', async () => {
    const log = (): string[] => fs.readFileSync(path.join(inner.dir, 'sshd.log'), 'utf8').split('\n');
    const from = ` from ${ns!.outerAddress} port `;
    const disconnects = (): number =>
      log().filter((l) => l.startsWith('Received disconnect') && l.includes(from)).length;
    const [loginsBefore, disconnectsBefore] = [loginsFrom(ns!.outerAddress), disconnects()];
    const inv = inventory('goodbye.txt', ['127.0.0.20', '127.0.0.21', '127.0.0.22']);
    const args = [
      'run',
      '-i',
      inv,
      '-u',
      inner.user,
      '-p',
      String(inner.port),
      ...common('runs-bye'),
      '-J',
      bastion(),
      '-w',
      '1',
      'true',
    ];
    const run = await runHerd(args, { env: { HOME: home } });
    expect(run.stderr).toContain('3 hosts: 3 ok');
    const logins = loginsFrom(ns!.outerAddress) - loginsBefore;
    expect(logins).toBe(1);
    // sshd logs the disconnect after herd has gone: give it a moment.
    for (let i = 0; i < 50 && disconnects() - disconnectsBefore < logins; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(disconnects() - disconnectsBefore).toBe(logins);
  });

  it('follows ProxyJump, HostName, User, Port and IdentityFile from -F, and chains of jump hosts', async () => {
    const config = path.join(home, 'ssh_config');
    fs.writeFileSync(
      config,
      [
        'Host inner-a inner-b',
        '  HostName 127.0.0.40',
        '  ProxyJump bastion',
        'Host inner-b',
        '  HostName 127.0.0.41',
        'Host bastion',
        `  HostName ${ns!.innerAddress}`,
        'Host *',
        `  User ${inner.user}`,
        `  Port ${inner.port}`,
        `  IdentityFile ${inner.keyPath}`,
        '',
      ].join('\n'),
    );
    const inv = inventory('aliases.txt', ['inner-a', 'inner-b']);
    const viaConfig = await runHerd(
      [
        'run',
        '-i',
        inv,
        '-F',
        config,
        '--known-hosts',
        path.join(home, 'kh'),
        '-o',
        path.join(home, 'runs-f'),
        'echo "$SSH_CONNECTION" | cut -d" " -f3',
      ],
      { env: { HOME: home } },
    );
    expect(viaConfig.stderr).toContain('2 hosts: 2 ok');
    const dir = runDirOf(viaConfig);
    expect(fs.readFileSync(path.join(dir, 'stdout', 'inner-a'), 'utf8')).toBe('127.0.0.40\n');
    // First HostName wins, as in OpenSSH.
    expect(fs.readFileSync(path.join(dir, 'stdout', 'inner-b'), 'utf8')).toBe('127.0.0.40\n');

    // A chain: the bastion, then the namespace's own loopback sshd as a second hop.
    const inv2 = inventory('chain.txt', ['127.0.0.50']);
    const chain = `${bastion()},${inner.user}@127.0.0.1:${inner.port}`;
    const chained = await runHerd(
      [
        'run',
        '-i',
        inv2,
        '-u',
        inner.user,
        '-p',
        String(inner.port),
        ...common('runs-chain'),
        '-J',
        chain,
        'echo "$SSH_CONNECTION" | cut -d" " -f3',
      ],
      { env: { HOME: home } },
    );
    expect(chained.stderr).toContain('1 host: 1 ok');
    expect(fs.readFileSync(path.join(runDirOf(chained), 'stdout', '127.0.0.50'), 'utf8')).toBe('127.0.0.50\n');
  });

  it('says which hop failed: a bastion that refuses, and a target the bastion cannot reach', async () => {
    const inv = inventory('bad.txt', ['127.0.0.60:1', '127.0.0.61']);
    const result = await runHerd(
      ['run', '-i', inv, '-u', inner.user, '-p', String(inner.port), ...common('runs-bad'), '-J', bastion(), 'true'],
      { env: { HOME: home } },
    );
    const rows = readHostsTsv(runDirOf(result));
    expect(rows.get('127.0.0.60:1')?.status).toBe('unreachable');
    expect(rows.get('127.0.0.60:1')?.reason).toMatch(
      new RegExp(`^jump host ${bastion().replace(/\./g, '\\.')} could not open a connection to 127\\.0\\.0\\.60:1: `),
    );
    expect(rows.get('127.0.0.61')?.status).toBe('ok');
    // herd rerun goes through the same jump host without being told again.
    const again = await runHerd(['rerun', '-o', path.join(home, 'runs-bad')], { env: { HOME: home } });
    const againRows = readHostsTsv(runDirOf(again));
    expect([...againRows.keys()]).toEqual(['127.0.0.60:1']);
    expect(againRows.get('127.0.0.60:1')?.reason).toMatch(
      /^jump host .* could not open a connection to 127\.0\.0\.60:1: /,
    );

    const inv2 = inventory('bad-bastion.txt', ['127.0.0.62']);
    const refused = await runHerd(
      [
        'run',
        '-i',
        inv2,
        '-u',
        inner.user,
        '-p',
        String(inner.port),
        ...common('runs-bad2'),
        '-J',
        `${inner.user}@${ns!.innerAddress}:1`,
        'true',
      ],
      { env: { HOME: home } },
    );
    expect(readHostsTsv(runDirOf(refused)).get('127.0.0.62')).toMatchObject({
      status: 'unreachable',
      reason: `jump host ${inner.user}@${ns!.innerAddress}:1: connection refused`,
    });
  });
});
