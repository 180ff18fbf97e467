// Prints a playbook's step recap: a step's block as it completes across a batch, the whole run's at the end.
import { stepFailureExcerpts } from '../report/failure-excerpts.js';
import fs from 'node:fs';
import path from 'node:path';
import { formatRecap, formatStepBlock, formatStepHeader, type RecapStep } from '../report/play-recap.js';
import { writeBytes, writeText, type TextOut } from '../report/terminal-safe.js';
import { readSteps } from '../results/reader.js';

/** One step's block for the batch that just completed it. */
export function printStepBlock(out: TextOut, dir: string, results: RecapStep[]): void {
  const lines = formatStepBlock(results, stepFailureExcerpts(dir, results));
  if (lines.length > 0) writeText(out, lines.join('\n') + '\n');
}

/** Every step of the run as recorded in its steps.tsv, under `title`; nothing when the run has no step. */
export function printRecap(out: TextOut, dir: string, title: string): void {
  const steps = readSteps(dir);
  if (steps.length === 0) return;
  writeText(out, [title, ...formatRecap(steps, stepFailureExcerpts(dir, steps))].join('\n') + '\n');
}

/**
 * `herd show --host` of a playbook run: each step of the host in order, headed by its status and
 * reason, then its output (stdout on `out`, stderr on `err`). Returns whether the host had any step.
 */
export function printHostSteps(out: TextOut, err: TextOut, dir: string, host: string): boolean {
  const steps = readSteps(dir)
    .filter((r) => r.host === host)
    .sort((a, b) => a.play - b.play || a.step - b.step);
  for (const r of steps) {
    writeText(out, formatStepHeader(r) + '\n');
    const base = path.join(dir, 'steps', `${r.play}.${r.step}`);
    for (const [stream, to] of [
      ['stdout', out],
      ['stderr', err],
    ] as const) {
      const file = path.join(base, stream, host);
      if (fs.existsSync(file)) writeBytes(to, fs.readFileSync(file));
    }
  }
  return steps.length > 0;
}
