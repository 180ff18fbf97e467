// Every default herd uses, in one place, with the reason for each value.
import os from 'node:os';
import path from 'node:path';

/**
 * Total concurrent SSH sessions across all workers. 256 keeps a 4,000-host fleet moving in
 * ~16 waves while staying far below the usual `ulimit -n` of 1,024 (one socket per session
 * plus result files) and below sshd's default MaxStartups burst per target network;
 * an idle ssh2 session costs well under 1 MiB, so 256 of them fit in a small controller.
 */
export const DEFAULT_FORKS = 256;

/**
 * Hosts a worker process must have to be worth its start: starting one (Node and the modules a worker loads) costs
 * about the controller CPU of 30 handshakes, so fewer hosts are done sooner by herd's own process than by a worker.
 */
export const HOSTS_PER_WORKER = 32;

/**
 * Worker processes when --workers is not given: one per CPU, because key exchange and ciphers are CPU-bound, and
 * at most one per HOSTS_PER_WORKER hosts the run has begun (a 40-host run forks two). A run of fewer hosts forks none:
 * herd's own process works on them (engine/in-process-worker.ts), except a transfer's, whose file work is better in
 * a worker (its young generation is V8's own: youngGeneration).
 */
export function defaultWorkers(hosts = Infinity, transfer = false): number {
  if (hosts < HOSTS_PER_WORKER && !transfer) return 0;
  return Math.max(1, Math.min(os.availableParallelism(), Math.ceil(hosts / HOSTS_PER_WORKER)));
}

/** TCP connect + banner + key exchange + authentication, in seconds (OpenSSH ConnectTimeout-like). */
export const DEFAULT_CONNECT_TIMEOUT_S = 10;

/** Per-command timeout in seconds; 0 means none. */
export const DEFAULT_COMMAND_TIMEOUT_S = 0;

/** SSH port for hosts that name none (neither the inventory, -p, nor ssh_config's Port). */
export const DEFAULT_PORT = 22;

/** After the first Ctrl-C, seconds running work gets to finish before it is stopped (--grace). */
export const DEFAULT_GRACE_S = 10;

/** How many past runs `herd runs` lists (-n). */
export const DEFAULT_RUNS_LIMIT = 20;

/** Where run directories go. */
export const DEFAULT_OUT_DIR = 'runs';

/** Keys tried when no -k is given, in OpenSSH's order. */
export function defaultKeyPaths(): string[] {
  const dir = path.join(os.homedir(), '.ssh');
  return ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => path.join(dir, name));
}

export function defaultKnownHostsPath(): string {
  return path.join(os.homedir(), '.ssh', 'known_hosts');
}

/** OpenSSH's UserKnownHostsFile default (the first one is where new keys are recorded). */
export function defaultUserKnownHostsFiles(home: string): string[] {
  return [path.join(home, '.ssh', 'known_hosts'), path.join(home, '.ssh', 'known_hosts2')];
}

/** OpenSSH's GlobalKnownHostsFile default. */
export const DEFAULT_GLOBAL_KNOWN_HOSTS_FILES = ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];

/** How long the parent waits for a worker to exit after asking it to stop, in ms. */
export const WORKER_EXIT_GRACE_MS = 2_000;

/** Live progress redraw interval on a TTY, in ms. */
export const PROGRESS_INTERVAL_MS = 200;

/** Hosts handed to a worker beyond what it is running, so it never idles waiting for IPC. */
export const WORKER_PREFETCH = 8;

/**
 * Handshakes in progress at once across all workers. Key exchange and authentication cost
 * milliseconds of CPU on both ends; starting a thousand at once makes every one of them slow
 * and the late ones miss --connect-timeout. Pacing them keeps each handshake fast while
 * established sessions (running commands) are not limited by it.
 */
export const DEFAULT_MAX_HANDSHAKES = 64;

/**
 * New connections started per second across all workers. sshd answers a burst beyond its
 * MaxStartups (default 10:30:100 unauthenticated connections) by dropping connections at
 * random; a steady rate keeps a large fleet's handshakes under that bar. 0 turns pacing off.
 */
export const DEFAULT_CONNECT_RATE = 250;

/**
 * Target sessions one jump-host connection carries. OpenSSH's sshd allows MaxSessions 10
 * channels per connection by default; 8 leaves room, and more bastion connections open as needed.
 */
export const DEFAULT_JUMP_SESSIONS = 8;

/**
 * Handshakes in progress at once with one jump host, across workers. A stock sshd (MaxStartups
 * 10:30:100) drops new connections at random once 10 are unauthenticated; 8 stays under that
 * bar with room for someone else's ssh. More bastion connections wait their turn, and one
 * dropped before authentication anyway is retried with backoff (--connect-retries).
 */
export const DEFAULT_JUMP_HANDSHAKES = 8;

/** Attempts after a transient handshake failure (reset or closed before auth); never after a command started. */
export const DEFAULT_CONNECT_RETRIES = 2;

/** Descriptors a session running commands holds in its worker: the socket, and slack. */
export const FDS_PER_COMMAND_SESSION = 2;

/** Files in flight at once per SFTP session (pipelining: round trips dominate small-file trees). */
export const PARALLEL_FILES_PER_SESSION = 16;

/** A transfer session also holds a local file open for each file in flight. */
export const FDS_PER_TRANSFER_SESSION = FDS_PER_COMMAND_SESSION + PARALLEL_FILES_PER_SESSION;

/** File descriptors kept free for the process itself (stdio, IPC, run files, libraries). */
export const FDS_RESERVED = 64;

/**
 * A playbook guard (creates/removes/when/unless) is a quick check; it gets this long unless its step sets `timeout`.
 */
export const GUARD_TIMEOUT_MS = 60_000;

/**
 * Keepalive on every connection: a probe after 15 s without traffic, the connection given up after
 * 4 unanswered (about a minute), so a host that vanishes mid-command (power loss, a dropped route)
 * ends as lost instead of hanging a session slot until a TCP timeout hours later.
 */
export const KEEPALIVE_INTERVAL_MS = 15_000;
export const KEEPALIVE_COUNT_MAX = 4;

/** --checksum hashes a whole tree on the host with sha256sum in one command: ten minutes covers many GB of disk. */
export const CHECKSUM_TIMEOUT_MS = 600_000;
