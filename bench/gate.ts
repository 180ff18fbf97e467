// The memory case's barrier: every session runs `cat FIFO`, which blocks without CPU until the bench opens the
// FIFO for writing. The bench does so once it has seen every session running at once for a moment (so the
// memory sampler sees the tool holding all of them), or at a cap, and keeps doing so until the run ends (a
// session that starts late is let go too). The count does not depend on how fast this machine handshakes,
// which a fixed `sleep N` would.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export class Gate {
  readonly fifo: string;
  readonly comm = 'cat';
  private seenAllAt: number | undefined;
  private startedAt = 0;
  private open = false;

  constructor(
    dir: string,
    private readonly expected: number,
    private readonly holdMs = 3000,
    private readonly capMs = 240_000,
  ) {
    // The fleet's login user is not the bench's: the directory and the FIFO must be reachable by it.
    fs.chmodSync(dir, 0o755);
    fs.mkdirSync(path.join(dir, 'gate'), { recursive: true, mode: 0o755 });
    this.fifo = path.join(dir, 'gate', 'fifo');
  }

  /** The remote command every session runs. */
  command(): string {
    return `cat ${this.fifo}`;
  }

  /** Before each run: a fresh closed gate. */
  arm(): void {
    fs.rmSync(this.fifo, { force: true });
    const r = spawnSync('mkfifo', ['-m', '0666', this.fifo]);
    if (r.status !== 0) throw new Error(`mkfifo ${this.fifo} failed: ${r.stderr.toString()}`);
    this.seenAllAt = undefined;
    this.startedAt = Date.now();
    this.open = false;
  }

  /** The probe's count at each sample. */
  onCount(n: number): void {
    const now = Date.now();
    if (n >= this.expected && this.seenAllAt === undefined) this.seenAllAt = now;
    if (
      !this.open &&
      ((this.seenAllAt !== undefined && now - this.seenAllAt >= this.holdMs) || now - this.startedAt > this.capMs)
    )
      this.open = true;
    if (this.open) this.release();
  }

  /** Let every reader waiting now go: open for writing (without blocking) and close, so each reads end-of-file. */
  private release(): void {
    try {
      fs.closeSync(fs.openSync(this.fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    } catch {
      /* ENXIO: no reader waits right now */
    }
  }
}
