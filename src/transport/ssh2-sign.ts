// ssh2 signs and verifies with keys as PEM text: Node decodes that PEM again (OpenSSL's decoders) at every
// signature, ~1.2 ms of CPU per connection to sign, ~0.5 ms to check the host's signature, more than the
// signatures themselves. A key loaded once per worker (keys.ts) is decoded once here; a host's ed25519 key is
// imported from its raw bytes, which skips the decoders. ssh2's own sign() and verify() are handed that key
// object where they read the PEM: the same algorithm choice, the same bytes, without the decoding.
// Imports nothing of ssh2's (ssh2-certs.ts calls it while ssh2 loads).
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { ParsedKey } from 'ssh2';

/** keyParser.js keeps the PEMs under private symbols; found by their descriptions, pinned by the unit test. */
const PRIVATE_PEM = 'Private key PEM';
const PUBLIC_PEM = 'Public key PEM';

function pemSymbol(key: ParsedKey, description: string): symbol {
  // The key itself holds them; a key already wrapped (a certificate's, withUserCertificate) inherits them.
  for (let k: object | null = key; k !== null; k = Object.getPrototypeOf(k) as object | null) {
    const symbol = Object.getOwnPropertySymbols(k).find((s) => s.description === description);
    if (symbol !== undefined) return symbol;
  }
  throw new Error(`ssh2 internals changed (see SSH2_VERSION): no ${description}`);
}

/**
 * The same key, signing with a key object decoded once. A key Node cannot decode into one (none ssh2 parses, but
 * the fallback costs nothing) is returned as it was.
 */
export function signingOnce(key: ParsedKey): ParsedKey {
  const pem = key.getPrivatePEM();
  if (typeof pem !== 'string') return key;
  let decoded: KeyObject;
  try {
    decoded = createPrivateKey(pem);
  } catch {
    return key;
  }
  // crypto.sign takes a key object wherever it takes a PEM: ssh2's sign() reads it from `this`, so it gets a
  // stand-in `this` that answers the PEM's symbol with the decoded key and everything else from the key itself.
  const standIn = Object.create(key, { [pemSymbol(key, PRIVATE_PEM)]: { value: decoded } }) as ParsedKey;
  const sign = key.sign;
  return Object.create(key, {
    sign: { value: (data: Buffer, algo?: string) => sign.call(standIn, data, algo) },
  }) as ParsedKey;
}

/**
 * A host's public key (as kex.js parses it to check the exchange signature) that verifies with a key object imported
 * from its raw bytes: ed25519 only, the key OpenSSH hosts offer first; any other key is returned as it was.
 */
export function verifyingFast(key: unknown): unknown {
  const parsed = key as ParsedKey;
  if (key instanceof Error || typeof parsed?.type !== 'string' || parsed.type !== 'ssh-ed25519') return key;
  const blob = parsed.getPublicSSH();
  // string "ssh-ed25519", string key (32 bytes): the key is the blob's last 32 bytes when the lengths add up.
  if (blob.length !== 4 + 11 + 4 + 32 || blob.readUInt32BE(15) !== 32) return key;
  let imported: KeyObject;
  try {
    imported = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: blob.subarray(19).toString('base64url') },
      format: 'jwk',
    });
  } catch {
    return key;
  }
  const standIn = Object.create(parsed, { [pemSymbol(parsed, PUBLIC_PEM)]: { value: imported } }) as ParsedKey;
  const verify = parsed.verify;
  return Object.create(parsed, {
    verify: { value: (data: Buffer, signature: Buffer, algo?: string) => verify.call(standIn, data, signature, algo) },
  }) as ParsedKey;
}
