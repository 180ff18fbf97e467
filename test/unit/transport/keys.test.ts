// Keys and the user certificates beside them or named by CertificateFile, made by the real ssh-keygen.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPrivateKeys, readCertificateFile, withCertificateFiles } from '../../../src/transport/keys.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-keys-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function keygen(name: string): string {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file], { stdio: 'ignore' });
  return file;
}
const ca = keygen('ca');
const sign = (key: string): void => {
  execFileSync('ssh-keygen', ['-q', '-s', ca, '-I', 'id', '-n', 'u', `${key}.pub`], { stdio: 'ignore' });
};
const blob = (file: string): Buffer => Buffer.from(fs.readFileSync(file, 'utf8').split(' ')[1]!, 'base64');

describe('user certificates beside keys', () => {
  it('loads KEY-cert.pub with its key; a key without one has none', () => {
    const withCert = keygen('with');
    const plain = keygen('plain');
    sign(withCert);
    const { keys, problems } = loadPrivateKeys([withCert, plain], true);
    expect(problems).toEqual([]);
    expect(keys[0]!.certificate?.equals(blob(`${withCert}-cert.pub`))).toBe(true);
    expect(keys[1]!.certificate).toBeUndefined();
  });

  it('a certificate of another key beside a -k key is a problem naming both files; beside a default key, skipped', () => {
    const key = keygen('mismatch');
    const other = keygen('other');
    sign(other);
    fs.renameSync(`${other}-cert.pub`, `${key}-cert.pub`);
    const explicit = loadPrivateKeys([key], true);
    expect(explicit.problems).toEqual([
      `certificate ${key}-cert.pub cannot be used with key ${key}: it certifies another key`,
    ]);
    const quiet = loadPrivateKeys([key], false);
    expect(quiet.problems).toEqual([]);
    expect(quiet.keys[0]!.certificate).toBeUndefined();
  });

  it('a file that is not a certificate line is refused by name; a missing one is null', () => {
    const junk = path.join(dir, 'junk-cert.pub');
    fs.writeFileSync(junk, fs.readFileSync(`${ca}.pub`));
    expect(readCertificateFile(junk)).toMatch(/is not an OpenSSH certificate line/);
    expect(readCertificateFile(path.join(dir, 'absent'))).toBeNull();
  });

  it('CertificateFile: each key takes the certificate that certifies it, and only that one', () => {
    const a = keygen('cf-a');
    const b = keygen('cf-b');
    sign(a);
    const cert = blob(`${a}-cert.pub`);
    fs.renameSync(`${a}-cert.pub`, path.join(dir, 'elsewhere.pub'));
    const { keys } = loadPrivateKeys([a, b], true);
    const paired = withCertificateFiles(keys, [cert]);
    expect(paired[0]!.certificate?.equals(cert)).toBe(true);
    expect(paired[1]!.certificate).toBeUndefined();
  });
});
