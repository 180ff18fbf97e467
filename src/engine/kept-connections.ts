// A worker's idle connections kept between a playbook's passes (batches, gate segments, plays), so a
// host is normally handshaken once per run. Bounded by the worker's share of --forks: connections in
// use plus idle ones never exceed it; the oldest idle one is closed to make room.
import type { HostResult } from '../results/status.js';
import type { HostConnection } from '../transport/connection.js';

/** What this module needs of a connection (transport/connection.ts HostConnection has it). */
export type KeepableConnection = Pick<HostConnection, 'close' | 'onClose'>;

/** How a host job gets its connection and hands it back (host-job.ts). */
export interface ConnectionSource<C> {
  /** This host's connection kept from an earlier pass, still open; it is in use from now on. */
  take(id: string): C | undefined;
  /** A new connection is about to open: close idle ones so it fits within the session budget. */
  beforeConnect(inUse: number): void;
  /** A new connection authenticated (one handshake). */
  opened(id: string, connection: C): void;
  /** The job ended (result undefined: it threw): keep the connection for the host's next pass, or close it. */
  settle(id: string, connection: C, result: HostResult | undefined): void;
}

export interface KeptConnectionsOptions {
  /** SSH sessions this worker may hold open at once (its share of --forks). */
  capacity: number;
  /** Whether the current pass keeps connections (playbooks) and nothing has stopped the run. */
  keeping: () => boolean;
  /** Whether the current pass holds every open connection, whatever the result (herd shell), and nothing stopped. */
  holding?: () => boolean;
  onOpened: (id: string) => void;
  /** While holding: a host's connection is now held idle (true) or closed (false). */
  onHeld?: (id: string, open: boolean) => void;
  /** A kept connection was handed out again. */
  onReused?: (id: string) => void;
}

/** Hosts that go on after a pass: their connection is worth keeping. */
export function goesOn(result: HostResult | undefined): boolean {
  return result?.status === 'ok' || result?.status === 'unverified';
}

export class KeptConnections<C extends KeepableConnection> implements ConnectionSource<C> {
  /** Idle connections by host id, oldest first (Map keeps insertion order). */
  private readonly idle = new Map<string, C>();
  /** Connections that closed by themselves (the host, the network): never handed out again. */
  private readonly closed = new WeakSet<C>();

  constructor(private readonly options: KeptConnectionsOptions) {}

  get idleCount(): number {
    return this.idle.size;
  }

  take(id: string): C | undefined {
    const connection = this.idle.get(id);
    if (connection === undefined) return undefined;
    this.idle.delete(id);
    if (this.closed.has(connection)) return undefined;
    this.options.onReused?.(id);
    return connection;
  }

  /**
   * A new share of --forks (a keeper's worker serving another command): idle connections beyond it close now,
   * oldest first.
   */
  resize(capacity: number): void {
    this.options.capacity = capacity;
    this.beforeConnect(0);
  }

  beforeConnect(inUse: number): void {
    // inUse counts the job about to connect: after it, in use + idle must stay within capacity.
    for (const [id, connection] of this.idle) {
      if (this.idle.size + inUse <= this.options.capacity) break;
      this.idle.delete(id);
      connection.close();
      if (this.options.holding?.() === true) this.options.onHeld?.(id, false);
    }
  }

  opened(id: string, connection: C): void {
    connection.onClose(() => {
      this.closed.add(connection);
      if (this.idle.get(id) !== connection) return;
      this.idle.delete(id);
      // Dropped while held (the host, the network): the session reconnects it before its next command.
      if (this.options.holding?.() === true) this.options.onHeld?.(id, false);
    });
    this.options.onOpened(id);
  }

  settle(id: string, connection: C, result: HostResult | undefined): void {
    const holding = this.options.holding?.() === true;
    if (
      holding ? this.closed.has(connection) : !this.options.keeping() || !goesOn(result) || this.closed.has(connection)
    ) {
      connection.close();
      if (holding) this.options.onHeld?.(id, false);
      return;
    }
    const other = this.idle.get(id);
    if (other !== undefined && other !== connection) other.close();
    this.idle.delete(id); // re-inserted: now the newest
    this.idle.set(id, connection);
    if (holding) this.options.onHeld?.(id, true);
  }

  /** The host's work in this run is over (done, failed, held back): close its connection. */
  release(ids: Iterable<string>): void {
    for (const id of ids) {
      this.idle.get(id)?.close();
      this.idle.delete(id);
    }
  }

  closeAll(): void {
    this.release([...this.idle.keys()]);
  }
}
