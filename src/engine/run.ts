// Parent orchestration of one run: run directory, worker pools, live progress, signals, known_hosts.
// A command run is one pool pass; a playbook runs several passes (plays, batches, consensus gates).
import type { Writable } from 'node:stream';
import type { Target } from '../inventory/types.js';
import { RunWriter } from '../results/writer.js';
import type { JumpHostRecord, RunRecord } from '../results/run-record.js';
import type { OutputSummary } from '../results/host-output.js';
import { notStarted, type HostResult, type StepResult } from '../results/status.js';
import { ProgressLine, type StatusSnapshot } from '../report/progress.js';
import type { NdjsonSink } from '../report/ndjson.js';
import type { LineStreamer } from '../report/stream.js';
import { appendKnownHosts, readKnownHostsFiles } from '../transport/known-hosts-file.js';
import { WorkerPool } from './pool.js';
import { planJobs, type ConnectionDefaults } from './connection-plan.js';
import type { HostJob, TaskSpec, WorkerConfig } from './protocol.js';

export interface SessionRequest {
  /** Every host the run may touch, in inventory order (the rows of hosts.tsv). */
  targets: Target[];
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
export function prepareHosts(targets: Target[], connection: ConnectionDefaults, hostKeyMode: WorkerConfig['hostKeyMode']): PreparedHosts {
  const jobs = planJobs(targets, connection);
  const knownHostsFiles = trustFilesOf(jobs, hostKeyMode);
  return { jobs, knownHostsFiles, knownHostsData: readKnownHostsFiles(knownHostsFiles) };
}

export interface RunUi {
  stderr: Writable & { isTTY?: boolean; columns?: number };
  progress: boolean;
  /** --json: every event as a JSON line. */
  events?: NdjsonSink;
  /** --stream: every output line as it arrives. */
  stream?: LineStreamer;
  /** Playbooks: a step complete across a batch, with every result it had there (printed above the live area). */
  stepComplete?: (results: StepResult[], dir: string) => void;
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


export class RunSession {
  readonly writer: RunWriter;
  readonly jobs: Map<string, HostJob>;
  /**
   * Playbooks see each step result first (consensus gates). 'defer' keeps it unrecorded: the
   * engine records it with `recordStep` once the gate has judged the host.
   */
  stepListener: ((result: StepResult) => 'record' | 'defer') | undefined;
  private readonly progress: ProgressLine;
  /** Hosts connecting or running, with when they entered that phase. */
  private readonly connecting = new Map<string, number>();
  private readonly runningIds = new Map<string, number>();
  private readonly finalCounts: Record<string, number> = {};
  private readonly transferred = { files: 0, bytes: 0, plannedFiles: 0, plannedBytes: 0 };
  private readonly jumpHosts = new Map<string, JumpHostRecord>();
  private readonly knownHostsPending: { line: string; file: string }[] = [];
  private readonly knownHostsRecorded = new Map<string, number>();
  private readonly knownHostsData: Record<string, string | null>;
  /** One pool for the whole run (created by the first pass, closed in finish): workers and kept connections live across passes. */
  private currentPool: WorkerPool | undefined;
  private passResult: (result: HostResult) => void = (r) => this.finishHost(r);
  /** known_hosts lines were recorded since the last pass started: the workers' copies must be refreshed. */
  private knownHostsChanged = false;
  private interruptedBy: NodeJS.Signals | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private deadlineHit = false;
  private readonly onSignal = (signal: NodeJS.Signals): void => this.interrupt(signal);

  private readonly events: NdjsonSink | undefined;
  private readonly streamer: LineStreamer | undefined;
  private readonly onStepComplete: RunUi['stepComplete'];

  constructor(
    private readonly request: SessionRequest,
    ui: RunUi,
  ) {
    this.events = ui.events;
    this.streamer = ui.stream;
    this.onStepComplete = ui.stepComplete;
    const { jobs, knownHostsFiles, knownHostsData } = request.prepared;
    this.jobs = new Map(jobs.map((j) => [j.id, j]));
    this.knownHostsData = knownHostsData;
    request.record.options.known_hosts_files = knownHostsFiles;
    this.writer = new RunWriter(request.outDir, request.record, jobs.map((j) => j.id));
    this.progress = new ProgressLine(ui.stderr, () => this.snapshot(), ui.progress);
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    if (request.deadlineS) {
      this.deadlineTimer = setTimeout(() => this.reachDeadline(), request.deadlineS * 1000);
      this.deadlineTimer.unref();
    }
    this.progress.start();
    const task = request.record.task;
    const what = task.kind === 'command' ? task.command : task.kind === 'playbook' ? `play ${task.file}` : `${task.direction} ${task.local} ${task.remote}`;
    this.events?.emit({ kind: 'run_start', run: request.record.id, dir: this.writer.dir, command: what, hosts: jobs.length });
  }

  get interrupted(): boolean {
    return this.interruptedBy !== undefined;
  }

  /** Why hosts that never start are not started, once the run has been interrupted. */
  interruptReason(): string {
    return `${this.stopCause()} before this host started`;
  }

  /** What stopped the run: a signal or the --deadline. */
  stopCause(): string {
    if (this.deadlineHit && this.interruptedBy === undefined) return `the run's --deadline ${this.request.deadlineS}s was reached`;
    return `run interrupted by ${this.interruptedBy ?? 'signal'}`;
  }

  /** Whether later passes (playbooks) may still start hosts. */
  get stopped(): boolean {
    return this.interrupted || this.deadlineHit;
  }

  /** Record a host's final result (counts, progress, files). */
  finishHost(result: HostResult): void {
    this.runningIds.delete(result.id);
    this.connecting.delete(result.id);
    this.finalCounts[result.status] = (this.finalCounts[result.status] ?? 0) + 1;
    this.writer.onDone(result);
    this.streamer?.flush(result.id);
    this.events?.emit({ kind: 'host_done', result });
  }

  /** A playbook step's result into the journal, steps.tsv and the --json events. */
  recordStep(result: StepResult): void {
    this.events?.emit({ kind: 'step_done', step: result });
    this.writer.onStepDone(result);
  }

  /** A step is complete across a batch: its results go to the UI, above the live area. */
  stepComplete(results: StepResult[]): void {
    const show = this.onStepComplete;
    if (show) this.progress.above(() => show(results, this.writer.dir));
  }

  note(message: string): void {
    this.progress.note(message);
  }

  /** What the live status area shows. */
  /** How long connecting hosts may still wait (their connect timeout), for an ETA that does not undercut it. */
  private connectWait(now: number): Pick<StatusSnapshot, 'connectWaitMs'> {
    if (this.connecting.size === 0) return {};
    let wait = 0;
    for (const [id, since] of this.connecting) {
      const left = (this.jobs.get(id)?.connectTimeoutMs ?? this.request.config.connectTimeoutMs) - (now - since);
      if (left < 0) return { connectWaitMs: null };
      wait = Math.max(wait, left);
    }
    return { connectWaitMs: wait };
  }

  private snapshot(): StatusSnapshot {
    const done = Object.values(this.finalCounts).reduce((a, b) => a + b, 0);
    const now = Date.now();
    const slowest = [...this.runningIds.entries()]
      .map(([id, since]) => ({ id, ms: now - since }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 3);
    return {
      total: this.jobs.size,
      states: {
        queued: this.jobs.size - done - this.connecting.size - this.runningIds.size,
        connecting: this.connecting.size,
        running: this.runningIds.size,
        ...this.finalCounts,
      },
      slowest,
      ...this.connectWait(now),
      ...(this.request.record.task.kind === 'transfer' ? { transfer: { ...this.transferred } } : {}),
    };
  }

  /**
   * One pool pass over `jobs` with `task`. Each job's result goes to `onResult`
   * (default: it is the host's final result).
   */
  async runPass(jobs: HostJob[], task: TaskSpec, onResult: (result: HostResult) => void = (r) => this.finishHost(r)): Promise<void> {
    if (this.stopped) {
      for (const job of jobs) onResult(notStarted(job.id, this.interruptReason()));
      return;
    }
    this.passResult = onResult;
    const pool = (this.currentPool ??= this.createPool());
    const knownHosts = this.knownHostsChanged ? this.knownHostsData : undefined;
    this.knownHostsChanged = false;
    try {
      // Playbooks keep a host's connection for its next pass; a command run is one pass and keeps none.
      await pool.run(jobs, task, task.kind === 'steps', knownHosts);
    } finally {
      this.flushKnownHosts();
    }
  }

  /** A playbook host's work in this run is over (done, failed, held back): its kept connection closes now. */
  releaseConnections(ids: string[]): void {
    this.currentPool?.release(ids);
  }

  private createPool(): WorkerPool {
    return new WorkerPool({
      workers: this.request.workers,
      forks: this.request.forks,
      handshakes: this.request.handshakes,
      hosts: this.jobs.size,
      config: { ...this.request.config, knownHostsData: this.knownHostsData },
      onEvent: (event) => {
        switch (event.kind) {
          case 'host_phase':
            if (event.phase === 'running') {
              this.connecting.delete(event.id);
              this.runningIds.set(event.id, Date.now());
            } else this.connecting.set(event.id, Date.now());
            if (event.phase === 'connecting') this.events?.emit({ kind: 'host_start', host: event.id });
            this.writer.onPhase(event.id, event.phase);
            return;
          case 'output':
            this.writer.onOutput(event.id, event.stream, event.data, event.step);
            this.events?.output(event.id, event.stream, event.data, event.step);
            if (this.streamer) this.progress.above(() => this.streamer!.write(event.id, event.stream, event.data, event.step));
            return;
          case 'step_done':
            if (this.stepListener?.(event.result) !== 'defer') this.recordStep(event.result);
            return;
          case 'files_done':
            this.transferred.plannedFiles += event.planned.files;
            this.transferred.plannedBytes += event.planned.bytes;
            for (const f of event.files) {
              this.writer.onFileDone(event.id, f.path, f.bytes, f.status);
              this.transferred.files++;
              this.transferred.bytes += f.bytes;
            }
            return;
          case 'host_done':
            this.passResult(event.result);
            return;
          case 'hostkey_new':
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
            this.progress.note(`herd: warning: ${event.message}`);
            return;
        }
      },
    });
  }

  /** Close the run; hosts without a result are recorded as not started or interrupted. */
  async finish(): Promise<RunOutcome> {
    // Every kept connection closes and every worker leaves before the run is recorded.
    await this.currentPool?.close();
    if (this.currentPool) this.request.record.handshakes = this.currentPool.handshakes;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    clearTimeout(this.deadlineTimer);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    this.progress.stop();
    this.flushKnownHosts();
    if (this.jumpHosts.size > 0) this.request.record.jump_hosts = [...this.jumpHosts.values()];
    const record = this.writer.finish(this.interrupted ? 'interrupted' : 'done');
    this.events?.emit({ kind: 'run_done', run: record.id, dir: this.writer.dir, state: record.state, counts: record.counts });
    const results = this.writer.resultsInOrder();
    const outputs = new Map<string, OutputSummary>();
    for (const r of results) {
      const summary = this.writer.outputSummary(r.id);
      if (summary) outputs.set(r.id, summary);
    }
    const recordedHostKeys = [...this.knownHostsRecorded].map(([file, count]) => ({ file, count }));
    return { dir: this.writer.dir, record, results, outputs, interrupted: this.interrupted, recordedHostKeys };
  }

  private interrupt(signal: NodeJS.Signals): void {
    if (!this.interrupted) {
      this.interruptedBy = signal;
      this.progress.note(`herd: ${signal}: starting no new hosts; running commands get ${this.request.graceS}s to finish (Ctrl-C again to stop them now)`);
      this.currentPool?.drain(this.interruptReason());
      this.graceTimer = setTimeout(() => this.abortNow(), this.request.graceS * 1000);
      this.graceTimer.unref();
    } else {
      this.progress.note(`herd: ${signal} again: stopping running commands now`);
      this.abortNow();
    }
  }

  private abortNow(): void {
    this.currentPool?.abort(this.interruptReason());
  }

  /** --deadline: start nothing new and stop what runs; those hosts end as timeout, the rest not_started. */
  private reachDeadline(): void {
    if (this.stopped) return;
    this.deadlineHit = true;
    this.progress.note(`herd: --deadline ${this.request.deadlineS}s reached: starting no new hosts and stopping running commands`);
    this.currentPool?.abort(this.interruptReason(), 'deadline');
  }

  private flushKnownHosts(): void {
    // Only this process writes known_hosts files (ssh_config may name one per host), atomically.
    const byFile = new Map<string, string[]>();
    for (const { line, file } of this.knownHostsPending.splice(0)) byFile.set(file, [...(byFile.get(file) ?? []), line]);
    for (const [file, lines] of byFile) {
      try {
        appendKnownHosts(file, lines);
        this.knownHostsRecorded.set(file, (this.knownHostsRecorded.get(file) ?? 0) + lines.length);
        this.knownHostsChanged = true;
        // Later passes (playbooks) start workers from this snapshot: they must see what was recorded.
        const before = this.knownHostsData[file] ?? '';
        this.knownHostsData[file] = `${before}${before === '' || before.endsWith('\n') ? '' : '\n'}${lines.join('\n')}\n`;
      } catch (err) {
        this.progress.note(`herd: warning: could not record new host keys in ${file}: ${(err as Error).message}`);
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
export async function executeCommandRun(request: SessionRequest, task: Extract<TaskSpec, { kind: 'command' | 'transfer' }>, ui: RunUi): Promise<RunOutcome> {
  const session = new RunSession(request, ui);
  let failure: unknown;
  try {
    await session.runPass([...session.jobs.values()], task);
  } catch (err) {
    failure = err;
  }
  const outcome = await session.finish(); // the run directory is completed even when the pass failed
  if (failure !== undefined) throw failure;
  return outcome;
}
