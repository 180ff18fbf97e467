// herd's reading of ssh_config held against OpenSSH's own: `ssh -G` (which resolves the config
// for a destination and prints it, touching no network) is the oracle for every host of every
// config in test/fixtures/ssh-config/. Files ssh refuses, herd refuses; deliberate differences
// are asserted as differences.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { planJobs } from '../../../src/engine/connection-plan.js';
import { loadSshConfig, settingsFor, type SshConfigFile } from '../../../src/transport/ssh-config.js';

const FIXTURES = path.resolve(__dirname, '../../fixtures/ssh-config');
// A scratch HOME whose .ssh/ holds the corpus: relative Include paths resolve in ~/.ssh for both.
const HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-sshcfg-'));
fs.cpSync(FIXTURES, path.join(HOME, '.ssh'), { recursive: true });
// ssh refuses included files writable by group or others: a checkout under umask 002 must not trip it.
for (const f of fs.readdirSync(path.join(HOME, '.ssh'), { recursive: true, encoding: 'utf8' })) {
  const p = path.join(HOME, '.ssh', f);
  fs.chmodSync(p, fs.statSync(p).isDirectory() ? 0o755 : 0o644);
}
afterAll(() => fs.rmSync(HOME, { recursive: true, force: true }));

// ~ in UserKnownHostsFile is the password-database home for ssh, $HOME only for Include globs.
const REAL_HOME = os.userInfo().homedir;
// ${VAR} in UserKnownHostsFile comes from the environment, for ssh and herd alike (percent.conf).
process.env['HERD_TEST_KH_DIR'] = '/tmp/herd-kh-env';
const LOCAL_USER = os.userInfo().username;

function sshG(file: string, host: string): { status: number; out: Map<string, string[]>; stderr: string } {
  const r = spawnSync('ssh', ['-G', '-F', file, host], { encoding: 'utf8', env: { ...process.env, HOME } });
  const out = new Map<string, string[]>();
  for (const line of r.stdout.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const k = line.slice(0, sp);
    out.set(k, [...(out.get(k) ?? []), line.slice(sp + 1)]);
  }
  return { status: r.status ?? -1, out, stderr: r.stderr };
}

/** herd's resolution, in the words `ssh -G` prints. */
function herdView(config: SshConfigFile, host: string) {
  const s = settingsFor(config, host, undefined, LOCAL_USER);
  const [job] = planJobs([{ id: host, host, groups: [] }], {
    cliUser: null,
    cliPort: null,
    cliKeys: null,
    cliConnectTimeoutS: null,
    cliHostKeyMode: null,
    cliKnownHostsPath: null,
    cliJump: null,
    localUser: LOCAL_USER,
    home: REAL_HOME,
    sshConfig: config,
  });
  return { s, job: job! };
}

const hostsOf = (file: string): string[] => /^# hosts: (.*)$/m.exec(fs.readFileSync(file, 'utf8'))![1]!.split(' ');
const one = (g: Map<string, string[]>, k: string): string => (g.get(k) ?? [''])[0]!;
const STRICT: Record<string, string> = {
  yes: 'strict',
  true: 'strict',
  ask: 'strict',
  'accept-new': 'accept-new',
  no: 'accept-new',
  false: 'accept-new',
  off: 'accept-new',
};

function compare(file: string, config: SshConfigFile, host: string): void {
  const g = sshG(file, host);
  expect(g.status, g.stderr).toBe(0);
  const { s, job } = herdView(config, host);
  const at = `${path.basename(file)} ${host}`;
  expect(job.host, `${at} hostname`).toBe(one(g.out, 'hostname'));
  expect(job.user, `${at} user`).toBe(one(g.out, 'user'));
  expect(String(job.port), `${at} port`).toBe(one(g.out, 'port'));
  if (s.identityFiles) expect(s.identityFiles, `${at} identityfile`).toEqual(g.out.get('identityfile'));
  else expect(g.out.get('identityfile')?.[0], `${at} identityfile`).toBe('~/.ssh/id_rsa');
  expect(s.proxyJump ?? '', `${at} proxyjump`).toBe(one(g.out, 'proxyjump'));
  expect(job.jump?.map((h) => h.host) ?? [], `${at} jump hops`).toHaveLength(
    s.proxyJump ? s.proxyJump.split(',').length : 0,
  );
  const timeout = one(g.out, 'connecttimeout');
  expect(
    job.connectTimeoutMs === undefined ? 'none' : String(job.connectTimeoutMs / 1000),
    `${at} connecttimeout`,
  ).toBe(timeout);
  const strict = one(g.out, 'stricthostkeychecking');
  expect(s.hostKeyMode ?? 'unset', `${at} stricthostkeychecking`).toBe(
    strict === 'ask' && !s.hostKeyMode ? 'unset' : STRICT[strict],
  );
  const user = one(g.out, 'userknownhostsfile');
  const userFiles = user === 'none' ? [] : user.split(/ (?=\/)/);
  const global = one(g.out, 'globalknownhostsfile');
  const globalFiles = global === 'none' ? [] : global.split(' ');
  expect(job.knownHosts, `${at} known hosts`).toEqual({
    files: [...userFiles, ...globalFiles],
    record: userFiles[0] ?? null,
    hash: one(g.out, 'hashknownhosts') === 'yes',
  });
  expect(job.hostKeyAlias ?? '', `${at} hostkeyalias`).toBe(one(g.out, 'hostkeyalias'));
  // Unset, ssh sends no keepalive (0) where herd keeps its own (README "Connections"): compare what the file says.
  expect(String(s.serverAliveIntervalS ?? 0), `${at} serveraliveinterval`).toBe(one(g.out, 'serveraliveinterval'));
  expect(String(s.serverAliveCountMax ?? 3), `${at} serveralivecountmax`).toBe(one(g.out, 'serveralivecountmax'));
  expect(String(s.connectionAttempts ?? 1), `${at} connectionattempts`).toBe(one(g.out, 'connectionattempts'));
  // N attempts are N - 1 retries of the job, when --connect-retries does not say otherwise.
  expect(job.connectRetries, `${at} retries`).toBe(
    s.connectionAttempts === undefined ? undefined : Number(one(g.out, 'connectionattempts')) - 1,
  );
  if (s.serverAliveIntervalS !== undefined) {
    expect(job.keepalive, `${at} keepalive`).toEqual({
      intervalMs: Number(one(g.out, 'serveraliveinterval')) * 1000,
      countMax: Number(one(g.out, 'serveralivecountmax')),
    });
  }
}

const CORPUS = fs
  .readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.conf') && /^# hosts: /m.test(fs.readFileSync(path.join(FIXTURES, f), 'utf8')));

describe('ssh_config resolved as ssh -G resolves it', () => {
  it('has a corpus', () => expect(CORPUS.length).toBeGreaterThanOrEqual(6));

  it.each(CORPUS.filter((f) => f !== 'user-with-system.conf'))(
    '%s: every listed host agrees on the destination, user, keys, jumps and trust',
    (name) => {
      const file = path.join(HOME, '.ssh', name);
      const config = loadSshConfig(file, { home: HOME })!;
      for (const host of hostsOf(file)) compare(file, config, host);
    },
  );

  it('reads /etc/ssh/ssh_config after the user file (ssh -G on the two files read one after the other)', () => {
    const user = path.join(HOME, '.ssh', 'user-with-system.conf');
    const system = path.join(HOME, '.ssh', 'system.conf');
    // ssh -F reads no system file; the same two files read in a row are the user file, then a
    // fresh active state (`Match all`), then the system file.
    const joined = path.join(HOME, 'joined.conf');
    fs.writeFileSync(joined, `${fs.readFileSync(user, 'utf8')}\nMatch all\n${fs.readFileSync(system, 'utf8')}`);
    fs.mkdirSync(path.join(HOME, 'home', '.ssh'), { recursive: true });
    fs.copyFileSync(user, path.join(HOME, 'home', '.ssh', 'config'));
    const config = loadSshConfig(undefined, { home: path.join(HOME, 'home'), systemPath: system })!;
    expect(config.config.files.map((f) => f.path)).toEqual([path.join(HOME, 'home', '.ssh', 'config'), system]);
    for (const host of hostsOf(user)) compare(joined, config, host);
    // -F replaces both files, as ssh -F does.
    expect(loadSshConfig(user, { home: path.join(HOME, 'home'), systemPath: system })!.config.files).toHaveLength(1);
  });
});

describe('files ssh refuses, herd refuses (file:line)', () => {
  it.each([
    ['an unknown keyword', 'Host a\n  User u\n  Frobnicate yes\n', 3],
    ['an unknown keyword in a block that does not apply', 'Host zzz\n  Frobnicate yes\n', 2],
    ['extra arguments', 'Host a\n  HostName one two\n', 2],
    ['an unterminated quote', 'Host a\n  User "u\n', 2],
    ['a keyword without an argument', 'Host a\n  User\n', 2],
    ['an unknown Match attribute', 'Match colour blue\n  User u\n', 1],
    ['Match all combined', 'Match all host a\n  User u\n', 1],
    ['an unknown %-escape in HostName', 'Host a\n  HostName %z.example\n', 2],
    ['a bad StrictHostKeyChecking', 'Host a\n  StrictHostKeyChecking maybe\n', 2],
    ['a bad ConnectTimeout', 'Host a\n  ConnectTimeout soon\n', 2],
    ['a bad ServerAliveInterval', 'Host a\n  ServerAliveInterval 1x\n', 2],
    ['a bad ServerAliveCountMax', 'Host a\n  ServerAliveCountMax three\n', 2],
    ['ConnectionAttempts 0', 'Host a\n  ConnectionAttempts 0\n', 2],
  ])('%s', (_what, text, line) => {
    const file = path.join(HOME, `refused-${line}-${Math.random().toString(16).slice(2)}.conf`);
    fs.writeFileSync(file, text);
    expect(sshG(file, 'a').status).not.toBe(0);
    expect(() => settingsFor(loadSshConfig(file, { home: HOME }), 'a', undefined, LOCAL_USER)).toThrow(
      `${file}:${line}:`,
    );
  });

  it('an included file writable by others, or a ~/.ssh/config writable by its group', () => {
    const file = path.join(HOME, '.ssh', 'perm.conf');
    fs.writeFileSync(file, 'Include perm-inc.conf\n');
    fs.writeFileSync(path.join(HOME, '.ssh', 'perm-inc.conf'), 'User u\n');
    fs.chmodSync(path.join(HOME, '.ssh', 'perm-inc.conf'), 0o646);
    expect(sshG(file, 'a').stderr).toMatch(/Bad owner or permissions/);
    expect(() => loadSshConfig(file, { home: HOME })).toThrow(
      `${file}:1: Include perm-inc.conf: bad owner or permissions`,
    );
    const home = path.join(HOME, 'perm-home');
    fs.mkdirSync(path.join(home, '.ssh'), { recursive: true });
    fs.writeFileSync(path.join(home, '.ssh', 'config'), 'User u\n', { mode: 0o664 });
    fs.chmodSync(path.join(home, '.ssh', 'config'), 0o664);
    expect(() => loadSshConfig(undefined, { home, systemPath: 'none' })).toThrow('bad owner or permissions');
  });

  it("an Include loop stops at OpenSSH's depth of 16, as ssh does", () => {
    const file = path.join(HOME, '.ssh', 'loop.conf');
    fs.writeFileSync(file, 'Include loop.conf\n');
    expect(sshG(file, 'a').stderr).toMatch(/Too many recursive configuration includes/);
    expect(() => loadSshConfig(file, { home: HOME })).toThrow(/too many recursive configuration includes/);
  });
});

describe('CertificateFile', () => {
  it('keeps every line that applies, in order, each file once, as ssh -G lists them; none adds nothing', () => {
    const file = path.join(HOME, 'certificates.conf');
    fs.writeFileSync(
      file,
      [
        'Host a*',
        '  CertificateFile ~/.ssh/a-cert.pub',
        '  CertificateFile /etc/ssh/%r-cert.pub',
        'Host *',
        '  CertificateFile ~/.ssh/a-cert.pub',
        '  CertificateFile none',
        '  CertificateFile ~/.ssh/all-cert.pub',
        '',
      ].join('\n'),
    );
    const config = loadSshConfig(file, { home: HOME });
    for (const host of ['ab', 'b']) {
      const g = sshG(file, host);
      expect(g.status, g.stderr).toBe(0);
      const s = settingsFor(config, host, undefined, LOCAL_USER);
      expect(s.certificateFiles ?? [], host).toEqual((g.out.get('certificatefile') ?? []).filter((f) => f !== 'none'));
    }
    const { job } = herdView(config!, 'ab');
    expect(job.certificatePaths).toEqual([
      `${REAL_HOME}/.ssh/a-cert.pub`,
      `/etc/ssh/${LOCAL_USER}-cert.pub`,
      `${REAL_HOME}/.ssh/all-cert.pub`,
    ]);
  });
});

describe('deliberate differences from ssh', () => {
  const write = (text: string): string => {
    const file = path.join(HOME, `diff-${Math.random().toString(16).slice(2)}.conf`);
    fs.writeFileSync(file, text);
    return file;
  };

  it.each([
    ['ProxyCommand', 'Host a\n  ProxyCommand nc %h %p\n', 'ProxyCommand'],
    ['CanonicalizeHostname yes', 'Host a\n  CanonicalizeHostname yes\n', 'CanonicalizeHostname'],
    ['KnownHostsCommand', 'Host a\n  KnownHostsCommand /bin/true\n', 'KnownHostsCommand'],
  ])('%s: ssh accepts it, herd refuses the hosts it applies to and names it', (_what, text, option) => {
    const file = write(text);
    expect(sshG(file, 'a').status).toBe(0);
    const config = loadSshConfig(file, { home: HOME });
    expect(() => settingsFor(config, 'a', undefined, LOCAL_USER)).toThrow(
      new RegExp(`${file}:2: ${option} applies to a`),
    );
    // Other hosts are not touched by it.
    expect(settingsFor(config, 'b', undefined, LOCAL_USER)).toEqual({});
  });

  it('CheckHostIP yes is accepted and changes nothing herd does (README "Connections": why)', () => {
    const file = write('Host a\n  CheckHostIP yes\n  HostName web.example\n');
    expect(one(sshG(file, 'a').out, 'checkhostip')).toBe('yes');
    const config = loadSshConfig(file, { home: HOME });
    expect(settingsFor(config, 'a', undefined, LOCAL_USER)).toEqual({ hostName: 'web.example' });
    const without = loadSshConfig(write('Host a\n  HostName web.example\n'), { home: HOME });
    expect(herdView(config!, 'a').job).toEqual({ ...herdView(without!, 'a').job, tag: expect.any(String) });
  });

  it('ProxyCommand none is a direct connection and is accepted; a ProxyJump written first wins over a later ProxyCommand', () => {
    const config = loadSshConfig(
      write('Host a\n  ProxyJump j\n  ProxyCommand nc %h %p\nHost b\n  ProxyCommand none\n'),
      { home: HOME },
    );
    expect(settingsFor(config, 'a', undefined, LOCAL_USER).proxyJump).toBe('j');
    expect(settingsFor(config, 'b', undefined, LOCAL_USER)).toEqual({});
  });

  it('Match exec: ssh runs the command, herd refuses the file (file:line) and runs nothing', () => {
    const marker = path.join(HOME, 'exec-ran');
    const file = write(`Host a\n  User u\nMatch exec "touch ${marker}"\n  User x\n`);
    expect(sshG(file, 'a').status).toBe(0);
    expect(fs.existsSync(marker)).toBe(true);
    fs.rmSync(marker);
    expect(() => loadSshConfig(file, { home: HOME })).toThrow(`${file}:3: Match exec is refused`);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('StrictHostKeyChecking no: ssh turns checking off, herd reads it as accept-new', () => {
    const file = write('Host a\n  StrictHostKeyChecking no\n');
    expect(one(sshG(file, 'a').out, 'stricthostkeychecking')).toBe('false');
    expect(settingsFor(loadSshConfig(file, { home: HOME }), 'a', undefined, LOCAL_USER).hostKeyMode).toBe('accept-new');
  });

  it('an unset ${VAR} in UserKnownHostsFile stops both', () => {
    const file = write('Host a\n  UserKnownHostsFile ${HERD_TEST_UNSET_VAR}/kh\n');
    delete process.env['HERD_TEST_UNSET_VAR'];
    expect(sshG(file, 'a').status).not.toBe(0);
    expect(() => herdView(loadSshConfig(file, { home: HOME })!, 'a')).toThrow(
      'environment variable ${HERD_TEST_UNSET_VAR} has no value',
    );
  });

  it('values of ignored keywords are not checked: ssh stops on Compression maybe, herd never uses it', () => {
    const file = write('Host a\n  Compression maybe\n  User u\n');
    expect(sshG(file, 'a').status).not.toBe(0);
    expect(settingsFor(loadSshConfig(file, { home: HOME }), 'a', undefined, LOCAL_USER)).toEqual({ user: 'u' });
  });

  it('an unknown %-token in UserKnownHostsFile: ssh stops, herd keeps it as written', () => {
    const file = write('Host a\n  UserKnownHostsFile /tmp/kh_%z\n');
    expect(sshG(file, 'a').status).not.toBe(0);
    expect(herdView(loadSshConfig(file, { home: HOME })!, 'a').job.knownHosts.files[0]).toBe('/tmp/kh_%z');
  });

  it('Port by service name: ssh looks it up, herd refuses it', () => {
    const file = write('Host a\n  Port ssh\n');
    expect(one(sshG(file, 'a').out, 'port')).toBe('22');
    expect(() => settingsFor(loadSshConfig(file, { home: HOME }), 'a', undefined, LOCAL_USER)).toThrow(
      `${file}:2: Port "ssh"`,
    );
  });
});

describe('generated configs, ssh -G deciding', () => {
  let n = 0;
  const write = (text: string): string => {
    const file = path.join(HOME, `gen-${n++}.conf`);
    fs.writeFileSync(file, text);
    return file;
  };
  /** What ssh says for `host`: its user, or null when it refuses the file. */
  const sshUser = (file: string, host: string): string | null => {
    const g = sshG(file, host);
    return g.status === 0 ? one(g.out, 'user') : null;
  };
  const herdUser = (file: string, host: string): string | null => {
    try {
      return herdView(loadSshConfig(file, { home: HOME })!, host).job.user;
    } catch {
      return null;
    }
  };

  it('Host patterns (*, ?, !, several words) pick the same block', () => {
    const word = fc.stringMatching(/^[ab.]{1,4}$/);
    const pattern = fc.stringMatching(/^!?[ab.*?]{1,4}$/);
    // Half the patterns are the host with a wildcard put in (`?` where no character is left, `*`...).
    const near = fc.tuple(fc.nat(4), fc.constantFrom('?', '*', '??', '!', '?*')).map(
      ([at, ins]) =>
        (host: string) =>
          ins === '!' ? `!${host}` : host.slice(0, at) + ins + host.slice(at),
    );
    fc.assert(
      fc.property(word, fc.array(pattern, { minLength: 0, maxLength: 2 }), near, (host, others, make) => {
        const patterns = [make(host), ...others];
        const file = write(`Host ${patterns.join(' ')}\n  User matched\nHost *\n  User fallback\n`);
        expect(herdUser(file, host), `${host} vs Host ${patterns.join(' ')}`).toBe(sshUser(file, host));
      }),
      { numRuns: 80 },
    );
  });

  it('Match lines (host after HostName, originalhost, user, localuser, final, canonical, all, !) apply alike', () => {
    const name = fc.constantFrom('a', 'B', 'a.x', 'b.x');
    const crit = fc
      .tuple(
        fc.boolean(),
        fc.constantFrom('host', 'originalhost', 'user', 'localuser', 'final', 'canonical'),
        fc.constantFrom('a*', '*.x', 'b.x,!a*', '?', 'A', LOCAL_USER, 'u*'),
      )
      .map(
        ([neg, attr, arg]) => `${neg ? '!' : ''}${attr}${attr === 'final' || attr === 'canonical' ? '' : ` ${arg}`}`,
      );
    fc.assert(
      fc.property(
        name,
        fc.array(crit, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.boolean(),
        (host, crits, hostName, all) => {
          const text =
            (hostName ? 'Host a* b*\n  HostName %h.x\n' : '') +
            'Host B\n  User u1\n' +
            `Match ${crits.join(' ')}\n  Port 2201\n  User matched\n` +
            (all ? 'Match all\n  Port 2202\n' : '');
          const file = write(text);
          const g = sshG(file, host);
          let herd: string;
          try {
            const { job } = herdView(loadSshConfig(file, { home: HOME })!, host);
            herd = `${job.host} ${job.user} ${job.port}`;
          } catch {
            herd = `refused`;
          }
          const ssh =
            g.status === 0 ? `${one(g.out, 'hostname')} ${one(g.out, 'user')} ${one(g.out, 'port')}` : 'refused';
          expect(herd, text).toBe(ssh);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('keyword spelling and separators (case, =, tabs, quotes around the keyword, comments) read the same', () => {
    const kw = fc.constantFrom('User', 'user', 'USER', 'uSeR', '"User"', 'Usr', 'User=');
    const sep = fc.constantFrom(' ', '=', ' = ', '\t=\t', '==', ' ==', '= ', '\t', '');
    const lead = fc.constantFrom('', '  ', '\t', ' = ');
    const tail = fc.constantFrom('', ' ', ' # c', '#c', '\t', ' x', '\r', '\f');
    fc.assert(
      fc.property(lead, kw, sep, tail, (l, k, sp, t) => {
        const file = write(`Host h\n${l}${k}${sp}val${t}\nHost *\n  User fallback\n`);
        expect(herdUser(file, 'h'), JSON.stringify(`${l}${k}${sp}val${t}`)).toBe(sshUser(file, 'h'));
      }),
      { numRuns: 80 },
    );
  });

  it('words with quotes, backslashes, # and = read the same (or are refused by both)', () => {
    const value = fc.stringMatching(/^[ab'"\\#= ]{1,8}$/).filter((v) => v.trim() !== '' && !v.startsWith(' '));
    fc.assert(
      fc.property(value, (v) => {
        const file = write(`Host h\n  User ${v}\nHost *\n  User fallback\n`);
        expect(herdUser(file, 'h'), `User ${v}`).toBe(sshUser(file, 'h'));
      }),
      { numRuns: 80 },
    );
  });
});
