// Run a playbook: plays in order, serial batches, consensus gates, max_fail, resume points.
import { judgeConsensus, resolveAmount, splitBatches, splitSegments } from '../playbook/plan.js';
import type { Play, Playbook } from '../playbook/types.js';
import {
  divergedOutcome,
  errorOutcome,
  hostResult,
  notStarted,
  okOutcome,
  type HostResult,
  type StepResult,
} from '../results/status.js';
import type { Run } from './run.js';
import type { HostJob } from './protocol.js';
import { StepCompletion } from './step-completion.js';

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
  /** Each host's inventory variables that templates use, as text (checked before any host by checkHostVars). */
  inventoryVars?: ReadonlyMap<string, Record<string, string>>;
  check: boolean;
  becomePassword?: string;
  runId: string;
  cwd: string;
  resume?: Map<string, ResumePoint>;
  /**
   * Majority outputs of consensus steps from an earlier run (`play.step` -> output): a rerun is judged against them.
   */
  gateReferences?: Map<string, string | null>;
}

interface HostProgress {
  stopped: HostResult | null;
  durationMs: number;
  ran: boolean;
  /** Plays of this host not yet gone through to their last step: a host is ok only at 0. */
  playsLeft: number;
  /** The last step (`play.step`) the host got through. */
  lastDone: string | null;
  /** --check: the first step that could not be verified; the host goes on but ends with this. */
  unverified: HostResult | null;
}

/** Execute every play; each host ends with one final result in the run. */
export async function executePlaybook(run: Run, req: PlaybookRunRequest): Promise<void> {
  run.plays(req.playbook.plays.map((p) => ({ index: p.index, name: p.name, hosts: req.playHosts.get(p.index) ?? [] })));
  // Inherited references go into this run's journal too, so a rerun of this run is judged alike.
  for (const [key, majority] of req.gateReferences ?? []) {
    const [p, st] = key.split('.').map(Number);
    if (p !== undefined && st !== undefined) run.gateReference(p, st, majority);
  }
  const state = new Map<string, HostProgress>();
  for (const id of run.jobs.keys()) {
    const playsLeft = req.playbook.plays.filter((p) => (req.playHosts.get(p.index) ?? []).includes(id)).length;
    state.set(id, { stopped: null, durationMs: 0, ran: false, playsLeft, lastDone: null, unverified: null });
  }
  let crash: unknown;
  try {
    for (const play of req.playbook.plays) {
      const ids = (req.playHosts.get(play.index) ?? []).filter((id) => state.get(id)?.stopped === null);
      await runPlay(run, req, play, ids, state);
    }
  } catch (err) {
    crash = err;
    throw err;
  } finally {
    for (const [id, s] of state) run.finishHost(finalResult(run, id, s, crash));
  }
}

/** A host is ok only when it went through every step of its plays; otherwise it says where and why it stopped. */
function finalResult(run: Run, id: string, s: HostProgress, crash: unknown): HostResult {
  if (s.stopped) return s.stopped;
  if (s.playsLeft === 0) {
    if (s.unverified) return { ...s.unverified, durationMs: s.durationMs };
    return hostResult(id, s.durationMs, okOutcome(0));
  }
  const where = s.lastDone === null ? 'this host had not started' : `this host stopped after step ${s.lastDone}`;
  if (crash !== undefined) {
    const why = `herd's playbook engine failed: ${crash instanceof Error ? crash.message : String(crash)}; ${where}`;
    if (!s.ran) return notStarted(id, why);
    return hostResult(id, s.durationMs, errorOutcome('E_INTERNAL', why));
  }
  if (!s.ran && run.control.stopped) return notStarted(id, run.control.interruptReason());
  // Between steps nothing is in flight, so a rerun may resume the next step safely.
  const why = run.control.stopped ? run.control.stopCause() : "herd's playbook engine ended early";
  return { ...notStarted(id, `${why}: ${where}; its later steps did not start`), durationMs: s.durationMs };
}

/** The step a host starts this play at: 1, a resume point inside it, or past its end. */
function startStep(req: PlaybookRunRequest, play: Play, id: string): number {
  const point = req.resume?.get(id);
  if (!point) return 1;
  if (point.play > play.index) return play.steps.length + 1;
  if (point.play < play.index) return 1;
  return point.step;
}

async function runPlay(
  run: Run,
  req: PlaybookRunRequest,
  play: Play,
  ids: string[],
  state: Map<string, HostProgress>,
): Promise<void> {
  // Test-only: a real crash of this engine at a chosen play, for the tests of what it then records.
  if (process.env['HERD_TEST_PLAY_CRASH_AT_PLAY'] === String(play.index))
    throw new Error(`test crash at play ${play.index}`);
  recordAlreadyDone(run, req, play, ids);
  const maxFail = play.maxFail ? resolveAmount(play.maxFail, ids.length) : Number.POSITIVE_INFINITY;
  const segments = splitSegments(play);
  const references = new Map<number, string | null>();
  for (const [key, output] of req.gateReferences ?? []) {
    const [p, st] = key.split('.').map(Number);
    if (p === play.index && st !== undefined) references.set(st, output);
  }
  let failed = 0;
  const batches = splitBatches(ids, play.serial);
  for (const batch of batches) {
    if (failed > maxFail) {
      for (const id of batch)
        stop(
          state,
          id,
          notStarted(
            id,
            `play ${play.index} stopped: ${failed} host${failed === 1 ? '' : 's'} failed, more than max_fail ${maxFail}`,
          ),
        );
      continue;
    }
    let alive = batch;
    let through = true;
    for (const segment of segments) {
      if (run.control.stopped) {
        through = false;
        break;
      }
      const jobs: HostJob[] = [];
      for (const id of alive) {
        const from = Math.max(segment.from, startStep(req, play, id));
        if (from > segment.to) continue; // this segment was done in an earlier run
        const earlier = state.get(id)!.ran || req.resume?.has(id) === true;
        const inventoryVars = req.inventoryVars?.get(id);
        jobs.push({
          ...run.jobs.get(id)!,
          fromStep: from,
          toStep: segment.to,
          ...(earlier ? { afterEarlierSteps: true } : {}),
          ...(inventoryVars && Object.keys(inventoryVars).length > 0 ? { inventoryVars } : {}),
        });
      }
      const completion = new StepCompletion(
        jobs.map((j) => ({ id: j.id, from: j.fromStep!, to: j.toStep! })),
        segment.gate ? segment.to : null,
        (_step, results) => run.stepComplete(results),
      );
      // A gate step's result is recorded only once the gate has judged the host: a host held back
      // there must not look as if it passed it (a rerun resumes at the first step not passed).
      const gateResults = new Map<string, StepResult>();
      run.stepListener = (r: StepResult) => {
        if (!segment.gate || r.play !== play.index || r.step !== segment.to || r.stdout === undefined) {
          // Recorded here, before the completion check: a completed step's stderr files are published.
          run.recordStep(r);
          completion.onStep(r);
          return 'defer';
        }
        gateResults.set(r.host, r);
        return 'defer';
      };
      await run.runPass(
        jobs,
        {
          kind: 'steps',
          play,
          extraVars: req.extraVars,
          runId: req.runId,
          check: req.check,
          becomePassword: req.becomePassword,
          cwd: req.cwd,
        },
        (result) => {
          completion.onHostEnded(result.id);
          const s = state.get(result.id)!;
          s.durationMs += result.durationMs;
          if (result.status !== 'not_started') s.ran = true;
          // Unverified (--check) is not a failure: the host goes on, and ends unverified.
          if (result.status === 'unverified') s.unverified ??= result;
          if (result.status === 'ok' || result.status === 'unverified') s.lastDone = `${play.index}.${segment.to}`;
          else {
            stop(state, result.id, { ...result, durationMs: s.durationMs });
            if (result.status !== 'not_started') failed++;
          }
        },
      );
      run.stepListener = undefined;
      const before = alive;
      alive = alive.filter((id) => state.get(id)?.stopped === null);
      if (gateResults.size > 0) {
        alive = applyGate(run, play, segment.to, gateResults, references, alive, state, (r) => completion.onStep(r));
      }
      // Failed or held back at the gate: no later step runs there, so its kept connection closes now.
      run.releaseConnections(before.filter((id) => !alive.includes(id)));
      completion.finish();
    }
    if (through) for (const id of alive) state.get(id)!.playsLeft--;
    run.releaseConnections(alive.filter((id) => state.get(id)!.playsLeft === 0));
  }
}

/**
 * Hold back hosts whose gate output differs from the majority (or from the canary batch's, or an
 * earlier run's, majority), and record each host's gate step as passed or `diverged`.
 */
function applyGate(
  run: Run,
  play: Play,
  step: number,
  results: Map<string, StepResult>,
  references: Map<number, string | null>,
  alive: string[],
  state: Map<string, HostProgress>,
  recorded: (result: StepResult) => void,
): string[] {
  const outputs = new Map([...results].map(([id, r]) => [id, r.stdout ?? '']));
  const verdict = judgeConsensus(outputs, references.has(step) ? references.get(step) : undefined);
  if (!references.has(step)) {
    references.set(step, verdict.majority);
    run.gateReference(play.index, step, verdict.majority);
  }
  const name = play.steps[step - 1]?.name ?? `step ${step}`;
  const why =
    verdict.majority === null ? 'no majority output (the largest groups tie)' : 'output differs from the majority';
  const held = new Set(verdict.diverged);
  for (const [id, r] of results) {
    const judged: StepResult = held.has(id)
      ? { ...r, status: 'diverged', reason: `${why}; held back from later steps` }
      : r;
    run.recordStep(judged);
    recorded(judged);
  }
  run.gateVerdict({
    play: play.index,
    step,
    name,
    groups: verdict.groups,
    majority: verdict.majority,
    held: verdict.diverged,
  });
  if (verdict.diverged.length === 0) return alive;
  for (const id of verdict.diverged) {
    const reason = `step ${play.index}.${step} (${name}): ${why}; held back from later steps`;
    const diverged = divergedOutcome(reason, { exitCode: 0, step: `${play.index}.${step}` });
    stop(state, id, hostResult(id, state.get(id)?.durationMs ?? 0, diverged));
  }
  return alive.filter((id) => !held.has(id));
}

function stop(state: Map<string, HostProgress>, id: string, result: HostResult): void {
  const s = state.get(id);
  if (s && s.stopped === null) s.stopped = result;
}

/** A resumed host's earlier steps are recorded as done in the run that did them. */
function recordAlreadyDone(run: Run, req: PlaybookRunRequest, play: Play, ids: string[]): void {
  if (!req.resume) return;
  for (const id of ids) {
    const point = req.resume.get(id);
    if (!point) continue;
    const upTo = point.play > play.index ? play.steps.length : point.play === play.index ? point.step - 1 : 0;
    for (let i = 1; i <= upTo; i++) {
      run.stepAlreadyDone({
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
