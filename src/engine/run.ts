// Parent orchestration of one run: run directory, worker pools, known_hosts; what happens goes out as RunEvents.
// A command run is one pool pass; a playbook runs several passes (plays, batches, consensus gates).
import type { Target } from '../inventory/types.js';
import { RunWriter } from '../results/writer.js';
import { recordEvents } from '../results/record-events.js';
import type { JumpHostRecord, RunRecord } from '../results/run-record.js';
import type { OutputSummary } from '../results/host-output.js';
import { notStarted, type HostResult, type StepResult } from '../results/status.js';
import { appendKnownHosts, readKnownHostsFiles } from '../transport/known-hosts-file.js';
import { WorkerPool, type PoolEvent } from './pool.js';
import { dispatchTo, type RunEvent, type RunEventListener } from './events.js';
import { StopControl, type Stoppable } from './stop-control.js';
import { planJobs, type ConnectionDefaults } from './connection-plan.js';
import { TARGETS_FILE, targetsRecord } from '../results/targets-record.js';
import type { HostJob, TaskSpec, WorkerConfig } from './protocol.js';
import type { WorkerChannelSource } from './worker-channel.js';

export interface RunRequest {
  /** Every host the run may touch, in inventory order (the rows of hosts.tsv). */
  targets: Target[];
  /**
   * The targets targets.json records when they are more than this run's: a shard records the whole logical run's
   * selection, so `herd merge` can give a shard that produced nothing its hosts' keys and variables for the rerun.
   */
  recordedTargets?: Target[];
  /** How each target is reached: command line, ssh_config, defaults. */
  connection: ConnectionDefaults;
  outDir: string;
  record: RunRecord;
  workers: number;
  forks: number;
  config: Omit<WorkerConfig, 'concurrency' | 'sessions' | 'handshakes' | 'task' | 'knownHostsData'>;
  /** Handshakes in progress at once across all workers. */
  handshakes: number;
  /** Seconds running commands get to finish after the first Ctrl-C. */
  graceS: number;
  /** --deadline: seconds for the whole run; 0 means none. */
  deadlineS?: number;
  /** The hosts' jobs and trust files, prepared before the run directory exists (prepareHosts). */
  prepared: PreparedHosts;
  /** A connection keeper's workers (--persist, or one left by an earlier command) instead of forked ones. */
  channels?: WorkerChannelSource;
  /** --workers 0 (the default for a small run): the worker in herd's own process (in-process-worker.ts). */
  inProcess?: WorkerChannelSource;
}

/** Each target's job, and every known_hosts file the run checks against, read once. */
export interface PreparedHosts {
  jobs: HostJob[];
  knownHostsFiles: string[];
  knownHostsData: Record<string, string | null>;
}

/**
 * Plan every host's connection and read every trust file: before the run directory is created and
 * before any host, so an unreadable known_hosts refuses the run (exit 2) and leaves nothing behind.
 */
export function prepareHosts(
  targets: Target[],
  connection: ConnectionDefaults,
  hostKeyMode: WorkerConfig['hostKeyMode'],
): PreparedHosts {
  const jobs = planJobs(targets, connection);
  const knownHostsFiles = trustFilesOf(jobs, hostKeyMode);
  return { jobs, knownHostsFiles, knownHostsData: readKnownHostsFiles(knownHostsFiles) };
}

export interface RunOutcome {
  dir: string;
  record: RunRecord;
  results: HostResult[];
  /** stdout digest and start per host that ran a command (ad-hoc runs). */
  outputs: Map<string, OutputSummary>;
  interrupted: boolean;
  /** accept-new: how many new host keys were recorded, per known_hosts file. */
  recordedHostKeys: { file: string; count: number }[];
}

/**
 * One run: its run directory, its pool passes and its known_hosts appends. It reports what happens
 * as RunEvents, first to its run-directory writer, then to the CLI's listener, and prints nothing;
 * `control` is how the CLI stops it.
 */
export class Run {
  private readonly writer: RunWriter;
  readonly jobs: Map<string, HostJob>;
  readonly control: StopControl;
  /**
   * Playbooks see each step result first (consensus gates). 'defer' keeps it unrecorded: the
   * engine records it with `recordStep` once the gate has judged the host.
   */
  stepListener: ((result: StepResult) => 'record' | 'defer') | undefined;
  private readonly jumpHosts = new Map<string, JumpHostRecord>();
  private readonly knownHostsPending: { line: string; file: string }[] = [];
  /** file + line recorded (or pending) by this run: hosts sharing a HostKeyAlias and key get one line, as with ssh. */
  private readonly knownHostsSeen = new Set<string>();
  private readonly knownHostsRecorded = new Map<string, number>();
  private readonly knownHostsData: Record<string, string | null>;
  /**
   * One pool for the whole run (created by the first pass, closed in finish): workers and kept connections live
   * across passes.
   */
  private currentPool: WorkerPool | undefined;
  private passResult: (result: HostResult) => void = (r) => this.finishHost(r);
  /** known_hosts lines were recorded since the last pass started: the workers' copies must be refreshed. */
  private knownHostsChanged = false;
  /** Every event of the run: the writer records it, then the CLI's listener hears of it. */
  private readonly emit: RunEventListener;
  /**
   * A herd shell session's pool (engine/session.ts): its passes hold every open connection, nothing is released and
   * finish leaves the pool open; `handshakesBefore` is its count when this run began.
   */
  private borrowed: { handshakesBefore: number; stop: Stoppable } | undefined;

  constructor(
    private readonly request: RunRequest,
    listener: RunEventListener,
  ) {
    const { jobs, knownHostsFiles, knownHostsData } = request.prepared;
    this.jobs = new Map(jobs.map((j) => [j.id, j]));
    this.knownHostsData = knownHostsData;
    request.record.options.known_hosts_files = knownHostsFiles;
    this.writer = new RunWriter(
      request.outDir,
      request.record,
      jobs.map((j) => j.id),
    );
    // What a rerun needs of each host beyond its id (it never re-reads the inventory).
    const targets = targetsRecord(request.recordedTargets ?? request.targets, request.record.task.kind === 'playbook');
    if (targets !== null) this.writer.writeJson(TARGETS_FILE, targets);
    // The writer first: what is on disk is never behind what was shown.
    const record = dispatchTo(recordEvents(this.writer));
    this.emit = (event) => {
      record(event);
      listener(event);
    };
    this.control = new StopControl(request.graceS, request.deadlineS, this.emit);
  }

  /**
   * Announce the run (run_start). Separate from the constructor so the CLI can wire Ctrl-C to
   * `control` first: a signal sent as soon as the run is announced must find a handler.
   */
  start(): void {
    const { request, emit } = this;
    const task = request.record.task;
    const what =
      task.kind === 'command'
        ? task.command
        : task.kind === 'playbook'
          ? `play ${task.file}`
          : `${task.direction} ${task.local} ${task.remote}`;
    emit({
      kind: 'run_start',
      run: request.record.id,
      dir: this.writer.dir,
      command: what,
      hosts: this.jobs.size,
      task: task.kind,
    });
  }

  /** The run's id (also its directory's name). */
  get id(): string {
    return this.request.record.id;
  }

  /** A host's final result (journal, hosts.tsv, observers). */
  finishHost(result: HostResult): void {
    this.emit({ kind: 'host_done', result });
  }

  /** A playbook step's result (journal, steps.tsv, observers). */
  recordStep(result: StepResult): void {
    this.emit({ kind: 'step_done', step: result });
  }

  /** A playbook's plays and their hosts (plays.json). */
  plays(plays: Extract<RunEvent, { kind: 'plays' }>['plays']): void {
    this.emit({ kind: 'plays', plays });
  }

  /** A resumed host's step done in an earlier run, recorded as already_done. */
  stepAlreadyDone(result: StepResult): void {
    this.emit({ kind: 'step_already_done', step: result });
  }

  /** The majority output a consensus step is judged against (the journal's gate line). */
  gateReference(play: number, step: number, majority: string | null): void {
    this.emit({ kind: 'gate_reference', play, step, majority });
  }

  /** A step is complete across a batch, with every result it had there. */
  stepComplete(results: StepResult[]): void {
    this.emit({ kind: 'step_complete', results });
  }

  /** A consensus gate's verdict, for the observers. */
  gateVerdict(verdict: Omit<Extract<RunEvent, { kind: 'gate_verdict' }>, 'kind'>): void {
    this.emit({ kind: 'gate_verdict', ...verdict });
  }

  /**
   * One pool pass over `jobs` with `task`. Each job's result goes to `onResult`
   * (default: it is the host's final result).
   */
  async runPass(
    jobs: HostJob[],
    task: TaskSpec,
    onResult: (result: HostResult) => void = (r) => this.finishHost(r),
  ): Promise<void> {
    if (this.control.stopped) {
      for (const job of jobs) onResult(notStarted(job.id, this.control.interruptReason()));
      return;
    }
    this.passResult = onResult;
    const pool = (this.currentPool ??= this.createPool());
    const knownHosts = this.knownHostsChanged ? this.knownHostsData : undefined;
    this.knownHostsChanged = false;
    // A stop acts on the pool while a pass runs; between passes the next pass sees control.stopped.
    this.control.attach(this.borrowed?.stop ?? pool);
    try {
      // Playbooks keep a host's connection for its next pass; a command run is one pass and keeps none.
      await pool.run(jobs, task, task.kind === 'steps', knownHosts, this.borrowed !== undefined);
    } finally {
      this.control.attach(undefined);
      this.flushKnownHosts();
    }
  }

  /** A playbook host's work in this run is over (done, failed, held back): its kept connection closes now. */
  releaseConnections(ids: string[]): void {
    if (!this.borrowed) this.currentPool?.release(ids);
  }

  /**
   * Run this run's passes on a herd shell session's pool: connections are held across the session's commands, a
   * stop stops only this run's pass (`stop`), and finish leaves the pool open. Returns where the pool's events go.
   */
  borrowPool(pool: WorkerPool, stop: Stoppable): (event: PoolEvent) => void {
    this.currentPool = pool;
    this.borrowed = { handshakesBefore: pool.handshakes, stop };
    // The workers read their known_hosts before this run did: its first pass gives them this run's copy.
    this.knownHostsChanged = true;
    return (event) => this.onPoolEvent(event);
  }

  private createPool(): WorkerPool {
    // A keeper's workers, else the one in herd's own process (--workers 0), else the pool forks its own.
    const channels = this.request.channels ?? this.request.inProcess;
    return new WorkerPool({
      workers: this.request.workers,
      forks: this.request.forks,
      handshakes: this.request.handshakes,
      hosts: this.jobs.size,
      config: { ...this.request.config, knownHostsData: this.knownHostsData },
      onEvent: (event) => this.onPoolEvent(event),
      ...(channels ? { channels } : {}),
    });
  }

  /** Every message of the pool, as the run's events (known_hosts lines and jump counts are the run's own). */
  private onPoolEvent(event: PoolEvent): void {
    switch (event.kind) {
      case 'host_phase': {
        const connectTimeoutMs = this.jobs.get(event.id)?.connectTimeoutMs ?? this.request.config.connectTimeoutMs;
        this.emit({ kind: 'host_phase', host: event.id, phase: event.phase, connectTimeoutMs });
        return;
      }
      case 'output':
        this.emit({
          kind: 'output',
          host: event.id,
          stream: event.stream,
          data: event.data,
          ...(event.step === undefined ? {} : { step: event.step }),
        });
        return;
      case 'step_done':
        if (this.stepListener?.(event.result) !== 'defer') this.recordStep(event.result);
        return;
      case 'files_done':
        this.emit({ kind: 'files_done', host: event.id, files: event.files, planned: event.planned });
        return;
      case 'host_done':
        this.passResult(event.result);
        return;
      case 'hostkey_new':
        if (this.knownHostsSeen.has(`${event.file}\0${event.line}`)) return;
        this.knownHostsSeen.add(`${event.file}\0${event.line}`);
        this.knownHostsPending.push({ line: event.line, file: event.file });
        if (this.knownHostsPending.length >= 64) this.flushKnownHosts();
        return;
      case 'jump_connection': {
        let hop = this.jumpHosts.get(event.hop);
        if (!hop) this.jumpHosts.set(event.hop, (hop = { host: event.hop, connections: 0, throttled: 0 }));
        if (event.outcome === 'connected') hop.connections++;
        else hop.throttled++;
        return;
      }
      case 'warning':
        this.emit({ kind: 'warning', message: event.message });
        return;
      case 'held': // the session's (engine/session.ts), not the run's
        return;
      default:
        return assertNever(event);
    }
  }

  /** Close the run; hosts without a result are recorded as not started or interrupted. */
  async finish(): Promise<RunOutcome> {
    // Every kept connection closes and every worker leaves before the run is recorded (a session's pool stays).
    if (!this.borrowed) await this.currentPool?.close();
    if (this.currentPool)
      this.request.record.handshakes = this.currentPool.handshakes - (this.borrowed?.handshakesBefore ?? 0);
    if (this.currentPool && this.request.channels) this.request.record.reused = [...this.currentPool.reused];
    this.control.close();
    this.flushKnownHosts();
    if (this.jumpHosts.size > 0) this.request.record.jump_hosts = [...this.jumpHosts.values()];
    const interrupted = this.control.interrupted;
    const record = this.writer.finish(interrupted ? 'interrupted' : 'done');
    this.emit({ kind: 'run_done', run: record.id, dir: this.writer.dir, state: record.state, counts: record.counts });
    const results = this.writer.resultsInOrder();
    const outputs = new Map<string, OutputSummary>();
    for (const r of results) {
      const summary = this.writer.outputSummary(r.id);
      if (summary) outputs.set(r.id, summary);
    }
    const recordedHostKeys = [...this.knownHostsRecorded].map(([file, count]) => ({ file, count }));
    return { dir: this.writer.dir, record, results, outputs, interrupted, recordedHostKeys };
  }

  private flushKnownHosts(): void {
    // Only this process writes known_hosts files (ssh_config may name one per host), atomically.
    const byFile = new Map<string, string[]>();
    for (const { line, file } of this.knownHostsPending.splice(0))
      byFile.set(file, [...(byFile.get(file) ?? []), line]);
    for (const [file, lines] of byFile) {
      try {
        appendKnownHosts(file, lines);
        this.knownHostsRecorded.set(file, (this.knownHostsRecorded.get(file) ?? 0) + lines.length);
        this.knownHostsChanged = true;
        // Later passes (playbooks) start workers from this snapshot: they must see what was recorded.
        const before = this.knownHostsData[file] ?? '';
        this.knownHostsData[file] =
          `${before}${before === '' || before.endsWith('\n') ? '' : '\n'}${lines.join('\n')}\n`;
        this.emit({ kind: 'hostkeys_recorded', file, count: lines.length });
      } catch (err) {
        this.emit({ kind: 'warning', message: `could not record new host keys in ${file}: ${(err as Error).message}` });
      }
    }
  }
}

/** The known_hosts files the run's connections check, in first-use order (hosts with checking off need none). */
function trustFilesOf(jobs: HostJob[], defaultMode: WorkerConfig['hostKeyMode']): string[] {
  const files = new Set<string>();
  for (const job of jobs) {
    if ((job.hostKeyMode ?? defaultMode) !== 'off') for (const f of job.knownHosts.files) files.add(f);
    // Jump hosts are checked with the run's mode, whatever the target's.
    if (defaultMode !== 'off') for (const hop of job.jump ?? []) for (const f of hop.knownHosts.files) files.add(f);
  }
  return [...files];
}

/** An ad-hoc command, push or pull: one pass over every target. */
export async function executeSinglePass(
  run: Run,
  task: Extract<TaskSpec, { kind: 'command' | 'transfer' }>,
): Promise<void> {
  await run.runPass([...run.jobs.values()], task);
}

function assertNever(value: never): never {
  throw new Error(`unhandled pool event: ${JSON.stringify(value)}`);
}
