import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planJobs, type ConnectionDefaults } from '../../../src/engine/connection-plan.js';
import type { Target } from '../../../src/inventory/types.js';
import { expandTokens, parseJumpList, parseSshConfigText } from '../../../src/transport/ssh-config.js';

const CONFIG = `
Host *.internal !bastion.internal
  ProxyJump bastion.internal
  User deploy
  IdentityFile ~/.ssh/id_%r_%h
  IdentitiesOnly yes
Host bastion.internal
  HostName 10.9.9.9
  Port 2200
  User jump
Host web*
  HostName %h.example.com
  Port 2222
  ConnectTimeout 4
  StrictHostKeyChecking yes
  UserKnownHostsFile ~/.ssh/known_%n
Host *
  User fallback
`;

function defaults(over: Partial<ConnectionDefaults> = {}): ConnectionDefaults {
  return {
    cliUser: null,
    cliPort: null,
    cliKeys: null,
    cliConnectTimeoutS: null,
    cliHostKeyMode: null,
    cliKnownHostsPath: null,
    cliJump: null,
    localUser: 'me',
    home: '/home/me',
    sshConfig: parseSshConfigText('/home/me/.ssh/config', CONFIG),
    ...over,
  };
}

const OPENSSH_DEFAULT_KNOWN_HOSTS = {
  files: [
    '/home/me/.ssh/known_hosts',
    '/home/me/.ssh/known_hosts2',
    '/etc/ssh/ssh_known_hosts',
    '/etc/ssh/ssh_known_hosts2',
  ],
  record: '/home/me/.ssh/known_hosts',
  hash: false,
};

const target = (host: string, extra: Partial<Target> = {}): Target => ({ id: host, host, groups: [], ...extra });
const plan = (t: Target, d = defaults()) => {
  const { tag, ...job } = planJobs([t], d)[0]!;
  expect(tag).toMatch(/^[0-9a-f]{16}$/);
  return job;
};

describe('planning connections', () => {
  it('without an ssh_config: inventory, then -u/-p, then the local user and port 22', () => {
    const d = defaults({ sshConfig: null });
    expect(plan(target('10.0.0.1'), d)).toEqual({
      id: '10.0.0.1',
      host: '10.0.0.1',
      port: 22,
      user: 'me',
      knownHosts: OPENSSH_DEFAULT_KNOWN_HOSTS,
    });
    expect(plan(target('10.0.0.2', { user: 'ops', port: 2222 }), { ...d, cliUser: 'cli', cliPort: 23 })).toMatchObject({
      user: 'ops',
      port: 2222,
    });
    expect(plan(target('10.0.0.3'), { ...d, cliUser: 'cli', cliPort: 23 })).toMatchObject({ user: 'cli', port: 23 });
  });

  it('takes HostName (with %h), Port, User, ConnectTimeout, StrictHostKeyChecking and UserKnownHostsFile from ssh_config', () => {
    expect(plan(target('web1'))).toEqual({
      id: 'web1',
      host: 'web1.example.com',
      port: 2222,
      user: 'fallback',
      connectTimeoutMs: 4000,
      hostKeyMode: 'strict',
      knownHosts: {
        files: ['/home/me/.ssh/known_web1', '/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
        record: '/home/me/.ssh/known_web1',
        hash: false,
      },
    });
  });

  it('lets the command line override the file', () => {
    const job = plan(
      target('web1'),
      defaults({
        cliUser: 'cli',
        cliPort: 2022,
        cliConnectTimeoutS: 9,
        cliHostKeyMode: 'accept-new',
        cliKnownHostsPath: '/tmp/kh',
        cliKeys: ['/k'],
      }),
    );
    expect(job).toMatchObject({
      user: 'cli',
      port: 2022,
      connectTimeoutMs: 9000,
      hostKeyMode: 'accept-new',
      keyPaths: ['/k'],
    });
    // --known-hosts FILE is `ssh -o UserKnownHostsFile=FILE`: the global files are still read.
    expect(job.knownHosts).toEqual({
      files: ['/tmp/kh', '/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      record: '/tmp/kh',
      hash: false,
    });
  });

  it('ConnectionAttempts N gives N - 1 retries, TCP failures included; a --connect-retries given wins', () => {
    const sshConfig = parseSshConfigText('/home/me/.ssh/config', 'Host a\n  ConnectionAttempts 4\n');
    expect(plan(target('a'), defaults({ sshConfig }))).toMatchObject({ connectRetries: 3, retryConnectFailures: true });
    const cli = plan(target('a'), defaults({ sshConfig, cliConnectRetries: 0 }));
    expect(cli.connectRetries).toBe(0);
    expect(cli.retryConnectFailures).toBeUndefined();
    const other = plan(target('b'), defaults({ sshConfig }));
    expect([other.connectRetries, other.retryConnectFailures]).toEqual([undefined, undefined]);
  });

  it('HostKeyAlias and ServerAlive* apply to targets and jump hosts alike, each from its own block', () => {
    const sshConfig = parseSshConfigText(
      '/home/me/.ssh/config',
      [
        'Host t',
        '  ProxyJump bastion',
        '  HostKeyAlias Target-Alias',
        '  ServerAliveInterval 5',
        'Host bastion',
        '  HostKeyAlias bastion-alias',
        '  ServerAliveCountMax 1',
        '',
      ].join('\n'),
    );
    const job = plan(target('t'), defaults({ sshConfig }));
    expect(job).toMatchObject({ hostKeyAlias: 'target-alias', keepalive: { intervalMs: 5000, countMax: 3 } });
    expect(job.jump?.[0]).toMatchObject({
      hostKeyAlias: 'bastion-alias',
      keepalive: { intervalMs: 15_000, countMax: 1 },
    });
    const plain = plan(target('other'), defaults({ sshConfig }));
    expect([plain.hostKeyAlias, plain.keepalive]).toEqual([undefined, undefined]);
  });

  it('marks hosts that share a HostKeyAlias and its known_hosts files (accept-new then refuses an unpinned key)', () => {
    const sshConfig = parseSshConfigText(
      '/home/me/.ssh/config',
      [
        'Host a b c',
        '  HostKeyAlias pool',
        'Host c',
        '  UserKnownHostsFile /elsewhere/known_hosts',
        'Host d',
        '  HostKeyAlias alone',
        '',
      ].join('\n'),
    );
    const jobs = planJobs(
      ['a', 'b', 'c', 'd', 'e'].map((h) => target(h)),
      defaults({ sshConfig }),
    );
    expect(jobs.map((j) => j.hostKeyAliasSharedBy)).toEqual([2, 2, undefined, undefined, undefined]);
  });

  it('hosts with the same known_hosts files share one spec; a %-token that differs per host keeps them apart', () => {
    // 50,000 hosts each with their own copy of the same four paths held ~20 MiB of the parent's heap for the run.
    const jobs = planJobs(
      ['app1', 'app2', 'web1', 'web2'].map((h) => target(h)),
      defaults(),
    );
    const [app1, app2, web1, web2] = jobs.map((j) => j.knownHosts);
    expect(app1).toEqual(OPENSSH_DEFAULT_KNOWN_HOSTS);
    expect(app2).toBe(app1);
    // UserKnownHostsFile ~/.ssh/known_%n: one file per host name.
    expect(web1?.record).toBe('/home/me/.ssh/known_web1');
    expect(web2?.record).toBe('/home/me/.ssh/known_web2');
    expect(web2).not.toBe(web1);
    const sshConfig = parseSshConfigText('/home/me/.ssh/config', 'Host *\n  IdentityFile ~/.ssh/id_fleet\n');
    const [a, b] = planJobs([target('a'), target('b')], defaults({ sshConfig }));
    expect(a?.keyPaths).toEqual(['/home/me/.ssh/id_fleet']);
    expect(b?.keyPaths).toBe(a?.keyPaths);
  });

  it("a jump host's StrictHostKeyChecking comes from its own block, unless --host-key-checking is given", () => {
    const sshConfig = parseSshConfigText(
      '/home/me/.ssh/config',
      'Host t\n  ProxyJump bastion\nHost bastion\n  StrictHostKeyChecking yes\n',
    );
    expect(plan(target('t'), defaults({ sshConfig })).jump?.[0]?.hostKeyMode).toBe('strict');
    const cli = plan(target('t'), defaults({ sshConfig, cliHostKeyMode: 'accept-new' }));
    expect(cli.jump?.[0]?.hostKeyMode).toBe('accept-new');
  });

  it('follows ProxyJump with the jump host resolved through ssh_config too, honouring ! negation', () => {
    const job = plan(target('db.internal'));
    expect(job).toMatchObject({
      host: 'db.internal',
      user: 'deploy',
      keyPaths: ['/home/me/.ssh/id_deploy_db.internal'],
      noAgent: true,
    });
    expect(job.jump).toEqual([
      {
        label: 'jump@10.9.9.9:2200',
        host: '10.9.9.9',
        port: 2200,
        user: 'jump',
        knownHosts: OPENSSH_DEFAULT_KNOWN_HOSTS,
      },
    ]);
    expect(plan(target('bastion.internal')).jump).toBeUndefined();
  });

  it('never turns host key checking off from the file: StrictHostKeyChecking no is read as accept-new', () => {
    const d = defaults({ sshConfig: parseSshConfigText('/c', 'Host *\n  StrictHostKeyChecking no\n') });
    expect(plan(target('h'), d).hostKeyMode).toBe('accept-new');
  });

  it('reads every UserKnownHostsFile and GlobalKnownHostsFile, records in the first user file, hashes with HashKnownHosts', () => {
    const config =
      'Host a\n  UserKnownHostsFile ~/kh1 /kh/%n_2\n  GlobalKnownHostsFile /g1 /g2\n  HashKnownHosts yes\nHost b\n  UserKnownHostsFile none\n  GlobalKnownHostsFile none\nHost c\n  UserKnownHostsFile /u none\n';
    const d = defaults({ sshConfig: parseSshConfigText('/c', config) });
    expect(plan(target('a'), d).knownHosts).toEqual({
      files: ['/home/me/kh1', '/kh/a_2', '/g1', '/g2'],
      record: '/home/me/kh1',
      hash: true,
    });
    expect(plan(target('b'), d).knownHosts).toEqual({ files: [], record: null, hash: false });
    expect(() => plan(target('c'), d)).toThrow('/c:9: UserKnownHostsFile for c: "none" must appear alone');
  });

  it.each([
    ['no setting', ''],
    [
      'tokens, ~ and a quoted path',
      'Host web*\n  HostName %h.example.com\n  User u1\n  Port 2200\n  UserKnownHostsFile ~/kh_%n_%h_%r_%p "/x y/kh2"\n  GlobalKnownHostsFile /g/%h none2\n  HashKnownHosts yes\n',
    ],
    ['none', 'Host *\n  UserKnownHostsFile none\n  GlobalKnownHostsFile none\n  HashKnownHosts no\n'],
  ])('agrees with ssh -G on the files and hashing (%s)', (_what, text) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-plan-'));
    const file = path.join(dir, 'ssh_config');
    fs.writeFileSync(file, text);
    const g = execFileSync('ssh', ['-G', '-F', file, 'web1'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    fs.rmSync(dir, { recursive: true });
    const value = (key: string): string => new RegExp(`^${key} (.*)$`, 'm').exec(g)![1]!;
    const home = os.userInfo().homedir;
    const job = plan(
      target('web1'),
      defaults({ home, localUser: os.userInfo().username, sshConfig: parseSshConfigText(file, text) }),
    );
    const user = value('userknownhostsfile') === 'none' ? [] : value('userknownhostsfile').split(/ (?=\/)/);
    const global = value('globalknownhostsfile') === 'none' ? [] : value('globalknownhostsfile').split(' ');
    expect(job.knownHosts).toEqual({
      files: [...user, ...global],
      record: user[0] ?? null,
      hash: value('hashknownhosts') === 'yes',
    });
  });

  it("defaults to OpenSSH's files: ~/.ssh/known_hosts, ~/.ssh/known_hosts2, /etc/ssh/ssh_known_hosts, /etc/ssh/ssh_known_hosts2", () => {
    expect(plan(target('h'), defaults({ sshConfig: null })).knownHosts).toEqual(OPENSSH_DEFAULT_KNOWN_HOSTS);
  });

  it('-J overrides ProxyJump and takes chains', () => {
    const job = plan(
      target('db.internal'),
      defaults({ cliJump: parseJumpList('ops@a.example:2201,bastion.internal') }),
    );
    expect(job.jump?.map((h) => h.label)).toEqual(['ops@a.example:2201', 'jump@10.9.9.9:2200']);
  });
});

describe('ssh_config pieces', () => {
  it('parses -J hop lists and rejects junk with the flag named', () => {
    expect(parseJumpList('a')).toEqual([{ alias: 'a' }]);
    expect(parseJumpList('u@a:22,[::1]:2222')).toEqual([
      { alias: 'a', user: 'u', port: 22 },
      { alias: '::1', port: 2222 },
    ]);
    expect(() => parseJumpList('a:99999')).toThrow(/-J "a:99999": port 99999 is out of range/);
    expect(() => parseJumpList('a b')).toThrow(/-J "a b": expected \[user@\]host\[:port\]/);
  });

  it('expands ~ and the %-tokens OpenSSH allows, leaving unknown ones alone', () => {
    const t = { alias: 'web', host: 'web.example', user: 'r', port: 22, localUser: 'me', home: '/home/me' };
    expect(expandTokens('~/.ssh/id_%r@%h:%p-%n-%u-%d-%%-%z', t)).toBe(
      '/home/me/.ssh/id_r@web.example:22-web-me-/home/me-%-%z',
    );
  });
});
