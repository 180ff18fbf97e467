// Pure end-of-run text: counts by status, then failed hosts grouped by reason.
import type { HostResult, HostStatus } from '../results/status.js';
import { HOST_STATUSES } from '../results/status.js';
import type { JumpHostRecord } from '../results/run-record.js';
import { foldHosts } from './fold.js';

/** `200 hosts: 195 ok, 3 failed, 2 unreachable` in a fixed status order. */
export function formatCounts(total: number, counts: Partial<Record<HostStatus, number>>): string {
  const parts = HOST_STATUSES.filter((s) => (counts[s] ?? 0) > 0).map((s) => `${counts[s]} ${s}`);
  return `${total} host${total === 1 ? '' : 's'}: ${parts.length > 0 ? parts.join(', ') : 'nothing ran'}`;
}

/** `jump host ops@bastion:22: 38 connections (3 dropped before authentication, retried)` per jump host. */
export function formatJumpHosts(hops: JumpHostRecord[]): string[] {
  return hops.map((h) => {
    const throttled = h.throttled > 0 ? ` (${h.throttled} dropped before authentication by its sshd: throttled, retried with backoff)` : '';
    return `jump host ${h.host}: ${h.connections} connection${h.connections === 1 ? '' : 's'}${throttled}`;
  });
}

/** Failed hosts grouped by status and reason, largest group first, hosts folded into ranges. */
export function formatFailures(results: HostResult[], maxChars = 200): string[] {
  const groups = new Map<string, { status: HostStatus; reason: string; hosts: string[] }>();
  for (const r of results) {
    if (r.status === 'ok') continue;
    const key = `${r.status}\t${r.reason}`;
    const g = groups.get(key) ?? { status: r.status, reason: r.reason, hosts: [] };
    g.hosts.push(r.id);
    groups.set(key, g);
  }
  return [...groups.values()]
    .sort((a, b) => b.hosts.length - a.hosts.length)
    .map((g) => {
      const folded = foldHosts(g.hosts);
      const shown = folded.length > maxChars ? `${folded.slice(0, maxChars)}... (see failed.txt)` : folded;
      return `  ${g.hosts.length} ${g.status}: ${g.reason || '-'}\n      ${shown}`;
    });
}
