// ssh2 signs with the private key's PEM text: Node decodes that PEM again (OpenSSL's decoders) at every
// signature, ~1.2 ms of CPU per connection, more than the signature itself (~0.09 ms with a decoded key).
// A key loaded once per worker (keys.ts) is decoded once here, and ssh2's own sign() is handed that decoded
// key where it reads the PEM: the same algorithm choice, the same bytes, without the per-connection decode.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { ParsedKey } from 'ssh2';
import { SSH2_VERSION } from './ssh2-certs.js';

/** keyParser.js keeps the PEM under a private symbol; found by its description, pinned by the unit test. */
const PRIVATE_PEM = 'Private key PEM';

function privatePemSymbol(key: ParsedKey): symbol {
  const symbol = Object.getOwnPropertySymbols(key).find((s) => s.description === PRIVATE_PEM);
  if (symbol === undefined) throw new Error(`ssh2 internals changed (want ${SSH2_VERSION}): no ${PRIVATE_PEM}`);
  return symbol;
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
  const standIn = Object.create(key, { [privatePemSymbol(key)]: { value: decoded } }) as ParsedKey;
  const sign = key.sign;
  return Object.create(key, {
    sign: { value: (data: Buffer, algo?: string) => sign.call(standIn, data, algo) },
  }) as ParsedKey;
}
