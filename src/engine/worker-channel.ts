// What the pool needs of a worker: a forked process (ChildProcess has all of it), a worker the connection keeper
// (src/keeper/) runs, reached over its Unix socket, or one in herd's own process (in-process-worker.ts). The pool
// drives them alike.
import type { Readable } from 'node:stream';
import type { ParentMessage, WorkerMessage } from './protocol.js';
import type { YoungGeneration } from './worker-process.js';

export interface WorkerChannel {
  readonly pid?: number | undefined;
  /** What messages call it, when not `worker PID`. */
  readonly name?: string;
  readonly connected: boolean;
  readonly stderr: Readable | null;
  send(message: ParentMessage, callback: (error: Error | null) => void): boolean;
  kill(signal: NodeJS.Signals): boolean;
  on(event: 'message', listener: (message: WorkerMessage) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
}

/** Workers that already exist elsewhere (a keeper's), instead of forked ones. */
export interface WorkerChannelSource {
  /** One more worker for this pool (young: the V8 young generation a new process would get). */
  open(young: YoungGeneration): WorkerChannel;
  /** Hosts whose connection this worker holds from an earlier command: their jobs go to it. */
  held(channel: WorkerChannel): readonly string[];
}
