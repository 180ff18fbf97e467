// Live status on stderr: a few redrawn lines on a TTY, occasional plain lines otherwise.
import type { Writable } from 'node:stream';
import { PROGRESS_INTERVAL_MS } from '../defaults.js';
import { forTerminal, terminalSafe } from './terminal-safe.js';

export interface ProgressCounts {
  total: number;
  done: number;
  ok: number;
  notOk: number;
  running: number;
  connecting: number;
  /** See StatusSnapshot.connectWaitMs. */
  connectWaitMs?: number | null;
}

export interface StatusSnapshot {
  total: number;
  /** Hosts per state: queued, connecting, running, and every final status seen so far. */
  states: Record<string, number>;
  /** Running hosts with how long they have been running, longest first. */
  slowest: { id: string; ms: number }[];
  /** Push and pull: files and bytes moved so far. */
  /** planned*: files found so far (a pull learns its totals while it walks the hosts' trees). */
  transfer?: { files: number; bytes: number; plannedFiles: number; plannedBytes: number };
  /**
   * The longest a connecting host may still take before it connects or fails: the ETA is never
   * shorter. null when a host is past its connect timeout (retrying): no honest ETA then.
   */
  connectWaitMs?: number | null;
}

/** Hosts left over the rate so far, but never less than a connecting host may still wait. */
function formatEta(done: number, total: number, seconds: number, connectWaitMs: number | null | undefined): string {
  if (done >= total) return '0s';
  if (connectWaitMs === null) return '?';
  const rate = done / seconds;
  const byRate = rate > 0 ? Math.ceil((total - done) / rate) : null;
  const wait = connectWaitMs === undefined ? 0 : Math.ceil(connectWaitMs / 1000);
  if (byRate === null) return wait > 0 ? `${wait}s` : '?';
  return `${Math.max(byRate, wait)}s`;
}

/** Pure: the one-line progress for the given counts and elapsed time (plain logs). */
export function formatProgress(c: ProgressCounts, elapsedMs: number): string {
  const seconds = Math.max(elapsedMs / 1000, 0.001);
  const rate = c.done / seconds;
  const eta = formatEta(c.done, c.total, seconds, c.connectWaitMs);
  return `${c.done}/${c.total} done  ${c.ok} ok  ${c.notOk} not ok  ${c.running} running  ${c.connecting} connecting  ${rate.toFixed(1)} hosts/s  eta ${eta}`;
}

const LIVE_ORDER = ['queued', 'connecting', 'running'];

/** Pure: the lines of the live status area, each cut to `width`. */
export function formatStatus(s: StatusSnapshot, elapsedMs: number, width: number): string[] {
  const done = s.total - LIVE_ORDER.reduce((n, k) => n + (s.states[k] ?? 0), 0);
  const seconds = Math.max(elapsedMs / 1000, 0.001);
  const rate = done / seconds;
  const eta = formatEta(done, s.total, seconds, s.connectWaitMs);
  const states = [
    ...LIVE_ORDER,
    ...Object.keys(s.states)
      .filter((k) => !LIVE_ORDER.includes(k))
      .sort(),
  ]
    .filter((k) => (s.states[k] ?? 0) > 0)
    .map((k) => `${k} ${s.states[k]}`)
    .join('  ');
  const lines = [
    `herd ${done}/${s.total}  ${states}`,
    `     ${rate.toFixed(1)} hosts/s  elapsed ${Math.floor(seconds)}s  eta ${eta}`,
  ];
  if (s.transfer) {
    const mb = s.transfer.bytes / 1024 / 1024;
    const plannedMb = s.transfer.plannedBytes / 1024 / 1024;
    lines.push(
      `     files ${s.transfer.files}/${s.transfer.plannedFiles}  ${mb.toFixed(1)}/${plannedMb.toFixed(1)} MB  ${(mb / seconds).toFixed(1)} MB/s`,
    );
  }
  if (s.slowest.length > 0)
    lines.push(`     slowest: ${s.slowest.map((r) => `${r.id} ${Math.floor(r.ms / 1000)}s`).join('  ')}`);
  return lines.map((l) => l.slice(0, width));
}

const PLAIN_INTERVAL_MS = 5_000;

export class ProgressLine {
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();
  /** Lines currently drawn on the terminal (0 when nothing is shown). */
  private drawnLines = 0;

  constructor(
    private readonly out: Writable & { isTTY?: boolean; columns?: number },
    private readonly snapshot: () => StatusSnapshot,
    private readonly enabled: boolean,
  ) {}

  start(): void {
    if (!this.enabled) return;
    const interval = this.out.isTTY ? PROGRESS_INTERVAL_MS : PLAIN_INTERVAL_MS;
    this.timer = setInterval(() => this.draw(), interval);
    this.timer.unref();
  }

  /** Print a message above the live area without garbling it (escaped on a terminal: it may quote a host). */
  note(message: string): void {
    this.above(() => this.out.write(forTerminal(this.out, message) + '\n'));
  }

  /** Run `write` (which prints whole lines) with the live area cleared, then redraw it. */
  above(write: () => void): void {
    const wasDrawn = this.drawnLines > 0;
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
    const s = this.snapshot();
    const elapsed = Date.now() - this.started;
    if (!this.out.isTTY) {
      const done = s.total - LIVE_ORDER.reduce((n, k) => n + (s.states[k] ?? 0), 0);
      const counts: ProgressCounts = {
        total: s.total,
        done,
        ok: s.states['ok'] ?? 0,
        notOk: done - (s.states['ok'] ?? 0),
        running: s.states['running'] ?? 0,
        connecting: s.states['connecting'] ?? 0,
        ...(s.connectWaitMs !== undefined ? { connectWaitMs: s.connectWaitMs } : {}),
      };
      this.out.write(`herd: ${formatProgress(counts, elapsed)}\n`);
      return;
    }
    // Host names can come from an inventory a host's output built: shown escaped like the rest.
    const shown = { ...s, slowest: s.slowest.map((r) => ({ ...r, id: terminalSafe(r.id) })) };
    const lines = formatStatus(shown, elapsed, Math.max(20, (this.out.columns ?? 80) - 1));
    // One write per frame: move to the top of the area, rewrite each line, clear what is left.
    let frame = this.drawnLines > 1 ? `\x1b[${this.drawnLines - 1}A` : '';
    frame += lines.map((l) => `\r\x1b[2K${l}`).join('\n');
    for (let i = lines.length; i < this.drawnLines; i++) frame += '\n\r\x1b[2K';
    if (this.drawnLines > lines.length) frame += `\x1b[${this.drawnLines - lines.length}A`;
    this.out.write(frame);
    this.drawnLines = Math.max(lines.length, 1);
  }

  private clear(): void {
    if (this.drawnLines === 0 || !this.out.isTTY) return;
    let frame = this.drawnLines > 1 ? `\x1b[${this.drawnLines - 1}A` : '';
    frame += '\r\x1b[J';
    this.out.write(frame);
    this.drawnLines = 0;
  }
}
