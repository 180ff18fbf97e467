// Jump hosts (bastions): one SSH connection to a bastion carries several tunnels, each a
// direct-tcpip channel (ssh2 forwardOut) to one target, at most `perConnection` each, so a
// bastion's MaxSessions is respected and it is not flooded with one connection per target. More
// connections open as needed; an idle one closes shortly after its last tunnel closes.
// Chains (a,b) nest: the connection to b runs over a channel of a connection to a.
// A bastion's sshd drops connections beyond MaxStartups before authentication: the caller paces
// handshakes per hop (HopConnector), and a connection dropped that way is retried with backoff
// here, so the targets waiting for it do not fail for a throttle herd itself caused.
import type { Duplex } from 'node:stream';
import type { Client } from 'ssh2';
import { HostFailure } from './failure.js';

export interface JumpHop {
  /** user@host:port */
  label: string;
  host: string;
  port: number;
}

/** Opens an authenticated connection to a hop, over `sock` when the hop is itself behind another. */
export type HopConnector = (hop: JumpHop, sock: Duplex | undefined) => Promise<Client>;

interface HopConnection {
  ready: Promise<Client>;
  /** Tunnels open over this connection (or promised to a waiting target). */
  tunnels: number;
  closed: boolean;
  /** Set once `ready` resolved: closing at worker shutdown must not wait a tick (the process exits). */
  client?: Client;
  idleTimer?: NodeJS.Timeout;
}

export interface JumpStream {
  stream: Duplex;
  /** Give the tunnel back; call once, when the target connection has closed. */
  release: () => void;
}

/** How long an unused bastion connection stays open for the next target. */
const IDLE_CLOSE_MS = 1_000;

export interface JumpPoolOptions {
  /** Tunnels one bastion connection carries (--jump-sessions). */
  perConnection: number;
  /** Retries of a bastion handshake dropped before authentication (reset or closed: MaxStartups). */
  retries: number;
  /** Wait before retry number `attempt` (1-based), in ms. */
  retryDelayMs: (attempt: number) => number;
  /** Each bastion connection that authenticated, and each one dropped before authentication. */
  onConnection?: (hop: string, outcome: 'connected' | 'throttled') => void;
}

export class JumpPool {
  private readonly connections = new Map<string, HopConnection[]>();

  constructor(
    private readonly connectHop: HopConnector,
    private readonly options: JumpPoolOptions,
  ) {}

  /** A byte stream to host:port through `chain` (first hop first). */
  async open(chain: JumpHop[], host: string, port: number): Promise<JumpStream> {
    const last = chain[chain.length - 1]!;
    const conn = this.acquire(chain);
    let client: Client;
    try {
      client = await conn.ready;
    } catch (err) {
      this.release(chain, conn);
      throw err;
    }
    try {
      const stream = await new Promise<Duplex>((resolve, reject) =>
        client.forwardOut('127.0.0.1', 0, host, port, (err, channel) => (err ? reject(err) : resolve(channel))),
      );
      let released = false;
      return {
        stream,
        release: () => {
          if (released) return;
          released = true;
          this.release(chain, conn);
        },
      };
    } catch (err) {
      this.release(chain, conn);
      throw new HostFailure(
        'unreachable',
        'E_JUMP_FORWARD',
        `jump host ${last.label} could not open a connection to ${host}:${port}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  private acquire(chain: JumpHop[]): HopConnection {
    const key = chain.map((h) => h.label).join(' > ');
    const list = this.connections.get(key) ?? [];
    this.connections.set(key, list);
    const free = list.find((c) => !c.closed && c.tunnels < this.options.perConnection);
    if (free) {
      free.tunnels++;
      clearTimeout(free.idleTimer);
      return free;
    }
    const conn: HopConnection = { tunnels: 1, closed: false, ready: Promise.resolve(null as unknown as Client) };
    conn.ready = this.connect(chain, conn, list);
    // A failed connection must not reject unobserved when every waiter has gone.
    conn.ready.catch(() => undefined);
    list.push(conn);
    return conn;
  }

  private async connect(chain: JumpHop[], conn: HopConnection, list: HopConnection[]): Promise<Client> {
    const hop = chain[chain.length - 1]!;
    const drop = (): void => {
      conn.closed = true;
      const i = list.indexOf(conn);
      if (i >= 0) list.splice(i, 1);
    };
    let via: JumpStream | undefined;
    try {
      const client = await this.connectWithRetries(chain, hop, (v) => (via = v));
      client.on('close', () => {
        drop();
        via?.release();
      });
      conn.client = client;
      return client;
    } catch (err) {
      drop();
      via?.release();
      if (err instanceof HostFailure) {
        if (err.message.startsWith('jump host ')) throw err;
        throw new HostFailure(err.status, err.code, `jump host ${hop.label}: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }

  /** One authenticated connection to the chain's last hop; `setVia` learns the channel it runs over. */
  private async connectWithRetries(
    chain: JumpHop[],
    hop: JumpHop,
    setVia: (via: JumpStream | undefined) => void,
  ): Promise<Client> {
    for (let attempt = 0; ; attempt++) {
      const via = chain.length > 1 ? await this.open(chain.slice(0, -1), hop.host, hop.port) : undefined;
      setVia(via);
      try {
        const client = await this.connectHop(hop, via?.stream);
        this.options.onConnection?.(hop.label, 'connected');
        return client;
      } catch (err) {
        const throttled = err instanceof HostFailure && err.transient;
        if (!throttled) throw err;
        this.options.onConnection?.(hop.label, 'throttled');
        via?.release();
        setVia(undefined);
        if (attempt >= this.options.retries) {
          const tries = attempt + 1;
          throw new HostFailure(
            err.status,
            'E_JUMP_THROTTLED',
            `jump host ${hop.label} throttled new connections (dropped before authentication ${tries} time${tries === 1 ? '' : 's'}; its sshd MaxStartups?): ${err.message}`,
            { cause: err },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, this.options.retryDelayMs(attempt + 1)));
      }
    }
  }

  private release(chain: JumpHop[], conn: HopConnection): void {
    conn.tunnels--;
    if (conn.tunnels > 0 || conn.closed) return;
    clearTimeout(conn.idleTimer);
    conn.idleTimer = setTimeout(() => {
      if (conn.tunnels > 0) return;
      conn.closed = true;
      const list = this.connections.get(chain.map((h) => h.label).join(' > '));
      const i = list?.indexOf(conn) ?? -1;
      if (i >= 0) list!.splice(i, 1);
      void conn.ready.then(
        (c) => c.end(),
        () => undefined,
      );
    }, IDLE_CLOSE_MS);
    conn.idleTimer.unref();
  }

  /** Close every bastion connection (end of the worker's jobs). */
  closeAll(): void {
    for (const list of this.connections.values()) {
      for (const c of list) {
        clearTimeout(c.idleTimer);
        c.closed = true;
        if (c.client) c.client.end();
        else
          void c.ready.then(
            (client) => client.end(),
            () => undefined,
          );
      }
      list.length = 0;
    }
  }
}
