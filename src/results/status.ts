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

/** A host's end before its id and duration are stamped on it: what a task returns to its host job. */
export type Outcome = Omit<HostResult, 'id' | 'durationMs'>;

/** `ok` carries no code: nothing went wrong. Its reason is a summary (`sent 2 files ...`) or empty. */
export type OkOutcome = Omit<Outcome, 'status' | 'code'> & { status: 'ok'; code?: never };

/** Every status but ok and not_started: the host ended short, so it always says why (a code and a reason). */
export type EndedStatus = Exclude<HostStatus, 'ok' | 'not_started'>;
export type EndedOutcome<S extends EndedStatus = EndedStatus> = Outcome & { status: S; code: ErrorCode };

/** What a not-ok outcome may add to its code and reason. */
export interface EndedDetails {
  /** Remote exit code when the command finished (null when it did not). */
  exitCode?: number | null;
  signal?: string | null;
  /** Playbooks: the step (`play.step`) where the host stopped. */
  step?: string;
}

/** The host did everything asked of it. */
export function okOutcome(exitCode: number | null, summary = ''): OkOutcome {
  return { status: 'ok', exitCode, reason: summary };
}

/**
 * A host that ended short with a status known only at run time (a HostFailure's own status, a step's
 * status mapped to the host's); the named factories below are this with their status fixed.
 */
export function endedOutcome<S extends EndedStatus>(
  status: S,
  code: ErrorCode,
  reason: string,
  details: EndedDetails = {},
): EndedOutcome<S> {
  const { exitCode = null, signal, step } = details;
  return {
    status,
    exitCode,
    ...(signal !== undefined ? { signal } : {}),
    reason,
    ...(step !== undefined ? { step } : {}),
    code,
  };
}

/** The command or step ran and did not succeed (E_EXIT, a transfer's own code, ...). */
export function failedOutcome(code: ErrorCode, reason: string, details?: EndedDetails): EndedOutcome<'failed'> {
  return endedOutcome('failed', code, reason, details);
}

/** herd itself broke while the host was in its hands (E_INTERNAL, E_WORKER_ERROR): it may have run. */
export function errorOutcome(code: ErrorCode, reason: string, details?: EndedDetails): EndedOutcome<'error'> {
  return endedOutcome('error', code, reason, details);
}

/** Stopped mid-way by a stop, a lost connection or a dead worker: it may have run. */
export function interruptedOutcome(
  code: ErrorCode,
  reason: string,
  details?: EndedDetails,
): EndedOutcome<'interrupted'> {
  return endedOutcome('interrupted', code, reason, details);
}

/** A limit (--timeout, --idle-timeout, --deadline) stopped it. */
export function timeoutOutcome(code: ErrorCode, reason: string, details?: EndedDetails): EndedOutcome<'timeout'> {
  return endedOutcome('timeout', code, reason, details);
}

/** Its output differs from what was expected or from the majority: always E_DIVERGED. */
export function divergedOutcome(reason: string, details?: EndedDetails): EndedOutcome<'diverged'> {
  return endedOutcome('diverged', 'E_DIVERGED', reason, details);
}

/** Under --check, a step that failed only because earlier steps did not run: always E_UNVERIFIED. */
export function unverifiedOutcome(reason: string, details?: EndedDetails): EndedOutcome<'unverified'> {
  return endedOutcome('unverified', 'E_UNVERIFIED', reason, details);
}

/** Stamps an outcome with the host it belongs to and how long the host took. */
export function hostResult(id: string, durationMs: number, outcome: Outcome): HostResult {
  return { id, durationMs, ...outcome };
}

/** Nothing was run on the host: the one shape of `not_started`, whoever decides it (pool, worker, engine). */
export function notStartedOutcome(reason: string): Outcome & { status: 'not_started'; code: 'E_NOT_STARTED' } {
  return { status: 'not_started', exitCode: null, reason, code: 'E_NOT_STARTED' };
}

/** A host nothing was run on, stamped; `durationMs` is the time spent before giving up on it (0 when none). */
export function notStarted(id: string, reason: string, durationMs = 0): HostResult {
  return hostResult(id, durationMs, notStartedOutcome(reason));
}
