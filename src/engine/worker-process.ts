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
 * A worker's environment: the parent's without NODE_EXTRA_CA_CERTS. Node reads and parses that certificate file as
 * each process starts (~150 ms of CPU per worker for Debian's bundle, measured here), and a worker never speaks TLS:
 * it makes SSH connections only and starts no program that could need it.
 */
function workerEnv(): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _notForSsh, ...env } = process.env;
  return env;
}

/**
 * V8's young generation for a worker process. 'small' (1 MiB semi-spaces, --max-semi-space-size=1) for a worker that
 * works on many hosts at once: its heap is then mostly their sessions, and V8's own young generation (16 MiB
 * semi-spaces) would be tens of MiB more per process (10,000 sessions held on the simulator: 536 MiB for herd's tree
 * with small ones, 590-673 MiB without). 'default' (V8's own, no V8 option at all) otherwise: a small young generation
 * costs CPU in the collector (at 300 hosts, 256 forks: 7% more CPU per host), and any V8 option costs ~20 ms of the
 * worker's start, since Node then cannot use the code cache it embeds for its built-in modules (V8 checks a hash of
 * every flag) and compiles them from source.
 */
export type YoungGeneration = 'small' | 'default';

/** A worker working on more hosts at once than this gets the small young generation. */
export const SMALL_YOUNG_GENERATION_ABOVE = 256;

/** The young generation of a worker that works on `capacity` hosts at once for a task of this kind. */
export function youngGeneration(kind: TaskSpec['kind'] | undefined, capacity: number): YoungGeneration {
  // A transfer churns through buffers and promises per file: V8's own spends less time in the collector (pulling the
  // bench tree: 6.46 -> 5.99 s).
  return kind !== 'transfer' && capacity > SMALL_YOUNG_GENERATION_ABOVE ? 'small' : 'default';
}

function v8Flags(young: YoungGeneration): string[] {
  switch (young) {
    case 'small':
      return ['--max-semi-space-size=1'];
    case 'default':
      return [];
    default: {
      const never: never = young;
      return never;
    }
  }
}

/** A worker process: the built worker module under node, or in a single executable the same binary. */
export function forkWorker(workerPath: string | undefined, young: YoungGeneration): ChildProcess {
  const options: ForkOptions = {
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: workerEnv(),
  };
  const flags = v8Flags(young);
  if (workerPath === undefined && isSea()) {
    // A single executable takes no Node options from its argv (they reach the program): NODE_OPTIONS carries them.
    const nodeOptions = [process.env['NODE_OPTIONS'], ...flags].filter(Boolean).join(' ');
    const env = nodeOptions === '' ? options.env : { ...options.env, NODE_OPTIONS: nodeOptions };
    return fork(SEA_WORKER_ARG, [], { ...options, execArgv: [], env });
  }
  return fork(workerPath ?? fileURLToPath(new URL('./worker.js', import.meta.url)), [], {
    ...options,
    execArgv: flags,
  });
}
