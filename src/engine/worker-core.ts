// A worker's work, apart from where it runs: host jobs handed over by the parent, everything reported as messages
// through a port. The port is the IPC channel in a worker process (worker.ts), or herd's own process for a small run
// (in-process-worker.ts). It never prints and never writes run files.
import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import { toErrorData } from '../errors.js';
import { notStarted } from '../results/status.js';
import { loadPrivateKeys } from '../transport/keys.js';
import type { Credentials } from '../transport/connect.js';
import type { OutputFlow } from '../transport/exec.js';
import { runHostJob } from './host-job.js';
import { Connector } from './connector.js';
import { startRateGate } from './pacing.js';
import type { HostJob, ParentMessage, TaskSpec, WorkerConfig, WorkerMessage } from './protocol.js';
import { KeptConnections } from './kept-connections.js';
import { FileBatch, OutputCap, withNote } from './worker-outbox.js';

/** Whatever the connector connects with (ssh2 stays behind src/transport/). */
type Connection = Awaited<ReturnType<Connector['connect']>>;

/** Where a worker's messages go, and how it leaves. */
export interface WorkerPort {
  send(message: WorkerMessage): void;
  /** A host's output; a promise while the parent is behind (the host's channel pauses until it settles). */
  sendOutput(message: WorkerMessage, bytes: number): OutputFlow;
  /**
   * The worker is done: 0 after `shutdown` (its connections are closing), 70 after an uncaught error (`last`, the
   * worker_fatal report, is sent first).
   */
  leave(code: 0 | 70, last?: WorkerMessage): void;
}

export interface WorkerCore {
  /** One message from the parent; what it cannot take on is as fatal as an uncaught error. */
  handle(message: ParentMessage): void;
  /** An uncaught error in this worker's code: nothing it holds can be trusted; it reports and leaves. */
  fail(err: unknown): void;
}

interface WorkerState {
  config: WorkerConfig;
  connector: Connector;
  limit: ReturnType<typeof pLimit>;
  abort: AbortController;
  /** The current pass's task, and whether hosts that go on keep their connection for the next pass. */
  pass?: { task: TaskSpec; keep: boolean; hold: boolean };
  kept: KeptConnections<Connection>;
  /** Set when the parent stops handing out hosts; the reason is recorded on hosts never begun. */
  drainReason?: string;
  /** herd shell's Ctrl-C stopped the current pass (stop_pass): its jobs not begun get this reason, until the next. */
  passStopped?: string;
}

/**
 * Test-only fault, for the host whose id HERD_TEST_THROW_IN_CHANNEL names, in its channel's data callback
 * (onOutput runs synchronously inside it): HERD_TEST_THROW_HOW=sync throws there, as a bug in a callback
 * ssh2 calls would; =async hands back a backpressure promise that rejects, which nobody catches; =resumed
 * throws from a chunk delivered by a stream resumed after a pause. The e2e
 * suite proves either ends the affected hosts as `error` and the run still completes.
 */
const THROW_IN_CHANNEL_FOR = process.env['HERD_TEST_THROW_IN_CHANNEL'];
const THROW_HOW = ((how) => (how === 'async' || how === 'resumed' ? how : 'sync'))(process.env['HERD_TEST_THROW_HOW']);
// =resumed: the first chunk asks for a pause, so the next one arrives from the resumed stream (not from
// ssh2's parser, which would catch the throw), and that one throws.
let pausedOnce = false;

function testFault(id: string): Promise<void> | undefined {
  if (THROW_IN_CHANNEL_FOR !== id) return undefined;
  const fault = new Error(`test fault thrown inside the channel callback of ${id}`);
  if (THROW_HOW === 'resumed' && !pausedOnce) {
    pausedOnce = true;
    return new Promise((resolve) => setTimeout(resolve, 1_500));
  }
  if (THROW_HOW === 'async') return Promise.reject(fault);
  throw fault;
}

/**
 * Test-only: every output chunk of the host whose id HERD_TEST_SLOW_OUTPUT names is held 300 ms, as a
 * parent that is behind holds it (backpressure pauses the channel again and again), so the command ends
 * while its output is still paused. The e2e suite proves none of that output is lost.
 */
const SLOW_OUTPUT_FOR = process.env['HERD_TEST_SLOW_OUTPUT'];
function testSlowOutput(id: string): Promise<void> | undefined {
  if (SLOW_OUTPUT_FOR !== id) return undefined;
  return new Promise((resolve) => setTimeout(resolve, 300));
}

export function createWorkerCore(port: WorkerPort): WorkerCore {
  const send = (message: WorkerMessage): void => port.send(message);
  let state: WorkerState | undefined;

  /** Jump-host handshakes waiting for the parent's go (see JumpHandshakeGate). */
  const jumpGrants = new Map<number, () => void>();
  let nextJumpTicket = 0;

  function jumpSlot(hop: string): Promise<() => void> {
    const ticket = ++nextJumpTicket;
    return new Promise((resolve) => {
      jumpGrants.set(ticket, () => resolve(() => send({ kind: 'jump_slot_done', ticket })));
      send({ kind: 'jump_slot_wait', hop, ticket });
    });
  }

  function initialise(config: WorkerConfig): void {
    const { keys, problems } = loadPrivateKeys(config.keyPaths, config.keysExplicit, config.keyPassphrase);
    const credentials: Credentials = { keys, password: config.password, agent: config.agentSocket };
    // A second init comes from a connection keeper (src/keeper/) handing this worker to another command, or
    // taking the secrets back: the connections kept idle stay, within the new share of --forks.
    const kept =
      state?.kept ??
      new KeptConnections<Connection>({
        capacity: Math.max(1, config.sessions),
        keeping: () => state?.pass?.keep === true && state.drainReason === undefined,
        holding: () => state?.pass?.hold === true && state.drainReason === undefined,
        onOpened: (id) => send({ kind: 'handshake', id }),
        onHeld: (id, open) => send({ kind: 'held', id, open }),
        onReused: (id) => send({ kind: 'reused', id }),
      });
    kept.resize(Math.max(1, config.sessions));
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
      connector: new Connector(config, credentials, slot, (line, file) => send({ kind: 'hostkey_new', line, file }), {
        slot: jumpSlot,
        onConnection: (hop, outcome) => send({ kind: 'jump_connection', hop, outcome }),
      }),
      limit: pLimit(Math.max(1, config.concurrency)),
      abort: passSignal(),
      kept,
    };
    send({ kind: 'ready', problems });
  }

  function startJob(job: HostJob): void {
    const s = state;
    if (!s) throw new Error('job received before init');
    const pass = s.pass;
    if (!pass) throw new Error('job received before its pass');
    void s.limit(async () => {
      if (s.drainReason !== undefined || s.passStopped !== undefined) {
        const reason = s.drainReason ?? s.passStopped!;
        send({ kind: 'host_done', result: notStarted(job.id, reason) });
        return;
      }
      const files = new FileBatch(job.id, send);
      const cap = new OutputCap(s.config.maxOutputBytes);
      const result = await runHostJob(job, {
        config: s.config,
        task: pass.task,
        connections: s.kept,
        inUse: () => s.limit.activeCount,
        connector: s.connector,
        signal: s.abort.signal,
        onPhase: (phase) => send({ kind: 'host_phase', id: job.id, phase }),
        onOutput: (stream, whole, step) => {
          const fault = testFault(job.id);
          if (fault) return fault;
          const chunk = cap.take(whole);
          if (chunk.length === 0) return;
          const sent = port.sendOutput(
            step === undefined
              ? { kind: 'output', id: job.id, stream, data: chunk }
              : { kind: 'output', id: job.id, stream, data: chunk, step },
            chunk.length,
          );
          return testSlowOutput(job.id) ?? sent;
        },
        onStepDone: (result) => send({ kind: 'step_done', result }),
        onFileDone: (path, bytes, status) => files.add({ path, bytes, status }),
        onFilePlanned: (bytes) => files.plan(bytes),
      });
      files.flush();
      send({
        kind: 'host_done',
        result: cap.dropped > 0 ? { ...result, reason: withNote(result.reason, cap.note()) } : result,
      });
    });
  }

  function handle(message: ParentMessage): void {
    switch (message.kind) {
      case 'init':
        initialise(message.config);
        return;
      case 'pass':
        if (!state) throw new Error('pass received before init');
        state.pass = { task: message.task, keep: message.keep, hold: message.hold === true };
        // A pass stopped by stop_pass (herd shell's Ctrl-C) is over: the next one starts with a fresh signal.
        if (state.passStopped !== undefined && state.drainReason === undefined) state.abort = passSignal();
        state.passStopped = undefined;
        if (message.knownHostsData) state.connector.useKnownHosts(message.knownHostsData);
        return;
      case 'jobs':
        for (const job of message.jobs) startJob(job);
        return;
      case 'release':
        state?.kept.release(message.ids);
        return;
      case 'drain':
        // Nothing starts any more: no kept connection will be used again.
        if (state) state.drainReason = message.reason;
        state?.kept.closeAll();
        return;
      case 'abort':
        if (state) state.drainReason ??= 'run was interrupted before this host started';
        state?.kept.closeAll();
        state?.abort.abort(message.cause);
        return;
      case 'stop_pass':
        // The connections stay held: only this pass's commands stop (exec kills them on the host).
        if (state) state.passStopped = message.reason;
        state?.abort.abort(message.cause);
        return;
      case 'shutdown':
        state?.kept.closeAll();
        state?.connector.close();
        port.leave(0);
        return;
      case 'jump_slot': {
        const grant = jumpGrants.get(message.ticket);
        jumpGrants.delete(message.ticket);
        grant?.();
        return;
      }
      default:
        return assertNever(message);
    }
  }

  /**
   * After an uncaught exception or rejection nothing this worker holds can be trusted: a host's promise
   * may never settle, which would hang the run. Say so and leave; the parent ends the hosts that were
   * running here as `error` and hands the others to another worker.
   */
  let failing = false;
  function fail(err: unknown): void {
    if (failing) return;
    failing = true;
    // The parent gives the hosts this worker had not started to another worker: none may start here now.
    if (state) {
      state.drainReason ??= 'its worker process failed';
      state.abort.abort('interrupt');
    }
    port.leave(70, { kind: 'worker_fatal', error: toErrorData(err) });
  }

  return {
    handle(message) {
      try {
        handle(message);
      } catch (err) {
        // A job that could not be taken on would never report back: as fatal as any uncaught error.
        fail(err);
      }
    },
    fail,
  };
}

/**
 * The signal every host job of a pass listens to: one listener per job at once, hundreds in a worker (its share of
 * --forks), which is no leak. Node's warning past 10 would reach the operator's terminal from a worker in herd's own
 * process (a worker process's stderr is not shown).
 */
function passSignal(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

function assertNever(value: never): never {
  throw new Error(`unknown message from the parent: ${JSON.stringify(value)}`);
}
