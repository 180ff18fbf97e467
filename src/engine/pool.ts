// Parent side of the worker pool: forks workers once per run, hands out hosts from one queue on demand
// (a host whose connection a worker kept from an earlier pass goes back to that worker), replaces
// workers that die, and turns everything into a stream of pool events.
import { errorOutcome, hostResult, interruptedOutcome, notStarted, type HostResult } from '../results/status.js';
import { DEFAULT_JUMP_HANDSHAKES, WORKER_EXIT_GRACE_MS, WORKER_PREFETCH } from '../defaults.js';
import { JobQueue } from './job-queue.js';
import { JumpHandshakeGate } from './jump-gate.js';
import type { AbortCause } from './stopped.js';
import { keepYoungGenerationSmall, SMALL_OWN_YOUNG_GENERATION_ABOVE } from '../v8-flags.js';
import type { HostJob, HostPhase, ParentMessage, TaskSpec, WorkerConfig, WorkerMessage } from './protocol.js';
import { goesOn } from './kept-connections.js';
import type { WorkerChannel, WorkerChannelSource } from './worker-channel.js';
import { forkWorker, youngGeneration } from './worker-process.js';

export { SEA_WORKER_ARG } from './worker-process.js';

type OutputMessage = Extract<WorkerMessage, { kind: 'output' }>;

/** What the pool reports: the workers' host messages (output as a Buffer again), and its own warnings. */
export type PoolEvent =
  | Exclude<
      WorkerMessage,
      {
        kind:
          'ready' | 'worker_fatal' | 'output' | 'jump_slot_wait' | 'jump_slot_done' | 'handshake' | 'reused' | 'batch';
      }
    >
  | (Omit<OutputMessage, 'data'> & { data: Buffer })
  | { kind: 'warning'; message: string };

export interface PoolOptions {
  /** Worker processes; 0 counts as one (channels then gives the worker in herd's own process: in-process-worker.ts). */
  workers: number;
  /** --forks: total concurrent SSH sessions across workers (a kept idle connection holds one). */
  forks: number;
  config: Omit<WorkerConfig, 'concurrency' | 'sessions' | 'handshakes'>;
  /** The most hosts any pass of the run has (default: the first pass's): workers and --forks are shared out once. */
  hosts?: number;
  /** Total handshakes in progress at once across workers. */
  handshakes: number;
  /**
   * herd shell (engine/session.ts): a worker may work on every host whose connection it holds at once, so its
   * capacity is its share of --forks (a host goes back to the worker holding its connection, which may be more
   * hosts than an even spread of a small session gives it).
   */
  hold?: boolean;
  onEvent: (event: PoolEvent) => void;
  /** Handshakes in progress at once with one jump host, across workers (default DEFAULT_JUMP_HANDSHAKES). */
  jumpHandshakes?: number;
  /**
   * Test hook (test/unit/engine/pool-queue.test.ts): path of the worker module (default: the built worker next to
   * this file).
   */
  workerPath?: string;
  /** Workers held by a connection keeper (src/keeper/client.ts), or the in-process one, instead of forked ones. */
  channels?: WorkerChannelSource;
}

interface JobState {
  job: HostJob;
  phase: 'assigned' | HostPhase;
  since: number;
}

/** What the current pass runs; sent to every worker before its jobs, and to workers spawned during it. */
interface Pass {
  task: TaskSpec;
  keep: boolean;
  /** herd shell: every open connection is held after the pass, whatever the result. */
  hold?: boolean;
  knownHostsData?: WorkerConfig['knownHostsData'];
}

/** A worker's part of the run's limits. */
interface Share {
  /** Hosts it works on at once: its part of --forks, of at most as many as the run has hosts. */
  capacity: number;
  /** Connections it may hold open, in use and kept idle: its part of --forks itself. */
  sessions: number;
  /** Handshakes in progress at once. */
  handshakes: number;
}

interface WorkerSlot extends Share {
  child: WorkerChannel;
  jobs: Map<string, JobState>;
  /** Jobs of hosts whose connection this worker kept: they wait for it, not for any worker. */
  own: JobQueue<HostJob>;
  ready: boolean;
  exited: boolean;
  /**
   * Why this worker is being taken down (its own uncaught error, or no answer to an abort); its hosts are already
   * settled.
   */
  failed?: string;
  /** Set when the parent kills a worker that did not answer an abort: the reason its running hosts get. */
  killedBecause?: string;
}

const MAX_RESPAWNS_PER_WORKER = 3;

/**
 * After an abort, a worker that still holds running hosts this long is killed (its hosts end
 * interrupted). A healthy one answers well within it: its remote kill is bounded in exec.ts.
 */
const ABORT_ANSWER_MS = 10_000;

export class WorkerPool {
  private readonly queue = new JobQueue<HostJob>();
  private readonly slots = new Set<WorkerSlot>();
  private remaining = 0;
  private draining = false;
  private drainReason = '';
  private abortTimer: NodeJS.Timeout | undefined;
  /** Every host has its result and the workers are being let go: an abort has nothing left to stop. */
  private closing = false;
  private respawnBudget: number;
  private finish: (() => void) | undefined;
  private readonly warnedProblems = new Set<string>();
  private workerCount = 1;
  private readonly jumpGate: JumpHandshakeGate;
  private pass: Pass | undefined;
  /** Worker shares (sessions, handshakes) left by workers that exited between passes: refilled at the next pass. */
  private readonly vacant: Share[] = [];
  /** Which worker keeps each host's connection (a hint: the worker may have closed it since). */
  private readonly keptIn = new Map<string, WorkerSlot>();
  private handshakeCount = 0;
  private closed: Promise<void> | undefined;
  /** Hosts a keeper's worker held a connection to when this pool got it, until their first job is settled. */
  private readonly heldAtStart = new Set<string>();
  private readonly reusedIds: string[] = [];

  constructor(private readonly options: PoolOptions) {
    this.respawnBudget = Math.max(1, options.workers) * MAX_RESPAWNS_PER_WORKER;
    this.jumpGate = new JumpHandshakeGate(options.jumpHandshakes ?? DEFAULT_JUMP_HANDSHAKES);
  }

  /** Target connections authenticated so far in this run (a kept connection reused is not one). */
  get handshakes(): number {
    return this.handshakeCount;
  }

  /** Hosts whose job used a connection a keeper held from an earlier command (no handshake in this run). */
  get reused(): readonly string[] {
    return this.reusedIds;
  }

  /**
   * One pass: run every job with `task`; resolves when each one has produced exactly one host_done
   * event. The workers stay for the next pass until close(). keep: hosts that go on keep their
   * connection for their next pass, until release() (playbooks).
   */
  run(
    jobs: HostJob[],
    task: TaskSpec,
    keep = false,
    knownHostsData?: WorkerConfig['knownHostsData'],
    hold = false,
  ): Promise<void> {
    if (this.closed) throw new Error('pool used after close');
    if (jobs.length === 0) return Promise.resolve();
    // herd's own memory grows with the hosts of its run: over many, it keeps V8's young generation small.
    if ((this.options.hosts ?? jobs.length) > SMALL_OWN_YOUNG_GENERATION_ABOVE) keepYoungGenerationSmall();
    this.remaining = jobs.length;
    const done = new Promise<void>((resolve) => (this.finish = resolve));
    if (this.draining) {
      for (const job of jobs) this.complete(notStarted(job.id, this.drainReason));
      return done;
    }
    // knownHostsData: keys recorded (accept-new) since the workers read theirs; later passes must see them.
    this.pass = { task, keep, ...(knownHostsData ? { knownHostsData } : {}), ...(hold ? { hold } : {}) };
    if (this.slots.size === 0 && this.vacant.length === 0) this.spawnAll(jobs.length);
    for (const slot of this.slots) this.sendTo(slot, { kind: 'pass', ...this.pass });
    // Workers first (a keeper's tell which hosts they hold), then each job to the worker keeping its connection.
    for (const share of this.vacant.splice(0)) this.spawn(share);
    const anyWorker: HostJob[] = [];
    for (const job of jobs) {
      const slot = this.keptIn.get(job.id);
      if (slot && !slot.exited && slot.failed === undefined) slot.own.returnToFront(job);
      else anyWorker.push(job);
    }
    this.queue.pushAll(anyWorker);
    this.feedAll();
    return done;
  }

  private spawnAll(firstPass: number): void {
    const hosts = Math.max(this.options.hosts ?? firstPass, firstPass);
    const forks = Math.max(1, Math.min(this.options.forks, hosts));
    // No more workers than sessions: each worker holds at least one, and --forks is the total. None (0): one, in here.
    const workers = Math.max(1, Math.min(this.options.workers, forks));
    this.workerCount = workers;
    for (let i = 0; i < workers; i++) {
      const sessions = shareOf(this.options.forks, workers, i);
      this.vacant.push({
        capacity: this.options.hold ? sessions : shareOf(forks, workers, i),
        sessions,
        handshakes: shareOf(this.options.handshakes, workers, i),
      });
    }
  }

  /** These hosts' work in the run is over (done, failed, held back): their kept connections close now. */
  release(ids: string[]): void {
    const bySlot = new Map<WorkerSlot, string[]>();
    for (const id of ids) {
      const slot = this.keptIn.get(id);
      if (!slot) continue;
      this.keptIn.delete(id);
      bySlot.set(slot, [...(bySlot.get(slot) ?? []), id]);
    }
    for (const [slot, released] of bySlot) this.sendTo(slot, { kind: 'release', ids: released });
  }

  /** Let the workers go (they close every kept connection first) and make sure they have. */
  close(): Promise<void> {
    return (this.closed ??= this.shutdown());
  }

  /** Start nothing new: queued hosts end as not_started; running ones finish. */
  drain(reason: string): void {
    if (this.draining) return;
    this.draining = true;
    this.drainReason = reason;
    const queued = this.queue.takeAll();
    for (const slot of this.slots) for (const job of slot.own.takeAll()) queued.push(job);
    this.keptIn.clear();
    for (const job of queued) this.complete(notStarted(job.id, reason));
    // Hosts already handed to a worker but not begun are reported back by it as not_started.
    for (const slot of this.slots) this.sendTo(slot, { kind: 'drain', reason });
  }

  /**
   * herd shell's Ctrl-C: stop this pass now (queued hosts not_started, running commands killed on the host) and keep
   * the pool, its workers and their held connections for the next pass (drain and abort end the pool's use).
   */
  stopPass(reason: string, cause: AbortCause = 'interrupt'): void {
    if (this.finish === undefined) return;
    const queued = this.queue.takeAll();
    for (const slot of this.slots) for (const job of slot.own.takeAll()) queued.push(job);
    for (const job of queued) this.complete(notStarted(job.id, reason));
    for (const slot of this.slots) this.sendTo(slot, { kind: 'stop_pass', reason, cause });
  }

  /** Stop running commands now: workers kill them remotely and report them interrupted. */
  abort(reason: string, cause: AbortCause = 'interrupt'): void {
    this.drain(reason);
    for (const slot of this.slots) this.sendTo(slot, { kind: 'abort', cause });
    // A worker that cannot answer (hung, stopped, broken) must not hold the run forever. Once the pool
    // is closing (a grace period that outlived every host) no timer is armed: it would keep herd alive.
    if (!this.closing) this.abortTimer ??= setTimeout(() => this.killUnanswered(), ABORT_ANSWER_MS);
  }

  private killUnanswered(): void {
    for (const slot of this.slots) {
      if (slot.exited || slot.jobs.size === 0) continue;
      const within = `did not stop the command within ${ABORT_ANSWER_MS / 1000}s of the abort`;
      slot.killedBecause =
        slot.child.name === undefined
          ? `its worker process ${within} and was killed; it may still be running`
          : `${slot.child.name} ${within}: its connection was cut; it may still be running`;
      slot.child.kill('SIGKILL');
    }
  }

  private spawn({ capacity, sessions, handshakes }: Share): void {
    const young = youngGeneration(this.pass?.task.kind, capacity);
    // A keeper's worker (--persist), the one in herd's own process (--workers 0), or a new worker process.
    const child: WorkerChannel = this.options.channels?.open(young) ?? forkWorker(this.options.workerPath, young);
    const slot: WorkerSlot = {
      child,
      capacity,
      sessions,
      handshakes,
      jobs: new Map(),
      own: new JobQueue(),
      ready: false,
      exited: false,
    };
    this.slots.add(slot);
    for (const id of this.options.channels?.held(child) ?? []) {
      this.keptIn.set(id, slot);
      this.heldAtStart.add(id);
    }
    let stderrTail = '';
    child.stderr?.on('data', (d: Buffer) => (stderrTail = (stderrTail + d.toString()).slice(-2000)));
    child.on('message', (m: WorkerMessage) => this.onMessage(slot, m));
    child.on('error', () => {
      /* 'exit' follows and carries the story */
    });
    child.on('exit', (code, signal) => this.onExit(slot, code, signal, stderrTail));
    // Each worker paces its share of --connect-rate.
    const connectRate = this.options.config.connectRate / this.workerCount;
    this.sendTo(slot, {
      kind: 'init',
      config: { ...this.options.config, concurrency: capacity, sessions, handshakes, connectRate },
    });
    if (this.pass) this.sendTo(slot, { kind: 'pass', ...this.pass });
  }

  private onMessage(slot: WorkerSlot, message: WorkerMessage): void {
    switch (message.kind) {
      case 'ready':
        slot.ready = true;
        for (const p of message.problems) this.warnOnce(p);
        this.feed(slot);
        return;
      case 'host_phase': {
        const state = slot.jobs.get(message.id);
        if (state) {
          state.phase = message.phase;
          if (message.phase === 'connecting') state.since = Date.now();
        }
        this.options.onEvent(message);
        return;
      }
      case 'output':
        this.options.onEvent({
          ...message,
          data: Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength),
        });
        return;
      case 'host_done':
        this.heldAtStart.delete(message.result.id);
        if (!slot.jobs.delete(message.result.id)) return;
        // The worker keeps the same ones (kept-connections.ts goesOn); it may still close it to make room.
        if ((this.pass?.hold || (this.pass?.keep && goesOn(message.result))) && !this.draining)
          this.keptIn.set(message.result.id, slot);
        else this.keptIn.delete(message.result.id);
        this.complete(message.result);
        this.feed(slot);
        return;
      case 'hostkey_new':
      case 'held':
      case 'step_done':
      case 'files_done':
      case 'jump_connection':
        this.options.onEvent(message);
        return;
      case 'jump_slot_wait':
        this.jumpGate.request(slot, message.hop, message.ticket, () =>
          this.sendTo(slot, { kind: 'jump_slot', ticket: message.ticket }),
        );
        return;
      case 'jump_slot_done':
        this.jumpGate.done(slot, message.ticket);
        return;
      case 'handshake':
        this.heldAtStart.delete(message.id);
        this.handshakeCount++;
        return;
      case 'reused':
        if (this.heldAtStart.delete(message.id)) this.reusedIds.push(message.id);
        return;
      case 'worker_fatal':
        this.failWorker(slot, message.error.message);
        return;
      case 'batch':
        for (const m of message.messages) this.onMessage(slot, m);
        return;
      default:
        return assertNever(message);
    }
  }

  /**
   * The worker hit an uncaught error and is leaving. What ran there may have run: those hosts end as
   * `error` with the reason. Hosts it had not started go to another worker, as when a worker dies.
   */
  private failWorker(slot: WorkerSlot, message: string): void {
    if (slot.failed !== undefined) return;
    slot.failed = `uncaught error in ${workerName(slot.child)}: ${message}`;
    this.warnOnce(slot.failed);
    for (const state of slot.jobs.values()) {
      if (state.phase === 'running') {
        const reason =
          `uncaught error in ${slot.child.name ?? 'its worker process'} while this host was running: ${message}; ` +
          'it may have run, and may still be running';
        this.complete(hostResult(state.job.id, Date.now() - state.since, errorOutcome('E_WORKER_ERROR', reason)));
      } else this.requeue(state.job);
    }
    slot.jobs.clear();
    this.forgetKept(slot);
    // It exits by itself once its report is out; one that cannot is stopped.
    const timer = setTimeout(() => slot.child.kill('SIGKILL'), WORKER_EXIT_GRACE_MS);
    slot.child.once('exit', () => clearTimeout(timer));
    this.feedAll();
  }

  /** Keep a worker supplied up to its capacity plus a small prefetch so it never idles on IPC. */
  private feed(slot: WorkerSlot): void {
    if (!slot.ready || slot.exited || slot.failed !== undefined) return;
    const jobs: HostJob[] = [];
    while (
      !this.draining &&
      slot.own.length + this.queue.length > 0 &&
      slot.jobs.size < slot.capacity + this.prefetch()
    ) {
      const job = slot.own.shift() ?? this.queue.shift()!;
      slot.jobs.set(job.id, { job, phase: 'assigned', since: Date.now() });
      jobs.push(job);
    }
    if (jobs.length > 0) this.sendTo(slot, { kind: 'jobs', jobs });
  }

  /** Prefetch only while the queue outgrows every worker's capacity, so small runs spread evenly. */
  private prefetch(): number {
    let capacity = 0;
    for (const slot of this.slots) capacity += slot.capacity;
    return this.queue.length > capacity ? WORKER_PREFETCH : 0;
  }

  private onExit(slot: WorkerSlot, code: number | null, signal: NodeJS.Signals | null, stderrTail: string): void {
    slot.exited = true;
    this.slots.delete(slot);
    this.jumpGate.dropOwner(slot);
    this.forgetKept(slot);
    if (slot.jobs.size === 0 && (this.queue.length === 0 || this.draining)) {
      // Between passes (or after its last host): its share is filled again when the next pass starts.
      if (!this.closed && !this.draining) this.vacant.push(shareOfSlot(slot));
      return this.maybeFinish();
    }
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    const lastLine =
      stderrTail
        .trim()
        .split('\n')
        .find((l) => /Error|error:/.test(l)) ?? stderrTail.trim().split('\n').pop();
    if (slot.failed === undefined && slot.killedBecause === undefined) {
      this.warnOnce(`${workerName(slot.child)} died (${how})${lastLine ? `: ${lastLine}` : ''}`);
    }
    for (const state of slot.jobs.values()) {
      if (state.phase === 'running') {
        const reason =
          slot.killedBecause ?? `worker process died (${how}) while the command was running; it may have run`;
        this.complete(hostResult(state.job.id, Date.now() - state.since, interruptedOutcome('E_WORKER_DIED', reason)));
      } else this.requeue(state.job);
    }
    slot.jobs.clear();
    if (this.queue.length > 0 && !this.draining) {
      if (this.respawnBudget-- > 0) this.spawn(shareOfSlot(slot));
      else this.drain('workers kept dying; stopped starting hosts');
    }
    this.feedAll();
    this.maybeFinish();
  }

  /** A worker that is gone keeps no connection: its hosts' jobs go to any worker (a new handshake). */
  private forgetKept(slot: WorkerSlot): void {
    for (const job of slot.own.takeAll()) this.requeue(job);
    for (const [id, owner] of this.keptIn) {
      if (owner !== slot) continue;
      this.keptIn.delete(id);
      // A session (hold) counts its connected hosts from these: a dead worker's connections are gone.
      if (this.options.hold) this.options.onEvent({ kind: 'held', id, open: false });
    }
  }

  /** Nothing was executed on this host yet: another worker may take it, unless no host starts any more. */
  private requeue(job: HostJob): void {
    if (this.draining) this.complete(notStarted(job.id, this.drainReason));
    else this.queue.returnToFront(job);
  }

  private feedAll(): void {
    for (const slot of this.slots) this.feed(slot);
    if (this.slots.size === 0 && this.queue.length > 0) {
      for (const job of this.queue.takeAll()) this.complete(notStarted(job.id, 'no worker process left to run it'));
    }
  }

  private complete(result: HostResult): void {
    this.remaining--;
    this.options.onEvent({ kind: 'host_done', result });
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (this.remaining <= 0 && this.finish) {
      const finish = this.finish;
      this.finish = undefined;
      finish();
    }
  }

  private sendTo(slot: WorkerSlot, message: ParentMessage): void {
    if (slot.exited || !slot.child.connected) return;
    slot.child.send(message, (err) => {
      if (err) this.warnOnce(`could not reach ${workerName(slot.child)}: ${err.message}`);
    });
  }

  private warnOnce(message: string): void {
    if (this.warnedProblems.has(message)) return;
    this.warnedProblems.add(message);
    this.options.onEvent({ kind: 'warning', message });
  }

  /** Ask workers to leave, then make sure they have. */
  private async shutdown(): Promise<void> {
    this.closing = true;
    clearTimeout(this.abortTimer);
    const exits = [...this.slots].map(
      (slot) =>
        new Promise<void>((resolve) => {
          if (slot.exited) return resolve();
          const timer = setTimeout(() => {
            slot.child.kill('SIGKILL');
            resolve();
          }, WORKER_EXIT_GRACE_MS);
          slot.child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          this.sendTo(slot, { kind: 'shutdown' });
        }),
    );
    await Promise.all(exits);
  }
}

function workerName(child: WorkerChannel): string {
  return child.name ?? `worker ${child.pid}`;
}

function shareOfSlot({ capacity, sessions, handshakes }: WorkerSlot): Share {
  return { capacity, sessions, handshakes };
}

/** Split `total` (SSH sessions, handshakes) over `parts` workers as evenly as possible. */
export function shareOf(total: number, parts: number, index: number): number {
  const base = Math.floor(total / parts);
  return Math.max(1, base + (index < total % parts ? 1 : 0));
}

function assertNever(value: never): never {
  throw new Error(`unknown message from a worker: ${JSON.stringify(value)}`);
}
