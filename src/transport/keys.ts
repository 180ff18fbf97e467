// Load private keys once per worker: parsing (and decrypting) keys per connection would waste CPU on big fleets.
import fs from 'node:fs';
import type { ParsedKey } from 'ssh2';
import ssh2 from './ssh2.js';
import { ioReason } from '../io-reason.js';
import { isCertificateType } from './host-cert.js';
import { b64pton, keyTypeOfBlob } from './known-hosts.js';
import { withUserCertificate } from './ssh2-certs.js';
import { signingOnce } from './ssh2-sign.js';

const { utils } = ssh2; // ssh2 is CommonJS: named imports do not resolve under ESM

export interface LoadedKey {
  path: string;
  key: ParsedKey;
  /** The OpenSSH user certificate found beside the key as `KEY-cert.pub` (ssh offers it first, then the key). */
  certificate?: Buffer;
}

export interface KeyLoadResult {
  keys: LoadedKey[];
  /** One line per key that could not be used (missing files are silent when the path was a default). */
  problems: string[];
}

function describeKeyProblem(path: string, why: string, hadPassphrase: boolean): string {
  if (/passphrase/i.test(why)) {
    return hadPassphrase
      ? `cannot decrypt key ${path}: wrong passphrase`
      : `key ${path} is encrypted and no passphrase was given (use --key-passphrase-env VAR or --ask-key-passphrase)`;
  }
  if (/unsupported key format/i.test(why)) return `key ${path} is not a private key (no key format herd knows)`;
  return `cannot parse key ${path}: ${why}`;
}

/** `-k id.pub` is the usual slip: name the private key file the user most likely meant. */
function describePublicKey(path: string): string {
  const meant = path.endsWith('.pub') ? ` (the private key is usually ${path.slice(0, -'.pub'.length)})` : '';
  return `key ${path} is a public key; -k takes a private key${meant}`;
}

/** Read and parse key files; explicit keys that fail are reported, default ones that are absent are not. */
export function loadPrivateKeys(paths: string[], explicit: boolean, passphrase?: string): KeyLoadResult {
  const keys: LoadedKey[] = [];
  const problems: string[] = [];
  for (const path of paths) {
    let data: Buffer;
    try {
      data = fs.readFileSync(path);
    } catch (err) {
      if (explicit) problems.push(`cannot read key ${path}: ${ioReason(err)}`);
      continue;
    }
    const parsed = utils.parseKey(data, passphrase);
    const first = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!first || first instanceof Error) {
      const why = first instanceof Error ? first.message : 'unrecognised format';
      problems.push(describeKeyProblem(path, why, passphrase !== undefined));
      continue;
    }
    if (!first.isPrivateKey()) {
      problems.push(describePublicKey(path));
      continue;
    }
    // Decoded once here, not at every connection's signature (ssh2-sign.ts).
    const key = signingOnce(first);
    const certificate = readCertificate(path, key);
    if (typeof certificate === 'string') {
      // A default key's certificate is skipped as ssh skips it; a -k key's stops the run, saying why.
      if (explicit) problems.push(certificate);
      keys.push({ path, key });
    } else keys.push(certificate ? { path, key, certificate } : { path, key });
  }
  return { keys, problems };
}

/** `KEY-cert.pub` beside the key: its blob, null when there is none, or why it cannot be used. */
function readCertificate(path: string, key: ParsedKey): Buffer | null | string {
  const cert = readCertificateFile(`${path}-cert.pub`);
  if (cert === null || typeof cert === 'string') return cert;
  try {
    withUserCertificate(key, cert);
  } catch (err) {
    return `certificate ${path}-cert.pub cannot be used with key ${path}: ${(err as Error).message}`;
  }
  return cert;
}

/** A certificate file (`TYPE-cert-v01@openssh.com BASE64 [comment]`): its blob, null when missing, or why not. */
export function readCertificateFile(file: string): Buffer | null | string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return `cannot read certificate ${file}: ${ioReason(err)}`;
  }
  const [type, b64] = text.trim().split(/[ \t]+/);
  const blob = b64 ? b64pton(b64) : null;
  if (!type || !blob || !isCertificateType(type) || keyTypeOfBlob(blob) !== type) {
    return `certificate ${file} is not an OpenSSH certificate line (TYPE-cert-v01@openssh.com BASE64)`;
  }
  return blob;
}

/**
 * ssh_config CertificateFile: each key without a certificate of its own takes the first of `certificates` that
 * certifies it (sshconnect2.c pubkey_prepare); one that certifies none of the keys is not offered, as in ssh.
 */
export function withCertificateFiles(keys: LoadedKey[], certificates: Buffer[]): LoadedKey[] {
  return keys.map((k) => {
    if (k.certificate) return k;
    const certificate = certificates.find((c) => {
      try {
        withUserCertificate(k.key, c);
        return true;
      } catch {
        return false;
      }
    });
    return certificate ? { ...k, certificate } : k;
  });
}
