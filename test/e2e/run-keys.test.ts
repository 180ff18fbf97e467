// Encrypted private keys: the passphrase comes from an environment variable (or a prompt), never
// argv, and a key that cannot be decrypted stops the run before any host is touched.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();
const PASSPHRASE = 'correct horse 7 battery';
let keyPath = '';

beforeAll(() => {
  keyPath = path.join(scratchDir('herd-enckey-'), 'id_enc');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', PASSPHRASE, '-C', 'herd-test-encrypted', '-f', keyPath]);
  fs.appendFileSync(path.join(scope.fleet.dir, 'authorized_keys'), fs.readFileSync(`${keyPath}.pub`));
});

function args(inv: string, ...extra: string[]): string[] {
  return [
    'run',
    '-i',
    inv,
    '-u',
    scope.fleet.user,
    '-p',
    String(scope.fleet.port),
    '-k',
    keyPath,
    '--known-hosts',
    path.join(scope.home, 'kh'),
    '-o',
    path.join(scope.home, 'runs'),
    ...extra,
  ];
}

/** Every file under dir, read as text. */
function allText(dir: string): string {
  return fs
    .readdirSync(dir, { recursive: true })
    .map((f) => path.join(dir, String(f)))
    .filter((f) => fs.statSync(f).isFile())
    .map((f) => fs.readFileSync(f, 'utf8'))
    .join('\n');
}

describe('encrypted private keys', () => {
  it('logs in with the passphrase from --key-passphrase-env, which appears nowhere in the run directory', async () => {
    const hosts = scope.fleet.hosts(3, 2100);
    const inv = path.join(scope.home, 'enc.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const result = await runHerd(args(inv, '--key-passphrase-env', 'HERD_TEST_KP', 'echo in'), {
      env: { HOME: scope.home, HERD_TEST_KP: PASSPHRASE },
    });
    expect(result.stderr).toContain('3 hosts: 3 ok');
    const dir = runDirOf(result);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')).options.key_passphrase_source).toBe(
      'env:HERD_TEST_KP',
    );
    expect(allText(dir)).not.toContain(PASSPHRASE);
    expect(result.stderr + result.stdout).not.toContain(PASSPHRASE);
  });

  it('without a passphrase, or with a wrong one, stops before touching any host (exit 2, a clear reason)', async () => {
    const [host] = scope.fleet.hosts(1, 2110);
    const inv = path.join(scope.home, 'enc-bad.txt');
    fs.writeFileSync(inv, `${host}\n`);
    const marker = path.join(scratchDir('herd-enc-marker-'), 'touched');
    const command = `touch ${marker}`;

    const none = await runHerd(args(inv, command), { env: { HOME: scope.home } });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`key ${keyPath} is encrypted and no passphrase was given`);

    const wrong = await runHerd(args(inv, '--key-passphrase-env', 'HERD_TEST_KP', command), {
      env: { HOME: scope.home, HERD_TEST_KP: 'not it' },
    });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`cannot decrypt key ${keyPath}: wrong passphrase`);
    expect(wrong.stderr).not.toContain('not it');

    const unset = await runHerd(args(inv, '--key-passphrase-env', 'HERD_TEST_UNSET', command), {
      env: { HOME: scope.home },
    });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain(
      '--key-passphrase-env HERD_TEST_UNSET: environment variable HERD_TEST_UNSET is not set or empty',
    );
    expect(fs.existsSync(marker)).toBe(false);
  });
});
