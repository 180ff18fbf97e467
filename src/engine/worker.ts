// Worker process entry: runs host jobs handed over by the parent and reports everything as messages.
// It never prints and never writes run files; its top level catches everything and reports it.
import pLimit from 'p-limit';
import { toErrorData } from '../errors.js';
import { loadPrivateKeys } from '../transport/keys.js';
import type { Credentials } from '../transport/connect.js';
import { runHostJob } from './host-job.js';
import { Connector } from './connector.js';
import { startRateGate } from './pacing.js';
import type { OutputFlow } from '../transport/exec.js';
import type { FileDone, HostJob, ParentMessage, WorkerConfig, WorkerMessage } from './protocol.js';

function send(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

// Output bytes handed to the IPC channel and not yet written to it. Above the high mark, hosts'
// output is paused (see exec.ts) so a host printing gigabytes cannot grow this process's memory.
const IPC_HIGH_BYTES = 8 * 1024 * 1024;
const IPC_LOW_BYTES = 2 * 1024 * 1024;
let ipcBacklog = 0;
let drained: { promise: Promise<void>; resolve: () => void } | undefined;

function sendOutput(message: WorkerMessage, bytes: number): OutputFlow {
  if (!process.connected) return;
  ipcBacklog += bytes;
  process.send?.(message, undefined, {}, () => {
    ipcBacklog -= bytes;
    if (drained && ipcBacklog <= IPC_LOW_BYTES) {
      drained.resolve();
      drained = undefined;
    }
  });
  if (ipcBacklog < IPC_HIGH_BYTES) return;
  if (!drained) {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    drained = { promise, resolve };
  }
  return drained.promise;
}

interface WorkerState {
  config: WorkerConfig;
  connector: Connector;
  limit: ReturnType<typeof pLimit>;
  abort: AbortController;
  /** Set when the parent stops handing out hosts; the reason is recorded on hosts never begun. */
  drainReason?: string;
}

let state: WorkerState | undefined;

function initialise(config: WorkerConfig): void {
  const { keys, problems } = loadPrivateKeys(config.keyPaths, config.keysExplicit, config.keyPassphrase);
  const credentials: Credentials = { keys, password: config.password, agent: config.agentSocket };
  const handshakeLimit = pLimit(Math.max(1, config.handshakes));
  const startGate = startRateGate(config.connectRate);
  // The connect timeout starts only once a pacing slot is free and the start rate allows.
  const slot = <T>(connect: () => Promise<T>): Promise<T> =>
    handshakeLimit(async () => {
      await startGate();
      return connect();
    });
  state = {
    config,
    connector: new Connector(config, credentials, slot, (line, file) => send({ kind: 'hostkey_new', line, file })),
    limit: pLimit(Math.max(1, config.concurrency)),
    abort: new AbortController(),
  };
  send({ kind: 'ready', problems });
}

function startJob(job: HostJob): void {
  const s = state;
  if (!s) throw new Error('job received before init');
  void s.limit(async () => {
    if (s.drainReason !== undefined) {
      const reason = s.drainReason;
      send({ kind: 'host_done', result: { id: job.id, status: 'not_started', exitCode: null, durationMs: 0, reason, code: 'E_NOT_STARTED' } });
      return;
    }
    const files = new FileBatch(job.id);
    const cap = new OutputCap(s.config.maxOutputBytes);
    const result = await runHostJob(job, {
      config: s.config,
      connector: s.connector,
      signal: s.abort.signal,
      onPhase: (phase) => send({ kind: 'host_phase', id: job.id, phase }),
      onOutput: (stream, whole, step) => {
        const chunk = cap.take(whole);
        if (chunk.length === 0) return;
        return sendOutput(step === undefined ? { kind: 'output', id: job.id, stream, data: chunk } : { kind: 'output', id: job.id, stream, data: chunk, step }, chunk.length);
      },
      onStepDone: (result) => send({ kind: 'step_done', result }),
      onFileDone: (path, bytes, status) => files.add({ path, bytes, status }),
      onFilePlanned: (bytes) => files.plan(bytes),
    });
    files.flush();
    send({ kind: 'host_done', result: cap.dropped > 0 ? { ...result, reason: withNote(result.reason, cap.note()) } : result });
  });
}

const withNote = (reason: string, note: string): string => (reason === '' ? note : `${reason}; ${note}`);

/** --max-output: keeps the first `limit` bytes of a host's stdout and stderr together, counts the rest. */
class OutputCap {
  private kept = 0;
  dropped = 0;
  constructor(private readonly limit: number) {}

  take(chunk: Buffer): Buffer {
    if (this.limit <= 0) return chunk;
    const room = Math.max(0, this.limit - this.kept);
    const keep = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.kept += keep.length;
    this.dropped += chunk.length - keep.length;
    return keep;
  }

  note(): string {
    return `output capped by --max-output at ${this.limit} bytes; ${this.dropped} more bytes dropped`;
  }
}

/** Collects one host's transferred files and sends them in batches: when full, or a moment after the first. */
class FileBatch {
  private files: FileDone[] = [];
  private planned = { files: 0, bytes: 0 };
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly id: string) {}

  add(file: FileDone): void {
    this.files.push(file);
    if (this.files.length >= 256) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), 100);
  }

  plan(bytes: number): void {
    this.planned.files++;
    this.planned.bytes += bytes;
    this.timer ??= setTimeout(() => this.flush(), 100);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.files.length === 0 && this.planned.files === 0) return;
    send({ kind: 'files_done', id: this.id, files: this.files, planned: this.planned });
    this.files = [];
    this.planned = { files: 0, bytes: 0 };
  }
}

function handle(message: ParentMessage): void {
  switch (message.kind) {
    case 'init':
      initialise(message.config);
      return;
    case 'job':
      startJob(message.job);
      return;
    case 'drain':
      if (state) state.drainReason = message.reason;
      return;
    case 'abort':
      if (state) state.drainReason ??= 'run was interrupted before this host started';
      state?.abort.abort(message.cause);
      return;
    case 'shutdown':
      process.disconnect?.();
      return;
  }
}

process.on('message', (message: ParentMessage) => {
  try {
    handle(message);
  } catch (err) {
    send({ kind: 'worker_error', error: toErrorData(err) });
  }
});
process.on('uncaughtException', (err) => {
  send({ kind: 'worker_error', error: toErrorData(err) });
});
process.on('unhandledRejection', (err) => {
  send({ kind: 'worker_error', error: toErrorData(err) });
});
// The terminal's Ctrl-C reaches the whole process group; only the parent decides what it means.
process.on('SIGINT', () => {});
// A parent that is gone (even by kill -9) takes its workers with it.
process.on('disconnect', () => process.exit(0));
