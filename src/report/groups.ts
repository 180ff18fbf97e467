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

/** The grouped view: one header per group with folded hosts, then its output once. */
export function formatGroups(groups: OutputGroup[]): string {
  const out: string[] = [];
  groups.forEach((g, i) => {
    const mark = i === 0 || groups.length === 1 ? '' : 'DIFFERS ';
    const exit = g.exitCode === null ? '' : ` exit ${g.exitCode}`;
    out.push(`==== ${mark}${g.hosts.length} host${g.hosts.length === 1 ? '' : 's'}${exit}: ${foldHosts(g.hosts)}`);
    const lines = g.summary.preview.replace(/\n$/, '').split('\n');
    const shown = lines.slice(0, MAX_LINES);
    if (g.summary.bytes === 0) out.push('   (no output)');
    else for (const l of shown) out.push(`   ${l}`);
    if (lines.length > MAX_LINES || g.summary.truncated) out.push(`   ... (${g.summary.bytes} bytes in all; see stdout/<host>)`);
  });
  return out.join('\n');
}
