// Certificates made by the real ssh-keygen, judged by host-cert.ts as ssh 9.2 judges them.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  certifiedKey,
  parseCertificate,
  verifyHostCertificate,
  type HostCertVerdict,
} from '../../../src/transport/host-cert.js';
import { entriesFor, parseKnownHosts } from '../../../src/transport/known-hosts.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-host-cert-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let serial = 0;
function keygen(type: string, bits?: number): string {
  const file = path.join(dir, `k${serial++}`);
  const size = bits ? ['-b', String(bits)] : [];
  execFileSync('ssh-keygen', ['-q', '-t', type, ...size, '-N', '', '-C', '', '-f', file], { stdio: 'ignore' });
  return file;
}
const pubLine = (file: string): string =>
  fs.readFileSync(`${file}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
const blobOf = (line: string): Buffer => Buffer.from(line.split(' ')[1]!, 'base64');

/** ssh-keygen -s CA ... KEY.pub; returns the certificate blob. */
function sign(ca: string, key: string, args: string[]): Buffer {
  const copy = path.join(dir, `c${serial++}`);
  fs.copyFileSync(`${key}.pub`, `${copy}.pub`);
  execFileSync('ssh-keygen', ['-q', '-s', ca, '-I', 'test-id', ...args, `${copy}.pub`], { stdio: 'ignore' });
  return blobOf(fs.readFileSync(`${copy}-cert.pub`, 'utf8'));
}

const ca = keygen('ed25519');
const otherCa = keygen('ed25519');
const host = keygen('ed25519');
const NAME = 'web01.example';

function judge(known: string, cert: Buffer, name = NAME, port = 22): HostCertVerdict {
  return verifyHostCertificate(entriesFor(parseKnownHosts(known, 'kh'), name, port), cert, name);
}
const caLine = (pattern = '*', key = ca): string => `@cert-authority ${pattern} ${pubLine(key)}\n`;

describe('parseCertificate', () => {
  it('reads what ssh-keygen wrote: type, key, serial, principals, validity, CA', () => {
    const blob = sign(ca, host, ['-h', '-n', 'a,b', '-z', '42', '-V', '20200101:20300101']);
    const cert = parseCertificate(blob);
    expect(cert.certType).toBe('ssh-ed25519-cert-v01@openssh.com');
    expect(cert.publicKey.equals(blobOf(pubLine(host)))).toBe(true);
    expect(cert.serial).toBe(42n);
    expect(cert.kind).toBe('host');
    expect(cert.keyId).toBe('test-id');
    expect(cert.principals).toEqual(['a', 'b']);
    expect(cert.validAfter).toBe(
      BigInt(Date.UTC(2020, 0, 1) / 1000) + BigInt(new Date(2020, 0, 1).getTimezoneOffset() * 60),
    );
    expect(cert.caKey.equals(blobOf(pubLine(ca)))).toBe(true);
    expect(cert.signatureAlgorithm).toBe('ssh-ed25519');
  });

  it.each([
    ['ecdsa', 256, 'ecdsa-sha2-nistp256'],
    ['ecdsa', 384, 'ecdsa-sha2-nistp384'],
    ['ecdsa', 521, 'ecdsa-sha2-nistp521'],
    ['rsa', 2048, 'rsa-sha2-512'],
  ])('verifies a %s-%d CA signature', (type, bits, alg) => {
    const typedCa = keygen(type, bits);
    const cert = parseCertificate(sign(typedCa, host, ['-h', '-n', NAME]));
    expect(cert.signatureAlgorithm).toBe(alg);
  });

  it.each([
    ['ecdsa', 256],
    ['ecdsa', 384],
    ['ecdsa', 521],
    ['rsa', 3072],
  ])('reads the certified %s-%d key', (type, bits) => {
    const key = keygen(type, bits);
    const blob = sign(ca, key, ['-h', '-n', NAME]);
    expect(certifiedKey(blob).equals(blobOf(pubLine(key)))).toBe(true);
    expect(parseCertificate(blob).publicKey.equals(blobOf(pubLine(key)))).toBe(true);
  });

  it('refuses a certificate whose signed bytes were changed (one principal byte flipped)', () => {
    const blob = Buffer.from(sign(ca, host, ['-h', '-n', 'web01.example']));
    const at = blob.indexOf('web01.example');
    blob[at] = 'x'.charCodeAt(0);
    expect(() => parseCertificate(blob)).toThrow(/signature does not verify/);
  });

  it('refuses truncated and padded blobs', () => {
    const blob = sign(ca, host, ['-h']);
    expect(() => parseCertificate(blob.subarray(0, blob.length - 1))).toThrow(/truncated/);
    expect(() => parseCertificate(Buffer.concat([blob, Buffer.alloc(1)]))).toThrow(/trailing/);
  });
});

describe('verifyHostCertificate', () => {
  const valid = sign(ca, host, ['-h', '-n', `${NAME},other`]);

  it('accepts a host certificate by a trusted CA that lists the name', () => {
    expect(judge(caLine(), valid)).toMatchObject({ kind: 'valid', where: 'kh:1' });
    expect(judge(caLine('*.example'), valid)).toMatchObject({ kind: 'valid' });
  });

  it('looks the CA up under [host]:port, then the bare name, as ssh does; principals name the host alone', () => {
    const cert = sign(ca, host, ['-h', '-n', NAME]);
    const known = `@cert-authority [${NAME}]:2222 ${pubLine(ca)}\n`;
    const entries = entriesFor(parseKnownHosts(known, 'kh'), NAME, 2222);
    expect(verifyHostCertificate(entries, cert, NAME)).toMatchObject({ kind: 'valid' });
    const bare = entriesFor(parseKnownHosts(caLine(NAME), 'kh'), NAME, 2222);
    expect(verifyHostCertificate(bare, cert, NAME)).toMatchObject({ kind: 'valid' });
  });

  it('refuses a CA line for another host, and a CA line holding another key', () => {
    expect(judge(caLine('db*'), valid)).toMatchObject({ kind: 'invalid', why: expect.stringMatching(/no @cert/) });
    expect(judge(caLine('*', otherCa), valid)).toMatchObject({
      kind: 'invalid',
      why: expect.stringMatching(/names another CA/),
      publicKey: blobOf(pubLine(host)),
    });
  });

  it('refuses a user certificate presented as a host certificate', () => {
    const user = sign(ca, host, ['-n', NAME]);
    expect(judge(caLine(), user)).toMatchObject({ kind: 'invalid', why: expect.stringMatching(/not a host cert/) });
  });

  it('refuses a name the principals do not list (exact, case-sensitive), accepts an empty list as 9.2 does', () => {
    expect(judge(caLine(), valid, 'web02.example')).toMatchObject({ why: expect.stringMatching(/principals/) });
    const upper = sign(ca, host, ['-h', '-n', 'WEB01.example']);
    expect(judge(caLine(), upper)).toMatchObject({ kind: 'invalid' });
    expect(judge(caLine(), sign(ca, host, ['-h']))).toMatchObject({ kind: 'valid' });
  });

  it('refuses outside the validity window', () => {
    const expired = sign(ca, host, ['-h', '-n', NAME, '-V', '-2d:-1d']);
    const future = sign(ca, host, ['-h', '-n', NAME, '-V', '+1d:+2d']);
    expect(judge(caLine(), expired)).toMatchObject({ why: expect.stringMatching(/expired/) });
    expect(judge(caLine(), future)).toMatchObject({ why: expect.stringMatching(/not yet valid/) });
    const window = parseCertificate(expired);
    const inside = verifyHostCertificate(
      entriesFor(parseKnownHosts(caLine(), 'kh'), NAME, 22),
      expired,
      NAME,
      window.validAfter,
    );
    expect(inside).toMatchObject({ kind: 'valid' });
  });

  it('refuses critical options (none is defined for host certificates)', () => {
    const crit = sign(ca, host, ['-h', '-n', NAME, '-O', 'force-command=/bin/true']);
    expect(judge(caLine(), crit)).toMatchObject({ why: expect.stringMatching(/critical options \(force-command\)/) });
  });

  it('refuses a CA or a host key under @revoked', () => {
    expect(judge(`${caLine()}@revoked * ${pubLine(ca)}\n`, valid)).toEqual({
      kind: 'revoked',
      where: 'kh:2',
      what: 'CA key',
    });
    expect(judge(`${caLine()}@revoked * ${pubLine(host)}\n`, valid)).toMatchObject({
      kind: 'revoked',
      what: 'host key',
    });
  });

  it('refuses a CA signature made with SHA-1 (ssh-rsa), outside CASignatureAlgorithms', () => {
    const rsaCa = keygen('rsa', 2048);
    const sha1 = sign(rsaCa, host, ['-h', '-n', NAME, '-t', 'ssh-rsa']);
    expect(judge(caLine('*', rsaCa), sha1)).toMatchObject({
      why: expect.stringMatching(/disallowed algorithm ssh-rsa/),
    });
  });

  it('refuses a blob it cannot read, with no key to fall back on', () => {
    expect(judge(caLine(), Buffer.from('junk'))).toMatchObject({ kind: 'invalid', publicKey: null });
  });
});
