// known_hosts parsing and lookup exactly as OpenSSH 9.2 reads it (hostfile.c, match.c, sshkey.c):
// a line the real `ssh` ignores is ignored here, and a name it matches is matched here.
// Pure: callers pass the file bytes in; appending new keys is the parent's job (known-hosts-file.ts).
import { createHmac, ECDH, randomBytes } from 'node:crypto';
import { HashedName, HashedNameIndex, NameBlock } from './host-hash.js';

export type HostKeyMarker = 'revoked' | 'cert-authority' | null;

export interface KnownHostEntry {
  /** The host field as written: a comma-separated pattern list, or one hashed `|1|salt|hash` name. */
  hosts: string;
  marker: HostKeyMarker;
  keyType: string;
  /** Raw public key blob (base64-decoded). */
  key: Buffer;
  file: string;
  line: number;
  /** The parsed hashed name when `hosts` starts with `|` (null: it can never match). */
  hashed?: HashedField | null;
}

/** A hashed host field's 20-byte salt and HMAC-SHA1 digest. */
export interface HashedField {
  salt: Buffer;
  digest: Buffer;
}

/** The entries that apply to one host: under its lookup name, and (port != 22) under the bare host name. */
export interface HostEntries {
  exact: KnownHostEntry[];
  bare: KnownHostEntry[];
}

export type HostKeyVerdict =
  | { kind: 'match' }
  | { kind: 'unknown' }
  | { kind: 'mismatch'; knownTypes: string[]; where: string; pinned: KnownHostEntry }
  | { kind: 'revoked'; where: string }
  /** Only a @cert-authority line vouches for this host: herd cannot verify host certificates. */
  | { kind: 'cert-authority'; where: string };

/**
 * Parse known_hosts bytes. Lines are split on LF only and end at a NUL (OpenSSH's C strings);
 * malformed lines are skipped, as OpenSSH skips them.
 */
export function parseKnownHosts(data: Buffer | string, file = 'known_hosts'): KnownHostEntry[] {
  // latin1 keeps one char per byte, so host names compare and hash as the bytes OpenSSH sees.
  const text = typeof data === 'string' ? data : data.toString('latin1');
  const entries: KnownHostEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const nul = raw.indexOf('\0');
    const entry = parseLine(nul === -1 ? raw : raw.slice(0, nul), file, i + 1);
    if (entry) entries.push(entry);
  }
  return entries;
}

const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t';

function skipBlanks(s: string, i: number): number {
  while (isBlank(s[i])) i++;
  return i;
}

function endOfField(s: string, i: number): number {
  while (i < s.length && !isBlank(s[i])) i++;
  return i;
}

function parseLine(s: string, file: string, line: number): KnownHostEntry | null {
  let i = skipBlanks(s, 0);
  if (i >= s.length || s[i] === '#') return null;
  const markerEnd = readMarker(s, i);
  if (markerEnd === null) return null;
  const { marker } = markerEnd;
  i = markerEnd.next;
  const hostsEnd = endOfField(s, i);
  const hosts = s.slice(i, hostsEnd);
  // hostfile.c: the key starts after blanks; nothing or a '#' there is a truncated line.
  i = skipBlanks(s, hostsEnd + 1);
  if (hostsEnd >= s.length || i >= s.length || s[i] === '#') return null;
  const key = readKey(s, i);
  if (!key) return null;
  const entry: KnownHostEntry = { hosts, marker, keyType: key.type, key: key.blob, file, line };
  if (hosts.startsWith('|')) entry.hashed = parseHashedField(hosts);
  return entry;
}

/**
 * hostfile.c check_markers(), quirks included: a marker ends at the line's first space (or, if none, its first tab).
 */
function readMarker(s: string, start: number): { marker: HostKeyMarker; next: number } | null {
  let i = start;
  let marker: HostKeyMarker = null;
  while (s[i] === '@') {
    if (marker !== null) return null;
    let sp = s.indexOf(' ', i);
    if (sp === -1) sp = s.indexOf('\t', i);
    if (sp === -1 || sp <= i + 1 || sp >= i + 32) return null;
    const word = s.slice(i, sp);
    if (word === '@cert-authority') marker = 'cert-authority';
    else if (word === '@revoked') marker = 'revoked';
    else return null;
    i = skipBlanks(s, sp);
  }
  return { marker, next: i };
}

/** sshkey.c sshkey_read(): a known type name, blanks, one base64 blob whose key is of that very type. */
function readKey(s: string, start: number): { type: string; blob: Buffer } | null {
  const typeEnd = endOfField(s, start);
  if (typeEnd >= s.length) return null;
  const type = s.slice(start, typeEnd);
  const blobStart = skipBlanks(s, typeEnd);
  if (blobStart >= s.length) return null;
  const blob = b64pton(s.slice(blobStart, endOfField(s, blobStart)));
  if (!blob || !blobHasType(blob, type)) return null;
  return { type, blob };
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < B64.length; i++) B64_VALUE[B64.charCodeAt(i)] = i;
/** C isspace() in the C locale. */
const isCSpace = (c: string | undefined): boolean => c === ' ' || (c !== undefined && c >= '\t' && c <= '\r');

/**
 * BIND/OpenBSD b64_pton(), which OpenSSH uses: whitespace anywhere is skipped, padding must be
 * right and followed by whitespace only, and the unused bits of the last character must be zero.
 */
export function b64pton(src: string): Buffer | null {
  // Nearly every key is canonical base64: Node decodes it natively, and the round trip proves it was canonical
  // (no whitespace, padding right, unused bits zero), so only the rest goes character by character (a worker reads
  // a known_hosts file of hundreds of keys; this took ~10 ms of its start).
  const fast = Buffer.from(src, 'base64');
  if (fast.toString('base64') === src) return fast;
  return b64ptonByChar(src);
}

/** b64pton one character at a time: the whole of b64_pton's rules (and the reference its fast path is tested on). */
export function b64ptonByChar(src: string): Buffer | null {
  const out: number[] = [];
  let state = 0;
  let i = 0;
  let pad = false;
  while (i < src.length) {
    const c = src[i++]!;
    if (isCSpace(c)) continue;
    if (c === '=') {
      pad = true;
      break;
    }
    const code = c.charCodeAt(0);
    const pos = code < 256 ? B64_VALUE[code]! : -1;
    if (pos === -1) return null;
    const t = out.length;
    switch (state) {
      case 0:
        out.push(pos << 2);
        state = 1;
        break;
      case 1:
        out[t - 1]! |= pos >> 4;
        out.push((pos & 0x0f) << 4);
        state = 2;
        break;
      case 2:
        out[t - 1]! |= pos >> 2;
        out.push((pos & 0x03) << 6);
        state = 3;
        break;
      default:
        out[t - 1]! |= pos;
        state = 0;
        break;
    }
  }
  // `out` holds one partial byte past the decoded ones in states 2 and 3 (the "slop" bits).
  if (!pad) return state === 0 ? Buffer.from(out) : null;
  if (state === 0 || state === 1) return null;
  if (state === 2) {
    while (i < src.length && isCSpace(src[i])) i++;
    if (src[i] !== '=') return null;
    i++;
  }
  for (; i < src.length; i++) if (!isCSpace(src[i])) return null;
  if (out[out.length - 1] !== 0) return null;
  return Buffer.from(out.slice(0, -1));
}

/** Reads SSH wire strings from a key blob; every read fails (null) past the end. */
class BlobReader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}
  string(): Buffer | null {
    if (this.off + 4 > this.buf.length) return null;
    const len = this.buf.readUInt32BE(this.off);
    if (this.off + 4 + len > this.buf.length) return null;
    const s = this.buf.subarray(this.off + 4, this.off + 4 + len);
    this.off += 4 + len;
    return s;
  }
  /** sshbuf_get_bignum2: not negative, at most 2048 bytes after one leading zero; returns its bit length. */
  mpint(): number | null {
    const d = this.string();
    if (!d || d.length > 2049 || (d.length === 2049 && d[0] !== 0) || (d.length > 0 && (d[0]! & 0x80) !== 0))
      return null;
    let k = 0;
    while (k < d.length && d[k] === 0) k++;
    return k === d.length ? 0 : (d.length - k - 1) * 8 + (32 - Math.clz32(d[k]!));
  }
  done(): boolean {
    return this.off === this.buf.length;
  }
}

const ECDSA_CURVES: Record<string, { curve: string; openssl: string; point: number }> = {
  nistp256: { curve: 'nistp256', openssl: 'prime256v1', point: 65 },
  nistp384: { curve: 'nistp384', openssl: 'secp384r1', point: 97 },
  nistp521: { curve: 'nistp521', openssl: 'secp521r1', point: 133 },
};

function validPoint(q: Buffer | null, curve: { openssl: string; point: number }): boolean {
  if (!q || q.length !== curve.point || q[0] !== 0x04) return false;
  try {
    ECDH.convertKey(q, curve.openssl);
    return true;
  } catch {
    return false;
  }
}

const CERT_TYPES = new RegExp(
  '^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\\.com|sk-ecdsa-sha2-nistp256@openssh\\.com)' +
    '-cert-v01@openssh\\.com$',
);

/** Does the blob hold a well-formed public key of the type the line names (sshkey_read's checks)? */
function blobHasType(blob: Buffer, type: string): boolean {
  const r = new BlobReader(blob);
  const blobType = r.string()?.toString('latin1');
  // OpenSSH accepts the RSA signature names for an ssh-rsa key.
  const expected = type === 'rsa-sha2-256' || type === 'rsa-sha2-512' ? 'ssh-rsa' : type;
  if (blobType !== expected) return false;
  if (type.endsWith('-cert-v01@openssh.com')) {
    // A certificate is never equal to a plain host key: it can only be a non-matching key, as in OpenSSH.
    return CERT_TYPES.test(type);
  }
  switch (expected) {
    case 'ssh-ed25519':
      return r.string()?.length === 32 && r.done();
    case 'sk-ssh-ed25519@openssh.com':
      return r.string()?.length === 32 && r.string() !== null && r.done();
    case 'ssh-rsa': {
      const e = r.mpint();
      const n = r.mpint();
      return e !== null && n !== null && n >= 1024 && r.done();
    }
    case 'ssh-dss':
      return [r.mpint(), r.mpint(), r.mpint(), r.mpint()].every((x) => x !== null) && r.done();
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
    case 'sk-ecdsa-sha2-nistp256@openssh.com': {
      const curve = ECDSA_CURVES[expected.startsWith('sk-') ? 'nistp256' : expected.slice('ecdsa-sha2-'.length)]!;
      if (r.string()?.toString('latin1') !== curve.curve || !validPoint(r.string(), curve)) return false;
      return (!expected.startsWith('sk-') || r.string() !== null) && r.done();
    }
    default:
      return false;
  }
}

/** ASCII-only lowercasing, as C tolower() in OpenSSH. */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** The name OpenSSH looks up, lowercased as ssh.c does: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  const h = asciiLower(host);
  return port === 22 ? h : `[${h}]:${port}`;
}

/** match.c match_pattern(): `*` and `?` globs, byte for byte, without backtracking blow-up. */
export function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || (pattern[p] !== '*' && pattern[p] === text[t]))) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++resume;
    } else return false;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * match.c match_pattern_list() with dolower: 1 on a positive match, -1 on a negated one, 0 otherwise.
 * A sub-pattern of 1,023 characters or more ends the list with no match, as OpenSSH's fixed buffer does.
 */
function matchPatternList(name: string, list: string): -1 | 0 | 1 {
  let positive = false;
  let i = 0;
  while (i < list.length) {
    const negated = list[i] === '!';
    if (negated) i++;
    let end = list.indexOf(',', i);
    if (end === -1) end = list.length;
    if (end - i >= 1023) return 0;
    if (globMatches(asciiLower(list.slice(i, end)), name)) {
      if (negated) return -1;
      positive = true;
    }
    i = end + 1;
  }
  return positive ? 1 : 0;
}

/** hostfile.c host_hash(): `|1|` base64(salt) `|` base64(HMAC-SHA1(salt, name)). */
export function hashHostName(name: string, salt: Buffer = randomBytes(20)): string {
  const digest = createHmac('sha1', salt).update(Buffer.from(name, 'latin1')).digest('base64');
  return `|1|${salt.toString('base64')}|${digest}`;
}

/**
 * hostfile.c match_maybe_hashed(): a field starting with `|` is one hashed name, compared whole
 * with `|1|` base64(salt) `|` base64(HMAC): so only a 20-byte salt in canonical base64 can match.
 * Null when the field can never match.
 */
function parseHashedField(field: string): HashedField | null {
  if (!field.startsWith('|1|')) return null;
  const end = field.indexOf('|', 3);
  if (end === -1 || end === 3 || end - 3 > 1024) return null;
  const salt = b64pton(field.slice(3, end));
  const digest = b64pton(field.slice(end + 1));
  if (!salt || salt.length !== 20 || !digest || digest.length !== 20) return null;
  if (`|1|${salt.toString('base64')}|${digest.toString('base64')}` !== field) return null;
  return { salt, digest };
}

/** Does a host field match `name` (already lowercased by knownHostsName)? */
export function hostFieldMatches(hosts: string, name: string): boolean {
  if (!hosts.startsWith('|')) return matchPatternList(name, hosts) === 1;
  const hashed = parseHashedField(hosts);
  return hashed !== null && new HashedName(hashed.salt, hashed.digest).matches(Buffer.from(name, 'latin1'));
}

/** Can a plain host list only match names equal to one of its (lowercased) sub-patterns? */
function literalNames(hosts: string): string[] | null {
  if (/[*?!]/.test(hosts)) return null;
  const names = hosts.split(',');
  // A sub-pattern too long for OpenSSH's buffer ends the list with no match at all: the general path says so.
  return names.some((n) => n.length >= 1023) ? null : names.map(asciiLower);
}

/**
 * known_hosts entries indexed for lookup, in file order: plain names in a map, hashed names grouped
 * by salt (one HMAC per distinct salt), and only glob or negated lists matched one by one.
 * A name's answer is kept: jump hosts and repeated passes ask for the same names again.
 */
export class KnownHostsIndex {
  private readonly literal = new Map<string, number[]>();
  private readonly patterns: number[] = [];
  private readonly hashed = new HashedNameIndex<number>();
  private readonly answers = new Map<string, KnownHostEntry[]>();

  constructor(readonly entries: KnownHostEntry[]) {
    entries.forEach((e, i) => {
      if (e.hosts.startsWith('|')) {
        const field = e.hashed === undefined ? parseHashedField(e.hosts) : e.hashed;
        if (field) this.hashed.add(field.salt, field.digest, i);
        return;
      }
      const names = literalNames(e.hosts);
      if (names === null) this.patterns.push(i);
      else for (const n of new Set(names)) this.addLiteral(n, i);
    });
  }

  private addLiteral(name: string, i: number): void {
    const list = this.literal.get(name);
    if (list) list.push(i);
    else this.literal.set(name, [i]);
  }

  /** The entries that apply to `name` (already lowercased by knownHostsName), in file order. */
  named(name: string): KnownHostEntry[] {
    let found = this.answers.get(name);
    if (!found) {
      const hits = [
        ...(this.literal.get(name) ?? []),
        ...this.patterns.filter((i) => matchPatternList(name, this.entries[i]!.hosts) === 1),
        ...this.hashed.find(new NameBlock(Buffer.from(name, 'latin1'))),
      ];
      found = [...new Set(hits)].sort((a, b) => a - b).map((i) => this.entries[i]!);
      this.answers.set(name, found);
    }
    return found;
  }

  /** HMACs one new name costs: one per distinct salt. */
  get hashSalts(): number {
    return this.hashed.salts;
  }

  /** The salt most hashed entries share (herd's own entries), to keep adding under it. */
  sharedSalt(): Buffer | null {
    return this.hashed.mostSharedSalt();
  }
}

/**
 * The salt herd hashes the names it records in a file with (HashKnownHosts yes): the one the file's
 * hashed entries already share most, so one HMAC per lookup covers them all, else a fresh one.
 * OpenSSH salts each line apart; README "Security" weighs the difference.
 */
export function recordingSalt(entries: KnownHostEntry[]): Buffer {
  return new KnownHostsIndex(entries).sharedSalt() ?? randomBytes(20);
}

/**
 * The entries that apply to a host, in file order. For a port other than 22 OpenSSH also checks
 * the bare host name when `[host]:port` is unknown (sshconnect.c "checking without port identifier");
 * that second lookup is made only when it is needed.
 */
export function entriesFor(known: KnownHostsIndex | KnownHostEntry[], host: string, port: number): HostEntries {
  const index = known instanceof KnownHostsIndex ? known : new KnownHostsIndex(known);
  const exact = index.named(knownHostsName(host, port));
  let bare: KnownHostEntry[] | undefined = port === 22 ? [] : undefined;
  return {
    exact,
    get bare(): KnownHostEntry[] {
      bare ??= index.named(knownHostsName(host, 22));
      return bare;
    },
  };
}

const where = (e: KnownHostEntry): string => `${e.file}:${e.line}`;

/** hostfile.c check_key_in_hostkeys(): revoked wins, then any equal key, then any other key means changed. */
function verifyAmong(entries: KnownHostEntry[], key: Buffer): HostKeyVerdict {
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { kind: 'revoked', where: where(revoked) };
  const plain = entries.filter((e) => e.marker === null);
  if (plain.some((e) => e.key.equals(key))) return { kind: 'match' };
  if (plain.length === 0) return { kind: 'unknown' };
  return {
    kind: 'mismatch',
    knownTypes: [...new Set(plain.map((e) => e.keyType))],
    where: where(plain[0]!),
    pinned: plain[0]!,
  };
}

/** Decide what a presented (plain, never certificate) host key means for this host. */
export function verifyHostKey(entries: HostEntries, key: Buffer): HostKeyVerdict {
  const exact = verifyAmong(entries.exact, key);
  if (exact.kind !== 'unknown') return exact;
  const bare = verifyAmong(entries.bare, key);
  // OpenSSH 9.2 only warns about a key @revoked under the bare name and then goes on; herd refuses it.
  if (bare.kind === 'match' || bare.kind === 'revoked') return bare;
  const ca = [...entries.exact, ...entries.bare].find((e) => e.marker === 'cert-authority');
  if (ca) return { kind: 'cert-authority', where: where(ca) };
  return { kind: 'unknown' };
}

/** Plain key types known for this host, to offer those host-key algorithms first. */
export function knownKeyTypes(entries: HostEntries): string[] {
  const types = (list: KnownHostEntry[]): string[] => list.filter((e) => e.marker === null).map((e) => e.keyType);
  const exact = types(entries.exact);
  return exact.length > 0 ? exact : types(entries.bare);
}

/** The key type name stored inside an SSH public key blob (its first string). */
export function keyTypeOfBlob(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const len = key.readUInt32BE(0);
  return key.subarray(4, 4 + len).toString('latin1');
}

/**
 * The known_hosts line for a newly accepted key. `hash`: true hashes the name with a fresh salt, as
 * `ssh` does with HashKnownHosts yes; a salt hashes it with that salt (herd's shared salt, see README).
 */
export function formatKnownHostsLine(host: string, port: number, key: Buffer, hash: boolean | Buffer = false): string {
  const name = knownHostsName(host, port);
  const field = hash === false ? name : hash === true ? hashHostName(name) : hashHostName(name, hash);
  return `${field} ${keyTypeOfBlob(key)} ${key.toString('base64')}`;
}

/**
 * Host-key algorithms to offer, known types first, so a host with several keys shows the one we have (as OpenSSH
 * does).
 */
export function preferredHostKeyAlgorithms(knownTypes: string[], defaults: string[]): string[] {
  const expanded = knownTypes.flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]));
  const first = defaults.filter((a) => expanded.includes(a));
  return [...first, ...defaults.filter((a) => !first.includes(a))];
}
