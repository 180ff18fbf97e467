// Pure end-of-run text: counts by status, then failed hosts grouped by reason and by the start of their stderr.
import type { HostResult, HostStatus } from '../results/status.js';
import { HOST_STATUSES } from '../results/status.js';
import type { Excerpt } from './excerpt.js';
import type { JumpHostRecord } from '../results/run-record.js';
import { foldHosts } from './fold.js';
import { foldedHostKeyReason, splitHostKeyReason } from '../transport/hostkey-reason.js';

/** `200 hosts: 195 ok, 3 failed, 2 unreachable` in a fixed status order. */
export function formatCounts(total: number, counts: Partial<Record<HostStatus, number>>): string {
  const parts = HOST_STATUSES.filter((s) => (counts[s] ?? 0) > 0).map((s) => `${counts[s]} ${s}`);
  return `${total} host${total === 1 ? '' : 's'}: ${parts.length > 0 ? parts.join(', ') : 'nothing ran'}`;
}

/** `jump host ops@bastion:22: 38 connections (3 dropped before authentication, retried)` per jump host. */
export function formatJumpHosts(hops: JumpHostRecord[]): string[] {
  return hops.map((h) => {
    const throttled =
      h.throttled > 0
        ? ` (${h.throttled} dropped before authentication by its sshd: throttled, retried with backoff)`
        : '';
    return `jump host ${h.host}: ${h.connections} connection${h.connections === 1 ? '' : 's'}${throttled}`;
  });
}

/** accept-new, one line per known_hosts file: `recorded 12 new host keys in /root/.ssh/known_hosts`. */
export function formatRecordedHostKeys(recorded: { file: string; count: number }[]): string[] {
  return recorded.map((r) => `recorded ${r.count} new host key${r.count === 1 ? '' : 's'} in ${r.file}`);
}

/** A failed host's stderr excerpt, and where its whole stderr is (relative to the run directory). */
export interface HostExcerpt {
  excerpt: Excerpt;
  file: string;
}

interface FailureGroup {
  status: HostStatus;
  reason: string;
  hosts: string[];
  /** Of the group's first host: every host of the group shows the same lines up to whitespace. */
  excerpt: HostExcerpt | undefined;
  fewest: number;
  most: number;
  cut: boolean;
  /** The first host with lines beyond the excerpt: where the note points. */
  longer: string | undefined;
  /** Changed host keys: the known_hosts line of each host, shown folded in one block per key. */
  keyLines: number[];
}

/**
 * Failed hosts grouped by status, reason and stderr excerpt, largest group first, hosts folded
 * into ranges, each group's excerpt shown once. A host list longer than `maxChars` points at `listFile`.
 */
export function formatFailures(
  results: HostResult[],
  maxChars = 200,
  excerpts: ReadonlyMap<string, HostExcerpt> = new Map(),
  listFile = 'failed.txt',
): string[] {
  const groups = new Map<string, FailureGroup>();
  for (const r of results) {
    if (r.status === 'ok') continue;
    const ex = excerpts.get(r.id);
    // A changed key's reason differs per host only in its line and name: fold on the rest.
    const hostKey = r.status === 'hostkey_mismatch' ? splitHostKeyReason(r.reason) : null;
    const key = `${r.status}\t${hostKey?.shared ?? r.reason}\t${ex?.excerpt.key ?? ''}`;
    let g = groups.get(key);
    if (!g) {
      g = {
        status: r.status,
        reason: r.reason,
        hosts: [],
        excerpt: ex,
        fewest: Infinity,
        most: 0,
        cut: false,
        longer: undefined,
        keyLines: [],
      };
      groups.set(key, g);
    }
    g.hosts.push(r.id);
    if (hostKey) g.keyLines.push(hostKey.line);
    if (ex) {
      g.fewest = Math.min(g.fewest, ex.excerpt.more);
      g.most = Math.max(g.most, ex.excerpt.more);
      g.cut ||= ex.excerpt.cut;
      if (g.longer === undefined && (ex.excerpt.more > 0 || ex.excerpt.cut)) g.longer = ex.file;
    }
  }
  return [...groups.values()]
    .sort((a, b) => b.hosts.length - a.hosts.length)
    .map((g) => {
      const folded = foldHosts(g.hosts);
      const shown = folded.length > maxChars ? `${folded.slice(0, maxChars)}... (see ${listFile})` : folded;
      const reason = g.keyLines.length > 0 ? foldedHostKeyReason(g.reason, g.keyLines) : g.reason;
      const lines = [`  ${g.hosts.length} ${g.status}: ${oneLine(reason) || '-'}`, `      ${shown}`];
      if (g.excerpt) lines.push(...g.excerpt.excerpt.lines.map((l) => `      | ${l}`));
      const note = moreNote(g);
      if (note !== null) lines.push(`      … ${note} (${g.longer})`);
      return lines.join('\n');
    });
}

/** How many lines the excerpt leaves out: exact when every host of the group has as many, else a lower bound. */
function moreNote(g: FailureGroup): string | null {
  if (g.longer === undefined) return null;
  if (!g.cut && g.fewest === g.most) return `${g.most} more line${g.most === 1 ? '' : 's'}`;
  return g.fewest > 0 ? `at least ${g.fewest} more line${g.fewest === 1 ? '' : 's'}` : 'more';
}

/** A reason can quote a host's file name: its line breaks are shown, so it cannot forge list entries. */
function oneLine(reason: string): string {
  return reason.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}
