// What a worker holds back before it sends: output capped per host (--max-output), and file events in batches.
import type { FileDone, WorkerMessage } from './protocol.js';

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
  constructor(
    private readonly id: string,
    private readonly send: (message: WorkerMessage) => void,
  ) {}

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
    this.send({ kind: 'files_done', id: this.id, files: this.files, planned: this.planned });
    this.files = [];
    this.planned = { files: 0, bytes: 0 };
  }
}
