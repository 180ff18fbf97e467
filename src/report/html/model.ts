// What the HTML report shows, as plain data: built by collect.ts from a run directory, rendered by render.ts.

import type { HostStatus, StepStatus } from '../../results/status.js';

/** One host row of the table: [id, status, exit code, duration ms, reason, step]. Arrays keep 10,000 rows small. */
export type HostRow = [string, HostStatus, number | null, number, string, string];

export interface ReportOutputGroup {
  hosts: number;
  folded: string;
  exitCode: number | null;
  /** The start of the output (the first 4 KiB), and the whole output's size. */
  preview: string;
  bytes: number;
  truncated: boolean;
  /**
   * Unified diff of this group's preview against the majority's; null for the majority itself and
   * for a group with the majority's output but another exit code.
   */
  diff: string | null;
}

export interface ReportStep {
  key: string;
  name: string;
  counts: [StepStatus, number][];
  /** The step's output groups (steps/<key>/stdout), like the run's for a command. */
  groups: ReportOutputGroup[];
  hiddenGroups: { outputs: number; hosts: number };
}

export interface ReportData {
  id: string;
  herdVersion: string;
  /** The herd command (run, play, push, ...) and what it ran, in one line. */
  command: string;
  what: string;
  argv: string[];
  user: string;
  controller: string;
  cwd: string;
  inventories: string[];
  limit: string | null;
  rerunOf: string | null;
  state: string;
  startedAt: string;
  /** From run.json: null when the run never finished (killed). */
  endedAt: string | null;
  /** When the journal recorded the run's end, else its last entry. */
  lastRecordAt: string | null;
  counts: [HostStatus, number][];
  hosts: HostRow[];
  /** The terminal's failure list (grouped by reason, folded ranges, stderr excerpts), one entry per group. */
  failures: string[];
  /** Failure groups beyond the ones shown: how many, from how many hosts. */
  hiddenFailures: { groups: number; hosts: number };
  groups: ReportOutputGroup[];
  /** Groups beyond the ones shown: how many, from how many hosts. */
  hiddenGroups: { outputs: number; hosts: number };
  steps: ReportStep[];
  generatedAt: string;
}
