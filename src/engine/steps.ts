// A play's steps on one connected host, in order: guards, --check, expectations, become, transfers.
import path from 'node:path';
import type { Client } from 'ssh2';
import { renderStep, hostVars } from '../playbook/render.js';
import type { Step } from '../playbook/types.js';
import type { HostResult, StepResult, StepStatus } from '../results/status.js';
import { execCommand, type ExecOutcome, type OutputFlow } from '../transport/exec.js';
import { shellQuote } from '../transport/remote-command.js';
import { openSftp, pullPath, pushPath, TransferStopped, whileConnected } from '../transport/sftp.js';
import { abortedOutcome, stoppedOutcome } from './stopped.js';
import { summaryNotes } from './transfer-job.js';
import type { HostJob, TaskSpec } from './protocol.js';

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
/** Guards are quick checks; they get this long unless the step says otherwise. */
const GUARD_TIMEOUT_MS = 60_000;

interface StepOutcome {
  status: StepStatus;
  exitCode: number | null;
  reason: string;
  stdout?: string;
}

/** Run the job's range of steps; the result says where and why the host stopped, if it did. */
export async function runSteps(client: Client, job: HostJob, task: StepsTask, ctx: StepsContext): Promise<Omit<HostResult, 'id' | 'durationMs'>> {
  const play = task.play;
  const vars = hostVars(play, task.extraVars, { host: job.host, port: String(job.port), user: job.user, run_id: task.runId });
  const from = job.fromStep ?? 1;
  const to = job.toStep ?? play.steps.length;
  let lastExit: number | null = null;
  // Under --check, once a step would have changed the host, later checks may fail only because it did not.
  let skippedChanges = false;
  for (let index = from; index <= to; index++) {
    const step = renderStep(play.steps[index - 1]!, vars);
    const key = `${play.index}.${step.index}`;
    const started = Date.now();
    let outcome = await runStep(client, job, task, step, key, ctx);
    if (outcome.status === 'would_run') skippedChanges = true;
    else if (task.check && skippedChanges && (outcome.status === 'failed' || outcome.status === 'diverged')) {
      outcome = { ...outcome, status: 'would_run', reason: `${outcome.reason} (under --check, after steps that did not run)` };
    }
    const ignored = step.ignoreErrors && !isPassing(outcome.status) && outcome.status !== 'interrupted';
    const result: StepResult = {
      host: job.id,
      play: play.index,
      step: step.index,
      name: step.name,
      status: outcome.status,
      exitCode: outcome.exitCode,
      durationMs: Date.now() - started,
      reason: ignored ? `${outcome.reason} (ignored)` : outcome.reason,
      ...(ignored ? { ignored: true } : {}),
      ...(outcome.stdout !== undefined ? { stdout: outcome.stdout } : {}),
    };
    ctx.onStepDone(result);
    if (outcome.exitCode !== null) lastExit = outcome.exitCode;
    if (!isPassing(outcome.status) && !ignored) {
      return { status: hostStatusFor(outcome.status), exitCode: outcome.exitCode, reason: `step ${key} (${step.name}): ${outcome.reason}`, step: key, code: 'E_STEP' };
    }
  }
  return { status: 'ok', exitCode: lastExit ?? 0, reason: '' };
}

function isPassing(status: StepStatus): boolean {
  return status === 'ok' || status === 'changed' || status === 'skipped' || status === 'would_run' || status === 'would_skip' || status === 'already_done';
}

function hostStatusFor(status: StepStatus): HostResult['status'] {
  switch (status) {
    case 'timeout':
      return 'timeout';
    case 'diverged':
      return 'diverged';
    case 'interrupted':
      return 'interrupted';
    case 'not_started':
      return 'not_started';
    default:
      return 'failed';
  }
}

async function runStep(client: Client, job: HostJob, task: StepsTask, step: Step, key: string, ctx: StepsContext): Promise<StepOutcome> {
  const become = step.become ? { password: task.becomePassword } : undefined;
  const skipReason = await checkGuards(client, job, step, become, ctx);
  if (skipReason !== null && typeof skipReason === 'object') return skipReason;
  if (skipReason !== null) return { status: task.check ? 'would_skip' : 'skipped', exitCode: null, reason: skipReason };
  if (task.check && !step.check) return { status: 'would_run', exitCode: null, reason: 'not run under --check' };

  switch (step.kind) {
    case 'run':
      return runCommandStep(client, job, step, step.run, key, become, ctx);
    case 'script':
      return runScriptStep(client, job, step, key, become, ctx);
    case 'push':
    case 'pull':
      return runTransferStep(client, job, task, step, ctx);
    default:
      return assertNever(step);
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled step kind ${JSON.stringify(value)}`);
}

/** Returns null to go ahead, a reason string to skip, or an outcome when a guard itself broke. */
async function checkGuards(
  client: Client,
  job: HostJob,
  step: Step,
  become: { password?: string } | undefined,
  ctx: StepsContext,
): Promise<string | null | StepOutcome> {
  const probes: { command: string; skipWhenZero: boolean; describe: string }[] = [];
  if (step.creates !== undefined) probes.push({ command: `test -e ${shellQuote(step.creates)}`, skipWhenZero: true, describe: `creates: ${step.creates} exists` });
  if (step.removes !== undefined) probes.push({ command: `test -e ${shellQuote(step.removes)}`, skipWhenZero: false, describe: `removes: ${step.removes} does not exist` });
  if (step.when !== undefined) probes.push({ command: step.when, skipWhenZero: false, describe: `when: condition exited non-zero` });
  if (step.unless !== undefined) probes.push({ command: step.unless, skipWhenZero: true, describe: `unless: condition exited 0` });
  for (const probe of probes) {
    const outcome = await execCommand(client, probe.command, {
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
  return stopped ? { status: stopped.status, exitCode: null, reason: stopped.reason } : null;
}

async function runCommandStep(
  client: Client,
  job: HostJob,
  step: Step,
  command: string,
  key: string,
  become: { password?: string } | undefined,
  ctx: StepsContext,
): Promise<StepOutcome> {
  let kept = '';
  const wantsStdout = step.expect?.stdout !== undefined || step.expect?.consensus === true;
  const outcome = await execCommand(client, command, {
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
    return { status: 'failed', exitCode: outcome.exitCode, reason: allowed.length === 1 && allowed[0] === 0 ? how : `${how} (expected ${allowed.join(', ')})` };
  }
  if (step.expect?.stdout !== undefined && !new RegExp(step.expect.stdout, 'm').test(kept)) {
    return { status: 'diverged', exitCode: outcome.exitCode, reason: `stdout does not match /${step.expect.stdout}/` };
  }
  const status: StepStatus = step.check ? 'ok' : 'changed';
  return { status, exitCode: outcome.exitCode, reason: '', ...(step.expect?.consensus ? { stdout: kept.slice(0, CONSENSUS_BYTES) } : {}) };
}

async function runScriptStep(
  client: Client,
  job: HostJob,
  step: Extract<Step, { kind: 'script' }>,
  key: string,
  become: { password?: string } | undefined,
  ctx: StepsContext,
): Promise<StepOutcome> {
  const remote = `/tmp/.herd-script-${job.tag}`;
  try {
    const sftp = await openSftp(client);
    try {
      await whileConnected(client, pushPath(sftp, step.script, remote));
      await new Promise<void>((resolve, reject) => sftp.chmod(remote, 0o700, (err) => (err ? reject(err) : resolve())));
    } finally {
      sftp.end();
    }
  } catch (err) {
    return { status: 'failed', exitCode: null, reason: `could not upload script: ${(err as Error).message}` };
  }
  const command = `${shellQuote(remote)}${step.args ? ` ${step.args}` : ''}; rc=$?; rm -f ${shellQuote(remote)}; exit $rc`;
  return runCommandStep(client, job, step, command, key, become, ctx);
}

async function runTransferStep(client: Client, job: HostJob, task: StepsTask, step: Extract<Step, { kind: 'push' | 'pull' }>, ctx: StepsContext): Promise<StepOutcome> {
  try {
    const sftp = await openSftp(client);
    try {
      if (step.kind === 'push') {
        const s = await whileConnected(client, pushPath(sftp, step.src, step.dest), ctx.signal);
        return { status: 'changed', exitCode: null, reason: `pushed ${s.files} files, ${s.bytes} bytes${summaryNotes(s)}` };
      }
      const localDir = path.resolve(task.cwd, step.dest, job.id);
      const s = await whileConnected(client, pullPath(sftp, step.src, localDir), ctx.signal);
      return { status: 'ok', exitCode: null, reason: `pulled ${s.files} files, ${s.bytes} bytes into ${localDir}${summaryNotes(s)}` };
    } finally {
      sftp.end();
    }
  } catch (err) {
    if (err instanceof TransferStopped) {
      const stopped = abortedOutcome(ctx.signal, step.kind, 'files in flight stay under temporary names');
      return { status: stopped.status, exitCode: null, reason: stopped.reason };
    }
    return { status: 'failed', exitCode: null, reason: (err as Error).message };
  }
}
