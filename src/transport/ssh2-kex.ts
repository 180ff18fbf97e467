// ssh2's curve25519 key exchange moves keys through DER: it generates its key pair with generateKeyPairSync, exports
// the public key as SPKI DER (twice an exchange) to take the last 32 bytes, and wraps the host's 32 bytes in SPKI DER
// for OpenSSL's decoders. OpenSSL 3's DER encoders and decoders are slow (an export ~130 us, an import ~150 us here):
// with the key made from 32 random bytes, its public half computed as X25519 with the base point (RFC 7748: what
// the public key is), and the host's 32 raw bytes imported as a JWK, an exchange needs neither. The first curve25519
// exchange seen (ssh2-certs.ts watches every one) gets its class's three methods replaced; anything unexpected falls
// back to ssh2's own. Imports nothing of ssh2's (it is called while ssh2 runs).
import { createPrivateKey, createPublicKey, diffieHellman, randomBytes, type KeyObject } from 'node:crypto';

interface Curve25519Exchange {
  type?: unknown;
  _keys: { publicKey: KeyObject; privateKey: KeyObject } | null;
  generateKeys(): void;
  getPublicKey(): Buffer;
  computeSecret(otherPublicKey: Buffer): Buffer | Error;
}

const RAW_KEY_BYTES = 32;
/** Each exchange's own public key, as the 32 bytes the exchange sends. */
const rawPublicKeys = new WeakMap<object, Buffer>();
let basePointKey: KeyObject | undefined;
/** X25519's base point, u = 9: X25519(k, 9) is the public key of k (RFC 7748 section 6.1). */
function basePoint(): KeyObject {
  if (basePointKey) return basePointKey;
  const u = Buffer.alloc(RAW_KEY_BYTES);
  u[0] = 9;
  return (basePointKey = createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: u.toString('base64url') },
    format: 'jwk',
  }));
}
const patched = new WeakSet<object>();
/** Exchanges seen, and whether one of them was curve25519 (its class is patched: no need to watch any more). */
let seen = 0;
let curve25519Patched = false;
/** A process whose peers never choose curve25519 stops watching after this many exchanges. */
const WATCH_EXCHANGES = 32;

/**
 * Whether a new connection should still be watched (ssh2-certs.ts extendClient): ssh2 keeps its exchange classes out
 * of reach, so the first curve25519 exchange of the process is where the class is found.
 */
export function watchingForCurve25519(): boolean {
  return !curve25519Patched && seen < WATCH_EXCHANGES;
}

/** An exchange of ssh2's: when it is curve25519, its class's secret takes the host's key without DER from now on. */
export function fasterCurve25519(kex: unknown): void {
  const exchange = kex as Partial<Curve25519Exchange> | null;
  if (!exchange) return;
  seen++;
  if (exchange.type !== '25519') return;
  const proto = Object.getPrototypeOf(exchange) as Curve25519Exchange;
  if (patched.has(proto)) return;
  if (typeof proto.computeSecret !== 'function') return;
  if (typeof proto.generateKeys !== 'function') return;
  patched.add(proto);
  curve25519Patched = true;
  // No key is exported at all, in any format: exporting a generated key as JWK can deadlock on Node 20 (ExportJWKEdKey
  // allocates under the key's mutex; a collection there destroys the KeyGenJob that made the key, which takes the
  // same mutex): a worker froze so in CI. An imported key has no KeyGenJob, and X25519 with the base point exports
  // nothing.
  const { computeSecret, generateKeys, getPublicKey } = proto;
  proto.generateKeys = function (this: Curve25519Exchange): void {
    if (this._keys) return;
    try {
      const d = randomBytes(RAW_KEY_BYTES).toString('base64url');
      // Node reads a private OKP key from d alone; x must be a string, and the real one is what is computed next.
      const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: d }, format: 'jwk' });
      const raw = diffieHellman({ privateKey, publicKey: basePoint() });
      if (raw.length !== RAW_KEY_BYTES) throw new Error('unexpected X25519 public key length');
      rawPublicKeys.set(this, raw);
      let publicKey: KeyObject | undefined;
      this._keys = {
        privateKey,
        // ssh2's own methods, should one of them run, read it; none of ours does.
        get publicKey(): KeyObject {
          return (publicKey ??= createPublicKey(privateKey));
        },
      };
    } catch {
      generateKeys.call(this);
    }
  };
  proto.getPublicKey = function (this: Curve25519Exchange): Buffer {
    this.generateKeys();
    return rawPublicKeys.get(this) ?? getPublicKey.call(this);
  };
  proto.computeSecret = function (this: Curve25519Exchange, otherPublicKey: Buffer): Buffer | Error {
    this.generateKeys();
    if (!Buffer.isBuffer(otherPublicKey) || otherPublicKey.length !== RAW_KEY_BYTES || !this._keys)
      return computeSecret.call(this, otherPublicKey);
    try {
      const publicKey = createPublicKey({
        key: { kty: 'OKP', crv: 'X25519', x: otherPublicKey.toString('base64url') },
        format: 'jwk',
      });
      return toMpint(diffieHellman({ privateKey: this._keys.privateKey, publicKey }));
    } catch {
      // ssh2's own path says what is wrong with the key, as it always did.
      return computeSecret.call(this, otherPublicKey);
    }
  };
}

/** kex.js convertToMpint: no leading zero bytes, and one 0x00 before a high first bit (an SSH mpint's body). */
export function toMpint(buf: Buffer): Buffer {
  let start = 0;
  while (start < buf.length && buf[start] === 0x00) start++;
  const body = buf.subarray(start);
  if (body.length > 0 && (body[0]! & 0x80) !== 0) return Buffer.concat([Buffer.from([0]), body]);
  return start === 0 ? buf : Buffer.from(body);
}
