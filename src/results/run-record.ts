// run.json: the audit record of one run. Shared by the writer and the readers.
import type { HostStatus } from './status.js';

export type RunState = 'running' | 'done' | 'interrupted';

export interface RunRecord {
  id: string;
  herd_version: string;
  /** Which herd command made this run: run, rerun, ... */
  command: string;
  task: { kind: 'command'; command: string; timeout_s: number };
  user: string;
  controller: string;
  cwd: string;
  /** The command line as typed; herd takes no secret on argv, so there is nothing to redact but env values. */
  argv: string[];
  inventory_sources: string[];
  limit: string | null;
  options: RunOptionsRecord;
  rerun_of: string | null;
  state: RunState;
  started_at: string;
  ended_at: string | null;
  hosts_total: number;
  counts: Partial<Record<HostStatus, number>>;
}

/** Options needed to repeat a run (rerun) and to audit it. Never holds a secret, only where it came from. */
export interface RunOptionsRecord {
  user: string | null;
  port: number | null;
  keys: string[];
  keys_explicit: boolean;
  password_source: string | null;
  agent: boolean;
  forks: number;
  workers: number;
  connect_timeout_s: number;
  known_hosts: string;
  host_key_mode: 'accept-new' | 'strict' | 'off';
}
