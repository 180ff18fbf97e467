// Messages between the parent and its worker processes: discriminated unions on `kind`.
// Errors travel as plain data; nothing here is checked with instanceof across processes.
import type { ErrorData } from '../errors.js';
import type { HostResult } from '../results/status.js';
import type { HostKeyMode } from '../transport/connect.js';

/** What every host does once connected. Playbooks add their own kind later. */
export type TaskSpec = { kind: 'command'; command: string; timeoutMs: number };

export interface WorkerConfig {
  /** Sessions this worker may hold at once. */
  concurrency: number;
  connectTimeoutMs: number;
  hostKeyMode: HostKeyMode;
  knownHostsPath: string;
  keyPaths: string[];
  /** Keys named on the command line (problems with them are reported); default paths are tried quietly. */
  keysExplicit: boolean;
  /** Sent over IPC only, never argv or environment. */
  password?: string;
  agentSocket?: string;
  task: TaskSpec;
}

/** One host to work on, with everything needed to reach it. */
export interface HostJob {
  id: string;
  host: string;
  port: number;
  user: string;
  /** Unique tag for the remote processes of this job. */
  tag: string;
}

export type HostPhase = 'connecting' | 'running';

export type ParentMessage =
  | { kind: 'init'; config: WorkerConfig }
  | { kind: 'job'; job: HostJob }
  /** drain: start no job that has not begun; report those as not_started. */
  | { kind: 'drain'; reason: string }
  /** abort: stop running commands now (remote side killed) and report them interrupted. */
  | { kind: 'abort' }
  | { kind: 'shutdown' };

export type WorkerMessage =
  | { kind: 'ready'; problems: string[] }
  | { kind: 'host_phase'; id: string; phase: HostPhase }
  | { kind: 'output'; id: string; stream: 'stdout' | 'stderr'; data: Uint8Array }
  | { kind: 'host_done'; result: HostResult }
  | { kind: 'hostkey_new'; line: string }
  | { kind: 'worker_error'; error: ErrorData };
