// Pure: from an earlier playbook run's journal, decide per host whether and where a rerun resumes.
import type { Play, Playbook, Step } from '../playbook/types.js';
import type { HostResult, StepStatus } from './status.js';
import { STEP_DONE_STATUSES } from './status.js';

export interface StepRecord {
  status: StepStatus;
  ignored: boolean;
}

export interface HostHistory {
  id: string;
  final: HostResult | null;
  /** The host had started its steps when the run ended without a final result for it. */
  wasRunning: boolean;
  /** Latest record per step key `play.step`. */
  steps: Map<string, StepRecord>;
}

export interface ResumeOptions {
  fromStart: boolean;
  resumeUnguarded: boolean;
  includeDiverged: boolean;
  earlierRun: string;
}

export interface ResumePlan {
  /** Hosts to run, in the earlier run's order. */
  hosts: string[];
  /** Where each host starts; absent means from the first step. */
  resume: Map<string, { play: number; step: number; doneIn: string }>;
  /** Hosts left out, with the reason the operator is told. */
  held: { id: string; reason: string }[];
}

function hasGuard(step: Step): boolean {
  return (
    step.when !== undefined || step.unless !== undefined || step.creates !== undefined || step.removes !== undefined
  );
}

function isDone(record: StepRecord | undefined): boolean {
  return record !== undefined && (STEP_DONE_STATUSES.includes(record.status) || record.ignored);
}

/** Plan a rerun of a playbook run: who runs again, from which step, and who is held back and why. */
export function planResume(
  playbook: Playbook,
  playHosts: Map<number, string[]>,
  history: HostHistory[],
  opts: ResumeOptions,
): ResumePlan {
  const plan: ResumePlan = { hosts: [], resume: new Map(), held: [] };
  for (const host of history) {
    if (host.final?.status === 'ok') continue;
    if (host.final?.status === 'diverged' && !opts.includeDiverged) {
      plan.held.push({
        id: host.id,
        reason: `diverged at step ${host.final.step ?? '?'}: inspect it, then add --include-diverged to run it against the earlier majority`,
      });
      continue;
    }
    if (opts.fromStart) {
      plan.hosts.push(host.id);
      continue;
    }
    // The step a host stopped at is never done, whatever its step record says: a journal written
    // before gate steps were recorded `diverged` shows a held-back host's gate step as `ok`.
    const stoppedAt = host.final?.step;
    const next = firstUndoneStep(playbook, playHosts, host.id, host.steps, stoppedAt);
    if (next === null) {
      plan.held.push({ id: host.id, reason: 'every step already succeeded; nothing to resume' });
      continue;
    }
    const record = host.steps.get(`${next.play.index}.${next.step.index}`);
    const midStep =
      record?.status === 'interrupted' ||
      (record === undefined && (host.wasRunning || host.final?.status === 'interrupted'));
    if (midStep && !hasGuard(next.step) && !next.step.check && !opts.resumeUnguarded) {
      plan.held.push({
        id: host.id,
        reason: `step ${next.play.index}.${next.step.index} (${next.step.name}) was interrupted mid-way and has no guard, so its effect is unknown; add --resume-unguarded to run it again`,
      });
      continue;
    }
    plan.hosts.push(host.id);
    plan.resume.set(host.id, { play: next.play.index, step: next.step.index, doneIn: opts.earlierRun });
  }
  return plan;
}

function firstUndoneStep(
  playbook: Playbook,
  playHosts: Map<number, string[]>,
  id: string,
  steps: Map<string, StepRecord>,
  stoppedAt: string | undefined,
): { play: Play; step: Step } | null {
  for (const play of playbook.plays) {
    if (!(playHosts.get(play.index) ?? []).includes(id)) continue;
    for (const step of play.steps) {
      const key = `${play.index}.${step.index}`;
      if (key === stoppedAt || !isDone(steps.get(key))) return { play, step };
    }
  }
  return null;
}
