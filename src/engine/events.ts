// What a run tells its observers: one discriminated union on `kind`. The engine only produces these;
// the run-directory writer (results/record-events.ts) and the terminal view, --json, --stream and the
// step blocks (built by the CLI) are its consumers.
import type { HostPhase, FileDone } from './protocol.js';
import type { HostResult, HostStatus, StepResult } from '../results/status.js';

export type RunEvent =
  /** The run directory exists; `task` tells a consumer what the run moves (transfers count files). */
  | {
      kind: 'run_start';
      run: string;
      dir: string;
      command: string;
      hosts: number;
      task: 'command' | 'transfer' | 'playbook';
    }
  /** connectTimeoutMs: how long a connecting host may wait at most (an ETA never undercuts it). */
  | { kind: 'host_phase'; host: string; phase: HostPhase; connectTimeoutMs: number }
  | { kind: 'output'; host: string; stream: 'stdout' | 'stderr'; data: Buffer; step?: string }
  /** A playbook's plays and the hosts each runs on, before any of them starts. */
  | { kind: 'plays'; plays: { index: number; name: string; hosts: string[] }[] }
  /** A playbook step's result, once recorded (a gate step only after its verdict). */
  | { kind: 'step_done'; step: StepResult }
  /** A resumed host's step done in an earlier run (status already_done): recorded, not run. */
  | { kind: 'step_already_done'; step: StepResult }
  /** A step is complete across a batch, with every result it had there. */
  | { kind: 'step_complete'; results: StepResult[] }
  /** Push and pull: files moved, and what the host's walk found so far. */
  | { kind: 'files_done'; host: string; files: FileDone[]; planned: { files: number; bytes: number } }
  | { kind: 'host_done'; result: HostResult }
  /**
   * The majority output a consensus step is judged against: inherited from an earlier run (at the start) or
   * settled by this run's gate (before its hosts' step results), so a rerun of this run is judged alike.
   */
  | { kind: 'gate_reference'; play: number; step: number; majority: string | null }
  /** A consensus gate's judgement: each distinct output with its hosts; `held` are held back from later steps. */
  | {
      kind: 'gate_verdict';
      play: number;
      step: number;
      name: string;
      groups: { output: string; hosts: string[] }[];
      majority: string | null;
      held: string[];
    }
  /**
   * The run was asked to stop. signal: start no new hosts, running commands get `graceS`; `again`:
   * a second signal stops them now. deadline: --deadline `deadlineS` reached, everything stops now.
   */
  | { kind: 'stop_requested'; cause: NodeJS.Signals; again: boolean; graceS: number }
  | { kind: 'stop_requested'; cause: 'deadline'; deadlineS: number }
  | { kind: 'warning'; message: string }
  /** accept-new: new host keys appended to a known_hosts file. */
  | { kind: 'hostkeys_recorded'; file: string; count: number }
  | { kind: 'run_done'; run: string; dir: string; state: string; counts: Partial<Record<HostStatus, number>> };

export type RunEventKind = RunEvent['kind'];

/** One handler per kind: a new kind without a handler is a compile error in every consumer. */
export type RunEventHandlers = { [K in RunEventKind]: (event: Extract<RunEvent, { kind: K }>) => void };

export type RunEventListener = (event: RunEvent) => void;

/** A listener from a full set of handlers. */
export function dispatchTo(handlers: RunEventHandlers): RunEventListener {
  return (event) => (handlers[event.kind] as (e: RunEvent) => void)(event);
}
