// A play's steps on one connected host, in order: guards, --check, expectations, become, transfers.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { HerdError } from '../errors.js';
import { GUARD_TIMEOUT_MS } from '../defaults.js';
import { renderStep, hostVars } from '../playbook/render.js';
import type { Step } from '../playbook/types.js';
import {
  divergedOutcome,
  failedOutcome,
  interruptedOutcome,
  notStartedOutcome,
  okOutcome,
  timeoutOutcome,
  unverifiedOutcome,
  type EndedDetails,
  type Outcome,
  type StepResult,
  type StepStatus,
} from '../results/status.js';
import type { HostConnection } from '../transport/connection.js';
import type { BecomeOptions, ExecOutcome, OutputFlow } from '../transport/exec.js';
import { shellQuote } from '../transport/remote-command.js';
import { transfer, TransferStopped } from '../transfer/transfer.js';
import { abortedOutcome, stoppedOutcome } from './stopped.js';
import { summaryNotes } from './transfer-job.js';
import type { HostJob, TaskSpec } from './protocol.js';
import type { TaskOutcome } from './host-job.js';
import { toErrorData, type ErrorCode } from '../errors.js';
import { HostFailure } from '../transport/failure.js';
import { formatSize, plural } from '../results/words.js';

type StepsTask = Extract<TaskSpec, { kind: 'steps' }>;

export interface StepsContext {
  signal: AbortSignal;
  /** --idle-timeout for every command the steps run; 0 means none. */
  idleTimeoutMs: number;
  onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer, step: string) => OutputFlow;
  onStepDone: (result: StepResult) => void;
}

/** Consensus output kept per host; more than this is compared by its first bytes only. */
const CONSENSUS_BYTES = 64 * 1024;

interface StepOutcome {
  status: StepStatus;
  exitCode: number | null;
  reason: string;
  stdout?: string;
  /** A limit stopped the step's command at this moment (epoch ms); its duration ends there. */
  endedAt?: number;
  /** Why it did not pass, kept up to the host's result (E_IDLE_TIMEOUT stays E_IDLE_TIMEOUT). */
  code?: ErrorCode;
}

/** Run the job's range of steps; the result says where and why the host stopped, if it did. */
export async function runSteps(
  conn: HostConnection,
  job: HostJob,
  task: StepsTask,
  ctx: StepsContext,
): Promise<TaskOutcome> {
  const play = task.play;
  const vars = hostVars(
    play,
    task.extraVars,
    {
      host: job.host,
      port: String(job.port),
      user: job.user,
      run_id: task.runId,
    },
    job.inventoryVars,
  );
  const from = job.fromStep ?? 1;
  const to = job.toStep ?? play.steps.length;
  let lastExit: number | null = null;
  // Under --check, once a step would have changed the host, later checks may fail only because it did not:
  // such a failure is `unverified`, the host goes on, and it ends `unverified`, never ok.
  let skippedChanges = false;
  let unverified: Outcome | null = null;
  for (let index = from; index <= to; index++) {
    const key = `${play.index}.${index}`;
    const started = Date.now();
    let step: Step;
    try {
      step = renderStep(play.steps[index - 1]!, vars);
    } catch (err) {
      // A template that cannot be rendered for this host (e.g. a refused built-in): nothing ran.
      if (!(err instanceof HerdError)) throw err;
      const name = play.steps[index - 1]!.name;
      const reason = err.message;
      ctx.onStepDone({
        host: job.id,
        play: play.index,
        step: index,
        name,
        status: 'failed',
        exitCode: null,
        durationMs: 0,
        reason,
      });
      return failedOutcome(err.code, `step ${key} (${name}): ${err.message}`, { step: key });
    }
    // Steps before this one ran on the host (earlier in this job, an earlier pass, or the resumed run).
    const afterEarlierSteps = index > 1 || job.afterEarlierSteps === true;
    let outcome = await runStep(conn, job, task, step, key, ctx).catch((err: unknown) =>
      refusedChannel(err, afterEarlierSteps),
    );
    if (outcome.status === 'would_run') skippedChanges = true;
    else if (task.check && skippedChanges && (outcome.status === 'failed' || outcome.status === 'diverged')) {
      outcome = {
        ...outcome,
        status: 'unverified',
        reason: `${outcome.reason} (under --check, after steps that did not run)`,
      };
    }
    const ignored = step.ignoreErrors && !isPassing(outcome.status) && outcome.status !== 'interrupted';
    const result: StepResult = {
      host: job.id,
      play: play.index,
      step: step.index,
      name: step.name,
      status: outcome.status,
      exitCode: outcome.exitCode,
      durationMs: (outcome.endedAt ?? Date.now()) - started,
      reason: ignored ? `${outcome.reason} (ignored)` : outcome.reason,
      ...(outcome.code !== undefined && !isPassing(outcome.status) ? { code: outcome.code } : {}),
      ...(ignored ? { ignored: true } : {}),
      ...(outcome.stdout !== undefined ? { stdout: outcome.stdout } : {}),
    };
    ctx.onStepDone(result);
    if (outcome.exitCode !== null) lastExit = outcome.exitCode;
    if (outcome.status === 'unverified') {
      const reason = `step ${key} (${step.name}): ${outcome.reason}`;
      if (!ignored) unverified ??= unverifiedOutcome(reason, { exitCode: outcome.exitCode, step: key });
    } else if (!isPassing(outcome.status) && !ignored) {
      const reason = `step ${key} (${step.name}): ${outcome.reason}`;
      const details = { exitCode: outcome.exitCode, step: key };
      const ended = hostOutcomeFor(outcome.status, outcome.code ?? 'E_STEP', reason, details);
      return { ...ended, ...(outcome.endedAt !== undefined ? { endedAt: outcome.endedAt } : {}) };
    }
  }
  return unverified ?? okOutcome(lastExit ?? 0);
}

/**
 * A session channel the host will not open (process limit, MaxSessions) once earlier steps ran: the
 * step failed, and the host is not `unreachable` (that would say nothing ran). Before any step ran,
 * the host is recorded as unreachable, as for a command.
 */
function refusedChannel(err: unknown, afterEarlierSteps: boolean): StepOutcome {
  if (!(err instanceof HostFailure) || err.code !== 'E_CHANNEL' || !afterEarlierSteps) throw err;
  return failedOutcome('E_CHANNEL', `${err.message} (after earlier steps ran on this host)`);
}

function isPassing(status: StepStatus): boolean {
  return (
    status === 'ok' ||
    status === 'changed' ||
    status === 'skipped' ||
    status === 'would_run' ||
    status === 'would_skip' ||
    status === 'already_done'
  );
}

/** The host's end when a step stopped it: the step's status as the host's, its code and reason kept. */
function hostOutcomeFor(status: StepStatus, code: ErrorCode, reason: string, details: EndedDetails): Outcome {
  switch (status) {
    case 'timeout':
      return timeoutOutcome(code, reason, details);
    case 'diverged':
      // Its code is E_DIVERGED, as every diverged step's (an unmet expect.stdout).
      return divergedOutcome(reason, details);
    case 'interrupted':
      return interruptedOutcome(code, reason, details);
    case 'not_started':
      return notStartedOutcome(reason);
    case 'unverified':
      return unverifiedOutcome(reason, details);
    case 'failed':
    case 'ok':
    case 'changed':
    case 'skipped':
    case 'would_run':
    case 'would_skip':
    case 'already_done':
      return failedOutcome(code, reason, details);
    default:
      return assertNever(status);
  }
}

async function runStep(
  conn: HostConnection,
  job: HostJob,
  task: StepsTask,
  step: Step,
  key: string,
  ctx: StepsContext,
): Promise<StepOutcome> {
  const become = step.become ? { password: task.becomePassword, user: step.becomeUser } : undefined;
  const skipReason = await checkGuards(conn, job, step, become, ctx);
  if (skipReason !== null && typeof skipReason === 'object') return skipReason;
  if (skipReason !== null) return { status: task.check ? 'would_skip' : 'skipped', exitCode: null, reason: skipReason };
  if (task.check && !step.check) return { status: 'would_run', exitCode: null, reason: 'not run under --check' };

  switch (step.kind) {
    case 'run':
      return runCommandStep(conn, job, step, step.run, key, become, ctx);
    case 'script':
      return runScriptStep(conn, job, step, key, become, ctx);
    case 'push':
    case 'pull':
      return runTransferStep(conn, job, task, step, ctx);
    default:
      return assertNever(step);
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled step kind or status ${JSON.stringify(value)}`);
}

/** Returns null to go ahead, a reason string to skip, or an outcome when a guard itself broke. */
async function checkGuards(
  conn: HostConnection,
  job: HostJob,
  step: Step,
  become: BecomeOptions | undefined,
  ctx: StepsContext,
): Promise<string | null | StepOutcome> {
  const probes: { command: string; skipWhenZero: boolean; describe: string }[] = [];
  if (step.creates !== undefined)
    probes.push({
      command: `test -e ${shellQuote(step.creates)}`,
      skipWhenZero: true,
      describe: `creates: ${step.creates} exists`,
    });
  if (step.removes !== undefined)
    probes.push({
      command: `test -e ${shellQuote(step.removes)}`,
      skipWhenZero: false,
      describe: `removes: ${step.removes} does not exist`,
    });
  if (step.when !== undefined)
    probes.push({ command: step.when, skipWhenZero: false, describe: `when: condition exited non-zero` });
  if (step.unless !== undefined)
    probes.push({ command: step.unless, skipWhenZero: true, describe: `unless: condition exited 0` });
  for (const probe of probes) {
    const outcome = await conn.exec(probe.command, {
      timeoutMs: step.timeoutS !== undefined ? step.timeoutS * 1000 : GUARD_TIMEOUT_MS,
      tag: `${job.tag}g`,
      signal: ctx.signal,
      idleTimeoutMs: ctx.idleTimeoutMs,
      become,
      onStdout: () => {},
      onStderr: () => {},
    });
    const broken = brokenOutcome(outcome, 'guard', ctx);
    if (broken) return broken;
    const zero = outcome.exitCode === 0;
    if (zero === probe.skipWhenZero) return probe.describe;
  }
  return null;
}

/** Timeout, abort and lost connections end a step the same way whatever ran. */
function brokenOutcome(outcome: ExecOutcome, what: string, ctx: StepsContext): StepOutcome | null {
  const stopped = stoppedOutcome(outcome, what, 'its timeout', ctx.idleTimeoutMs, ctx.signal);
  if (!stopped) return null;
  const endedAt = outcome.stoppedAt !== undefined ? { endedAt: outcome.stoppedAt } : {};
  return { ...stopped, ...endedAt };
}

async function runCommandStep(
  conn: HostConnection,
  job: HostJob,
  step: Step,
  command: string,
  key: string,
  become: BecomeOptions | undefined,
  ctx: StepsContext,
): Promise<StepOutcome> {
  let kept = '';
  const wantsStdout = step.expect?.stdout !== undefined || step.expect?.consensus === true;
  const outcome = await conn.exec(command, {
    timeoutMs: step.timeoutS !== undefined ? step.timeoutS * 1000 : 0,
    tag: job.tag,
    signal: ctx.signal,
    idleTimeoutMs: ctx.idleTimeoutMs,
    become,
    onStdout: (c) => {
      if (wantsStdout && kept.length < CONSENSUS_BYTES) kept += c.toString('utf8');
      return ctx.onOutput('stdout', c, key);
    },
    onStderr: (c) => ctx.onOutput('stderr', c, key),
  });
  const broken = brokenOutcome(outcome, 'command', ctx);
  if (broken) return broken;
  const allowed = step.expect?.exit ?? [0];
  if (outcome.exitCode === null || !allowed.includes(outcome.exitCode)) {
    const how = outcome.signal ? `killed by signal ${outcome.signal}` : `exit code ${outcome.exitCode}`;
    const reason = allowed.length === 1 && allowed[0] === 0 ? how : `${how} (expected ${allowed.join(', ')})`;
    return failedOutcome('E_EXIT', reason, { exitCode: outcome.exitCode });
  }
  if (step.expect?.stdout !== undefined && !new RegExp(step.expect.stdout, 'm').test(kept)) {
    const reason = `stdout does not match /${step.expect.stdout}/`;
    return divergedOutcome(reason, { exitCode: outcome.exitCode });
  }
  const status: StepStatus = step.check ? 'ok' : 'changed';
  return {
    status,
    exitCode: outcome.exitCode,
    reason: '',
    ...(step.expect?.consensus ? { stdout: kept.slice(0, CONSENSUS_BYTES) } : {}),
  };
}

async function runScriptStep(
  conn: HostConnection,
  job: HostJob,
  step: Extract<Step, { kind: 'script' }>,
  key: string,
  become: BecomeOptions | undefined,
  ctx: StepsContext,
): Promise<StepOutcome> {
  // Not the job's tag: every command line of the job shows it in ps, so another user of the host
  // could plant a file at the path before the upload. Never skipped as unchanged either: whatever
  // is at the path is replaced, never run.
  const remote = `/tmp/.herd-script-${randomBytes(8).toString('hex')}`;
  try {
    await transfer(conn, { direction: 'push', local: step.script, remote, times: false, finalMode: 0o700 });
  } catch (err) {
    const { code, message } = toErrorData(err);
    return failedOutcome(code, `could not upload script: ${message}`);
  }
  const command = `${shellQuote(remote)}${step.args ? ` ${step.args}` : ''}; rc=$?; rm -f ${shellQuote(remote)}; exit $rc`;
  return runCommandStep(conn, job, step, command, key, become, ctx);
}

async function runTransferStep(
  conn: HostConnection,
  job: HostJob,
  task: StepsTask,
  step: Extract<Step, { kind: 'push' | 'pull' }>,
  ctx: StepsContext,
): Promise<StepOutcome> {
  try {
    if (step.kind === 'push') {
      // A symlink is re-made on every push, so it counts as a change like a file sent.
      let links = 0;
      const onFile = (_rel: string, _bytes: number, status: string): void => {
        if (status === 'link') links++;
      };
      const s = await transfer(conn, {
        direction: 'push',
        local: step.src,
        remote: step.dest,
        onFile,
        signal: ctx.signal,
      });
      const unchanged = s.skipped > 0 ? ` (${s.skipped} unchanged)` : '';
      const made = links > 0 ? `, ${plural(links, 'link')}` : '';
      const reason = `pushed ${plural(s.files, 'file')}, ${formatSize(s.bytes)}${made}${unchanged}${summaryNotes(s)}`;
      return { status: s.files + links > 0 ? 'changed' : 'ok', exitCode: null, reason };
    }
    const localDir = path.resolve(task.cwd, step.dest, job.id);
    const s = await transfer(conn, { direction: 'pull', local: localDir, remote: step.src, signal: ctx.signal });
    return okOutcome(
      null,
      `pulled ${plural(s.files, 'file')}, ${formatSize(s.bytes)} into ${localDir}${summaryNotes(s)}`,
    );
  } catch (err) {
    if (err instanceof TransferStopped) {
      return abortedOutcome(ctx.signal, step.kind, 'files in flight stay under temporary names');
    }
    const { code, message } = toErrorData(err);
    return failedOutcome(code, message);
  }
}
