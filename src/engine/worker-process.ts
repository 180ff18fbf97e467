// How a worker process starts: the built worker module, or in a single executable the binary itself.
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import { isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';

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
 * A worker process: the built worker module under node, or in a single executable the same binary. With no V8 option
 * (nor any for herd itself, bin/herd): with any, even the default's value, Node cannot use the code cache it embeds for
 * its built-in modules and compiles them from source, ~20 ms of every start; and a 1 MiB young generation
 * (--max-semi-space-size=1, herd's before) cost 15% more CPU per host at 1,000 sessions than V8's own (16 MiB) for
 * 46 MiB less memory in all (bench, two workers).
 */
export function forkWorker(workerPath: string | undefined): ChildProcess {
  const options: ForkOptions = {
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: workerEnv(),
  };
  // A single executable's argv reaches the program, never Node: it becomes a worker by this argument.
  if (workerPath === undefined && isSea()) return fork(SEA_WORKER_ARG, [], { ...options, execArgv: [] });
  return fork(workerPath ?? fileURLToPath(new URL('./worker.js', import.meta.url)), [], { ...options, execArgv: [] });
}
