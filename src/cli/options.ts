// The raw flags (declared in option-table.ts) -> typed connection and run options.
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { DEFAULT_OUT_DIR, defaultKeyPaths, defaultKnownHostsPath } from '../defaults.js';
import type { HostKeyMode } from '../transport/connect.js';
import { parseJumpList, type JumpSpec } from '../transport/ssh-config.js';
import { flagOf, numberSpec, type NumberKey, type RawOptions } from './option-table.js';

export type { RawOptions } from './option-table.js';

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
export function parseNumber(
  flag: string,
  value: string | undefined,
  fallback: number,
  opts: { min: number; integer?: boolean; max?: number },
): number {
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

/** A number option, by its row's rule and default, its errors naming its flag. */
function num(raw: RawOptions, key: NumberKey): number {
  const spec = numberSpec(key);
  const value: string | undefined = raw[key];
  return parseNumber(flagOf(key), value, typeof spec.default === 'function' ? spec.default() : spec.default, spec);
}

export function resolveConnectionOptions(raw: RawOptions): ConnectionOptions {
  if (raw.askPass && raw.passwordEnv) throw new UsageError('--ask-pass and --password-env: choose one');
  if (raw.askKeyPassphrase && raw.keyPassphraseEnv)
    throw new UsageError('--ask-key-passphrase and --key-passphrase-env: choose one');
  if (raw.strictHostKeys && raw.hostKeyChecking && raw.hostKeyChecking !== 'strict') {
    throw new UsageError(`--strict-host-keys contradicts --host-key-checking ${raw.hostKeyChecking}`);
  }
  const explicit = (raw.key ?? []).length > 0;
  return {
    user: raw.user ?? null,
    port: raw.port === undefined ? null : num(raw, 'port'),
    keys: explicit ? (raw.key ?? []).map((k) => path.resolve(k)) : defaultKeyPaths(),
    keysExplicit: explicit,
    passwordSource: raw.passwordEnv
      ? { kind: 'env', variable: raw.passwordEnv }
      : raw.askPass
        ? { kind: 'prompt' }
        : null,
    keyPassphraseSource: raw.keyPassphraseEnv
      ? { kind: 'env', variable: raw.keyPassphraseEnv }
      : raw.askKeyPassphrase
        ? { kind: 'prompt' }
        : null,
    knownHostsPath: path.resolve(raw.knownHosts ?? defaultKnownHostsPath()),
    hostKeyMode: raw.strictHostKeys ? 'strict' : (raw.hostKeyChecking ?? 'accept-new'),
    connectTimeoutS: num(raw, 'connectTimeout'),
    sshConfigFile:
      raw.sshConfig === undefined || raw.sshConfig === 'none' ? raw.sshConfig : path.resolve(raw.sshConfig),
    jump: raw.jump === undefined ? null : parseJumpList(raw.jump),
    jumpSessions: num(raw, 'jumpSessions'),
    explicit: {
      connectTimeout: raw.connectTimeout !== undefined,
      hostKeyMode: raw.strictHostKeys === true || raw.hostKeyChecking !== undefined,
      knownHosts: raw.knownHosts !== undefined,
    },
    connectRetries: num(raw, 'connectRetries'),
    connectRate: num(raw, 'connectRate'),
  };
}

export function resolveRunOptions(raw: RawOptions): RunOptions {
  return {
    forks: num(raw, 'forks'),
    workers: num(raw, 'workers'),
    maxHandshakes: num(raw, 'maxHandshakes'),
    timeoutS: num(raw, 'timeout'),
    idleTimeoutS: num(raw, 'idleTimeout'),
    deadlineS: num(raw, 'deadline'),
    maxOutputBytes: parseSize(flagOf('maxOutput'), raw.maxOutput),
    graceS: num(raw, 'grace'),
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
