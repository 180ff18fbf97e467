// User certificates held against OpenSSH's own client: sshd trusts a user CA (TrustedUserCAKeys) and none of the
// keys below is in authorized_keys, so only a certificate can log in. `ssh -i KEY` offers KEY-cert.pub beside the
// key; herd's `-k KEY` must do the same and reach the same verdict.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../fleet/fleet.js';
import { readHostsTsv, removeScratchDirs, runDirOf, runHerd, scratchDir } from './herd-cli.js';

const run = promisify(execFile);

interface Case {
  name: string;
  type: 'ed25519' | 'ecdsa' | 'rsa';
  /** ssh-keygen -s arguments after the CA (none: no certificate beside the key). */
  sign?: (user: string) => string[];
}

const CASES: Case[] = [
  { name: 'ed25519 key with a certificate for the user', type: 'ed25519', sign: (u) => ['-n', u] },
  { name: 'ecdsa key with a certificate for the user', type: 'ecdsa', sign: (u) => ['-n', u] },
  { name: 'rsa key with a certificate for the user (rsa-sha2-512-cert-v01)', type: 'rsa', sign: (u) => ['-n', u] },
  { name: 'certificate for another user', type: 'ed25519', sign: () => ['-n', 'somebody-else'] },
  { name: 'expired certificate', type: 'ed25519', sign: (u) => ['-n', u, '-V', '-2d:-1d'] },
  { name: 'host certificate beside a user key', type: 'ed25519', sign: (u) => ['-h', '-n', u] },
  { name: 'no certificate (the key alone is not authorized)', type: 'ed25519' },
];

describe('user certificates (KEY-cert.pub beside -k KEY) against OpenSSH 9.2', () => {
  let fleet: Fleet;
  let root: string;
  const verdicts = new Map<string, { ssh: boolean; herd: string; reason: string }>();

  beforeAll(async () => {
    root = scratchDir('herd-user-cert-');
    const ca = path.join(root, 'user-ca');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', ca]);
    fleet = await startFleet({ extraConfig: [`TrustedUserCAKeys ${ca}.pub`] });
    const results = CASES.map(async (c, i) => {
      const key = path.join(root, `key${i}`);
      execFileSync('ssh-keygen', ['-q', '-t', c.type, '-N', '', '-f', key]);
      if (c.sign) execFileSync('ssh-keygen', ['-q', '-s', ca, '-I', `case${i}`, ...c.sign(fleet.user), `${key}.pub`]);
      const sshArgs = ['-F', 'none', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no'];
      sshArgs.push('-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none');
      sshArgs.push('-i', key, '-p', String(fleet.port), `${fleet.user}@127.0.0.1`, 'true');
      const env: NodeJS.ProcessEnv = { ...process.env, HOME: root };
      delete env.SSH_AUTH_SOCK;
      const ssh = await run('ssh', sshArgs, { env, timeout: 60_000 }).then(
        () => true,
        (err: { stderr: string }) => {
          if (!/Permission denied/.test(err.stderr)) throw new Error(`ssh: ${err.stderr}`);
          return false;
        },
      );
      const inv = path.join(root, `inv${i}`);
      fs.writeFileSync(inv, '127.0.0.1\n');
      const args = ['run', '-i', inv, '-F', 'none', '-u', fleet.user, '-p', String(fleet.port), '-k', key];
      args.push('--host-key-checking', 'off', '-o', path.join(root, `runs${i}`), 'true');
      const result = await runHerd(args, { env: { HOME: root } });
      const row = readHostsTsv(runDirOf(result)).get('127.0.0.1')!;
      verdicts.set(c.name, { ssh, herd: row.status, reason: row.reason });
    });
    await Promise.all(results);
  }, 180_000);

  afterAll(async () => {
    await fleet?.stop();
    removeScratchDirs();
  });

  for (const c of CASES) {
    it(c.name, () => {
      const v = verdicts.get(c.name)!;
      expect(v.herd, v.reason).toBe(v.ssh ? 'ok' : 'auth_failed');
    });
  }

  it('the valid certificates log in and the others do not, for ssh as for herd', () => {
    expect(CASES.filter((c) => verdicts.get(c.name)!.ssh).map((c) => c.type)).toEqual(['ed25519', 'ecdsa', 'rsa']);
  });

  it('CertificateFile in ssh_config: the certificate kept elsewhere is offered with its key, by ssh as by herd', async () => {
    const key = path.join(root, 'cf-key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    execFileSync('ssh-keygen', ['-q', '-s', path.join(root, 'user-ca'), '-I', 'cf', '-n', fleet.user, `${key}.pub`]);
    const certs = path.join(root, 'certs');
    fs.mkdirSync(certs);
    fs.renameSync(`${key}-cert.pub`, path.join(certs, 'mine.pub'));
    const config = path.join(root, 'cf_config');
    const lines = [
      'Host target',
      '  HostName 127.0.0.1',
      `  Port ${fleet.port}`,
      `  User ${fleet.user}`,
      `  IdentityFile ${key}`,
      `  CertificateFile ${path.join(certs, 'absent.pub')}`,
      `  CertificateFile ${path.join(certs, 'mine.pub')}`,
      '  IdentitiesOnly yes',
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile /dev/null',
      '',
    ];
    fs.writeFileSync(config, lines.join('\n'));
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: root };
    delete env.SSH_AUTH_SOCK;
    await run('ssh', ['-F', config, '-o', 'BatchMode=yes', 'target', 'true'], { env });
    const inv = path.join(root, 'inv-cf');
    fs.writeFileSync(inv, 'target\n');
    const args = [
      'run',
      '-i',
      inv,
      '-F',
      config,
      '--host-key-checking',
      'off',
      '-o',
      path.join(root, 'runs-cf'),
      'true',
    ];
    const result = await runHerd(args, { env: { HOME: root } });
    expect(readHostsTsv(runDirOf(result)).get('target')).toMatchObject({ status: 'ok' });
    // Without the CertificateFile line the key alone is refused: the certificate is what logged in.
    fs.writeFileSync(config, lines.filter((l) => !l.includes('mine.pub')).join('\n'));
    const without = await runHerd([...args.slice(0, -3), path.join(root, 'runs-cf2'), 'true'], { env: { HOME: root } });
    expect(readHostsTsv(runDirOf(without)).get('target')).toMatchObject({ status: 'auth_failed' });
  });

  it('a certificate beside -k KEY that certifies another key stops the run before any host is contacted', async () => {
    const key = path.join(root, 'mismatch');
    const other = path.join(root, 'other');
    for (const k of [key, other]) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k]);
    execFileSync('ssh-keygen', ['-q', '-s', path.join(root, 'user-ca'), '-I', 'x', '-n', fleet.user, `${other}.pub`]);
    fs.renameSync(`${other}-cert.pub`, `${key}-cert.pub`);
    const inv = path.join(root, 'inv-mismatch');
    fs.writeFileSync(inv, '127.0.0.1\n');
    const args = ['run', '-i', inv, '-F', 'none', '-u', fleet.user, '-p', String(fleet.port), '-k', key];
    const result = await runHerd([...args, '-o', path.join(root, 'runs-mismatch'), 'true'], { env: { HOME: root } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `certificate ${key}-cert.pub cannot be used with key ${key}: it certifies another key`,
    );
  });
});
