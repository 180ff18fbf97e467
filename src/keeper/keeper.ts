// The connection keeper: a background process that owns worker processes (engine/worker.ts) and lets
// one herd command at a time drive them over its Unix socket, with the pool's own messages. Their
// KeptConnections keep each host's connection between commands. It never prints; it ends itself after
// its idle time, on a changed trust env, on `herd connections --close` or on SIGTERM.
import { timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { forkWorker, type YoungGeneration } from '../engine/worker-process.js';
import { goesOn } from '../engine/kept-connections.js';
import type { ParentMessage, WorkerConfig, WorkerMessage } from '../engine/protocol.js';
import { WORKER_EXIT_GRACE_MS } from '../defaults.js';
import { bootId, removeKeeperFiles, type KeeperFiles } from './paths.js';
import { holdsPeer, peerOf, socketFd } from './peer.js';
import {
  connectionOf,
  encodeFrame,
  FrameReader,
  withoutSecrets,
  type ClientFrame,
  type HeldHost,
  type KeeperFrame,
  type KeeperInfo,
} from './frames.js';

type PeerCheck = { uid: number; peer: ReturnType<typeof peerOf> } | null;

/**
 * Another uid is refused whatever it sends, where Linux says who it is (the directory's mode should have stopped
 * it already): the process the hello names must run as this user and hold the other end of this socket.
 */
async function peerAllowed(check: PeerCheck, pid: unknown): Promise<boolean> {
  if (check === null) return true;
  return holdsPeer(await check.peer, pid, check.uid) !== false;
}

export interface KeeperOptions {
  files: KeeperFiles;
  identity: string;
  env: string;
  idleMs: number;
}

/** One of the keeper's workers, and the hosts whose connection it holds. */
interface KeptWorker {
  child: ChildProcess;
  /** The last config it was given, without secrets: what it is put back to when a command leaves. */
  config?: WorkerConfig;
  /** Host id -> its connection plan and address, for a connection it opened (a handshake). */
  held: Map<string, { plan: string; host: HeldHost }>;
  /** Jobs handed to it by the attached command, by host id. */
  jobs: Map<string, { plan: string; host: HeldHost }>;
}

/** The state file: what `herd connections` and a client read before they connect. */
export interface KeeperState {
  pid: number;
  boot_id: string | null;
  started_at: number;
  identity: string;
}

export class Keeper {
  private readonly workers = new Map<number, KeptWorker>();
  private readonly server: net.Server;
  private session: net.Socket | undefined;
  private env: string;
  private idleMs: number;
  private idleSince: number | null = Date.now();
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private readonly token: string;
  private stopping = false;

  constructor(private readonly options: KeeperOptions) {
    this.env = options.env;
    this.idleMs = options.idleMs;
    this.token = fs.readFileSync(options.files.token, 'utf8');
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /** Listen, then write the state file: a client that finds it finds a socket that answers. */
  start(): Promise<void> {
    const { files } = this.options;
    fs.rmSync(files.socket, { force: true });
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(files.socket, () => {
        fs.chmodSync(files.socket, 0o600);
        const state: KeeperState = {
          pid: process.pid,
          boot_id: bootId(),
          started_at: this.startedAt,
          identity: this.options.identity,
        };
        fs.writeFileSync(files.state, JSON.stringify(state) + '\n', { mode: 0o600 });
        this.armIdle();
        resolve();
      });
    });
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => void this.stop(), this.idleMs);
  }

  private accept(socket: net.Socket): void {
    const reader = new FrameReader<ClientFrame>();
    // Linux is asked who is at the other end now, while the client prepares its hello (client.ts reachKeeper).
    const peer = this.peerOf(socket);
    // The hello is checked (the token now, then Linux's word on who is at the other end); frames that come
    // meanwhile wait their turn, and nothing is answered before both checks passed.
    let state: 'new' | 'checking' | 'greeted' = 'new';
    const pending: ClientFrame[] = [];
    const send = (frame: KeeperFrame): void => {
      if (!socket.destroyed) socket.write(encodeFrame(frame));
    };
    const next = (): void => {
      while (state !== 'checking' && pending.length > 0 && !socket.destroyed) {
        const frame = pending.shift()!;
        if (state === 'greeted') {
          if (socket === this.session) this.fromClient(frame, send);
          continue;
        }
        // The first frame proves the peer read the token file (mode 0600, in a 0700 directory).
        if (frame.t !== 'hello' || !this.tokenMatches(frame.token)) return void socket.destroy();
        state = 'checking';
        peerAllowed(peer, frame.pid)
          .then((allowed) => {
            if (!allowed || socket.destroyed) return void socket.destroy();
            state = 'greeted';
            this.hello(socket, frame, send);
            next();
          })
          // Whatever a client's frames make fail drops that client, never the keeper and its connections.
          .catch(() => socket.destroy());
      }
    };
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      try {
        pending.push(...reader.push(chunk));
      } catch {
        socket.destroy();
        return;
      }
      next();
    });
    socket.on('close', () => {
      if (socket === this.session) this.sessionEnded(false);
    });
  }

  /** Linux's word on the peer of an accepted socket; null where it cannot be asked (no fd, no uid). */
  private peerOf(socket: net.Socket): PeerCheck {
    const fd = socketFd(socket);
    const uid = process.getuid?.();
    return fd === null || uid === undefined ? null : { uid, peer: peerOf(fd) };
  }

  private tokenMatches(token: unknown): boolean {
    if (typeof token !== 'string') return false;
    const a = Buffer.from(token);
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private hello(socket: net.Socket, frame: Extract<ClientFrame, { t: 'hello' }>, send: (f: KeeperFrame) => void): void {
    if (frame.want === 'info') {
      send({ t: 'info', info: this.info() });
      socket.end();
      return;
    }
    if (frame.want === 'close') {
      send({ t: 'closing' });
      socket.end();
      void this.stop();
      return;
    }
    if (frame.identity !== this.options.identity) return this.refuse(socket, send, 'identity');
    if (frame.env !== this.env) {
      // Its connections were verified against trust files (known_hosts, ssh_config) that changed since.
      this.refuse(socket, send, 'changed');
      void this.stop();
      return;
    }
    if (this.session || this.stopping) return this.refuse(socket, send, 'busy');
    this.session = socket;
    this.idleSince = null;
    clearTimeout(this.idleTimer);
    if (frame.persistMs !== null) this.idleMs = frame.persistMs;
    const held: string[][] = [];
    for (const [w, worker] of this.workers) held[w] = [...worker.held.keys()];
    send({ t: 'welcome', held: Array.from(held, (ids) => ids ?? []) });
  }

  private refuse(socket: net.Socket, send: (f: KeeperFrame) => void, why: 'busy' | 'changed' | 'identity'): void {
    send({ t: 'refused', why });
    socket.end();
  }

  private fromClient(frame: ClientFrame, send: (f: KeeperFrame) => void): void {
    switch (frame.t) {
      case 'hello':
        return;
      case 'open': {
        let worker = this.workers.get(frame.w);
        if (!worker || worker.child.exitCode !== null || worker.child.signalCode !== null) {
          worker = this.fork(frame.w, frame.young === 'small' ? 'small' : 'default');
        }
        send({ t: 'opened', w: frame.w, pid: worker.child.pid });
        return;
      }
      case 'msg':
        this.toWorker(frame.w, frame.m);
        return;
      case 'kill':
        this.workers.get(frame.w)?.child.kill('SIGKILL');
        return;
      case 'bye':
        this.env = frame.env;
        this.sessionEnded(true);
        return;
      default: {
        const never: never = frame;
        return never;
      }
    }
  }

  private fork(w: number, young: YoungGeneration): KeptWorker {
    const child = forkWorker(undefined, young);
    const worker: KeptWorker = { child, held: new Map(), jobs: new Map() };
    this.workers.set(w, worker);
    child.stderr?.on('data', (d: Buffer) => process.stderr.write(d));
    child.on('error', () => {});
    child.on('message', (m: WorkerMessage) => this.fromWorker(w, worker, m));
    child.on('exit', (code, signal) => {
      if (this.workers.get(w) === worker) this.workers.delete(w);
      this.sendSession({ t: 'exit', w, code, signal });
    });
    return worker;
  }

  /** The command's messages, with what makes a keeper: every pass keeps, nothing is released or shut. */
  private toWorker(w: number, m: ParentMessage): void {
    const worker = this.workers.get(w);
    if (!worker) return;
    switch (m.kind) {
      case 'init':
        worker.config = withoutSecrets(m.config);
        break;
      case 'pass':
        m = { ...m, keep: true };
        break;
      case 'jobs':
        for (const job of m.jobs) {
          const plan = connectionOf(job);
          const { id, user, host, port } = job;
          // A connection held for another plan of this host (its user, port, keys, jump hosts changed) is not it.
          for (const other of this.workers.values()) {
            const held = other.held.get(id);
            if (held && (other !== worker || held.plan !== plan)) {
              other.held.delete(id);
              other.child.send({ kind: 'release', ids: [id] } satisfies ParentMessage);
            }
          }
          worker.jobs.set(id, { plan, host: { id, user, host, port } });
        }
        break;
      case 'release':
      case 'shutdown':
        return;
      case 'drain':
      case 'abort':
        // The worker closes every idle connection it keeps.
        worker.held.clear();
        break;
      case 'jump_slot':
      case 'stop_pass':
        break;
      default: {
        const never: never = m;
        return never;
      }
    }
    if (worker.child.connected) worker.child.send(m);
  }

  private fromWorker(w: number, worker: KeptWorker, m: WorkerMessage): void {
    this.note(worker, m);
    this.sendSession({ t: 'msg', w, m });
  }

  /** What the keeper itself keeps of a worker's message: which connections it holds, which hosts it works on. */
  private note(worker: KeptWorker, m: WorkerMessage): void {
    if (m.kind === 'batch') {
      for (const one of m.messages) this.note(worker, one);
    } else if (m.kind === 'handshake') {
      const job = worker.jobs.get(m.id);
      if (job) worker.held.set(m.id, job);
    } else if (m.kind === 'host_done') {
      worker.jobs.delete(m.result.id);
      // The worker closed it (kept-connections.ts settle keeps only the hosts that go on).
      if (!goesOn(m.result)) worker.held.delete(m.result.id);
    }
  }

  private sendSession(frame: KeeperFrame): void {
    if (this.session && !this.session.destroyed) this.session.write(encodeFrame(frame));
  }

  /**
   * The command left. Its secrets leave with it: each worker it used is put back to its config without the
   * password or passphrase. One that left without a bye (killed) may have left commands running: stopped.
   */
  private sessionEnded(clean: boolean): void {
    const socket = this.session;
    if (!socket) return;
    this.session = undefined;
    if (clean) socket.end();
    else socket.destroy();
    for (const worker of this.workers.values()) {
      if (!worker.child.connected || worker.config === undefined) continue;
      if (!clean || worker.jobs.size > 0) {
        worker.child.send({ kind: 'abort', cause: 'interrupt' } satisfies ParentMessage);
        worker.held.clear();
      }
      worker.jobs.clear();
      worker.child.send({ kind: 'init', config: worker.config } satisfies ParentMessage);
    }
    this.idleSince = Date.now();
    if (!this.stopping) this.armIdle();
  }

  private info(): KeeperInfo {
    const hosts: HeldHost[] = [];
    for (const worker of this.workers.values()) for (const { host } of worker.held.values()) hosts.push(host);
    return { pid: process.pid, startedAt: this.startedAt, idleSince: this.idleSince, idleMs: this.idleMs, hosts };
  }

  /** Close every connection (the workers close theirs), remove the files, leave. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.idleTimer);
    this.server.close();
    removeKeeperFiles(this.options.files);
    this.session?.destroy();
    await Promise.all(
      [...this.workers.values()].map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => {
              child.kill('SIGKILL');
              resolve();
            }, WORKER_EXIT_GRACE_MS);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            if (child.connected) child.send({ kind: 'shutdown' } satisfies ParentMessage);
            else child.kill('SIGKILL');
          }),
      ),
    );
    process.exit(0);
  }
}
