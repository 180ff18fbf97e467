// When a step is complete across a batch: every host of the pass that reached it has its result.
// A host reached step s if its job covers s and it has not ended (a host that stopped at an
// earlier step ends its job without reaching s). Steps complete in order, one event each.
import type { StepResult } from '../results/status.js';

export interface PassJob {
  id: string;
  from: number;
  to: number;
}

export class StepCompletion {
  private readonly results = new Map<number, StepResult[]>();
  /** Per step: hosts whose job covers it and that have neither reported it nor ended. */
  private readonly waiting = new Map<number, number>();
  /** Per host: the steps it is still counted as waiting for. */
  private readonly owed = new Map<string, Set<number>>();
  private next: number;
  private readonly last: number;

  /**
   * `held`: a step whose results are recorded only after the pass (a consensus gate); it and the
   * steps after it complete at `finish`.
   */
  constructor(
    jobs: PassJob[],
    private readonly held: number | null,
    private readonly complete: (step: number, results: StepResult[]) => void,
  ) {
    this.next = jobs.reduce((n, j) => Math.min(n, j.from), Number.POSITIVE_INFINITY);
    this.last = jobs.reduce((n, j) => Math.max(n, j.to), 0);
    for (const j of jobs) {
      const steps = new Set<number>();
      for (let s = j.from; s <= j.to; s++) {
        steps.add(s);
        this.waiting.set(s, (this.waiting.get(s) ?? 0) + 1);
      }
      this.owed.set(j.id, steps);
    }
  }

  onStep(result: StepResult): void {
    const list = this.results.get(result.step);
    if (list) list.push(result);
    else this.results.set(result.step, [result]);
    this.settle(result.host, [result.step]);
  }

  onHostEnded(id: string): void {
    this.settle(id, [...(this.owed.get(id) ?? [])]);
  }

  /** The pass is over (and any gate has recorded its verdicts): every step left is complete. */
  finish(): void {
    for (; this.next <= this.last; this.next++) this.emit(this.next);
  }

  private settle(id: string, steps: number[]): void {
    const owed = this.owed.get(id);
    for (const s of steps) {
      if (owed?.delete(s)) this.waiting.set(s, (this.waiting.get(s) ?? 1) - 1);
    }
    while (this.next <= this.last && this.next !== this.held && (this.waiting.get(this.next) ?? 0) === 0) {
      this.emit(this.next);
      this.next++;
    }
  }

  private emit(step: number): void {
    const results = this.results.get(step);
    this.results.delete(step);
    if (results !== undefined && results.length > 0) this.complete(step, results);
  }
}
