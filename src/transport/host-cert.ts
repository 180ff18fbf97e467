// OpenSSH certificates (PROTOCOL.certkeys) read and checked as OpenSSH 9.2 does (sshkey.c cert_parse,
// sshkey_cert_check_authority; hostfile.c check_key_in_hostkeys; sshconnect.c check_host_cert).
// Pure: the caller passes the blob the host presented and the known_hosts entries that apply to it.
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { HostEntries, KnownHostEntry } from './known-hosts.js';

export type CertKind = 'user' | 'host';

export interface OpenSshCertificate {
  /** The certificate key type, e.g. `ssh-ed25519-cert-v01@openssh.com`. */
  certType: string;
  /** The certified key as a plain public key blob (`ssh-ed25519` ...). */
  publicKey: Buffer;
  serial: bigint;
  kind: CertKind;
  keyId: string;
  principals: string[];
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: string[];
  /** The signing CA's public key blob. */
  caKey: Buffer;
  /** The CA's signature algorithm, e.g. `ssh-ed25519`, `rsa-sha2-512`. */
  signatureAlgorithm: string;
}

export class CertificateError extends Error {}

/** Certificate key types herd reads, with the plain key type inside. DSA and security-key certificates are not. */
const CERT_PLAIN: Record<string, string> = {
  'ssh-ed25519-cert-v01@openssh.com': 'ssh-ed25519',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com': 'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com': 'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com': 'ecdsa-sha2-nistp521',
  'ssh-rsa-cert-v01@openssh.com': 'ssh-rsa',
};

/** The key type inside a certificate type, or null when it is not one herd reads. */
export function plainTypeOfCert(certType: string): string | null {
  return Object.hasOwn(CERT_PLAIN, certType) ? CERT_PLAIN[certType]! : null;
}

export function isCertificateType(type: string): boolean {
  return type.endsWith('-cert-v01@openssh.com');
}

/** CASignatureAlgorithms' default in OpenSSH 9.2 (minus the security-key ones herd cannot verify). */
const CA_SIGNATURE_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
];

/** sshkey.h SSHKEY_CERT_MAX_PRINCIPALS. */
const MAX_PRINCIPALS = 256;
const CURVES: Record<string, { name: string; jwk: string; point: number; hash: string }> = {
  'ecdsa-sha2-nistp256': { name: 'nistp256', jwk: 'P-256', point: 65, hash: 'sha256' },
  'ecdsa-sha2-nistp384': { name: 'nistp384', jwk: 'P-384', point: 97, hash: 'sha384' },
  'ecdsa-sha2-nistp521': { name: 'nistp521', jwk: 'P-521', point: 133, hash: 'sha512' },
};

/** SSH wire reads over a blob; every read past the end throws. */
class Reader {
  off = 0;
  constructor(readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.off + n > this.buf.length) throw new CertificateError('certificate is truncated');
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.off);
    this.off += 8;
    return v;
  }
  string(): Buffer {
    const len = this.u32();
    this.need(len);
    const s = this.buf.subarray(this.off, this.off + len);
    this.off += len;
    return s;
  }
  /** sshbuf_get_cstring: no NUL inside. */
  cstring(what: string): string {
    const s = this.string();
    if (s.includes(0)) throw new CertificateError(`certificate ${what} contains a NUL byte`);
    return s.toString('latin1');
  }
  done(): boolean {
    return this.off === this.buf.length;
  }
}

function wireString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** An mpint's magnitude without leading zeros; negative numbers are refused (sshbuf_get_bignum2). */
function mpintMagnitude(d: Buffer): Buffer {
  if (d.length > 0 && (d[0]! & 0x80) !== 0) throw new CertificateError('negative number in a key');
  let k = 0;
  while (k < d.length && d[k] === 0) k++;
  return d.subarray(k);
}

function bits(magnitude: Buffer): number {
  return magnitude.length === 0 ? 0 : (magnitude.length - 1) * 8 + (32 - Math.clz32(magnitude[0]!));
}

/**
 * Read the key fields of a plain key type from `r` and return them as that key's own public blob
 * (validated: an ed25519 key of 32 bytes, a point on the named curve, an RSA modulus of 1024 bits or more).
 */
function readPlainKey(r: Reader, type: string): Buffer {
  const start = r.off;
  if (type === 'ssh-ed25519') {
    if (r.string().length !== 32) throw new CertificateError('bad ed25519 key');
  } else if (type === 'ssh-rsa') {
    mpintMagnitude(r.string());
    if (bits(mpintMagnitude(r.string())) < 1024) throw new CertificateError('RSA key shorter than 1024 bits');
  } else if (Object.hasOwn(CURVES, type)) {
    const curve = CURVES[type]!;
    if (r.string().toString('latin1') !== curve.name) throw new CertificateError('ECDSA curve does not match its type');
    const q = r.string();
    if (q.length !== curve.point || q[0] !== 0x04) throw new CertificateError('bad ECDSA point');
  } else throw new CertificateError(`unsupported key type ${type}`);
  const blob = Buffer.concat([wireString(Buffer.from(type, 'latin1')), r.buf.subarray(start, r.off)]);
  keyObjectOf(blob); // a point off the curve fails here, as OpenSSH's EC point check
  return blob;
}

/** A node:crypto public key for a plain SSH public key blob. */
export function keyObjectOf(blob: Buffer): KeyObject {
  const r = new Reader(blob);
  const type = r.string().toString('latin1');
  const b64u = (b: Buffer): string => b.toString('base64url');
  try {
    if (type === 'ssh-ed25519') {
      return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64u(r.string()) }, format: 'jwk' });
    }
    if (type === 'ssh-rsa') {
      const e = mpintMagnitude(r.string());
      const n = mpintMagnitude(r.string());
      return createPublicKey({ key: { kty: 'RSA', n: b64u(n), e: b64u(e) }, format: 'jwk' });
    }
    const curve = CURVES[type];
    if (curve) {
      r.string();
      const q = r.string();
      const size = (q.length - 1) / 2;
      const key = { kty: 'EC', crv: curve.jwk, x: b64u(q.subarray(1, 1 + size)), y: b64u(q.subarray(1 + size)) };
      return createPublicKey({ key, format: 'jwk' });
    }
  } catch (err) {
    throw new CertificateError(`invalid ${type} key: ${(err as Error).message}`);
  }
  throw new CertificateError(`unsupported key type ${type}`);
}

/** ECDSA's SSH signature (mpint r, mpint s) as IEEE P1363 r||s of the curve's size. */
function ecdsaP1363(sig: Buffer, pointLength: number): Buffer {
  const r = new Reader(sig);
  const size = (pointLength - 1) / 2;
  const parts = [mpintMagnitude(r.string()), mpintMagnitude(r.string())];
  if (!r.done() || parts.some((p) => p.length > size)) throw new CertificateError('malformed ECDSA signature');
  return Buffer.concat(parts.map((p) => Buffer.concat([Buffer.alloc(size - p.length), p])));
}

/** Verify an SSH signature blob (string alg, string sig) by `keyBlob` over `data`; returns the algorithm. */
export function verifySshSignature(keyBlob: Buffer, signature: Buffer, data: Buffer): string {
  const r = new Reader(signature);
  const alg = r.string().toString('latin1');
  const sig = r.string();
  if (!r.done()) throw new CertificateError('trailing bytes after the signature');
  const keyType = new Reader(keyBlob).string().toString('latin1');
  const key = keyObjectOf(keyBlob);
  let ok: boolean;
  if (keyType === 'ssh-ed25519' && alg === 'ssh-ed25519') ok = cryptoVerify(null, data, key, sig);
  else if (keyType === 'ssh-rsa' && (alg === 'rsa-sha2-256' || alg === 'rsa-sha2-512' || alg === 'ssh-rsa')) {
    const hash = alg === 'rsa-sha2-512' ? 'sha512' : alg === 'rsa-sha2-256' ? 'sha256' : 'sha1';
    // OpenSSH accepts a signature shorter than the modulus and left-pads it.
    const modulusBytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
    if (sig.length > modulusBytes) throw new CertificateError('RSA signature longer than the key');
    const padded = Buffer.concat([Buffer.alloc(modulusBytes - sig.length), sig]);
    ok = cryptoVerify(hash, data, key, padded);
  } else if (Object.hasOwn(CURVES, keyType) && alg === keyType) {
    const curve = CURVES[keyType]!;
    ok = cryptoVerify(curve.hash, data, { key, dsaEncoding: 'ieee-p1363' }, ecdsaP1363(sig, curve.point));
  } else throw new CertificateError(`signature algorithm ${alg} does not fit a ${keyType} key`);
  if (!ok) throw new CertificateError('the CA signature does not verify');
  return alg;
}

function readPairs(section: Buffer, what: string): string[] {
  const r = new Reader(section);
  const names: string[] = [];
  while (!r.done()) {
    names.push(r.string().toString('latin1'));
    r.string();
  }
  if (names.length === 0 && section.length !== 0) throw new CertificateError(`malformed ${what}`);
  return names;
}

/** The key a certificate blob certifies, as a plain public key blob (nothing else of the certificate is checked). */
export function certifiedKey(blob: Buffer): Buffer {
  const r = new Reader(blob);
  const certType = r.string().toString('latin1');
  const plain = plainTypeOfCert(certType);
  if (!plain) throw new CertificateError(`unsupported certificate type ${certType}`);
  r.string(); // nonce
  return readPlainKey(r, plain);
}

/**
 * Parse a certificate blob and verify its CA signature (OpenSSH checks it on parse too): a certificate that
 * does not carry a valid signature by the key it names is never returned.
 */
export function parseCertificate(blob: Buffer): OpenSshCertificate {
  const r = new Reader(blob);
  const certType = r.string().toString('latin1');
  const plain = plainTypeOfCert(certType);
  if (!plain) throw new CertificateError(`unsupported certificate type ${certType}`);
  r.string(); // nonce
  const publicKey = readPlainKey(r, plain);
  const serial = r.u64();
  const kindCode = r.u32();
  const keyId = r.cstring('key id');
  const principalsSection = new Reader(r.string());
  const validAfter = r.u64();
  const validBefore = r.u64();
  const criticalOptions = readPairs(r.string(), 'critical options');
  readPairs(r.string(), 'extensions');
  r.string(); // reserved
  const caKey = r.string();
  const signedLength = r.off;
  const signature = r.string();
  if (!r.done()) throw new CertificateError('trailing bytes after the certificate');
  if (kindCode !== 1 && kindCode !== 2) throw new CertificateError(`unknown certificate type ${kindCode}`);
  const principals: string[] = [];
  while (!principalsSection.done()) {
    if (principals.length >= MAX_PRINCIPALS) throw new CertificateError('more than 256 principals');
    principals.push(principalsSection.cstring('principal'));
  }
  const caType = new Reader(caKey).string().toString('latin1');
  if (isCertificateType(caType)) throw new CertificateError('the signing key is itself a certificate');
  const signatureAlgorithm = verifySshSignature(caKey, signature, blob.subarray(0, signedLength));
  return {
    certType,
    publicKey,
    serial,
    kind: kindCode === 1 ? 'user' : 'host',
    keyId,
    principals,
    validAfter,
    validBefore,
    criticalOptions,
    caKey,
    signatureAlgorithm,
  };
}

export type HostCertVerdict =
  /** Signed by a CA a @cert-authority line trusts for this host, and valid for it now. */
  | { kind: 'valid'; where: string; cert: OpenSshCertificate }
  /** The certified key or its CA is @revoked: refused, and never retried as a plain key. */
  | { kind: 'revoked'; where: string; what: 'host key' | 'CA key' }
  /**
   * Not a certificate herd may trust for this host (why says so). OpenSSH then judges the certified key as a
   * plain key; `publicKey` is that key, or null when the blob could not even be read.
   */
  | { kind: 'invalid'; why: string; publicKey: Buffer | null };

const where = (e: KnownHostEntry): string => `${e.file}:${e.line}`;

/** Seconds since the epoch, as OpenSSH compares certificate validity. */
export function nowSeconds(): bigint {
  return BigInt(Math.floor(Date.now() / 1000));
}

/**
 * Judge a host certificate as `ssh` does. `name` is the host name the principals must list (ssh's host name,
 * lowercased, without the port; HostKeyAlias when set); `entries` are the known_hosts lines for the host.
 */
export function verifyHostCertificate(
  entries: HostEntries,
  blob: Buffer,
  name: string,
  now: bigint = nowSeconds(),
): HostCertVerdict {
  let cert: OpenSshCertificate;
  try {
    cert = parseCertificate(blob);
  } catch (err) {
    return { kind: 'invalid', why: `unusable host certificate: ${(err as Error).message}`, publicKey: null };
  }
  const invalid = (why: string): HostCertVerdict => ({ kind: 'invalid', why, publicKey: cert.publicKey });
  // hostfile.c check_key_not_revoked: the certified key or the CA under @revoked refuses the host outright.
  const all = [...entries.exact, ...entries.bare];
  for (const e of all) {
    if (e.marker !== 'revoked') continue;
    if (e.key.equals(cert.publicKey)) return { kind: 'revoked', where: where(e), what: 'host key' };
    if (e.key.equals(cert.caKey)) return { kind: 'revoked', where: where(e), what: 'CA key' };
  }
  // check_key_in_hostkeys: a @cert-authority line for this name whose key is the signing CA; the bare name only
  // when the port-qualified name has none (sshconnect.c retries without the port).
  const isCa = (e: KnownHostEntry): boolean => e.marker === 'cert-authority' && e.key.equals(cert.caKey);
  const ca = entries.exact.find(isCa) ?? entries.bare.find(isCa);
  if (!ca) {
    const any = all.find((e) => e.marker === 'cert-authority');
    const lines = any ? `the @cert-authority line at ${where(any)} names another CA` : 'no @cert-authority line';
    return invalid(`host certificate signed by a CA that is not trusted for this host (${lines})`);
  }
  const at = `(CA at ${where(ca)})`;
  if (cert.kind !== 'host') return invalid(`certificate invalid: not a host certificate ${at}`);
  if (now < cert.validAfter) return invalid(`host certificate not yet valid ${at}`);
  if (now >= cert.validBefore) return invalid(`host certificate expired ${at}`);
  // sshkey_cert_check_host in 9.2 does not require principals for host certificates: an empty list is any host.
  if (cert.principals.length > 0 && !cert.principals.includes(name)) {
    return invalid(`host certificate does not list ${name} among its principals (${cert.principals.join(',')}) ${at}`);
  }
  if (cert.criticalOptions.length > 0) {
    return invalid(`host certificate has unsupported critical options (${cert.criticalOptions.join(',')}) ${at}`);
  }
  if (!CA_SIGNATURE_ALGORITHMS.includes(cert.signatureAlgorithm)) {
    return invalid(`host certificate signed with disallowed algorithm ${cert.signatureAlgorithm} ${at}`);
  }
  return { kind: 'valid', where: where(ca), cert };
}
