// The words for a changed host key: what was offered, what is pinned where, and the command that
// clears the stale line. Pure text, shared by the transport (per-host reason) and the summary
// (one block per changed key, hosts folded).
import { createHash } from 'node:crypto';

/** What `ssh` prints for a key: `SHA256:` + unpadded base64 of sha256(key blob). */
export function sha256Fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export interface HostKeyChange {
  offeredType: string;
  offered: Buffer;
  pinnedType: string;
  pinned: Buffer;
  file: string;
  line: number;
  /** The name the line is stored under: `host` or `[host]:port`, what `ssh-keygen -R` takes. */
  name: string;
}

/** Single quotes when the shell would otherwise glob or split it (`[host]:port` globs). */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const PREFIX = 'host key changed: offered ';

export function hostKeyChangedReason(c: HostKeyChange): string {
  return (
    `${PREFIX}${c.offeredType} ${sha256Fingerprint(c.offered)}, known_hosts has ${c.pinnedType} ` +
    `${sha256Fingerprint(c.pinned)} at ${c.file}:${c.line}; nothing was run; ` +
    `fix: ssh-keygen -R ${shellWord(c.name)} -f ${shellWord(c.file)}`
  );
}

const PARSE =
  /^(host key changed: offered \S+ \S+, known_hosts has \S+ \S+ at )(.*):(\d+)(; nothing was run; fix: ssh-keygen -R )('(?:[^']|'\\'')*'|\S+)( -f .*)$/s;

/**
 * The part of a changed-key reason that hosts share (the file and both fingerprints), and the
 * per-host part (the line), so the summary shows one block per changed key; null for other reasons.
 */
export function splitHostKeyReason(
  reason: string,
): { shared: string; line: number; file: string; fixTail: string } | null {
  if (!reason.startsWith(PREFIX)) return null;
  const m = PARSE.exec(reason);
  if (!m) return null;
  return { shared: `${m[1]}${m[2]}${m[4]}HOST${m[6]}`, line: Number(m[3]), file: m[2]!, fixTail: m[6]! };
}

/** `host key changed: ... at FILE lines 3, 7; nothing was run; fix: ssh-keygen -R HOST -f FILE (for each host)`. */
export function foldedHostKeyReason(first: string, lines: number[]): string {
  const m = PARSE.exec(first)!;
  const sorted = [...new Set(lines)].sort((a, b) => a - b);
  if (sorted.length === 1 && lines.length === 1) return first;
  const at = `${m[2]} line${sorted.length === 1 ? '' : 's'} ${sorted.join(', ')}`;
  return `${m[1]}${at}${m[4]}HOST${m[6]} for each host below`;
}
