// known_hosts parsing and lookup, as OpenSSH reads it (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT").
// Pure: callers pass the file text in; appending new keys is the parent's job (known-hosts-file.ts).
import { createHmac } from 'node:crypto';
import { globMatches } from '../inventory/glob.js';

export { globMatches };

export type HostKeyMarker = 'revoked' | 'cert-authority' | null;

export interface KnownHostEntry {
  /** Comma-separated patterns, or one hashed `|1|salt|hash` name. */
  patterns: string[];
  marker: HostKeyMarker;
  keyType: string;
  /** Raw public key blob (base64-decoded). */
  key: Buffer;
  line: number;
}

export type HostKeyVerdict =
  | { kind: 'match' }
  | { kind: 'unknown' }
  | { kind: 'mismatch'; knownTypes: string[] }
  | { kind: 'revoked' };

/** Parse known_hosts text; malformed lines are skipped like OpenSSH does. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const entry = parseKnownHostsLine(lines[i] ?? '', i + 1);
    if (entry) entries.push(entry);
  }
  return entries;
}

function parseKnownHostsLine(raw: string, line: number): KnownHostEntry | null {
  const text = raw.trim();
  if (text === '' || text.startsWith('#')) return null;
  const fields = text.split(/\s+/);
  let marker: HostKeyMarker = null;
  if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
    marker = fields[0] === '@revoked' ? 'revoked' : 'cert-authority';
    fields.shift();
  }
  const [hosts, keyType, keyB64] = fields;
  if (!hosts || !keyType || !keyB64) return null;
  const key = Buffer.from(keyB64, 'base64');
  if (key.length === 0) return null;
  return { patterns: hosts.split(','), marker, keyType, key, line };
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Does one known_hosts host field (patterns, negations or a hashed name) match `name`? */
export function entryMatches(entry: KnownHostEntry, name: string): boolean {
  let matched = false;
  for (const pattern of entry.patterns) {
    if (pattern.startsWith('|1|')) {
      if (hashedNameMatches(pattern, name)) matched = true;
      continue;
    }
    const negated = pattern.startsWith('!');
    const body = negated ? pattern.slice(1) : pattern;
    if (globMatches(body.toLowerCase(), name.toLowerCase())) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function hashedNameMatches(field: string, name: string): boolean {
  const parts = field.split('|');
  const salt = parts[2];
  const hash = parts[3];
  if (!salt || !hash) return false;
  const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return digest === hash;
}

/** The entries that apply to a host, looked up both as `[host]:port` and (port 22) `host`. */
export function entriesFor(entries: KnownHostEntry[], host: string, port: number): KnownHostEntry[] {
  const name = knownHostsName(host, port);
  return entries.filter((e) => e.marker !== 'cert-authority' && entryMatches(e, name));
}

/** Decide what a presented host key means for this host. */
export function verifyHostKey(entries: KnownHostEntry[], key: Buffer): HostKeyVerdict {
  if (entries.some((e) => e.marker === 'revoked' && e.key.equals(key))) return { kind: 'revoked' };
  const plain = entries.filter((e) => e.marker === null);
  if (plain.some((e) => e.key.equals(key))) return { kind: 'match' };
  if (plain.length === 0) return { kind: 'unknown' };
  return { kind: 'mismatch', knownTypes: [...new Set(plain.map((e) => e.keyType))] };
}

/** The key type name stored inside an SSH public key blob (its first string). */
export function keyTypeOfBlob(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const len = key.readUInt32BE(0);
  return key.subarray(4, 4 + len).toString('latin1');
}

/** A known_hosts line for a newly accepted key. */
export function formatKnownHostsLine(host: string, port: number, key: Buffer): string {
  return `${knownHostsName(host, port)} ${keyTypeOfBlob(key)} ${key.toString('base64')}`;
}

/** Host-key algorithms to offer, known types first, so a host with several keys shows the one we have (as OpenSSH does). */
export function preferredHostKeyAlgorithms(knownTypes: string[], defaults: string[]): string[] {
  const expanded = knownTypes.flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]));
  const first = defaults.filter((a) => expanded.includes(a));
  return [...first, ...defaults.filter((a) => !first.includes(a))];
}
