// Host statuses and the one result shape every host ends a run with.
import type { ErrorCode } from '../errors.js';

/** Final per-host statuses written to hosts.tsv; scripts match on these exact words. */
export const HOST_STATUSES = [
  'ok',
  'failed',
  'unreachable',
  'auth_failed',
  'hostkey_mismatch',
  'hostkey_unknown',
  'timeout',
  'diverged',
  'unverified',
  'interrupted',
  'not_started',
  'error',
] as const;

export type HostStatus = (typeof HOST_STATUSES)[number];

/** One host's outcome. Success and failure share this flat shape. */
export interface HostResult {
  id: string;
  status: HostStatus;
  /** Remote exit code when the command finished; null otherwise. */
  exitCode: number | null;
  /** Signal name when the remote command was killed by a signal. */
  signal?: string | null;
  durationMs: number;
  /** Why the host is not ok, in one line; empty when ok. */
  reason: string;
  /** Stable error code behind the reason (E_REFUSED, E_AUTH, ...), when there is one. */
  code?: ErrorCode;
  /** Playbooks: the step (`play.step`) where the host stopped. */
  step?: string;
}

/** Per-step statuses written to steps.tsv. */
export const STEP_STATUSES = [
  'ok',
  'changed',
  'skipped',
  'failed',
  'diverged',
  'timeout',
  'interrupted',
  'would_run',
  'would_skip',
  'unverified',
  'already_done',
  'not_started',
] as const;

export type StepStatus = (typeof STEP_STATUSES)[number];

/** Step statuses that let a host go on to its next step (and that a resume does not repeat). */
export const STEP_DONE_STATUSES: readonly StepStatus[] = ['ok', 'changed', 'skipped', 'already_done'];

export interface StepResult {
  host: string;
  play: number;
  step: number;
  name: string;
  status: StepStatus;
  exitCode: number | null;
  durationMs: number;
  reason: string;
  /** Stable error code behind the reason when the step did not pass (E_EXIT, E_IDLE_TIMEOUT, ...). */
  code?: ErrorCode;
  /** The step failed but has ignore_errors, so the host went on. */
  ignored?: boolean;
  /** Output of a consensus step, kept to compare hosts (bounded). */
  stdout?: string;
}

/** A host nothing was run on: the one shape of `not_started`, whoever decides it (pool, worker, engine). */
export function notStarted(id: string, reason: string): HostResult {
  return { id, status: 'not_started', exitCode: null, durationMs: 0, reason, code: 'E_NOT_STARTED' };
}
