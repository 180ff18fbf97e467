// Live progress on stderr: one redrawn line on a TTY, occasional plain lines otherwise.
import type { Writable } from 'node:stream';
import { PROGRESS_INTERVAL_MS } from '../defaults.js';

export interface ProgressCounts {
  total: number;
  done: number;
  ok: number;
  notOk: number;
  running: number;
}

/** Pure: the progress line for the given counts and elapsed time. */
export function formatProgress(c: ProgressCounts, elapsedMs: number): string {
  const seconds = Math.max(elapsedMs / 1000, 0.001);
  const rate = c.done / seconds;
  const left = c.total - c.done;
  const eta = rate > 0 ? `${Math.ceil(left / rate)}s` : '?';
  return `${c.done}/${c.total} done  ${c.ok} ok  ${c.notOk} not ok  ${c.running} running  ${rate.toFixed(1)} hosts/s  eta ${eta}`;
}

const PLAIN_INTERVAL_MS = 5_000;

export class ProgressLine {
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();
  private drawn = false;

  constructor(
    private readonly out: Writable & { isTTY?: boolean; columns?: number },
    private readonly counts: () => ProgressCounts,
    private readonly enabled: boolean,
  ) {}

  start(): void {
    if (!this.enabled) return;
    const interval = this.out.isTTY ? PROGRESS_INTERVAL_MS : PLAIN_INTERVAL_MS;
    this.timer = setInterval(() => this.draw(), interval);
    this.timer.unref();
  }

  /** Print a message above the live line without garbling it. */
  note(message: string): void {
    this.clear();
    this.out.write(message + '\n');
  }

  /** Run `write` (which prints whole lines) with the live line cleared, then redraw it. */
  above(write: () => void): void {
    const wasDrawn = this.drawn;
    this.clear();
    write();
    if (wasDrawn) this.draw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  private draw(): void {
    const line = formatProgress(this.counts(), Date.now() - this.started);
    if (this.out.isTTY) {
      const width = Math.max(20, (this.out.columns ?? 80) - 1);
      this.out.write(`\r\x1b[2K${line.slice(0, width)}`);
      this.drawn = true;
    } else {
      this.out.write(`herd: ${line}\n`);
    }
  }

  private clear(): void {
    if (this.drawn && this.out.isTTY) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }
}
