// Messages between the parent and its worker processes: discriminated unions on `kind`.
// Errors travel as plain data; nothing here is checked with instanceof across processes.
import type { ErrorData } from '../errors.js';
import type { HostResult, StepResult } from '../results/status.js';
import type { Play } from '../playbook/types.js';
import type { HostKeyMode, Keepalive } from '../transport/connect.js';
import type { AbortCause } from './stopped.js';

/** What every host does once connected: one command, or a range of a play's steps. */
export type TaskSpec =
  | { kind: 'command'; command: string; timeoutMs: number }
  /** connect: open the connection and run nothing (herd shell connects its hosts before the first command). */
  | { kind: 'connect' }
  | {
      kind: 'steps';
      play: Play;
      /** --var values; they override play vars. */
      extraVars: Record<string, string>;
      runId: string;
      /** --check: run only check steps and guards; report the rest as would_run / would_skip. */
      check: boolean;
      /** Sent over IPC only; fed to sudo on stdin. */
      becomePassword?: string;
      /** Where pull steps put files: <pullRoot>/<dest>/<host>/... relative dests resolve against the cwd. */
      cwd: string;
    }
  | {
      kind: 'transfer';
      direction: 'push' | 'pull';
      /** push: the local source; pull: the local directory that gets one folder per host. */
      local: string;
      /** May hold {{ host }}, {{ port }}, {{ user }}, {{ run_id }}. */
      remote: string;
      times: boolean;
      runId: string;
      /** Compare sha256 (the host's side computed on the host) instead of size and mtime. */
      checksum: boolean;
      /** Remove destination files the source does not have (inside the destination tree only). */
      deleteExtra: boolean;
      followLinks: boolean;
      /** Pull: keep setuid, setgid and sticky bits of the host's files (else 0777 bits only). */
      keepSpecialBits: boolean;
    };

export interface WorkerConfig {
  /** Hosts this worker works on at once: its share of --forks (of at most as many as the run has hosts). */
  concurrency: number;
  /** SSH sessions this worker may hold open, in use and kept idle between passes: its share of --forks. */
  sessions: number;
  /** Handshakes this worker may have in progress at once (pacing: key exchange is CPU-bound on both ends). */
  handshakes: number;
  connectTimeoutMs: number;
  /** --idle-timeout: a command silent this long is stopped; 0 means never. */
  idleTimeoutMs: number;
  /** --max-output: stdout+stderr bytes kept per host; the rest is dropped with a note in the reason. 0 means no cap. */
  maxOutputBytes: number;
  /**
   * --connect-retries: attempts after a transient handshake failure (reset, closed by MaxStartups), before any
   * command.
   */
  connectRetries: number;
  /** --connect-rate: new connections this worker may start per second; 0 means unpaced. */
  connectRate: number;
  /** --jump-sessions: target sessions carried by one connection to a jump host. */
  jumpSessions: number;
  hostKeyMode: HostKeyMode;
  /** Every known_hosts file the parent read before any host (latin1 text); null for a missing file. */
  knownHostsData: Record<string, string | null>;
  keyPaths: string[];
  /** Keys named on the command line (problems with them are reported); default paths are tried quietly. */
  keysExplicit: boolean;
  /** Sent over IPC only, never argv or environment. */
  password?: string;
  /** Decrypts encrypted private keys; IPC only, like the password. */
  keyPassphrase?: string;
  agentSocket?: string;
}

/** A jump host (bastion) on the way to a target. */
export interface HopTarget {
  /** user@host:port, for reasons and for sharing one bastion connection between targets. */
  label: string;
  host: string;
  port: number;
  user: string;
  keyPaths?: string[];
  /** ssh_config CertificateFile: user certificates offered with the keys they certify. */
  certificatePaths?: string[];
  noAgent?: boolean;
  /** --host-key-checking, else the hop's own StrictHostKeyChecking (ssh reads the jump host's block for it). */
  hostKeyMode?: HostKeyMode;
  knownHosts: KnownHostsSpec;
  /** ssh_config HostKeyAlias: the name its key is looked up, recorded and certified under. */
  hostKeyAlias?: string;
  /** ssh_config ServerAliveInterval/ServerAliveCountMax; the worker's default keepalive when absent. */
  keepalive?: Keepalive;
}

/** Which known_hosts files a host's key is checked against, and where a new key is recorded. */
export interface KnownHostsSpec {
  /** UserKnownHostsFile files, then GlobalKnownHostsFile files: OpenSSH's order. */
  files: string[];
  /** The first UserKnownHostsFile, where accept-new records (null: UserKnownHostsFile none). */
  record: string | null;
  /** HashKnownHosts yes: new names are written hashed. */
  hash: boolean;
}

/**
 * One host to work on, with everything needed to reach it. Optional fields override the worker's defaults
 * (ssh_config).
 */
export interface HostJob {
  id: string;
  host: string;
  port: number;
  user: string;
  keyPaths?: string[];
  /** ssh_config CertificateFile: user certificates offered with the keys they certify. */
  certificatePaths?: string[];
  /** IdentitiesOnly: do not offer the agent's keys. */
  noAgent?: boolean;
  /** Jump hosts, first hop first (-J, ProxyJump). */
  jump?: HopTarget[];
  connectTimeoutMs?: number;
  hostKeyMode?: HostKeyMode;
  /** ssh_config ConnectionAttempts - 1, when --connect-retries was not given; the worker's default when absent. */
  connectRetries?: number;
  /** From ConnectionAttempts: a failed TCP connect is retried too, as ssh retries it. */
  retryConnectFailures?: boolean;
  knownHosts: KnownHostsSpec;
  /** ssh_config HostKeyAlias: the name its key is looked up, recorded and certified under. */
  hostKeyAlias?: string;
  /** How many hosts of the run share hostKeyAlias, when more than one (accept-new then refuses an unpinned key). */
  hostKeyAliasSharedBy?: number;
  /** ssh_config ServerAliveInterval/ServerAliveCountMax; the worker's default keepalive when absent. */
  keepalive?: Keepalive;
  /** Unique tag for the remote processes of this job. */
  tag: string;
  /** Steps tasks: the 1-based range of the play's steps this job runs (inclusive). */
  fromStep?: number;
  toStep?: number;
  /** Steps tasks: steps of an earlier play (or an earlier run resumed) already ran on this host. */
  afterEarlierSteps?: boolean;
  /** Steps tasks: this host's inventory variables that the playbook's templates use, as template text. */
  inventoryVars?: Record<string, string>;
}

export type HostPhase = 'connecting' | 'running';

export type ParentMessage =
  | { kind: 'init'; config: WorkerConfig }
  /**
   * pass: the jobs that follow run `task` (a run has one pool; a playbook makes several passes).
   * keep: a host that goes on keeps its connection for its next pass, until released (playbooks).
   * knownHostsData: every known_hosts file again, when keys were recorded since the worker read them.
   */
  | {
      kind: 'pass';
      task: TaskSpec;
      keep: boolean;
      knownHostsData?: WorkerConfig['knownHostsData'];
      /** hold (herd shell): every connection still open is kept after the pass, whatever the host's result. */
      hold?: boolean;
    }
  /** Hosts to work on, as many as the worker has room for at once: one message, not one per host. */
  | { kind: 'jobs'; jobs: HostJob[] }
  /**
   * release: these hosts' work in this run is over (done, failed, held back by a gate): close their kept connections.
   */
  | { kind: 'release'; ids: string[] }
  /** drain: start no job that has not begun; report those as not_started. */
  | { kind: 'drain'; reason: string }
  /** abort: stop running commands now (remote side killed); the cause decides interrupted or timeout (--deadline). */
  | { kind: 'abort'; cause: AbortCause }
  | { kind: 'shutdown' }
  /**
   * stop_pass (herd shell's Ctrl-C): stop this pass's running commands now (remote side killed), start none of its
   * jobs not begun (not_started with `reason`); held connections stay for the next pass.
   */
  | { kind: 'stop_pass'; reason: string; cause: AbortCause }
  /** jump_slot: the handshake behind `ticket` may start (see jump_slot_wait). */
  | { kind: 'jump_slot'; ticket: number };

export type JumpOutcome = 'connected' | 'throttled';

export interface FileDone {
  path: string;
  bytes: number;
  status: string;
}

export type WorkerMessage =
  | { kind: 'ready'; problems: string[] }
  | { kind: 'host_phase'; id: string; phase: HostPhase }
  /** A new connection to this target authenticated: one handshake (a kept connection reused is none). */
  | { kind: 'handshake'; id: string }
  /** This host's job took a connection kept idle from an earlier pass or command (no handshake). */
  | { kind: 'reused'; id: string }
  | { kind: 'output'; id: string; stream: 'stdout' | 'stderr'; data: Uint8Array; step?: string }
  | { kind: 'step_done'; result: StepResult }
  /** Transferred files, batched: one message per file cost more CPU than the transfer itself on small-file trees. */
  | { kind: 'files_done'; id: string; files: FileDone[]; planned: { files: number; bytes: number } }
  | { kind: 'host_done'; result: HostResult }
  /** Held passes (herd shell): this host's connection is now held open (after its job), or it closed. */
  | { kind: 'held'; id: string; open: boolean }
  | { kind: 'hostkey_new'; line: string; file: string }
  /** An uncaught exception or rejection: the worker's state is unknown, so it reports this last and exits. */
  | { kind: 'worker_fatal'; error: ErrorData }
  /**
   * Ask the parent before a handshake with a jump host: it keeps their number per jump host under sshd's MaxStartups.
   */
  | { kind: 'jump_slot_wait'; hop: string; ticket: number }
  /** That handshake ended (authenticated or failed). */
  | { kind: 'jump_slot_done'; ticket: number }
  /** A connection to a jump host authenticated, or was dropped before authentication (throttled) and is retried. */
  | { kind: 'jump_connection'; hop: string; outcome: JumpOutcome }
  /**
   * What a worker process sent in one turn of its event loop, in order (worker.ts): one serialisation, one write and
   * one read instead of one each per host's phase, handshake and result.
   */
  | { kind: 'batch'; messages: WorkerMessage[] };
