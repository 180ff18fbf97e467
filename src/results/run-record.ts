// run.json: the audit record of one run. Shared by the writer and the readers.
import type { HostStatus } from './status.js';

export type RunState = 'running' | 'done' | 'interrupted';

export interface RunRecord {
  id: string;
  herd_version: string;
  /** Which herd command made this run: run, rerun, ... */
  command: string;
  task: RunTaskRecord;
  user: string;
  controller: string;
  cwd: string;
  /** The command line as typed; herd takes no secret on argv, so there is nothing to redact but env values. */
  argv: string[];
  inventory_sources: string[];
  limit: string | null;
  options: RunOptionsRecord;
  rerun_of: string | null;
  /**
   * The configuration files read (~/.config/herd/config.yml, herd.yml), lowest precedence first. Older runs lack it.
   */
  config_files?: string[];
  state: RunState;
  started_at: string;
  ended_at: string | null;
  hosts_total: number;
  counts: Partial<Record<HostStatus, number>>;
  /** Runs through jump hosts: per hop (user@host:port), connections that authenticated and ones dropped before that. */
  jump_hosts?: JumpHostRecord[];
  /** Target connections that authenticated (SSH handshakes); a playbook reuses a host's connection across passes. */
  handshakes?: number;
  /** Hosts that reused a connection a keeper held from an earlier command (--persist); absent without a keeper. */
  reused?: string[];
  /** One shard of a logical run (--shard); shard.tsv in the run directory lists every selected host's shard. */
  shard?: ShardRecord;
  /** A run herd merge made from the shards of one logical run. */
  merged?: MergeRecord;
}

/** The shard a run was: enough for herd merge to prove it holds every shard of the same logical run. */
export interface ShardRecord {
  run_group: string;
  /** 0-based. */
  index: number;
  count: number;
  /** --shard as typed: `K/N` or `auto`. */
  given: string;
  /** Where auto found the position (`SLURM_ARRAY_TASK_ID=3`), null for K/N. */
  from_env: string | null;
  by: 'hash' | 'group';
  /** The hosts selected before sharding (after --limit and, for playbooks, the plays' hosts patterns). */
  selected_hosts: number;
  /** sha256 of those host ids, one per line, in selection order (inventory/shard.ts selectionDigest). */
  selection_digest: string;
  /** How many of them this shard owned (its hosts.tsv rows). */
  hosts: number;
}

/** The shards a merged run was made from, in shard order. */
export interface MergeRecord {
  run_group: string;
  count: number;
  by: 'hash' | 'group';
  selection_digest: string;
  /** When herd merge ran (the only time of the merged run that is not a shard's). */
  merged_at: string;
  shards: MergedShard[];
}

export interface MergedShard {
  index: number;
  /** null: no directory of this shard was given (its hosts are not_started). */
  run: string | null;
  controller: string | null;
  state: RunState | null;
  started_at: string | null;
  ended_at: string | null;
  hosts: number;
}

export interface JumpHostRecord {
  host: string;
  connections: number;
  /** Dropped before authentication (sshd MaxStartups) and retried or given up. */
  throttled: number;
}

export type RunTaskRecord =
  | { kind: 'command'; command: string; timeout_s: number }
  | {
      kind: 'playbook';
      /** Absolute path of the playbook file, and its sha256 when the run started. */
      file: string;
      sha256: string;
      check: boolean;
      /** --var values (not secrets). */
      vars: Record<string, string>;
      /** Where the become password came from (`env:VAR`, `prompt`), never the password. */
      become_password_source: string | null;
    }
  | {
      kind: 'transfer';
      direction: 'push' | 'pull';
      local: string;
      remote: string;
      times: boolean;
      checksum?: boolean;
      delete?: boolean;
      follow_links?: boolean;
      keep_special_bits?: boolean;
    };

/** Options needed to repeat a run (rerun) and to audit it. Never holds a secret, only where it came from. */
export interface RunOptionsRecord {
  user: string | null;
  port: number | null;
  keys: string[];
  keys_explicit: boolean;
  password_source: string | null;
  key_passphrase_source?: string | null;
  agent: boolean;
  forks: number;
  workers: number;
  /** Whether --workers was given; if not, herd picked `workers` for the run's size. Older runs lack it. */
  workers_explicit?: boolean;
  max_handshakes?: number;
  connect_timeout_s: number;
  /** Whether --connect-timeout was given; if not, ssh_config's ConnectTimeout applied per host. Older runs lack it. */
  connect_timeout_explicit?: boolean;
  connect_retries?: number;
  /** Whether --connect-retries was given; if not, ssh_config's ConnectionAttempts applied. Older runs lack it. */
  connect_retries_explicit?: boolean;
  connect_rate?: number;
  idle_timeout_s?: number;
  deadline_s?: number;
  max_output_bytes?: number;
  /** --known-hosts as given (the only user file then); null when not given (ssh_config or OpenSSH's defaults). */
  known_hosts: string | null;
  /** Every known_hosts file the run's host keys were checked against, user files first. */
  known_hosts_files?: string[];
  host_key_mode: 'accept-new' | 'strict' | 'off';
  /**
   * Whether host_key_mode was given on the command line; if not, ssh_config's StrictHostKeyChecking applied per host.
   */
  host_key_mode_explicit?: boolean;
  /** The ssh_config file read, or `none` for -F none; null when none was read. */
  ssh_config?: string | null;
  jump?: string | null;
  jump_sessions?: number;
}
