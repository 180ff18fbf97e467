// How a worker process starts: the built worker module, or in a single executable the binary itself.
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import { isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';
import type { TaskSpec } from './protocol.js';

/**
 * The argument that makes the single executable (npm run sea) a worker process: there is no worker.js beside it, and
 * its process.execPath is herd itself. scripts/sea-entry.ts checks it before the CLI starts.
 */
export const SEA_WORKER_ARG = '--herd-sea-worker';

/**
 * V8's own maximum young generation (semi-space) on 64-bit, in MiB: Node 20's V8 takes 16 when no flag says otherwise.
 * A process started with any V8 flag, even this one, cannot use the code cache Node embeds for its built-in modules
 * (V8 checks a hash of every flag), and compiles them from source: ~20 ms more at every start.
 */
export const V8_DEFAULT_SEMI_SPACE_MIB = 16;

/**
 * V8's young generation per worker. Commands keep it at 1 MiB: a thousand idle sessions then
 * cost ~30 MiB less. Transfers churn through buffers and promises per file, and V8's own 16 MiB spends
 * less time in the collector (pulling the bench tree: 6.46 -> 5.99 s, +44 MiB).
 */
export function semiSpaceMiB(kind: TaskSpec['kind'] | undefined): number {
  return kind === 'transfer' ? V8_DEFAULT_SEMI_SPACE_MIB : 1;
}

/** The V8 option for `semiSpace` MiB of young generation: none for V8's own (so the built-ins' code cache serves). */
export function semiSpaceFlags(semiSpace: number): string[] {
  return semiSpace === V8_DEFAULT_SEMI_SPACE_MIB ? [] : [`--max-semi-space-size=${semiSpace}`];
}

/**
 * A worker's environment: the parent's without NODE_EXTRA_CA_CERTS. Node reads and parses that certificate file as
 * each process starts (~150 ms of CPU per worker for Debian's bundle, measured here), and a worker never speaks TLS:
 * it makes SSH connections only and starts no program that could need it.
 */
function workerEnv(): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _notForSsh, ...env } = process.env;
  return env;
}

/** A worker process: the built worker module under node, or in a single executable the same binary. */
export function forkWorker(workerPath: string | undefined, semiSpace: number): ChildProcess {
  const options: ForkOptions = {
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: workerEnv(),
  };
  const v8Flags = semiSpaceFlags(semiSpace);
  if (workerPath === undefined && isSea()) {
    // A single executable takes no Node options from its argv (they reach the program): NODE_OPTIONS carries the flag.
    const nodeOptions = [process.env['NODE_OPTIONS'], ...v8Flags].filter(Boolean).join(' ');
    const env = nodeOptions === '' ? options.env : { ...options.env, NODE_OPTIONS: nodeOptions };
    return fork(SEA_WORKER_ARG, [], { ...options, execArgv: [], env });
  }
  return fork(workerPath ?? fileURLToPath(new URL('./worker.js', import.meta.url)), [], {
    ...options,
    execArgv: v8Flags,
  });
}
