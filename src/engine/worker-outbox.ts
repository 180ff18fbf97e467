// What a worker sends its parent: every message, with output held back while the IPC channel is
// behind (backpressure), output capped per host (--max-output), and file events in batches.
import type { OutputFlow } from '../transport/exec.js';
import type { FileDone, WorkerMessage } from './protocol.js';

export function send(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

// Output bytes handed to the IPC channel and not yet written to it. Above the high mark, hosts'
// output is paused (see exec.ts) so a host printing gigabytes cannot grow this process's memory.
const IPC_HIGH_BYTES = 8 * 1024 * 1024;
const IPC_LOW_BYTES = 2 * 1024 * 1024;
let ipcBacklog = 0;
let drained: { promise: Promise<void>; resolve: () => void } | undefined;

export function sendOutput(message: WorkerMessage, bytes: number): OutputFlow {
  if (!process.connected) return;
  ipcBacklog += bytes;
  process.send?.(message, undefined, {}, () => {
    ipcBacklog -= bytes;
    if (drained && ipcBacklog <= IPC_LOW_BYTES) {
      drained.resolve();
      drained = undefined;
    }
  });
  if (ipcBacklog < IPC_HIGH_BYTES) return;
  if (!drained) {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    drained = { promise, resolve };
  }
  return drained.promise;
}

export const withNote = (reason: string, note: string): string => (reason === '' ? note : `${reason}; ${note}`);

/** --max-output: keeps the first `limit` bytes of a host's stdout and stderr together, counts the rest. */
export class OutputCap {
  private kept = 0;
  dropped = 0;
  constructor(private readonly limit: number) {}

  take(chunk: Buffer): Buffer {
    if (this.limit <= 0) return chunk;
    const room = Math.max(0, this.limit - this.kept);
    const keep = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.kept += keep.length;
    this.dropped += chunk.length - keep.length;
    return keep;
  }

  note(): string {
    return `output capped by --max-output at ${this.limit} bytes; ${this.dropped} more bytes dropped`;
  }
}

/** Collects one host's transferred files and sends them in batches: when full, or a moment after the first. */
export class FileBatch {
  private files: FileDone[] = [];
  private planned = { files: 0, bytes: 0 };
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly id: string) {}

  add(file: FileDone): void {
    this.files.push(file);
    if (this.files.length >= 256) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), 100);
  }

  plan(bytes: number): void {
    this.planned.files++;
    this.planned.bytes += bytes;
    this.timer ??= setTimeout(() => this.flush(), 100);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.files.length === 0 && this.planned.files === 0) return;
    send({ kind: 'files_done', id: this.id, files: this.files, planned: this.planned });
    this.files = [];
    this.planned = { files: 0, bytes: 0 };
  }
}
