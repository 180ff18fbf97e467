// The raw flags (declared in option-table.ts) -> typed connection and run options. A plain option's
// value comes from its row (into, resolve); here are only the values that combine several flags.
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { defaultKeyPaths } from '../defaults.js';
import type { HostKeyMode } from '../transport/connect.js';
import { resolvePlain, type PlainOptions, type RawOptions } from './option-table.js';

export type { RawOptions } from './option-table.js';
export { parseNumber, parseSize } from './parse-value.js';

/** Where a secret comes from; never the secret itself. */
export type SecretSource = { kind: 'env'; variable: string } | { kind: 'prompt' } | null;

/** The connection values derived from several flags (deriveConnection), the rest from the rows. */
export interface ConnectionOptions extends PlainOptions<'connection'> {
  /** -k's files, else the default keys. */
  keys: string[];
  keysExplicit: boolean;
  /** --ask-pass or --password-env. */
  passwordSource: SecretSource;
  /** --ask-key-passphrase or --key-passphrase-env. */
  keyPassphraseSource: SecretSource;
  /** --strict-host-keys or --host-key-checking. */
  hostKeyMode: HostKeyMode;
  /** Which values came from the command line (they then override ssh_config). */
  explicit: { connectTimeout: boolean; connectRetries: boolean; hostKeyMode: boolean; knownHosts: boolean };
}

/** The run values derived from several flags (deriveRun), the rest from the rows. */
export interface RunOptions extends PlainOptions<'run'> {
  /** --no-progress, and none with -q. */
  progress: boolean;
  /** --workers was given (command line, a file, HERD_*): else the run's size picks it (defaultWorkers). */
  workersExplicit: boolean;
}

type Derived<T, P> = Omit<T, keyof P>;

const secretSource = (env: string | undefined, ask: boolean | undefined): SecretSource =>
  env ? { kind: 'env', variable: env } : ask ? { kind: 'prompt' } : null;

/** The connection values that combine several flags, after refusing the combinations that contradict. */
export function deriveConnection(raw: RawOptions): Derived<ConnectionOptions, PlainOptions<'connection'>> {
  if (raw.askPass && raw.passwordEnv) throw new UsageError('--ask-pass and --password-env: choose one');
  if (raw.askKeyPassphrase && raw.keyPassphraseEnv)
    throw new UsageError('--ask-key-passphrase and --key-passphrase-env: choose one');
  if (raw.strictHostKeys && raw.hostKeyChecking && raw.hostKeyChecking !== 'strict') {
    throw new UsageError(`--strict-host-keys contradicts --host-key-checking ${raw.hostKeyChecking}`);
  }
  const explicit = (raw.key ?? []).length > 0;
  return {
    keys: explicit ? (raw.key ?? []).map((k) => path.resolve(k)) : defaultKeyPaths(),
    keysExplicit: explicit,
    passwordSource: secretSource(raw.passwordEnv, raw.askPass),
    keyPassphraseSource: secretSource(raw.keyPassphraseEnv, raw.askKeyPassphrase),
    hostKeyMode: raw.strictHostKeys ? 'strict' : (raw.hostKeyChecking ?? 'accept-new'),
    explicit: {
      connectTimeout: raw.connectTimeout !== undefined,
      connectRetries: raw.connectRetries !== undefined,
      hostKeyMode: raw.strictHostKeys === true || raw.hostKeyChecking !== undefined,
      knownHosts: raw.knownHosts !== undefined,
    },
  };
}

/** The run values that combine several flags. */
export function deriveRun(raw: RawOptions): Derived<RunOptions, PlainOptions<'run'>> {
  return { progress: raw.progress !== false && raw.quiet !== true, workersExplicit: raw.workers !== undefined };
}

export function resolveConnectionOptions(raw: RawOptions): ConnectionOptions {
  const derived = deriveConnection(raw);
  return { ...resolvePlain(raw, 'connection'), ...derived };
}

export function resolveRunOptions(raw: RawOptions): RunOptions {
  return { ...resolvePlain(raw, 'run'), ...deriveRun(raw) };
}

export function localUser(): string {
  return os.userInfo().username;
}
