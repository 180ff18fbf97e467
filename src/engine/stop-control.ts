// How a run is stopped: a signal (drain, then abort after the grace), a second signal (abort now), or
// the --deadline (abort now, as timeout). The CLI owns the signal handlers and the deadline timer and
// calls in here; the engine never listens to process signals itself.
import type { RunEventListener } from './events.js';
import type { AbortCause } from './stopped.js';

/** What a stop acts on: the pool running a pass, when one runs. */
export interface Stoppable {
  drain(reason: string): void;
  abort(reason: string, cause?: AbortCause): void;
}

export class StopControl {
  private interruptedBy: NodeJS.Signals | undefined;
  private deadlineHit = false;
  private graceTimer: NodeJS.Timeout | undefined;
  private target: Stoppable | undefined;

  constructor(
    /** Seconds running commands get to finish after the first signal. */
    private readonly graceS: number,
    /** --deadline seconds; 0 or undefined: none. */
    readonly deadlineS: number | undefined,
    private readonly emit: RunEventListener,
  ) {}

  /** SIGINT/SIGTERM: the first starts no new hosts and gives running commands the grace; the next stops them now. */
  interrupt(signal: NodeJS.Signals): void {
    if (this.interruptedBy === undefined) {
      this.interruptedBy = signal;
      this.emit({ kind: 'stop_requested', cause: signal, again: false, graceS: this.graceS });
      this.target?.drain(this.interruptReason());
      this.graceTimer = setTimeout(() => this.abortNow(), this.graceS * 1000);
      this.graceTimer.unref();
    } else {
      this.emit({ kind: 'stop_requested', cause: signal, again: true, graceS: this.graceS });
      this.abortNow();
    }
  }

  /** --deadline reached: start nothing new and stop what runs; those hosts end as timeout, the rest not_started. */
  deadline(): void {
    if (this.stopped) return;
    this.deadlineHit = true;
    this.emit({ kind: 'stop_requested', cause: 'deadline', deadlineS: this.deadlineS ?? 0 });
    this.target?.abort(this.interruptReason(), 'deadline');
  }

  get interrupted(): boolean {
    return this.interruptedBy !== undefined;
  }

  /** Whether later passes (playbooks) may still start hosts. */
  get stopped(): boolean {
    return this.interrupted || this.deadlineHit;
  }

  /** What stopped the run: a signal or the --deadline (data: it goes into results' reasons). */
  stopCause(): string {
    if (this.deadlineHit && this.interruptedBy === undefined)
      return `the run's --deadline ${this.deadlineS}s was reached`;
    return `run interrupted by ${this.interruptedBy ?? 'signal'}`;
  }

  /** Why hosts that never start are not started, once the run has been stopped. */
  interruptReason(): string {
    return `${this.stopCause()} before this host started`;
  }

  /** The pool of the pass that runs now (undefined between passes). */
  attach(target: Stoppable | undefined): void {
    this.target = target;
  }

  /** The run is over: no grace timer outlives it. */
  close(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.target = undefined;
  }

  private abortNow(): void {
    this.target?.abort(this.interruptReason());
  }
}
