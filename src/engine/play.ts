// Run a playbook: plays in order, serial batches, consensus gates, max_fail, resume points.
import { foldHosts } from '../report/fold.js';
import { judgeConsensus, resolveAmount, splitBatches, splitSegments } from '../playbook/plan.js';
import type { Play, Playbook } from '../playbook/types.js';
import type { HostResult, StepResult } from '../results/status.js';
import { notStartedResult, type RunSession } from './run.js';
import type { HostJob } from './protocol.js';

/** Where a host picks up on a resumed run, and which run did the earlier steps. */
export interface ResumePoint {
  play: number;
  step: number;
  doneIn: string;
}

export interface PlaybookRunRequest {
  playbook: Playbook;
  /** Host ids each play runs on (play.hosts resolved against the selected inventory). */
  playHosts: Map<number, string[]>;
  extraVars: Record<string, string>;
  check: boolean;
  becomePassword?: string;
  runId: string;
  cwd: string;
  resume?: Map<string, ResumePoint>;
  /** Majority outputs of consensus steps from an earlier run (`play.step` -> output): a rerun is judged against them. */
  gateReferences?: Map<string, string | null>;
}

interface HostProgress {
  stopped: HostResult | null;
  durationMs: number;
  ran: boolean;
}

/** Execute every play; each host ends with one final result in the session. */
export async function executePlaybook(session: RunSession, req: PlaybookRunRequest): Promise<void> {
  session.writer.writeJson('plays.json', {
    plays: req.playbook.plays.map((p) => ({ index: p.index, name: p.name, hosts: req.playHosts.get(p.index) ?? [] })),
  });
  const state = new Map<string, HostProgress>();
  for (const id of session.jobs.keys()) state.set(id, { stopped: null, durationMs: 0, ran: false });
  try {
    for (const play of req.playbook.plays) {
      const ids = (req.playHosts.get(play.index) ?? []).filter((id) => state.get(id)?.stopped === null);
      await runPlay(session, req, play, ids, state);
    }
  } finally {
    for (const [id, s] of state) {
      if (s.stopped) session.finishHost(s.stopped);
      else if (session.stopped && !s.ran) session.finishHost(notStartedResult(id, session.interruptReason()));
      else session.finishHost({ id, status: 'ok', exitCode: 0, durationMs: s.durationMs, reason: '' });
    }
  }
}

/** The step a host starts this play at: 1, a resume point inside it, or past its end. */
function startStep(req: PlaybookRunRequest, play: Play, id: string): number {
  const point = req.resume?.get(id);
  if (!point) return 1;
  if (point.play > play.index) return play.steps.length + 1;
  if (point.play < play.index) return 1;
  return point.step;
}

async function runPlay(session: RunSession, req: PlaybookRunRequest, play: Play, ids: string[], state: Map<string, HostProgress>): Promise<void> {
  recordAlreadyDone(session, req, play, ids);
  const maxFail = play.maxFail ? resolveAmount(play.maxFail, ids.length) : Number.POSITIVE_INFINITY;
  const segments = splitSegments(play);
  const references = new Map<number, string | null>();
  for (const [key, output] of req.gateReferences ?? []) {
    const [p, st] = key.split('.').map(Number);
    if (p === play.index && st !== undefined) references.set(st, output);
  }
  let failed = 0;
  const batches = splitBatches(ids, play.serial);
  for (let b = 0; b < batches.length; b++) {
    const batch = batches[b]!;
    if (failed > maxFail) {
      for (const id of batch) stop(state, id, notStartedResult(id, `play ${play.index} stopped: ${failed} hosts failed, more than max_fail ${maxFail}`));
      continue;
    }
    let alive = batch;
    for (const segment of segments) {
      const jobs: HostJob[] = [];
      for (const id of alive) {
        const from = Math.max(segment.from, startStep(req, play, id));
        if (from > segment.to) continue; // this segment was done in an earlier run
        const earlier = state.get(id)!.ran || req.resume?.has(id) === true;
        jobs.push({ ...session.jobs.get(id)!, fromStep: from, toStep: segment.to, ...(earlier ? { afterEarlierSteps: true } : {}) });
      }
      const gateOutputs = new Map<string, string>();
      session.stepListener = (r: StepResult) => {
        if (segment.gate && r.play === play.index && r.step === segment.to && r.stdout !== undefined) gateOutputs.set(r.host, r.stdout);
      };
      await session.runPass(
        jobs,
        { kind: 'steps', play, extraVars: req.extraVars, runId: req.runId, check: req.check, becomePassword: req.becomePassword, cwd: req.cwd },
        (result) => {
          const s = state.get(result.id)!;
          s.durationMs += result.durationMs;
          if (result.status !== 'not_started') s.ran = true;
          if (result.status !== 'ok') {
            stop(state, result.id, { ...result, durationMs: s.durationMs });
            if (result.status !== 'not_started') failed++;
          }
        },
      );
      session.stepListener = undefined;
      alive = alive.filter((id) => state.get(id)?.stopped === null);
      if (segment.gate && gateOutputs.size > 0) {
        alive = applyGate(session, play, segment.to, gateOutputs, references, alive, state);
      }
      if (session.stopped) break;
    }
  }
}

/** Hold back hosts whose gate output differs from the majority (or from the canary batch's majority). */
function applyGate(
  session: RunSession,
  play: Play,
  step: number,
  outputs: Map<string, string>,
  references: Map<number, string | null>,
  alive: string[],
  state: Map<string, HostProgress>,
): string[] {
  const verdict = judgeConsensus(outputs, references.has(step) ? references.get(step) : undefined);
  if (!references.has(step)) {
    references.set(step, verdict.majority);
    session.writer.journalGate(play.index, step, verdict.majority);
  }
  if (verdict.diverged.length === 0) return alive;
  const name = play.steps[step - 1]?.name ?? `step ${step}`;
  session.note(formatGroups(play.index, step, name, verdict.groups, verdict.majority));
  const why = verdict.majority === null ? 'no majority output (the largest groups tie)' : 'output differs from the majority';
  for (const id of verdict.diverged) {
    stop(state, id, {
      id,
      status: 'diverged',
      exitCode: 0,
      durationMs: state.get(id)?.durationMs ?? 0,
      reason: `step ${play.index}.${step} (${name}): ${why}; held back from later steps`,
      step: `${play.index}.${step}`,
      code: 'E_DIVERGED',
    });
  }
  const held = new Set(verdict.diverged);
  return alive.filter((id) => !held.has(id));
}

function formatGroups(play: number, step: number, name: string, groups: { output: string; hosts: string[] }[], majority: string | null): string {
  const lines = [`herd: consensus at step ${play}.${step} (${name}): ${groups.length} distinct outputs`];
  for (const g of groups) {
    const mark = g.output === majority ? 'majority' : 'HELD BACK';
    lines.push(`  [${mark}] ${g.hosts.length} host${g.hosts.length === 1 ? '' : 's'}: ${foldHosts(g.hosts)}`);
    for (const l of g.output.split('\n').slice(0, 10)) lines.push(`      | ${l}`);
  }
  return lines.join('\n');
}

function stop(state: Map<string, HostProgress>, id: string, result: HostResult): void {
  const s = state.get(id);
  if (s && s.stopped === null) s.stopped = result;
}

/** A resumed host's earlier steps are recorded as done in the run that did them. */
function recordAlreadyDone(session: RunSession, req: PlaybookRunRequest, play: Play, ids: string[]): void {
  if (!req.resume) return;
  for (const id of ids) {
    const point = req.resume.get(id);
    if (!point) continue;
    const upTo = point.play > play.index ? play.steps.length : point.play === play.index ? point.step - 1 : 0;
    for (let i = 1; i <= upTo; i++) {
      session.writer.onStepDone({
        host: id,
        play: play.index,
        step: i,
        name: play.steps[i - 1]!.name,
        status: 'already_done',
        exitCode: null,
        durationMs: 0,
        reason: `done in run ${point.doneIn}`,
      });
    }
  }
}
