// One host's life: connect, run the task, close, and end with exactly one HostResult.
import type { HostConnection } from '../transport/connection.js';
import type { OutputFlow } from '../transport/exec.js';
import { HostFailure } from '../transport/failure.js';
import { HerdError, toErrorData } from '../errors.js';
import {
  endedOutcome,
  errorOutcome,
  failedOutcome,
  hostResult,
  notStarted,
  notStartedOutcome,
  okOutcome,
  type HostResult,
  type Outcome,
} from '../results/status.js';
import type { HostJob, HostPhase, TaskSpec, WorkerConfig } from './protocol.js';
import { runSteps } from './steps.js';
import type { Connector } from './connector.js';
import { runTransferTask } from './transfer-job.js';
import { stoppedOutcome } from './stopped.js';
import { retryDelayMs } from './pacing.js';
import type { ConnectionSource } from './kept-connections.js';
import type { StepResult } from '../results/status.js';

export interface HostJobContext {
  config: WorkerConfig;
  /** What the host does once connected: it travels with the pass (passes run different plays and steps). */
  task: TaskSpec;
  /** A connection kept from the host's earlier pass, or a new one; and where it goes when the job ends. */
  connections: ConnectionSource<HostConnection>;
  /** Jobs of this worker holding or opening a connection, this one included (the --forks budget). */
  inUse: () => number;
  /** Reaches hosts: credentials, known_hosts, handshake pacing, jump hosts. */
  connector: Connector;
  signal: AbortSignal;
  onPhase: (phase: HostPhase) => void;
  /** May return a promise: the host's output is paused until it settles (the parent is behind). */
  onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer, step?: string) => OutputFlow;
  onStepDone: (result: StepResult) => void;
  onFileDone: (path: string, bytes: number, status: string) => void;
  onFilePlanned: (bytes: number) => void;
}

/**
 * A task's end for its host. `endedAt`: a limit stopped it then (epoch ms); the host is recorded at
 * that moment, not after the remote kill that followed.
 */
export type TaskOutcome = Outcome & { endedAt?: number };

/** Run one host job to its single result; never throws. */
export async function runHostJob(job: HostJob, ctx: HostJobContext): Promise<HostResult> {
  const started = Date.now();
  const result = ({ endedAt, ...outcome }: TaskOutcome): HostResult =>
    hostResult(job.id, (endedAt ?? Date.now()) - started, outcome);
  if (ctx.signal.aborted) return notStarted(job.id, 'run was interrupted before this host started');

  ctx.onPhase('connecting');
  let client = ctx.connections.take(job.id);
  if (client === undefined) {
    try {
      ctx.connections.beforeConnect(ctx.inUse());
      client = await connectWithRetries(job, ctx);
      ctx.connections.opened(job.id, client);
    } catch (err) {
      return result(failureOutcome(err));
    }
  }

  const broken = thrownInCallbacks(client);
  let ended: HostResult | undefined;
  try {
    if (ctx.signal.aborted) {
      const why = ctx.signal.reason === 'deadline' ? "the run's --deadline was reached" : 'run was interrupted';
      return (ended = notStarted(job.id, `${why} before the command started`, Date.now() - started));
    }
    ctx.onPhase('running');
    return (ended = result(await Promise.race([runTask(client, job, ctx), broken.failure])));
  } catch (err) {
    return (ended = result(failureOutcome(err)));
  } finally {
    broken.dispose();
    ctx.connections.settle(job.id, client, ended);
  }
}

function runTask(client: HostConnection, job: HostJob, ctx: HostJobContext): Promise<TaskOutcome> {
  const task = ctx.task;
  switch (task.kind) {
    case 'steps':
      return runSteps(client, job, task, {
        signal: ctx.signal,
        idleTimeoutMs: ctx.config.idleTimeoutMs,
        onOutput: (stream, chunk, step) => ctx.onOutput(stream, chunk, step),
        onStepDone: ctx.onStepDone,
      });
    case 'transfer':
      return runTransferTask(client, job, task, ctx);
    case 'command':
      return runCommandTask(client, job, task, ctx);
    case 'connect':
      return Promise.resolve(okOutcome(null));
    default:
      return assertNever(task);
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled task ${JSON.stringify(value)}`);
}

/**
 * Code in the connection's callbacks threw (ours: a bug) and the connection was dropped; whatever
 * waited on it may never settle, so this host ends as `error` now.
 */
function thrownInCallbacks(client: HostConnection): { failure: Promise<never>; dispose: () => void } {
  let dispose = (): void => {};
  const failure = new Promise<never>((_, reject) => {
    dispose = client.onInternalError((err) => {
      const reason = `internal error while this host was running: ${err.message}; it may have run`;
      reject(new HerdError('E_INTERNAL', reason, { cause: err }));
    });
  });
  // A kept connection serves later passes: each job removes its own listener.
  return { failure, dispose: () => dispose() };
}

/** What an error thrown out of a connected host's task says about it: its own status and code when it has them. */
function failureOutcome(err: unknown): Outcome {
  if (err instanceof HostFailure)
    return err.status === 'not_started'
      ? notStartedOutcome(err.message)
      : endedOutcome(err.status, err.code, err.message);
  const data = toErrorData(err);
  return errorOutcome(data.code, data.message);
}

/**
 * Connect, retrying transient handshake failures (reset or closed before authentication) after a
 * jittered backoff; with ssh_config ConnectionAttempts, failed TCP connects too, as ssh does.
 * Nothing has run on the host at that point, so a retry cannot repeat a command.
 */
async function connectWithRetries(job: HostJob, ctx: HostJobContext): Promise<HostConnection> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await ctx.connector.connect(job, ctx.signal);
    } catch (err) {
      const retry =
        err instanceof HostFailure &&
        (err.transient || (err.connectFailed && job.retryConnectFailures === true)) &&
        attempt < (job.connectRetries ?? ctx.config.connectRetries) &&
        !ctx.signal.aborted;
      if (!retry) {
        if (err instanceof HostFailure && attempt > 0)
          throw new HostFailure(err.status, err.code, `${err.message} (after ${attempt + 1} attempts)`, { cause: err });
        throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt + 1)));
    }
  }
}

/** An ad-hoc command: its exit code decides ok or failed. */
async function runCommandTask(
  client: HostConnection,
  job: HostJob,
  task: Extract<TaskSpec, { kind: 'command' }>,
  ctx: HostJobContext,
): Promise<TaskOutcome> {
  const outcome = await client.exec(task.command, {
    timeoutMs: task.timeoutMs,
    idleTimeoutMs: ctx.config.idleTimeoutMs,
    tag: job.tag,
    signal: ctx.signal,
    onStdout: (c) => ctx.onOutput('stdout', c),
    onStderr: (c) => ctx.onOutput('stderr', c),
  });
  const stopped = stoppedOutcome(
    outcome,
    'command',
    `--timeout ${task.timeoutMs / 1000}s`,
    ctx.config.idleTimeoutMs,
    ctx.signal,
  );
  if (stopped) return { ...stopped, ...(outcome.stoppedAt !== undefined ? { endedAt: outcome.stoppedAt } : {}) };
  if (outcome.exitCode === 0) return okOutcome(0);
  const reason = outcome.signal ? `killed by signal ${outcome.signal}` : `exit code ${outcome.exitCode}`;
  return failedOutcome('E_EXIT', reason, { exitCode: outcome.exitCode, signal: outcome.signal });
}
