// herd shell's engine side: one worker pool kept alive across many commands. Each command is an ordinary Run (its
// own run directory, its own events) whose passes hold every connection still open, so a host is handshaken once
// per session; the session knows which hosts hold a connection. It prints nothing and never reads the terminal.
import type { HostResult } from '../results/status.js';
import { appendKnownHosts } from '../transport/known-hosts-file.js';
import { WorkerPool, type PoolEvent, type PoolOptions } from './pool.js';
import type { HostJob } from './protocol.js';
import type { Run } from './run.js';

export type SessionOptions = Omit<PoolOptions, 'onEvent' | 'workerPath'> & {
  /** Pool warnings and known_hosts problems outside any command (the connect pass). */
  onWarning: (message: string) => void;
};

/** What the connect pass did: each host's result, and the new host keys recorded per known_hosts file (accept-new). */
export interface ConnectOutcome {
  results: HostResult[];
  recordedHostKeys: { file: string; count: number }[];
}

export class Session {
  private readonly pool: WorkerPool;
  /** Hosts whose connection a worker holds open (the workers say so: `held` messages). */
  private readonly held = new Set<string>();
  /** Where the pool's events go now: the running command's Run, or the connect pass. */
  private route: ((event: PoolEvent) => void) | undefined;
  private current: Run | undefined;
  /** The connect pass runs: a stop ends it (hosts not yet connecting stay unconnected), the session goes on. */
  private connecting = false;

  constructor(private readonly options: SessionOptions) {
    this.pool = new WorkerPool({ ...options, hold: true, onEvent: (event) => this.onPoolEvent(event) });
  }

  /** Hosts holding an open connection now. */
  get connected(): ReadonlySet<string> {
    return this.held;
  }

  /** SSH handshakes so far in the session (a held connection reused is none). */
  get handshakes(): number {
    return this.pool.handshakes;
  }

  /** Whether a command runs now (a stop has something to stop). */
  get busy(): boolean {
    return this.current !== undefined;
  }

  /**
   * Connect to these hosts and run nothing: the session's first handshakes. Each host's result (ok: connected; else
   * why not). New host keys (accept-new) are recorded here, as a run records them.
   */
  async connect(jobs: HostJob[]): Promise<ConnectOutcome> {
    const results: HostResult[] = [];
    const lines = new Map<string, Set<string>>();
    this.route = (event) => {
      if (event.kind === 'host_done') results.push(event.result);
      else if (event.kind === 'warning') this.options.onWarning(event.message);
      else if (event.kind === 'hostkey_new') {
        const set = lines.get(event.file) ?? new Set<string>();
        lines.set(event.file, set.add(event.line));
      }
    };
    this.connecting = true;
    try {
      await this.pool.run(jobs, { kind: 'connect' }, false, undefined, true);
    } finally {
      this.connecting = false;
      this.route = undefined;
    }
    const recordedHostKeys: ConnectOutcome['recordedHostKeys'] = [];
    for (const [file, set] of lines) {
      try {
        appendKnownHosts(file, [...set]);
        recordedHostKeys.push({ file, count: set.size });
      } catch (err) {
        this.options.onWarning(`could not record new host keys in ${file}: ${(err as Error).message}`);
      }
    }
    return { results, recordedHostKeys };
  }

  /** One command of the session: `execute` runs the run's passes over the session's pool, holding connections. */
  async execute(run: Run, execute: (run: Run) => Promise<void>): Promise<void> {
    if (this.current) throw new Error('a session runs one command at a time');
    this.route = run.borrowPool(this.pool, {
      // A stop ends this command's pass now on every host; the session, its workers and connections go on.
      drain: (reason) => this.pool.stopPass(reason),
      abort: (reason, cause) => this.pool.stopPass(reason, cause),
    });
    this.current = run;
    try {
      await execute(run);
    } finally {
      this.current = undefined;
      this.route = undefined;
    }
  }

  /** Ctrl-C: stop the running command on every host (remote processes killed), or the connect pass; false: none. */
  stop(): boolean {
    if (this.connecting) {
      this.pool.stopPass('the connect was interrupted (Ctrl-C) before this host was reached');
      return true;
    }
    const run = this.current;
    if (!run) return false;
    // Once is enough: the session's stop target kills now (graceS is not waited for).
    if (!run.control.interrupted) run.control.interrupt('SIGINT');
    return true;
  }

  /** Quit: every held connection closes and every worker leaves. */
  close(): Promise<void> {
    return this.pool.close();
  }

  private onPoolEvent(event: PoolEvent): void {
    if (event.kind === 'held') {
      if (event.open) this.held.add(event.id);
      else this.held.delete(event.id);
      return;
    }
    if (this.route) this.route(event);
    else if (event.kind === 'warning') this.options.onWarning(event.message);
  }
}
