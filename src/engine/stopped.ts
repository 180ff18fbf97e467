// One wording for every way a command can be stopped before it exits by itself, shared by
// ad-hoc commands and playbook steps, so statuses and reasons match wherever they come from.
import type { ExecOutcome } from '../transport/exec.js';
import { interruptedOutcome, timeoutOutcome, type EndedOutcome } from '../results/status.js';

/** Stopped before it exited by itself, so no exit code. */
export type StoppedOutcome = EndedOutcome<'timeout' | 'interrupted'>;

/** Why the run's abort signal fired: the user's Ctrl-C / SIGTERM, or the whole-run --deadline. */
export type AbortCause = 'interrupt' | 'deadline';

/** Says "verified gone" only when the kill script saw no tagged process left. */
export function describeKill(killed: number | null | undefined, survivors?: number): string {
  if (killed === null || killed === undefined) return 'remote kill could not be confirmed';
  if (survivors === undefined) return `remote processes killed: ${killed}`;
  if (survivors === 0) return `remote processes killed: ${killed} (verified gone)`;
  return `remote processes killed: ${killed}; ${survivors} still running after the kill`;
}

/** A command or transfer the run's abort signal stopped; `detail` adds what was done about it. */
export function abortedOutcome(signal: AbortSignal, what: string, detail: string): StoppedOutcome {
  const tail = detail === '' ? '' : `; ${detail}`;
  if (signal.reason === 'deadline')
    return timeoutOutcome('E_DEADLINE', `${what} stopped: the run's --deadline was reached${tail}`);
  return interruptedOutcome('E_INTERRUPTED', `${what} interrupted while running${tail}`);
}

/**
 * Null when the command exited by itself. `what` names it ("command", "guard"); `timeoutText`
 * says which limit a plain timeout was ("--timeout 3s", "its timeout").
 */
export function stoppedOutcome(
  outcome: ExecOutcome,
  what: string,
  timeoutText: string,
  idleTimeoutMs: number,
  signal: AbortSignal,
): StoppedOutcome | null {
  const kill = describeKill(outcome.killed, outcome.killSurvivors);
  if (outcome.aborted) return abortedOutcome(signal, what, kill);
  if (outcome.timedOut) return timeoutOutcome('E_COMMAND_TIMEOUT', `${what} exceeded ${timeoutText}; ${kill}`);
  if (outcome.idle)
    return timeoutOutcome(
      'E_IDLE_TIMEOUT',
      `${what} printed nothing for ${idleTimeoutMs / 1000}s (--idle-timeout); ${kill}`,
    );
  if (outcome.connectionLost)
    return interruptedOutcome(
      'E_CONNECTION_LOST',
      `connection lost while the ${what} was running (it may have run)` +
        (outcome.lostReason !== undefined ? `: ${outcome.lostReason}` : ''),
    );
  return null;
}
