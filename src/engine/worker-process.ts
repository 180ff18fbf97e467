// How a worker process starts: the fork itself (the built worker module, or in a single executable the binary
// itself), and the run's first worker forked as herd starts, so that its start overlaps the parent's own.
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import { isSea } from 'node:sea';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { TaskSpec } from './protocol.js';

/**
 * The argument that makes the single executable (npm run sea) a worker process: there is no worker.js beside it, and
 * its process.execPath is herd itself. scripts/sea-entry.ts checks it before the CLI starts.
 */
export const SEA_WORKER_ARG = '--herd-sea-worker';

/**
 * V8's young generation per worker. Commands keep it at 1 MiB: a thousand idle sessions then
 * cost ~30 MiB less. Transfers churn through buffers and promises per file, and 16 MiB spends
 * less time in the collector (pulling the bench tree: 6.46 -> 5.99 s, +44 MiB).
 */
export function semiSpaceMiB(kind: TaskSpec['kind'] | undefined): number {
  return kind === 'transfer' ? 16 : 1;
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
  const v8Flag = `--max-semi-space-size=${semiSpace}`;
  if (workerPath === undefined && isSea()) {
    // A single executable takes no Node options from its argv (they reach the program): NODE_OPTIONS carries the flag.
    const nodeOptions = [process.env['NODE_OPTIONS'], v8Flag].filter(Boolean).join(' ');
    return fork(SEA_WORKER_ARG, [], { ...options, execArgv: [], env: { ...options.env, NODE_OPTIONS: nodeOptions } });
  }
  return fork(workerPath ?? fileURLToPath(new URL('./worker.js', import.meta.url)), [], {
    ...options,
    execArgv: [v8Flag],
  });
}

/** The commands that start a run on their own, and what their workers run (a rerun's task is known only later). */
const EARLY: Readonly<Record<string, TaskSpec['kind']>> = {
  run: 'command',
  play: 'steps',
  push: 'transfer',
  pull: 'transfer',
};

/**
 * The early worker, held on globalThis under a registered symbol: the entry that forks it and the CLI whose pool adopts
 * it are separate bundles (dist/src/bundle/herd.js, main.js), each with its own copy of this module.
 */
const HELD = Symbol.for('herd.earlyWorker');
interface Early {
  child: ChildProcess;
  semiSpace: number;
}
const holder = globalThis as { [HELD]?: Early | undefined };

/**
 * Fork the first worker now, before the CLI's own modules load and the run is planned: a worker takes as long to start
 * as the parent takes to read its options, inventory, ssh_config and known_hosts, and every run needs one. It holds
 * nothing and contacts nobody until the pool adopts it (takeEarlyWorker) and sends it the run's settings; until then
 * it does not keep herd alive, so a command that ends before its run (bad usage, --help, nothing selected) ends as
 * before, and the worker, its parent gone, leaves too (worker.ts: on disconnect).
 */
export function startEarlyWorker(argv: readonly string[]): void {
  const kind = EARLY[argv[2] ?? ''];
  if (kind === undefined || holder[HELD] !== undefined) return;
  const semiSpace = semiSpaceMiB(kind);
  let child: ChildProcess;
  try {
    child = forkWorker(undefined, semiSpace);
  } catch {
    return; // the pool forks one when the run starts, and reports what fails then
  }
  // A fork that fails (EAGAIN) says so through 'error'; the pool forks another.
  child.on('error', () => {});
  child.unref();
  child.channel?.unref();
  (child.stderr as Socket | null)?.unref();
  holder[HELD] = { child, semiSpace };
}

/** The worker startEarlyWorker forked, if it is still alive and runs with `semiSpace`; it keeps herd alive again. */
export function takeEarlyWorker(semiSpace: number): ChildProcess | undefined {
  const held = holder[HELD];
  holder[HELD] = undefined;
  if (!held) return undefined;
  const { child } = held;
  const alive = child.exitCode === null && child.signalCode === null && child.connected;
  if (!alive || held.semiSpace !== semiSpace) {
    if (alive) child.kill();
    return undefined;
  }
  child.ref();
  child.channel?.ref();
  (child.stderr as Socket | null)?.ref();
  return child;
}
