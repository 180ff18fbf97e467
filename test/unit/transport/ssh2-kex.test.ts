// curve25519 without DER (ssh2-kex.ts): the replaced methods give exactly what ssh2's own give, at a fraction of the
// CPU, and the kex.js code they replace is pinned. The real sshd of the e2e suite is the interoperability oracle.
import { createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fasterCurve25519, toMpint } from '../../../src/transport/ssh2-kex.js';

const require = createRequire(import.meta.url);
const kexSource = fs.readFileSync(path.join(path.dirname(require.resolve('ssh2')), 'protocol/kex.js'), 'utf8');

/** The DER way, as kex.js 1.17 does it (its convertToMpint is toMpint's reference below). */
class DerExchange {
  type = '25519';
  _keys: { publicKey: KeyObject; privateKey: KeyObject } | null = null;
  generateKeys(): void {
    if (!this._keys) this._keys = generateKeyPairSync('x25519');
  }
  getPublicKey(): Buffer {
    this.generateKeys();
    return this._keys!.publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
  }
  computeSecret(other: Buffer): Buffer | Error {
    this.generateKeys();
    try {
      const der = Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), other]);
      const publicKey = createPublicKey({ key: der, type: 'spki', format: 'der' });
      return convertToMpint(diffieHellman({ privateKey: this._keys!.privateKey, publicKey }));
    } catch (err) {
      return err as Error;
    }
  }
}

/** kex.js's convertToMpint, verbatim in behaviour. */
function convertToMpint(buf: Buffer): Buffer {
  let idx = 0;
  let length = buf.length;
  while (buf[idx] === 0x00) {
    ++idx;
    --length;
  }
  if (buf[idx]! & 0x80) {
    const b = Buffer.allocUnsafe(1 + length);
    b[0] = 0;
    buf.copy(b, 1, idx);
    return b;
  }
  if (length !== buf.length) {
    const b = Buffer.allocUnsafe(length);
    buf.copy(b, 0, idx);
    return b;
  }
  return buf;
}

function cpuOf(n: number, fn: () => void): number {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

/** The format of every public key export `fn` makes (PublicKeyObject has its own export: that one is watched). */
function exportsDuring(fn: () => void): unknown[] {
  const exported: unknown[] = [];
  const proto = Object.getPrototypeOf(generateKeyPairSync('x25519').publicKey) as KeyObject;
  const { export: plain } = proto;
  proto.export = function (this: KeyObject, options?: unknown): unknown {
    exported.push((options as { format?: string } | undefined)?.format);
    return (plain as (o?: unknown) => unknown).call(this, options);
  } as typeof plain;
  try {
    fn();
  } finally {
    proto.export = plain;
  }
  return exported;
}

describe('curve25519 without DER', () => {
  class Patched extends DerExchange {}
  fasterCurve25519(new Patched());

  it('gives the same public key bytes and the same shared secret as the DER way', () => {
    for (let i = 0; i < 50; i++) {
      const ours = new Patched();
      const reference = Object.assign(new DerExchange(), { _keys: (ours.generateKeys(), ours._keys) });
      expect(ours.getPublicKey().equals(reference.getPublicKey())).toBe(true);
      const peer = new DerExchange().getPublicKey();
      expect((ours.computeSecret(peer) as Buffer).equals(reference.computeSecret(peer) as Buffer)).toBe(true);
    }
  });

  it('never exports a generated key as JWK: on Node 20 that can deadlock the worker', () => {
    // KeyObjectHandle::ExportJWK (ExportJWKEdKey) allocates V8 strings while holding the key's mutex; a garbage
    // collection there destroys the KeyGenJob that made the key, whose destructor takes the same mutex. A CI run
    // caught a worker frozen so (gdb: ~KeyGenJob under ExportJWKEdKey, the 20 hosts it had stayed 'connecting').
    const exported = exportsDuring(() => {
      const ours = new Patched();
      ours.getPublicKey();
      ours.computeSecret(new DerExchange().getPublicKey());
    });
    expect(exported).not.toContain('jwk');
  });

  it('exports no key and generates none through a KeyGenJob: the public key is X25519 with the base point', () => {
    // OpenSSL 3's SPKI DER export was ~130 us, twice an exchange; generateKeyPairSync's KeyGenJob is what the JWK
    // deadlock above needs.
    const ours = new Patched();
    const exported = exportsDuring(() => {
      ours.getPublicKey();
      ours.getPublicKey();
      ours.computeSecret(new DerExchange().getPublicKey());
    });
    expect(exported).toEqual(['der']); // the DerExchange peer's own, nothing of ours
    expect(Patched.prototype.generateKeys).not.toBe(DerExchange.prototype.generateKeys);
  });

  it("falls back to ssh2's own answer for a peer key that is not 32 bytes", () => {
    const result = new Patched().computeSecret(Buffer.alloc(31, 1));
    expect(result).toBeInstanceOf(Error);
  });

  it('costs less than the DER way per exchange', () => {
    const peer = new DerExchange().getPublicKey();
    const once = (e: DerExchange): void => {
      e.getPublicKey();
      e.computeSecret(peer);
    };
    let ours = Infinity;
    let theirs = Infinity;
    for (let round = 0; round < 3; round++) {
      ours = Math.min(
        ours,
        cpuOf(100, () => once(new Patched())),
      );
      theirs = Math.min(
        theirs,
        cpuOf(100, () => once(new DerExchange())),
      );
    }
    // Key generation, our key's DER export and the Diffie-Hellman itself stay; the host key's DER decode goes
    // (measured here: 0.71x the DER way).
    expect(ours).toBeLessThan(theirs);
  });

  it('toMpint is convertToMpint: leading zeros dropped, a zero before a high bit', () => {
    for (const hex of ['00', '0000ff01', '7f00', '80', '000080', '0102', '']) {
      expect(toMpint(Buffer.from(hex, 'hex')).toString('hex')).toBe(
        convertToMpint(Buffer.from(hex, 'hex')).toString('hex'),
      );
    }
  });

  it('leaves any other exchange alone', () => {
    const other = { type: 'ecdh', getPublicKey: () => Buffer.alloc(1), computeSecret: () => Buffer.alloc(1) };
    fasterCurve25519(other);
    expect(other.getPublicKey().length).toBe(1);
  });
});

describe('the kex.js code the replaced methods stand for', () => {
  it('curve25519 keys go through SPKI DER both ways, and the secret through convertToMpint', () => {
    const start = kexSource.indexOf("this.type = '25519';");
    const body = kexSource.slice(start, kexSource.indexOf('class ECDHExchange', start));
    expect(start).toBeGreaterThan(0);
    expect(body).toContain("this._keys = generateKeyPairSync('x25519');");
    expect(body).toContain("const key = this._keys.publicKey.export({ type: 'spki', format: 'der' });");
    expect(body).toContain('return key.slice(-32); // HACK: avoids parsing DER/BER header');
    expect(body).toContain("asnWriter.writeOID('1.3.101.110'); // id-X25519");
    expect(body).toContain('return convertToMpint(diffieHellman({');
    expect(kexSource).toContain('let secret = this.computeSecret(this._dhData);');
  });
});
