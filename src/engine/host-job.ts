// One host's life: connect, run the task, close, and end with exactly one HostResult.
import type { Client } from 'ssh2';
import { connectSsh, type Credentials } from '../transport/connect.js';
import { execCommand } from '../transport/exec.js';
import { ConnectFailure } from '../transport/failure.js';
import { entriesFor, type KnownHostEntry } from '../transport/known-hosts.js';
import type { HostResult } from '../results/status.js';
import type { HostJob, HostPhase, TaskSpec, WorkerConfig } from './protocol.js';
import { runSteps } from './steps.js';
import { runTransferTask } from './transfer-job.js';
import type { StepResult } from '../results/status.js';

export interface HostJobContext {
  config: WorkerConfig;
  credentials: Credentials;
  knownHosts: KnownHostEntry[];
  signal: AbortSignal;
  /** Runs the handshake when a pacing slot is free; the connect timeout starts only then. */
  handshakeSlot: <T>(connect: () => Promise<T>) => Promise<T>;
  onPhase: (phase: HostPhase) => void;
  onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer, step?: string) => void;
  onStepDone: (result: StepResult) => void;
  onFileDone: (path: string, bytes: number, status: string) => void;
  onFilePlanned: (bytes: number) => void;
  onNewHostKey: (line: string) => void;
}

/** Run one host job to its single result; never throws. */
export async function runHostJob(job: HostJob, ctx: HostJobContext): Promise<HostResult> {
  const started = Date.now();
  const result = (partial: Omit<HostResult, 'id' | 'durationMs'>): HostResult => ({
    id: job.id,
    durationMs: Date.now() - started,
    ...partial,
  });
  if (ctx.signal.aborted) return result({ status: 'not_started', exitCode: null, reason: 'run was interrupted before this host started' });

  ctx.onPhase('connecting');
  let client: Client;
  try {
    client = await ctx.handshakeSlot(() =>
      connectSsh({
      host: job.host,
      port: job.port,
      username: job.user,
      credentials: ctx.credentials,
      connectTimeoutMs: ctx.config.connectTimeoutMs,
      hostKeyMode: ctx.config.hostKeyMode,
      knownEntries: entriesFor(ctx.knownHosts, job.host, job.port),
      onNewHostKey: ctx.onNewHostKey,
      }),
    );
  } catch (err) {
    const failure = err instanceof ConnectFailure ? err : new ConnectFailure('error', 'E_INTERNAL', String(err));
    return result({ status: failure.status, exitCode: null, reason: failure.message, code: failure.code });
  }

  try {
    if (ctx.signal.aborted) return result({ status: 'not_started', exitCode: null, reason: 'run was interrupted before the command started' });
    ctx.onPhase('running');
    const task = ctx.config.task;
    if (task.kind === 'steps') {
      return result(
        await runSteps(client, job, task, {
          signal: ctx.signal,
          onOutput: (stream, chunk, step) => ctx.onOutput(stream, chunk, step),
          onStepDone: ctx.onStepDone,
        }),
      );
    }
    if (task.kind === 'transfer') return result(await runTransferTask(client, job, task, ctx));
    return result(await runCommandTask(client, job, task, ctx));
  } catch (err) {
    const failure = err instanceof ConnectFailure ? err : new ConnectFailure('error', 'E_INTERNAL', String(err));
    return result({ status: failure.status, exitCode: null, reason: failure.message, code: failure.code });
  } finally {
    client.end();
  }
}

function describeKill(killed: number | null | undefined): string {
  if (killed === null || killed === undefined) return 'remote kill could not be confirmed';
  return `remote processes killed: ${killed}`;
}

/** An ad-hoc command: its exit code decides ok or failed. */
async function runCommandTask(
  client: Client,
  job: HostJob,
  task: Extract<TaskSpec, { kind: 'command' }>,
  ctx: HostJobContext,
): Promise<Omit<HostResult, 'id' | 'durationMs'>> {
  const outcome = await execCommand(client, task.command, {
    timeoutMs: task.timeoutMs,
    tag: job.tag,
    signal: ctx.signal,
    onStdout: (c) => ctx.onOutput('stdout', c),
    onStderr: (c) => ctx.onOutput('stderr', c),
  });
  if (outcome.aborted) {
    return { status: 'interrupted', exitCode: null, reason: `interrupted while running; ${describeKill(outcome.killed)}`, code: 'E_INTERRUPTED' };
  }
  if (outcome.timedOut) {
    return { status: 'timeout', exitCode: null, reason: `command exceeded --timeout ${task.timeoutMs / 1000}s; ${describeKill(outcome.killed)}`, code: 'E_COMMAND_TIMEOUT' };
  }
  if (outcome.connectionLost) {
    return { status: 'interrupted', exitCode: null, reason: 'connection lost while the command was running (it may have run)', code: 'E_CONNECTION_LOST' };
  }
  if (outcome.exitCode === 0) return { status: 'ok', exitCode: 0, reason: '' };
  const reason = outcome.signal ? `killed by signal ${outcome.signal}` : `exit code ${outcome.exitCode}`;
  return { status: 'failed', exitCode: outcome.exitCode, signal: outcome.signal, reason, code: 'E_EXIT' };
}
