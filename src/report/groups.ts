// Group hosts whose stdout and exit code are identical, largest group first, hosts folded. Pure.
import type { OutputSummary } from '../results/host-output.js';
import { foldHosts } from './fold.js';

export interface HostOutputEntry {
  id: string;
  exitCode: number | null;
  summary: OutputSummary;
}

export interface OutputGroup {
  hosts: string[];
  exitCode: number | null;
  summary: OutputSummary;
}

export function groupOutputs(entries: HostOutputEntry[]): OutputGroup[] {
  const groups = new Map<string, OutputGroup>();
  for (const e of entries) {
    const key = `${e.exitCode}\t${e.summary.digest}`;
    const g = groups.get(key) ?? { hosts: [], exitCode: e.exitCode, summary: e.summary };
    g.hosts.push(e.id);
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => b.hosts.length - a.hosts.length);
}

const MAX_LINES = 20;

/** Beyond this many groups, or with no group holding half the hosts, the view shows only the largest. */
export const MAX_GROUPS = 8;
export const SHOWN_WHEN_MANY = 5;

/**
 * The groups the view prints: all of them in the common case (one majority, few minorities);
 * when output is unique per host (hostname, uptime), only the largest few, so 200 hosts do not
 * print 200 blocks.
 */
export function groupsToShow(groups: OutputGroup[], all: boolean): { shown: OutputGroup[]; hidden: OutputGroup[] } {
  const total = groups.reduce((n, g) => n + g.hosts.length, 0);
  const many = groups.length > MAX_GROUPS || (groups[0]?.hosts.length ?? 0) * 2 < total;
  if (all || !many) return { shown: groups, hidden: [] };
  return { shown: groups.slice(0, SHOWN_WHEN_MANY), hidden: groups.slice(SHOWN_WHEN_MANY) };
}

/** The grouped view: one header per group with folded hosts, then its output once. `all`: every group. */
export function formatGroups(groups: OutputGroup[], all = false): string {
  const out: string[] = [];
  const { shown, hidden } = groupsToShow(groups, all);
  shown.forEach((g, i) => {
    const mark = i === 0 || groups.length === 1 ? '' : 'DIFFERS ';
    const exit = g.exitCode === null ? '' : ` exit ${g.exitCode}`;
    out.push(`==== ${mark}${g.hosts.length} host${g.hosts.length === 1 ? '' : 's'}${exit}: ${foldHosts(g.hosts)}`);
    const lines = g.summary.preview.replace(/\n$/, '').split('\n');
    const shownLines = lines.slice(0, MAX_LINES);
    if (g.summary.bytes === 0) out.push('   (no output)');
    else for (const l of shownLines) out.push(`   ${l}`);
    if (lines.length > MAX_LINES || g.summary.truncated)
      out.push(`   ... (${g.summary.bytes} bytes in all; see stdout/<host>)`);
  });
  if (hidden.length > 0) {
    const hosts = hidden.reduce((n, g) => n + g.hosts.length, 0);
    const outputs = `${hidden.length} more distinct output${hidden.length === 1 ? '' : 's'}`;
    out.push(`… ${outputs} from ${hosts} host${hosts === 1 ? '' : 's'} (herd show --all; output.log)`);
  }
  return out.join('\n');
}
