// Shared inventory, connection and run flags -> one typed options object.
import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import {
  DEFAULT_COMMAND_TIMEOUT_S,
  DEFAULT_CONNECT_RATE,
  DEFAULT_CONNECT_RETRIES,
  DEFAULT_CONNECT_TIMEOUT_S,
  DEFAULT_FORKS,
  DEFAULT_JUMP_SESSIONS,
  DEFAULT_MAX_HANDSHAKES,
  DEFAULT_OUT_DIR,
  defaultKeyPaths,
  defaultKnownHostsPath,
  defaultWorkers,
} from '../defaults.js';
import type { HostKeyMode } from '../transport/connect.js';
import { parseJumpList, type JumpSpec } from '../transport/ssh-config.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function addInventoryOptions(cmd: Command): Command {
  return cmd
    .option('-i, --inventory <file>', 'inventory file; repeatable; - reads stdin', collect, [])
    .option('-l, --limit <patterns>', 'select hosts: comma-separated groups, hosts, globs, !exclude, &intersect, @file');
}

export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('-F, --ssh-config <file>', 'ssh_config to read (default: ~/.ssh/config; "none" reads none); command-line options override it')
    .option('-J, --jump <hops>', 'jump hosts: [user@]host[:port][,...], like ssh -J (overrides ProxyJump)')
    .option('--jump-sessions <n>', `target sessions carried by one connection to a jump host; more connections are opened as needed (default: ${DEFAULT_JUMP_SESSIONS}, under OpenSSH's MaxSessions 10)`)
    .option('-u, --user <name>', 'login user for hosts that do not name one (default: ssh_config User, else your local user)')
    .option('-p, --port <n>', 'SSH port for hosts that do not name one (default: 22)')
    .option('-k, --key <file>', 'private key file; repeatable (default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa)', collect, [])
    .option('--ask-pass', 'prompt for the login password on the terminal')
    .option('--password-env <var>', 'read the login password from this environment variable (never pass secrets on argv)')
    .option('--key-passphrase-env <var>', 'read the passphrase of encrypted private keys from this environment variable')
    .option('--ask-key-passphrase', 'prompt for the passphrase of encrypted private keys on the terminal')
    .option(
      '--known-hosts <file>',
      'the user known_hosts file, as ssh -o UserKnownHostsFile=FILE: checked and recorded into ' +
        '(default: ~/.ssh/known_hosts ~/.ssh/known_hosts2; global files are read too)',
    )
    .option('--strict-host-keys', 'refuse hosts whose key is not already in known_hosts')
    .addOption(new Option('--host-key-checking <mode>', 'host key policy').choices(['accept-new', 'strict', 'off']))
    .option('--connect-timeout <s>', `seconds for TCP connect, banner, key exchange and auth (default: ${DEFAULT_CONNECT_TIMEOUT_S})`)
    .option('--connect-retries <n>', `retries after a transient handshake failure (reset, dropped by sshd MaxStartups), with jittered backoff, for targets and jump hosts; never once a command started (default: ${DEFAULT_CONNECT_RETRIES})`)
    .option('--connect-rate <n>', `new connections started per second, across workers; 0 = unpaced (default: ${DEFAULT_CONNECT_RATE})`);
}

/**
 * Flags of every command that runs on hosts (run, push, pull, play, rerun): the worker pool, the
 * run directory and the display. Each command adds only the groups below that it honours, so
 * commander refuses the rest as unknown options instead of accepting and ignoring them.
 */
export function addRunOptions(cmd: Command): Command {
  return cmd
    .option('-f, --forks <n>', `total concurrent SSH sessions (default: ${DEFAULT_FORKS})`)
    .option('-w, --workers <n>', `worker processes (default: number of CPUs, here ${defaultWorkers()})`)
    .option('--max-handshakes <n>', `SSH handshakes in progress at once, across workers (default: ${DEFAULT_MAX_HANDSHAKES})`)
    .option('--deadline <s>', 'whole-run limit in seconds: then start nothing new and stop running work (status timeout) (default: none)')
    .option('--grace <s>', 'after the first Ctrl-C, seconds running work gets to finish (default: 10)')
    .option('-o, --out <dir>', `directory for run directories (default: ./${DEFAULT_OUT_DIR})`)
    .option('-q, --quiet', 'print only the final summary')
    .option('--json', 'newline-delimited JSON events on stdout (run_start, host_start, output, step_done, host_done, run_done); the human display goes to stderr')
    .option('--no-progress', 'no live progress line');
}

/** Flags of commands that run remote commands and keep their output (run, play, rerun). */
export function addOutputOptions(cmd: Command): Command {
  return cmd
    .option('--idle-timeout <s>', 'stop a command that prints nothing for this many seconds; the remote command is killed (default: none)')
    .option('--max-output <size>', 'stdout+stderr kept per host, e.g. 512K, 10M, 1G; the rest is dropped with a note (default: no cap)')
    .option('--stream', 'print every output line as it arrives, as host: line')
    .option('--no-color', 'no colours in --stream output (also: NO_COLOR=1)');
}

/** Flags of one ad-hoc command (run, and rerun of a command run); playbook steps carry their own timeout. */
export function addCommandOptions(cmd: Command): Command {
  return cmd
    .option('--timeout <s>', 'per-command timeout in seconds; the remote command is killed (default: none)')
    .option('--no-group', 'do not show hosts grouped by identical output at the end');
}

/** Raw values as commander hands them over. */
export interface RawOptions {
  inventory?: string[];
  limit?: string;
  sshConfig?: string;
  jump?: string;
  jumpSessions?: string;
  user?: string;
  port?: string;
  key?: string[];
  askPass?: boolean;
  passwordEnv?: string;
  keyPassphraseEnv?: string;
  askKeyPassphrase?: boolean;
  knownHosts?: string;
  strictHostKeys?: boolean;
  hostKeyChecking?: HostKeyMode;
  connectTimeout?: string;
  connectRetries?: string;
  connectRate?: string;
  forks?: string;
  workers?: string;
  maxHandshakes?: string;
  timeout?: string;
  idleTimeout?: string;
  deadline?: string;
  maxOutput?: string;
  grace?: string;
  out?: string;
  quiet?: boolean;
  progress?: boolean;
  group?: boolean;
  stream?: boolean;
  json?: boolean;
  color?: boolean;
}

/** Where a secret comes from; never the secret itself. */
export type SecretSource = { kind: 'env'; variable: string } | { kind: 'prompt' } | null;

export interface ConnectionOptions {
  user: string | null;
  port: number | null;
  keys: string[];
  keysExplicit: boolean;
  passwordSource: SecretSource;
  keyPassphraseSource: SecretSource;
  knownHostsPath: string;
  hostKeyMode: HostKeyMode;
  connectTimeoutS: number;
  connectRetries: number;
  /** Connections started per second across workers; 0 = unpaced. */
  connectRate: number;
  /** -F as given (undefined: ~/.ssh/config if present). */
  sshConfigFile: string | undefined;
  /** -J hops; null when not given. */
  jump: JumpSpec[] | null;
  jumpSessions: number;
  /** Which of the values above came from the command line (they then override ssh_config). */
  explicit: { connectTimeout: boolean; hostKeyMode: boolean; knownHosts: boolean };
}

export interface RunOptions {
  forks: number;
  workers: number;
  maxHandshakes: number;
  timeoutS: number;
  /** 0 = none. */
  idleTimeoutS: number;
  /** Whole-run limit; 0 = none. */
  deadlineS: number;
  /** Output kept per host; 0 = no cap. */
  maxOutputBytes: number;
  graceS: number;
  outDir: string;
  quiet: boolean;
  progress: boolean;
  stream: boolean;
  json: boolean;
  colour: boolean;
}

/** Parse a number flag, naming the flag, what was expected and what was given. */
export function parseNumber(flag: string, value: string | undefined, fallback: number, opts: { min: number; integer?: boolean; max?: number }): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  const okInteger = !opts.integer || Number.isInteger(n);
  if (!Number.isFinite(n) || !okInteger || n < opts.min || (opts.max !== undefined && n > opts.max)) {
    const kind = opts.integer ? 'an integer' : 'a number';
    const range = opts.max !== undefined ? ` between ${opts.min} and ${opts.max}` : ` >= ${opts.min}`;
    throw new UsageError(`${flag}: expected ${kind}${range}, got ${JSON.stringify(value)}`);
  }
  return n;
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** Parse a byte size such as 4096, 512K, 10M or 1G (binary units); undefined means 0 (no cap). */
export function parseSize(flag: string, value: string | undefined): number {
  if (value === undefined) return 0;
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)i?B?$/i.exec(value.trim());
  if (!m) throw new UsageError(`${flag}: expected a size such as 4096, 512K, 10M or 1G, got ${JSON.stringify(value)}`);
  return Math.floor(Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!);
}

export function resolveConnectionOptions(raw: RawOptions): ConnectionOptions {
  if (raw.askPass && raw.passwordEnv) throw new UsageError('--ask-pass and --password-env: choose one');
  if (raw.askKeyPassphrase && raw.keyPassphraseEnv) throw new UsageError('--ask-key-passphrase and --key-passphrase-env: choose one');
  if (raw.strictHostKeys && raw.hostKeyChecking && raw.hostKeyChecking !== 'strict') {
    throw new UsageError(`--strict-host-keys contradicts --host-key-checking ${raw.hostKeyChecking}`);
  }
  const explicit = (raw.key ?? []).length > 0;
  return {
    user: raw.user ?? null,
    port: raw.port === undefined ? null : parseNumber('--port', raw.port, 22, { min: 1, max: 65535, integer: true }),
    keys: explicit ? (raw.key ?? []).map((k) => path.resolve(k)) : defaultKeyPaths(),
    keysExplicit: explicit,
    passwordSource: raw.passwordEnv ? { kind: 'env', variable: raw.passwordEnv } : raw.askPass ? { kind: 'prompt' } : null,
    keyPassphraseSource: raw.keyPassphraseEnv ? { kind: 'env', variable: raw.keyPassphraseEnv } : raw.askKeyPassphrase ? { kind: 'prompt' } : null,
    knownHostsPath: path.resolve(raw.knownHosts ?? defaultKnownHostsPath()),
    hostKeyMode: raw.strictHostKeys ? 'strict' : (raw.hostKeyChecking ?? 'accept-new'),
    connectTimeoutS: parseNumber('--connect-timeout', raw.connectTimeout, DEFAULT_CONNECT_TIMEOUT_S, { min: 0.1 }),
    sshConfigFile: raw.sshConfig === undefined || raw.sshConfig === 'none' ? raw.sshConfig : path.resolve(raw.sshConfig),
    jump: raw.jump === undefined ? null : parseJumpList(raw.jump),
    jumpSessions: parseNumber('--jump-sessions', raw.jumpSessions, DEFAULT_JUMP_SESSIONS, { min: 1, max: 64, integer: true }),
    explicit: { connectTimeout: raw.connectTimeout !== undefined, hostKeyMode: raw.strictHostKeys === true || raw.hostKeyChecking !== undefined, knownHosts: raw.knownHosts !== undefined },
    connectRetries: parseNumber('--connect-retries', raw.connectRetries, DEFAULT_CONNECT_RETRIES, { min: 0, max: 20, integer: true }),
    connectRate: parseNumber('--connect-rate', raw.connectRate, DEFAULT_CONNECT_RATE, { min: 0 }),
  };
}

export function resolveRunOptions(raw: RawOptions): RunOptions {
  return {
    forks: parseNumber('--forks', raw.forks, DEFAULT_FORKS, { min: 1, integer: true }),
    workers: parseNumber('--workers', raw.workers, defaultWorkers(), { min: 1, max: 256, integer: true }),
    maxHandshakes: parseNumber('--max-handshakes', raw.maxHandshakes, DEFAULT_MAX_HANDSHAKES, { min: 1, integer: true }),
    timeoutS: parseNumber('--timeout', raw.timeout, DEFAULT_COMMAND_TIMEOUT_S, { min: 0 }),
    idleTimeoutS: parseNumber('--idle-timeout', raw.idleTimeout, 0, { min: 0 }),
    deadlineS: parseNumber('--deadline', raw.deadline, 0, { min: 0 }),
    maxOutputBytes: parseSize('--max-output', raw.maxOutput),
    graceS: parseNumber('--grace', raw.grace, 10, { min: 0 }),
    outDir: path.resolve(raw.out ?? DEFAULT_OUT_DIR),
    quiet: raw.quiet === true,
    progress: raw.progress !== false && raw.quiet !== true,
    stream: raw.stream === true,
    json: raw.json === true,
    colour: raw.color !== false,
  };
}

export function localUser(): string {
  return os.userInfo().username;
}
