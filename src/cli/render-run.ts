// Consumers of a run's events: the terminal view (live status, notes, step blocks), --stream and --json.
// Each is a full set of handlers, so a new event kind is a compile error until every consumer decides.
import fs from 'node:fs';
import type { Writable } from 'node:stream';
import { dispatchTo, type RunEvent, type RunEventHandlers, type RunEventListener } from '../engine/events.js';
import type { StepResult } from '../results/status.js';
import { formatConsensus } from '../report/consensus.js';
import type { NdjsonSink } from '../report/ndjson.js';
import { ProgressLine, type StatusSnapshot } from '../report/progress.js';
import type { LineStreamer } from '../report/stream.js';

export type TerminalOut = Writable & { isTTY?: boolean; columns?: number };

export interface RunViewOptions {
  stderr: TerminalOut;
  /** The live status area (off with --no-progress and --quiet). */
  progress: boolean;
  /** --json: the run's events as JSON lines. */
  json?: NdjsonSink;
  /** --stream: every output line as it arrives (printed above the live area). */
  stream?: LineStreamer;
  /** Playbooks: a step complete across a batch, with every result it had there (printed above the live area). */
  stepBlock?: (results: StepResult[], dir: string) => void;
}

export interface RunView {
  /** Give this to the engine: every event of the run goes through it. */
  listener: RunEventListener;
  /** The run is over (or failed): the live area is cleared and stops. */
  close(): void;
}

const ignore = (): void => {};

/** Live status and notes on stderr; what was printed above the live area stays readable. */
class TerminalView {
  private readonly progress: ProgressLine;
  private total = 0;
  private dir = '';
  private transfer = false;
  /** Hosts connecting or running, with when they entered that phase. */
  private readonly connecting = new Map<string, { since: number; timeoutMs: number }>();
  private readonly running = new Map<string, number>();
  private readonly finalCounts: Record<string, number> = {};
  private readonly transferred = { files: 0, bytes: 0, plannedFiles: 0, plannedBytes: 0 };

  constructor(
    stderr: TerminalOut,
    enabled: boolean,
    private readonly stepBlock: RunViewOptions['stepBlock'],
  ) {
    this.progress = new ProgressLine(stderr, () => this.snapshot(), enabled);
  }

  /** Print with the live area cleared, then redraw it. */
  above(write: () => void): void {
    this.progress.above(write);
  }

  close(): void {
    this.progress.stop();
  }

  readonly handlers: RunEventHandlers = {
    run_start: (e) => {
      this.total = e.hosts;
      this.dir = e.dir;
      this.transfer = e.task === 'transfer';
      this.progress.start();
    },
    host_phase: (e) => {
      if (e.phase === 'running') {
        this.connecting.delete(e.host);
        this.running.set(e.host, Date.now());
      } else this.connecting.set(e.host, { since: Date.now(), timeoutMs: e.connectTimeoutMs });
    },
    // The run directory's records: nothing of them is shown live.
    plays: ignore,
    output: ignore,
    step_done: ignore,
    step_already_done: ignore,
    step_complete: (e) => {
      const show = this.stepBlock;
      if (show) this.progress.above(() => show(e.results, this.dir));
    },
    files_done: (e) => {
      this.transferred.plannedFiles += e.planned.files;
      this.transferred.plannedBytes += e.planned.bytes;
      for (const f of e.files) {
        this.transferred.files++;
        this.transferred.bytes += f.bytes;
      }
    },
    host_done: (e) => {
      this.running.delete(e.result.id);
      this.connecting.delete(e.result.id);
      this.finalCounts[e.result.status] = (this.finalCounts[e.result.status] ?? 0) + 1;
    },
    gate_reference: ignore,
    gate_verdict: (e) => {
      if (e.held.length > 0) this.progress.note(formatConsensus(e));
    },
    stop_requested: (e) => this.progress.note(stopNote(e)),
    warning: (e) => this.progress.note(`herd: warning: ${e.message}`),
    hostkeys_recorded: ignore,
    run_done: () => this.progress.stop(),
  };

  /** How long connecting hosts may still wait (their connect timeout), for an ETA that does not undercut it. */
  private connectWait(now: number): Pick<StatusSnapshot, 'connectWaitMs'> {
    if (this.connecting.size === 0) return {};
    let wait = 0;
    for (const { since, timeoutMs } of this.connecting.values()) {
      const left = timeoutMs - (now - since);
      if (left < 0) return { connectWaitMs: null };
      wait = Math.max(wait, left);
    }
    return { connectWaitMs: wait };
  }

  /** What the live status area shows. */
  private snapshot(): StatusSnapshot {
    const done = Object.values(this.finalCounts).reduce((a, b) => a + b, 0);
    const now = Date.now();
    const slowest = [...this.running.entries()]
      .map(([id, since]) => ({ id, ms: now - since }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 3);
    return {
      total: this.total,
      states: {
        queued: this.total - done - this.connecting.size - this.running.size,
        connecting: this.connecting.size,
        running: this.running.size,
        ...this.finalCounts,
      },
      slowest,
      ...this.connectWait(now),
      ...(this.transfer ? { transfer: { ...this.transferred } } : {}),
    };
  }
}

/** Pure: the note a stop request prints. */
export function stopNote(e: Extract<RunEvent, { kind: 'stop_requested' }>): string {
  if (e.cause === 'deadline') {
    return `herd: --deadline ${e.deadlineS}s reached: starting no new hosts and stopping running commands`;
  }
  if (e.again) return `herd: ${e.cause} again: stopping running commands now`;
  return `herd: ${e.cause}: starting no new hosts; running commands get ${e.graceS}s to finish (Ctrl-C again to stop them now)`;
}

/** --json: the events the JSON format carries, in the format's own shape. */
function jsonHandlers(sink: NdjsonSink): RunEventHandlers {
  return {
    run_start: (e) => sink.emit({ kind: 'run_start', run: e.run, dir: e.dir, command: e.command, hosts: e.hosts }),
    // The JSON format carries no plays, already-done steps or gate references (they are in the run directory).
    plays: ignore,
    host_phase: (e) => {
      if (e.phase === 'connecting') sink.emit({ kind: 'host_start', host: e.host });
    },
    output: (e) => sink.output(e.host, e.stream, e.data, e.step),
    step_done: (e) => sink.emit({ kind: 'step_done', step: e.step }),
    step_already_done: ignore,
    step_complete: ignore,
    files_done: ignore,
    host_done: (e) => sink.emit({ kind: 'host_done', result: e.result }),
    gate_reference: ignore,
    gate_verdict: ignore,
    stop_requested: ignore,
    warning: ignore,
    hostkeys_recorded: ignore,
    run_done: (e) => sink.emit({ kind: 'run_done', run: e.run, dir: e.dir, state: e.state, counts: e.counts }),
  };
}

/** --stream: each output line as it arrives, above the live area; a host's unfinished line when it ends. */
function streamHandlers(streamer: LineStreamer, above: (write: () => void) => void): RunEventHandlers {
  return {
    run_start: ignore,
    plays: ignore,
    host_phase: ignore,
    output: (e) => above(() => streamer.write(e.host, e.stream, e.data, e.step)),
    step_done: ignore,
    step_already_done: ignore,
    step_complete: ignore,
    files_done: ignore,
    host_done: (e) => streamer.flush(e.result.id),
    gate_reference: ignore,
    gate_verdict: ignore,
    stop_requested: ignore,
    warning: ignore,
    hostkeys_recorded: ignore,
    run_done: ignore,
  };
}

/** Every consumer the options ask for, behind one listener. */
export function createRunView(opts: RunViewOptions): RunView {
  const terminal = new TerminalView(opts.stderr, opts.progress, opts.stepBlock);
  const listeners: RunEventListener[] = [];
  if (opts.json) listeners.push(dispatchTo(jsonHandlers(opts.json)));
  if (opts.stream) listeners.push(dispatchTo(streamHandlers(opts.stream, (write) => terminal.above(write))));
  listeners.push(dispatchTo(terminal.handlers));
  return {
    listener: (event) => {
      for (const l of listeners) l(event);
    },
    close: () => terminal.close(),
  };
}

/**
 * Test-only (HERD_TEST_EVENTS_FILE): each event as a JSON line, for the tests that replay a real run through the
 * view.
 */
export function recordEventsTo(file: string): RunEventListener {
  return (event) => fs.appendFileSync(file, JSON.stringify(event) + '\n');
}
