// The command's side of the keeper: find a live keeper for this command's key (or start one with
// --persist), attach to it for the whole run, and hand its workers to the pool as WorkerChannels.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { forkWorker, type YoungGeneration } from '../engine/worker-process.js';
import type { ParentMessage, WorkerMessage } from '../engine/protocol.js';
import type { WorkerChannel, WorkerChannelSource } from '../engine/worker-channel.js';
import { bootId, keeperFiles, privateKeeperDir, removeKeeperFiles, type KeeperFiles } from './paths.js';
import { encodeFrame, FrameReader, type ClientFrame, type Hello, type KeeperFrame } from './frames.js';
import type { KeeperIdentity, KeeperKey } from './key.js';
import type { KeeperState } from './keeper.js';

/** How long a new keeper may take to answer on its socket. */
const START_MS = 5_000;
/** How long a keeper may take to answer a hello. */
const ANSWER_MS = 3_000;

/** A keeper's state file, or null when it is missing, unreadable or from an earlier boot (then removed). */
export function readKeeperState(files: KeeperFiles): KeeperState | null {
  let state: KeeperState;
  try {
    state = JSON.parse(fs.readFileSync(files.state, 'utf8')) as KeeperState;
  } catch {
    return null;
  }
  if (state.boot_id !== bootId() || !alive(state.pid)) {
    removeKeeperFiles(files);
    return null;
  }
  return state;
}

/** Whether a process of that pid exists (EPERM: it does, another user's). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Send the hello (token first) over `early` (reachKeeper's connection, when it is still open) or a new connection,
 * and read frames; resolves with the socket and its first answer.
 */
export function greet(
  files: KeeperFiles,
  hello: (token: string) => Hello,
  early: net.Socket | null = null,
): Promise<{ socket: net.Socket; first: KeeperFrame; reader: FrameReader<KeeperFrame>; rest: KeeperFrame[] } | null> {
  let token: string;
  try {
    token = fs.readFileSync(files.token, 'utf8');
  } catch {
    early?.destroy();
    return Promise.resolve(null);
  }
  return new Promise((resolve) => {
    const socket = early && !early.destroyed ? early.ref() : net.connect(files.socket);
    const reader = new FrameReader<KeeperFrame>();
    const timer = setTimeout(() => done(null), ANSWER_MS);
    const done = (value: Awaited<ReturnType<typeof greet>>): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      if (value === null) socket.destroy();
      resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      let frames: KeeperFrame[];
      try {
        frames = reader.push(chunk);
      } catch {
        return done(null);
      }
      const [first, ...rest] = frames;
      if (first) done({ socket, first, reader, rest });
    };
    socket.on('data', onData);
    socket.once('error', () => done(null));
    socket.once('close', () => done(null));
    socket.write(encodeFrame(hello(token)));
  });
}

/**
 * A command on its way to a keeper: the keeper's directory and file names, and a connection to it opened as soon as
 * the command knows its credentials (reachKeeper). The keeper asks Linux who connected at once, while the command
 * still checks its keys and plans its hosts; the hello follows with the trust files' digest (attachKeeper).
 */
export interface KeeperReach {
  files: KeeperFiles | null;
  identity: KeeperIdentity | null;
  early: net.Socket | null;
  notes: string[];
}

/**
 * The first half of attaching. Without --persist nothing is created: no directory, no process. A refused directory
 * (not private) is a UsageError with --persist, and a note without.
 */
export function reachKeeper(req: { identity: () => KeeperIdentity; persistMs: number | null }): KeeperReach {
  let dir: string | null;
  try {
    dir = privateKeeperDir(req.persistMs !== null);
  } catch (err) {
    if (req.persistMs !== null) throw err;
    return { files: null, identity: null, early: null, notes: [(err as Error).message] };
  }
  if (dir === null) return { files: null, identity: null, early: null, notes: [] };
  const identity = req.identity();
  const files = keeperFiles(dir, identity.name);
  let early: net.Socket | null = null;
  if (readKeeperState(files)) {
    // It holds nothing open on its own: a command that stops before its hello (a bad key) exits as it would.
    early = net.connect(files.socket).unref();
    early.on('error', () => {});
  }
  return { files, identity, early, notes: [] };
}

export interface AttachRequest {
  /** The trust files' digest (key.ts envDigest): known_hosts as this command read them, and ssh_config. */
  env: () => string;
  /** The hosts this command runs on: the keeper's workers holding most of them are the ones it uses first. */
  hosts: readonly string[];
  /** --persist: start a keeper when there is none, and its idle time; null: use one only if it is there. */
  persistMs: number | null;
}

export interface Attached {
  session: KeeperSession | null;
  /** What the command should tell the user (a keeper busy with another command, one dropped). */
  notes: string[];
}

/** The keeper this command uses, if any: the one reached, or with --persist a new one. */
export async function attachKeeper(reach: KeeperReach, req: AttachRequest): Promise<Attached> {
  const notes = [...reach.notes];
  const { files, identity } = reach;
  if (files === null || identity === null) return { session: null, notes };
  const key: KeeperKey = { ...identity, env: req.env() };
  const hello = (token: string): Hello => ({
    t: 'hello',
    token,
    pid: process.pid,
    identity: key.identity,
    env: key.env,
    persistMs: req.persistMs,
    want: 'session',
  });
  let answer = reach.early || readKeeperState(files) ? await greet(files, hello, reach.early) : null;
  if (answer?.first.t === 'refused') {
    answer.socket.destroy();
    if (answer.first.why === 'busy') {
      notes.push('the connection keeper is serving another herd command: this one connects afresh');
      return { session: null, notes };
    }
    // 'changed': the keeper dropped its connections and is leaving; 'identity': not ours after all.
    if (answer.first.why === 'changed') {
      notes.push('known_hosts or ssh_config changed since the connection keeper connected: it closed its connections');
      await waitGone(files);
    }
    answer = null;
  }
  if (answer === null && req.persistMs !== null) answer = await startKeeper(files, key, req.persistMs, hello);
  if (answer === null || answer.first.t !== 'welcome') {
    answer?.socket.destroy();
    return { session: null, notes };
  }
  const session = new KeeperSession(answer.socket, answer.first.held, new Set(req.hosts), answer.reader, answer.rest);
  return { session, notes };
}

/** A keeper that said it is leaving has left (its state file is gone), within a bound. */
async function waitGone(files: KeeperFiles): Promise<void> {
  const deadline = Date.now() + START_MS;
  while (fs.existsSync(files.state) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

async function startKeeper(
  files: KeeperFiles,
  key: KeeperKey,
  persistMs: number,
  hello: (token: string) => Hello,
): Promise<Awaited<ReturnType<typeof greet>>> {
  removeKeeperFiles(files);
  fs.writeFileSync(files.token, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  const log = fs.openSync(files.log, 'w', 0o600);
  // '../keeper/': this module runs as dist/src/keeper/client.js or inside the CLI's bundle (dist/src/bundle/main.js,
  // where ./main.js is the CLI itself); the keeper's entry is dist/src/keeper/main.js either way.
  const main = fileURLToPath(new URL('../keeper/main.js', import.meta.url));
  const child = spawn(process.execPath, [main, files.dir, files.name, key.identity, key.env, String(persistMs)], {
    detached: true,
    stdio: ['ignore', log, log],
    env: keeperEnv(),
  });
  fs.closeSync(log);
  child.unref();
  const deadline = Date.now() + START_MS;
  while (Date.now() < deadline) {
    if (fs.existsSync(files.state)) return greet(files, hello);
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return null;
}

/** Variables a keeper and its workers need. Nothing else: the command's environment may hold a password. */
const KEEPER_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'XDG_RUNTIME_DIR'];

function keeperEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of KEEPER_ENV) if (process.env[name] !== undefined) env[name] = process.env[name];
  return env;
}

/** One command attached to a keeper: its workers, as the pool's channels. */
export class KeeperSession implements WorkerChannelSource {
  private readonly channels = new Map<number, KeeperWorkerChannel>();
  private readonly heldBy = new WeakMap<WorkerChannel, readonly string[]>();
  private alive = true;
  private readonly closed: Promise<void>;

  constructor(
    private readonly socket: net.Socket,
    private readonly heldIds: string[][],
    private readonly hosts: ReadonlySet<string>,
    reader: FrameReader<KeeperFrame>,
    rest: KeeperFrame[],
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.alive = false;
      for (const channel of this.channels.values()) channel.exited(null, 'SIGKILL');
      this.channels.clear();
    });
    socket.on('data', (chunk: Buffer) => {
      let frames: KeeperFrame[];
      try {
        frames = reader.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const frame of frames) this.onFrame(frame);
    });
    for (const frame of rest) this.onFrame(frame);
  }

  /** How many hosts the keeper held when this command attached. */
  get heldCount(): number {
    return this.heldIds.reduce((n, ids) => n + ids.length, 0);
  }

  open(young: YoungGeneration): WorkerChannel {
    // The keeper is gone: the run goes on with workers of its own.
    if (!this.alive) return forkWorker(undefined, young);
    const w = this.nextWorker();
    const channel = new KeeperWorkerChannel(
      w,
      (frame) => this.write(frame),
      () => this.alive,
    );
    this.channels.set(w, channel);
    this.heldBy.set(channel, this.heldIds[w] ?? []);
    this.write({ t: 'open', w, young });
    return channel;
  }

  /**
   * The keeper's worker holding most of this command's hosts among those not yet in use, else the first free
   * index: a pool with fewer workers than the keeper still finds the hosts it holds.
   */
  private nextWorker(): number {
    let best = -1;
    let bestCount = 0;
    this.heldIds.forEach((ids, w) => {
      if (this.channels.has(w)) return;
      const count = ids.filter((id) => this.hosts.has(id)).length;
      if (count > bestCount) [best, bestCount] = [w, count];
    });
    if (best >= 0) return best;
    let w = 0;
    while (this.channels.has(w)) w++;
    return w;
  }

  held(channel: WorkerChannel): readonly string[] {
    return this.heldBy.get(channel) ?? [];
  }

  private write(frame: ClientFrame): void {
    if (this.alive) this.socket.write(encodeFrame(frame));
  }

  private onFrame(frame: KeeperFrame): void {
    switch (frame.t) {
      case 'opened':
        this.channels.get(frame.w)?.opened(frame.pid);
        return;
      case 'msg':
        this.channels.get(frame.w)?.emit('message', frame.m);
        return;
      case 'exit': {
        const channel = this.channels.get(frame.w);
        this.channels.delete(frame.w);
        channel?.exited(frame.code, frame.signal);
        return;
      }
      case 'welcome':
      case 'refused':
      case 'info':
      case 'closing':
        return;
      default: {
        const never: never = frame;
        return never;
      }
    }
  }

  /** The command is over: env is its trust files as they are now. The keeper keeps the connections. */
  async detach(env: string): Promise<void> {
    this.write({ t: 'bye', env });
    this.socket.end();
    await this.closed;
  }
}

/** A keeper's worker seen from the pool: messages go over the session's socket, tagged with its index. */
class KeeperWorkerChannel extends EventEmitter implements WorkerChannel {
  pid: number | undefined;
  readonly stderr = null;
  private gone = false;

  constructor(
    private readonly w: number,
    private readonly write: (frame: ClientFrame) => void,
    private readonly sessionAlive: () => boolean,
  ) {
    super();
  }

  get connected(): boolean {
    return !this.gone && this.sessionAlive();
  }

  opened(pid: number | undefined): void {
    this.pid = pid;
  }

  send(message: ParentMessage, callback: (error: Error | null) => void): boolean {
    if (message.kind === 'shutdown') {
      // The keeper's worker stays with its connections; for this pool it has left.
      queueMicrotask(() => this.exited(0, null));
    } else this.write({ t: 'msg', w: this.w, m: message });
    callback(null);
    return true;
  }

  kill(): boolean {
    this.write({ t: 'kill', w: this.w });
    return true;
  }

  exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.gone) return;
    this.gone = true;
    this.emit('exit', code, signal);
  }

  override emit(event: 'message', message: WorkerMessage): boolean;
  override emit(event: 'exit', code: number | null, signal: NodeJS.Signals | null): boolean;
  override emit(event: string, ...args: unknown[]): boolean {
    return super.emit(event, ...args);
  }
}
