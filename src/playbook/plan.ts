// Pure planning of a play's execution: serial batches, consensus segments, max_fail, majority output.
import type { Amount, Play } from './types.js';

/** Resolve `serial` / `max_fail` against a host count: percentages round up, at least 1. */
export function resolveAmount(amount: Amount, total: number): number {
  if (amount.kind === 'count') return amount.n;
  return Math.max(1, Math.ceil((amount.p / 100) * total));
}

/** Split hosts into batches of `serial` (all in one batch without it). */
export function splitBatches<T>(hosts: T[], serial: Amount | undefined): T[][] {
  if (hosts.length === 0) return [];
  if (!serial) return [hosts];
  const size = Math.max(1, resolveAmount(serial, hosts.length));
  const batches: T[][] = [];
  for (let i = 0; i < hosts.length; i += size) batches.push(hosts.slice(i, i + size));
  return batches;
}

export interface Segment {
  from: number;
  to: number;
  /** The segment ends with a consensus step whose output gates the hosts going on. */
  gate: boolean;
}

/** Cut a play's steps after each consensus step: every host must finish it before anyone goes on. */
export function splitSegments(play: Play): Segment[] {
  const segments: Segment[] = [];
  let from = 1;
  for (const step of play.steps) {
    if (step.expect?.consensus) {
      segments.push({ from, to: step.index, gate: true });
      from = step.index + 1;
    }
  }
  if (from <= play.steps.length) segments.push({ from, to: play.steps.length, gate: false });
  return segments;
}

/** Outputs that differ only in trailing whitespace or trailing blank lines are the same. */
export function normaliseOutput(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''))
    .join('\n')
    .replace(/\n+$/, '');
}

export interface ConsensusVerdict {
  /** The output the majority printed, or null when the largest groups tie. */
  majority: string | null;
  /** Hosts whose output is not the majority's (all hosts when there is no majority). */
  diverged: string[];
  /** Groups of hosts by output, largest first. */
  groups: { output: string; hosts: string[] }[];
}

/**
 * Group hosts by normalised output. With a reference (the canary batch's majority) hosts are
 * compared to it; otherwise the largest group wins, and a tie holds everyone back.
 */
export function judgeConsensus(outputs: Map<string, string>, reference?: string | null): ConsensusVerdict {
  const byOutput = new Map<string, string[]>();
  for (const [host, out] of outputs) {
    const key = normaliseOutput(out);
    const list = byOutput.get(key) ?? [];
    list.push(host);
    byOutput.set(key, list);
  }
  const groups = [...byOutput.entries()]
    .map(([output, hosts]) => ({ output, hosts }))
    .sort((a, b) => b.hosts.length - a.hosts.length);
  let majority: string | null;
  if (reference !== undefined && reference !== null) majority = reference;
  else if (groups.length === 0) majority = null;
  else if (groups.length > 1 && groups[0]!.hosts.length === groups[1]!.hosts.length) majority = null;
  else majority = groups[0]!.output;
  const diverged = groups.filter((g) => g.output !== majority).flatMap((g) => g.hosts);
  return { majority, diverged, groups };
}
