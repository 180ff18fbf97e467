// Keys that sign with a key object decoded once (ssh2-sign.ts): the same signatures as ssh2's own sign(), for keys
// made by the real ssh-keygen, without decoding the PEM again at every connection; and the ssh2 internal it uses.
import { execFileSync } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ParsedKey } from 'ssh2';
import ssh2 from '../../../src/transport/ssh2.js';
import { signingOnce, verifyingFast } from '../../../src/transport/ssh2-sign.js';
import { loadPrivateKeys } from '../../../src/transport/keys.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-sign-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const require = createRequire(import.meta.url);

let made = 0;
function keygen(type: string, bits?: number): string {
  const file = path.join(dir, `${type}-${made++}`);
  const size = bits === undefined ? [] : ['-b', String(bits)];
  execFileSync('ssh-keygen', ['-q', '-t', type, ...size, '-N', '', '-f', file], { stdio: 'ignore' });
  return file;
}

function parsed(file: string): ParsedKey {
  const key = ssh2.utils.parseKey(fs.readFileSync(file));
  if (key instanceof Error || Array.isArray(key)) throw new Error(`cannot parse ${file}`);
  return key;
}

/** CPU microseconds of `n` calls. */
function cpuOf(n: number, fn: () => void): number {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

const data = Buffer.from('session id and userauth request, as ssh2 signs them');

describe('signing with a key decoded once', () => {
  it('gives the very signatures ssh2 gives for ed25519 and RSA keys, with every hash ssh2 asks for', () => {
    const ed = keygen('ed25519');
    expect(signingOnce(parsed(ed)).sign(data).equals(parsed(ed).sign(data))).toBe(true);
    const rsa = keygen('rsa', 2048);
    for (const algo of [undefined, 'sha256', 'sha512']) {
      expect(signingOnce(parsed(rsa)).sign(data, algo).equals(parsed(rsa).sign(data, algo))).toBe(true);
    }
  });

  it('gives ECDSA signatures the public key verifies (ECDSA signatures are randomised)', () => {
    const key = parsed(keygen('ecdsa', 256));
    const signature = signingOnce(key).sign(data);
    expect(key.verify(data, signature)).toBe(true);
    expect(verify('sha256', data, createPublicKey(key.getPublicPEM()), Buffer.from('not it'))).toBe(false);
  });

  it('is still the same key to ssh2: type, public blob, PEM and the parsed-key mark', () => {
    const key = parsed(keygen('ed25519'));
    const once = signingOnce(key);
    expect(once.type).toBe(key.type);
    expect(once.getPublicSSH().equals(key.getPublicSSH())).toBe(true);
    expect(once.getPrivatePEM()).toBe(key.getPrivatePEM());
    expect(once.isPrivateKey()).toBe(true);
    expect(ssh2.utils.parseKey(once as never)).toBe(once);
  });

  it('keys from loadPrivateKeys sign at a fraction of the CPU of ssh2 decoding the PEM every time', () => {
    const file = keygen('ed25519');
    const loaded = loadPrivateKeys([file], true).keys[0]!.key;
    const plain = parsed(file);
    loaded.sign(data);
    plain.sign(data);
    // Measured here: ~1.2 ms per signature from the PEM, ~0.09 ms with the decoded key. Best of three runs each,
    // interleaved, so a loaded machine slows both alike.
    let ours = Infinity;
    let theirs = Infinity;
    for (let round = 0; round < 3; round++) {
      ours = Math.min(
        ours,
        cpuOf(100, () => loaded.sign(data)),
      );
      theirs = Math.min(
        theirs,
        cpuOf(100, () => plain.sign(data)),
      );
    }
    expect(ours * 3).toBeLessThan(theirs);
  });
});

/** A host's public key as ssh2 parses one (the .pub line: the same key class and PEM as the server's blob gives). */
function hostKey(file: string): ParsedKey {
  return parsed(`${file}.pub`);
}

describe("checking a host's signature with its key imported from raw bytes", () => {
  it('accepts what the host key signed and refuses anything else, as ssh2 does', () => {
    const file = keygen('ed25519');
    const signature = parsed(file).sign(data);
    const fast = verifyingFast(hostKey(file)) as ParsedKey;
    expect(fast.verify(data, signature)).toBe(true);
    expect(hostKey(file).verify(data, signature)).toBe(true);
    expect(fast.verify(Buffer.from('another exchange hash'), signature)).toBe(false);
    const other = keygen('ed25519');
    expect((verifyingFast(hostKey(other)) as ParsedKey).verify(data, signature)).toBe(false);
  });

  it('leaves other key types, and errors, as they were', () => {
    const rsa = hostKey(keygen('rsa', 2048));
    expect(verifyingFast(rsa)).toBe(rsa);
    const err = new Error('bad key');
    expect(verifyingFast(err)).toBe(err);
  });

  it('verifies at a fraction of the CPU of decoding the PEM every time', () => {
    const file = keygen('ed25519');
    const signature = parsed(file).sign(data);
    let ours = Infinity;
    let theirs = Infinity;
    // Each connection parses its host's key (both ways alike, left out) and checks one signature with it.
    const key = hostKey(file);
    for (let round = 0; round < 3; round++) {
      ours = Math.min(
        ours,
        cpuOf(100, () => (verifyingFast(key) as ParsedKey).verify(data, signature)),
      );
      theirs = Math.min(
        theirs,
        cpuOf(100, () => key.verify(data, signature)),
      );
    }
    // Measured here: ~0.48 ms from the PEM, ~0.30 ms importing the raw key and verifying.
    expect(ours * 1.25).toBeLessThan(theirs);
  });
});

describe('the ssh2 internal signingOnce relies on', () => {
  it('keyParser.js signs with the PEM it keeps under the "Private key PEM" symbol, read from `this`', () => {
    const source = fs.readFileSync(path.join(path.dirname(require.resolve('ssh2')), 'protocol/keyParser.js'), 'utf8');
    expect(source).toContain("const SYM_PRIV_PEM = Symbol('Private key PEM');");
    const sign = source.slice(source.indexOf('const BaseKey = {'), source.indexOf('verify: (() => {'));
    expect(sign.match(/const pem = this\[SYM_PRIV_PEM\];/g)).toHaveLength(2);
    expect(sign).toContain('return sign_(algo, data, pem);');
    expect(source).toContain("const SYM_PUB_PEM = Symbol('Public key PEM');");
    const verify = source.slice(source.indexOf('verify: (() => {'), source.indexOf('isPrivateKey() {'));
    expect(verify.match(/const pem = this\[SYM_PUB_PEM\];/g)).toHaveLength(2);
    expect(verify).toContain('return verify_(algo, data, pem, signature);');
  });
});
