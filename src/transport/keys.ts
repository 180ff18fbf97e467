// Load private keys once per worker: parsing (and decrypting) keys per connection would waste CPU on big fleets.
import fs from 'node:fs';
import type { ParsedKey } from 'ssh2';
import ssh2 from './ssh2.js';
import { ioReason } from '../io-reason.js';

const { utils } = ssh2; // ssh2 is CommonJS: named imports do not resolve under ESM

export interface LoadedKey {
  path: string;
  key: ParsedKey;
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
    keys.push({ path, key: first });
  }
  return { keys, problems };
}
