// ssh2's curve25519 key exchange moves keys through DER: it exports its public key as SPKI DER to take the last 32
// bytes, and wraps the host's 32 bytes in SPKI DER for OpenSSL's decoders. Importing the host's 32 raw bytes as a
// JWK needs no DER decoder; the export of our own key stays ssh2's (see below why). The first curve25519 exchange seen
// (ssh2-certs.ts watches every one) gets its class's two methods replaced; anything unexpected falls back to
// ssh2's own. Imports nothing of ssh2's (it is called while ssh2 runs).
import { createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';

interface Curve25519Exchange {
  type?: unknown;
  _keys: { publicKey: KeyObject; privateKey: KeyObject } | null;
  generateKeys(): void;
  getPublicKey(): Buffer;
  computeSecret(otherPublicKey: Buffer): Buffer | Error;
}

const RAW_KEY_BYTES = 32;
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
  // Only the peer's key is taken without DER: ssh2's own getPublicKey stays. Exporting the generated key as JWK
  // instead can deadlock on Node 20 (ExportJWKEdKey allocates under the key's mutex; a collection there destroys the
  // KeyGenJob that made the key, which takes the same mutex): a worker froze so in CI.
  const { computeSecret } = proto;
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
