// ssh2 1.17 cannot take a host certificate: it offers no certificate host-key algorithms, and its key exchange
// parses the server's key and checks the signature's name as if every key were plain. This extends it at run time
// (a patch under node_modules would not reach an installed package or a bundle):
// 1. the certificate algorithms become ones a client may offer;
// 2. kex.js's parseDERKey reads a certificate as the key it certifies, so the exchange signature is checked with
//    that key (the certificate itself is judged by herd's hostVerifier: host-cert.ts);
// 3. per connection, the negotiated name is the one ssh2 compares against at each step.
// kex.js takes parseDERKey when it loads, so this module must be evaluated before ssh2's: src/ reaches ssh2 only
// through ./ssh2.ts, which imports this first. test/unit/transport/ssh2-certs.test.ts pins every internal used.
import type { Client } from 'ssh2';
import constants from 'ssh2/lib/protocol/constants.js';
import keyParser from 'ssh2/lib/protocol/keyParser.js';
import { certifiedKey, plainTypeOfCert } from './host-cert.js';

/** The ssh2 version whose internals this extends; package.json pins exactly this one. */
export const SSH2_VERSION = '1.17.0';

interface CertAlgorithm {
  /** The key type the server's blob carries for this algorithm. */
  blobType: string;
  /** The plain signature algorithm the server signs the exchange with. */
  signature: string;
}

/** Certificate host-key algorithms herd offers, in OpenSSH 9.2's order (no SHA-1 `ssh-rsa-cert-v01`, as 9.2). */
export const CERT_HOST_KEY_ALGORITHMS: Readonly<Record<string, CertAlgorithm>> = {
  'ssh-ed25519-cert-v01@openssh.com': { blobType: 'ssh-ed25519-cert-v01@openssh.com', signature: 'ssh-ed25519' },
  'ecdsa-sha2-nistp256-cert-v01@openssh.com': {
    blobType: 'ecdsa-sha2-nistp256-cert-v01@openssh.com',
    signature: 'ecdsa-sha2-nistp256',
  },
  'ecdsa-sha2-nistp384-cert-v01@openssh.com': {
    blobType: 'ecdsa-sha2-nistp384-cert-v01@openssh.com',
    signature: 'ecdsa-sha2-nistp384',
  },
  'ecdsa-sha2-nistp521-cert-v01@openssh.com': {
    blobType: 'ecdsa-sha2-nistp521-cert-v01@openssh.com',
    signature: 'ecdsa-sha2-nistp521',
  },
  'rsa-sha2-512-cert-v01@openssh.com': { blobType: 'ssh-rsa-cert-v01@openssh.com', signature: 'rsa-sha2-512' },
  'rsa-sha2-256-cert-v01@openssh.com': { blobType: 'ssh-rsa-cert-v01@openssh.com', signature: 'rsa-sha2-256' },
};

for (const name of Object.keys(CERT_HOST_KEY_ALGORITHMS)) {
  if (!constants.SUPPORTED_SERVER_HOST_KEY.includes(name)) constants.SUPPORTED_SERVER_HOST_KEY.push(name);
}

const plainParseDERKey = keyParser.parseDERKey;
keyParser.parseDERKey = (data: Buffer, type: string): unknown => {
  const plain = plainTypeOfCert(type);
  if (plain === null) return plainParseDERKey(data, type);
  const name = Buffer.from(type, 'latin1');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(name.length);
  let key: Buffer;
  try {
    key = certifiedKey(Buffer.concat([length, name, data]));
  } catch (err) {
    return err;
  }
  return plainParseDERKey(key.subarray(4 + plain.length), plain);
};

interface KexState {
  negotiated?: { serverHostKey?: unknown };
  _hostKey?: unknown;
}

/**
 * Let this client take a host certificate: call right after client.connect(), before any byte arrives. ssh2 first
 * compares the server key blob's type with the negotiated name (for RSA, `ssh-rsa-cert-v01` against
 * `rsa-sha2-512-cert-v01`), then the exchange signature's name with it and picks the RSA hash by it (the plain
 * `rsa-sha2-512`): each reads the name it needs at that step.
 */
export function allowHostCertificates(client: Client): void {
  const protocol = (client as unknown as { _protocol?: Record<string, unknown> })._protocol;
  if (!protocol || !('_kex' in protocol)) throw new Error(`ssh2 internals changed (want ${SSH2_VERSION}): no _kex`);
  let kex = protocol._kex as KexState | undefined;
  Object.defineProperty(protocol, '_kex', {
    configurable: true,
    enumerable: true,
    get: () => kex,
    set: (value: KexState | undefined) => {
      kex = value;
      if (value) nameTheStep(value);
    },
  });
}

function nameTheStep(kex: KexState): void {
  const negotiated = kex.negotiated;
  const alg = negotiated?.serverHostKey;
  if (!negotiated || typeof alg !== 'string' || !Object.hasOwn(CERT_HOST_KEY_ALGORITHMS, alg)) return;
  const cert = CERT_HOST_KEY_ALGORITHMS[alg]!;
  Object.defineProperty(negotiated, 'serverHostKey', {
    configurable: true,
    enumerable: true,
    get: () => (kex._hostKey === undefined ? cert.blobType : cert.signature),
  });
}
