// ssh2 1.17 cannot take a host certificate: it offers no certificate host-key algorithms, and its key exchange
// parses the server's key and checks the signature's name as if every key were plain. This extends it at run time
// (a patch under node_modules would not reach an installed package or a bundle):
// 1. the certificate algorithms become ones a client may offer;
// 2. kex.js's parseDERKey reads a certificate as the key it certifies, so the exchange signature is checked with
//    that key (the certificate itself is judged by herd's hostVerifier: host-cert.ts);
// 3. per connection, the negotiated name is the one ssh2 compares against at each step;
// 4. a user certificate is offered as a key whose public blob is the certificate, its signature renamed to the
//    plain algorithm while the signed request is written (ssh2 writes one name for both).
// Verified by hand in an esbuild CommonJS bundle too (the single executable): import order is kept there.
// kex.js takes parseDERKey when it loads, so this module must be evaluated before ssh2's: src/ reaches ssh2 only
// through ./ssh2.ts, which imports this first. test/unit/transport/ssh2-certs.test.ts pins every internal used.
import type { Client, ParsedKey } from 'ssh2';
import constants from 'ssh2/lib/protocol/constants.js';
import keyParser from 'ssh2/lib/protocol/keyParser.js';
import protocolUtils from 'ssh2/lib/protocol/utils.js';
import { CertificateError, certifiedKey, plainTypeOfCert } from './host-cert.js';
import { verifyingFast } from './ssh2-sign.js';
import { fasterCurve25519, watchingForCurve25519 } from './ssh2-kex.js';

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
  // The host's key checks the exchange signature without decoding a PEM (ssh2-sign.ts).
  if (plain === null) return verifyingFast(plainParseDERKey(data, type));
  const name = Buffer.from(type, 'latin1');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(name.length);
  let key: Buffer;
  try {
    key = certifiedKey(Buffer.concat([length, name, data]));
  } catch (err) {
    return err;
  }
  return verifyingFast(plainParseDERKey(key.subarray(4 + plain.length), plain));
};

interface KexState {
  negotiated?: { serverHostKey?: unknown };
  _hostKey?: unknown;
}

/**
 * Extend one client where it needs it: host certificates (below) when it offers a certificate algorithm, user
 * certificates (withUserCertificate) when a key carries one. Call right after client.connect(), before any byte
 * arrives. Only then: either extension turns the connection's protocol object into a slow dictionary-mode object
 * (~1.5 KiB more per held session, and slower property reads on every packet). The first connections of a process are
 * watched in any case, until one curve25519 exchange has passed (ssh2-kex.ts patches its class from it).
 */
export function extendClient(client: Client, needs: { hostCertificates: boolean; userCertificates: boolean }): void {
  if (needs.hostCertificates || watchingForCurve25519()) allowHostCertificates(client);
  if (needs.userCertificates) allowUserCertificates(client);
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
      // Not about certificates: the one place every exchange passes, so curve25519 skips DER (ssh2-kex.ts).
      fasterCurve25519(value);
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

const USER_CERT = Symbol('herd user certificate');

interface UserCert {
  /** The publickey request's algorithm (`ssh-ed25519-cert-v01@openssh.com`, `rsa-sha2-512-cert-v01@openssh.com`). */
  requestAlg: string;
  /** The signature's own algorithm name (the plain one: `ssh-ed25519`, `rsa-sha2-512`). */
  signatureAlg: string;
}

/**
 * A key that authenticates with its OpenSSH certificate, as ssh does with `KEY-cert.pub` (PROTOCOL.certkeys):
 * the request names the certificate algorithm and carries the certificate; the signature is the key's own.
 * Throws a CertificateError when the certificate does not certify this very key.
 */
export function withUserCertificate(key: ParsedKey, cert: Buffer): ParsedKey {
  const certType = cert.subarray(4, 4 + cert.readUInt32BE(0)).toString('latin1');
  const plain = plainTypeOfCert(certType);
  if (plain === null) throw new CertificateError(`unsupported certificate type ${certType}`);
  if (!certifiedKey(cert).equals(key.getPublicSSH())) throw new CertificateError('it certifies another key');
  const rsa = plain === 'ssh-rsa';
  const user: UserCert = {
    requestAlg: rsa ? 'rsa-sha2-512-cert-v01@openssh.com' : certType,
    signatureAlg: rsa ? 'rsa-sha2-512' : plain,
  };
  return Object.create(key, {
    type: { value: user.requestAlg },
    getPublicSSH: { value: () => cert },
    sign: {
      value: (data: Buffer): Buffer | Error => {
        const signature = key.sign(data, rsa ? 'sha512' : undefined);
        if (signature instanceof Error) return signature;
        // ssh2 converts an ECDSA signature by the key's type name, which is now the certificate's: convert it here.
        return protocolUtils.convertSignature(signature, plain) || new Error('cannot convert the signature');
      },
    },
    [USER_CERT]: { value: user },
  }) as ParsedKey;
}

interface PacketWriter {
  allocStart: number;
  alloc(size: number, force?: boolean): Buffer;
  finalize(packet: Buffer, force?: boolean): Buffer;
}

interface ProtocolInternals {
  _packetRW: { write: PacketWriter };
  authPK(username: string, key: unknown, keyAlgo?: unknown, cbSign?: unknown): void;
}

type SignCallback = (buf: Buffer, cb: (signature: Buffer) => void) => void;

/**
 * ssh2's authPK writes one algorithm name in both the request and its signature; for a certificate they differ
 * (the signature is the plain key's). While the signed request is written, its signature's name is replaced.
 */
function allowUserCertificates(client: Client): void {
  const protocol = (client as unknown as { _protocol?: ProtocolInternals })._protocol;
  if (!protocol || typeof protocol.authPK !== 'function' || !protocol._packetRW?.write)
    throw new Error(`ssh2 internals changed (want ${SSH2_VERSION}): no authPK or packet writer`);
  const authPK = protocol.authPK;
  protocol.authPK = function (this: ProtocolInternals, username, key, keyAlgo, cbSign) {
    const user = (key as { [USER_CERT]?: UserCert } | null)?.[USER_CERT];
    const sign = typeof keyAlgo === 'function' ? (keyAlgo as SignCallback) : (cbSign as SignCallback | undefined);
    if (!user || !sign) return authPK.call(this, username, key, keyAlgo, cbSign);
    const signed: SignCallback = (buf, cb) =>
      sign(buf, (signature) => {
        const writer = this._packetRW.write;
        const finalize = writer.finalize;
        writer.finalize = (packet, force) => {
          writer.finalize = finalize;
          return finalize.call(writer, renameSignature(writer, packet, user.signatureAlg), force);
        };
        try {
          cb(signature);
        } finally {
          writer.finalize = finalize;
        }
      });
    return authPK.call(this, username, key, user.requestAlg, signed);
  };
}

/** Rebuild a signed publickey USERAUTH_REQUEST with its signature blob's algorithm set to `name`. */
function renameSignature(writer: PacketWriter, packet: Buffer, name: string): Buffer {
  let p = writer.allocStart + 1;
  const skip = (): number => {
    const start = p;
    p += 4 + packet.readUInt32BE(p);
    return start;
  };
  skip(); // user
  skip(); // service
  skip(); // "publickey"
  p += 1; // has signature
  skip(); // algorithm
  skip(); // key blob
  const sigStart = p;
  p += 4;
  skip(); // signature algorithm
  const sig = packet.subarray(p, p + 4 + packet.readUInt32BE(p));
  const head = packet.subarray(writer.allocStart, sigStart);
  const alg = Buffer.from(name, 'latin1');
  const blob = Buffer.alloc(4 + alg.length + sig.length);
  blob.writeUInt32BE(alg.length);
  alg.copy(blob, 4);
  sig.copy(blob, 4 + alg.length);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(blob.length);
  const payload = Buffer.concat([head, length, blob]);
  const out = writer.alloc(payload.length);
  payload.copy(out, writer.allocStart);
  return out;
}
