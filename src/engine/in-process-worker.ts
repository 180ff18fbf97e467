// A worker in herd's own process (--workers 0, and the default for a run of a handful of hosts): a worker process
// costs ~50 ms of start before its first handshake and ~100 ms of CPU, more than a few hosts' work (issue 17). The
// pool drives it as it drives a forked worker: the same messages, cloned as the IPC channel clones them
// (structuredClone is the serializer of 'advanced' IPC), delivered in order on a later turn of the event loop.
// What a worker process gets from exiting, this one does by hand: after an uncaught error or a kill its connections
// are destroyed at once and nothing it still sends is delivered; after a shutdown they hold nothing up.
import { EventEmitter } from 'node:events';
import { releaseConnections } from '../transport/connect.js';
import { WORKER_EXIT_GRACE_MS } from '../defaults.js';
import type { ParentMessage, WorkerMessage } from './protocol.js';
import type { WorkerChannel, WorkerChannelSource } from './worker-channel.js';
import { createWorkerCore, type WorkerCore } from './worker-core.js';

/**
 * The in-process workers whose code may still run, oldest first: the live one, and those that left less than
 * WORKER_EXIT_GRACE_MS ago (a failed one's jobs go on until they meet its cut connections). While there is any, an
 * uncaught error in herd is taken as theirs, as a worker process's would be (most of what runs in herd's process
 * during such a run is the hosts' connections): the live one fails (its hosts end as `error`, the run goes on); one
 * already failing takes it silently, as a worker process on its way out would. Then herd is as before.
 */
const owners: InProcessWorker[] = [];

function onUncaught(err: unknown): void {
  const owner = owners.findLast((w) => w.connected) ?? owners.at(-1);
  owner?.fail(err);
}

function own(worker: InProcessWorker): void {
  if (owners.length === 0) {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
  }
  owners.push(worker);
}

function disown(worker: InProcessWorker): void {
  const at = owners.indexOf(worker);
  if (at >= 0) owners.splice(at, 1);
  if (owners.length > 0) return;
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
}

export class InProcessWorker extends EventEmitter implements WorkerChannel {
  readonly pid = undefined;
  readonly name = "herd's own process (--workers 0)";
  readonly stderr = null;
  /** Set as it leaves: nothing more goes either way. */
  private gone = false;
  private readonly core: WorkerCore;

  constructor() {
    super();
    this.core = createWorkerCore({
      send: (message) => this.deliver(message),
      // Delivered on the next turn, and the parent writes it synchronously: nothing piles up between the two.
      sendOutput: (message) => void this.deliver(message),
      leave: (code, last) => this.leave(code, last),
    });
    own(this);
  }

  /** An uncaught error in herd while this worker's code may run (see owners). */
  fail(err: unknown): void {
    this.core.fail(err);
  }

  get connected(): boolean {
    return !this.gone;
  }

  send(message: ParentMessage, callback: (error: Error | null) => void): boolean {
    if (this.gone) {
      setImmediate(() => callback(new Error('the in-process worker has stopped')));
      return false;
    }
    const copy = structuredClone(message);
    setImmediate(() => {
      if (!this.gone) this.core.handle(copy);
      callback(null);
    });
    return true;
  }

  /** The pool's last resort (a worker that did not answer an abort): every connection is cut now. */
  kill(signal: NodeJS.Signals): boolean {
    if (this.gone) return false;
    this.stop('destroy');
    setImmediate(() => this.emit('exit', null, signal));
    return true;
  }

  private deliver(message: WorkerMessage): void {
    if (this.gone) return;
    const copy = structuredClone(message);
    setImmediate(() => this.emit('message', copy));
  }

  private leave(code: 0 | 70, last: WorkerMessage | undefined): void {
    if (this.gone) return;
    if (last) this.deliver(last);
    // After shutdown the connections are closing (their disconnect is sent): let them finish, but not keep herd
    // alive for a host that never closes its side. After an uncaught error nothing of this worker may act again.
    this.stop(code === 0 ? 'release' : 'destroy');
    setImmediate(() => this.emit('exit', code, null));
  }

  private stop(how: 'release' | 'destroy'): void {
    this.gone = true;
    const cut = releaseConnections(how);
    setTimeout(() => {
      cut();
      disown(this);
    }, WORKER_EXIT_GRACE_MS).unref();
  }
}

/**
 * Where the pool's worker comes from with --workers 0: herd's own process. Loaded by the launch only then (a dynamic
 * import), so that a run with worker processes, and every other command, never loads ssh2 in herd's own process.
 */
export const inProcessWorkers: WorkerChannelSource = {
  open: () => new InProcessWorker(),
  held: () => [],
};
