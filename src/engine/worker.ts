// Worker process entry: the worker's work (worker-core.ts) over the IPC channel to the parent, with output held back
// while the channel is behind. Its top level catches everything and reports it.
import type { OutputFlow } from '../transport/exec.js';
import type { ParentMessage, WorkerMessage } from './protocol.js';
import { createWorkerCore, type WorkerPort } from './worker-core.js';

/** A failing worker waits this long at most for its last message to reach the parent. */
const WORKER_FATAL_EXIT_MS = 1_000;

// Output bytes handed to the IPC channel and not yet written to it. Above the high mark, hosts'
// output is paused (see exec.ts) so a host printing gigabytes cannot grow this process's memory.
const IPC_HIGH_BYTES = 8 * 1024 * 1024;
const IPC_LOW_BYTES = 2 * 1024 * 1024;
let ipcBacklog = 0;
let drained: { promise: Promise<void>; resolve: () => void } | undefined;

// Messages wait here for the end of the event loop's turn, then leave as one (a 'batch' when more than one), in
// order: each host's phases, handshake, output and result were a message each, serialised, written and, in the
// parent, read and parsed one by one (at 300 hosts running `true`, 1,200 messages; now a few dozen).
let outbox: WorkerMessage[] = [];
let outboxBytes = 0;
let flushing = false;

function post(message: WorkerMessage, bytes = 0): void {
  outbox.push(message);
  outboxBytes += bytes;
  if (flushing) return;
  flushing = true;
  setImmediate(flush);
}

function flush(): void {
  flushing = false;
  const messages = outbox;
  const bytes = outboxBytes;
  outbox = [];
  outboxBytes = 0;
  if (messages.length === 0 || !process.connected) return;
  const message: WorkerMessage = messages.length === 1 ? messages[0]! : { kind: 'batch', messages };
  if (bytes === 0) process.send?.(message);
  else process.send?.(message, undefined, {}, () => written(bytes));
}

function written(bytes: number): void {
  ipcBacklog -= bytes;
  if (drained && ipcBacklog <= IPC_LOW_BYTES) {
    drained.resolve();
    drained = undefined;
  }
}

function sendOutput(message: WorkerMessage, bytes: number): OutputFlow {
  if (!process.connected) return;
  ipcBacklog += bytes;
  post(message, bytes);
  if (ipcBacklog < IPC_HIGH_BYTES) return;
  if (!drained) {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    drained = { promise, resolve };
  }
  return drained.promise;
}

const ipc: WorkerPort = {
  send: post,
  sendOutput,
  leave(code, last) {
    // After shutdown, leaving the channel is enough: 'disconnect' below ends the process.
    flush();
    if (code === 0) return void process.disconnect?.();
    const leave = (): never => process.exit(code);
    setTimeout(leave, WORKER_FATAL_EXIT_MS).unref();
    if (!process.connected || !process.send || last === undefined) leave();
    else process.send(last, undefined, {}, leave);
  },
};

const core = createWorkerCore(ipc);
process.on('message', (message: ParentMessage) => core.handle(message));
process.on('uncaughtException', core.fail);
process.on('unhandledRejection', core.fail);
// The terminal's Ctrl-C reaches the whole process group, and a scheduler's cancel (Slurm's scancel, systemd's
// control-group stop) sends SIGTERM to every process of the job: only the parent decides what either means.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
// A parent that is gone (even by kill -9) takes its workers with it.
process.on('disconnect', () => process.exit(0));
