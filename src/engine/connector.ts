// A worker's way to reach hosts: credentials per host (ssh_config IdentityFile, IdentitiesOnly),
// known_hosts per file, handshake pacing, and shared jump-host connections.
import fs from 'node:fs';
import type { Client } from 'ssh2';
import { connectSsh, type ConnectOptions, type Credentials } from '../transport/connect.js';
import { JumpPool, type JumpHop, type JumpStream } from '../transport/jump.js';
import { entriesFor, parseKnownHosts, type KnownHostEntry } from '../transport/known-hosts.js';
import { loadPrivateKeys, type LoadedKey } from '../transport/keys.js';
import { retryDelayMs } from './pacing.js';
import type { HopTarget, HostJob, JumpOutcome, WorkerConfig } from './protocol.js';

export type HandshakeSlot = <T>(connect: () => Promise<T>) => Promise<T>;

/** How a worker takes part in the parent's per-jump-host handshake limit, and reports bastion connections. */
export interface JumpHooks {
  /** Resolves when a handshake with `hop` may start; call the function it gives once the handshake ended. */
  slot: (hop: string) => Promise<() => void>;
  onConnection: (hop: string, outcome: JumpOutcome) => void;
}

export class Connector {
  private readonly keyCache = new Map<string, LoadedKey | null>();
  private readonly knownHostsCache = new Map<string, KnownHostEntry[]>();
  private readonly hops = new Map<string, HopTarget>();
  private readonly jumps: JumpPool;

  constructor(
    private readonly config: WorkerConfig,
    private readonly base: Credentials,
    private readonly slot: HandshakeSlot,
    private readonly onNewHostKey: (line: string, file: string) => void,
    jumpHooks: JumpHooks,
  ) {
    this.jumps = new JumpPool(
      async (hop, sock) => {
        const target = this.hops.get(hop.label)!;
        // The bastion's turn first, then a general handshake slot: waiting for the bastion holds no slot.
        const done = await jumpHooks.slot(hop.label);
        try {
          return await this.slot(() => connectSsh(this.optionsFor(target, sock)));
        } finally {
          done();
        }
      },
      { perConnection: config.jumpSessions, retries: config.connectRetries, retryDelayMs: (attempt) => retryDelayMs(attempt), onConnection: jumpHooks.onConnection },
    );
  }

  /** An authenticated connection to the job's host, through its jump hosts if it has any. */
  async connect(job: HostJob, signal: AbortSignal): Promise<Client> {
    let via: JumpStream | undefined;
    if (job.jump && job.jump.length > 0) {
      for (const hop of job.jump) this.hops.set(hop.label, hop);
      via = await this.jumps.open(job.jump.map((h): JumpHop => ({ label: h.label, host: h.host, port: h.port })), job.host, job.port);
    }
    try {
      const client = await this.slot(() => connectSsh({ ...this.optionsFor(job, via?.stream), signal }));
      if (via) client.once('close', via.release);
      return client;
    } catch (err) {
      via?.release();
      throw err;
    }
  }

  close(): void {
    this.jumps.closeAll();
  }

  private optionsFor(target: HostJob | HopTarget, sock: ConnectOptions['sock']): ConnectOptions {
    const job = target as Partial<HostJob>;
    const mode = job.hostKeyMode ?? this.config.hostKeyMode;
    const knownFile = job.knownHostsPath ?? this.config.knownHostsPath;
    return {
      host: target.host,
      port: target.port,
      username: target.user,
      credentials: this.credentialsFor(target.keyPaths, target.noAgent === true),
      connectTimeoutMs: job.connectTimeoutMs ?? this.config.connectTimeoutMs,
      hostKeyMode: mode,
      knownEntries: mode === 'off' ? [] : entriesFor(this.knownHosts(knownFile), target.host, target.port),
      onNewHostKey: (line) => this.onNewHostKey(line, knownFile),
      ...(sock ? { sock } : {}),
    };
  }

  private credentialsFor(keyPaths: string[] | undefined, noAgent: boolean): Credentials {
    if (!keyPaths && !noAgent) return this.base;
    const keys = keyPaths ? keyPaths.map((p) => this.key(p)).filter((k): k is LoadedKey => k !== null) : this.base.keys;
    return { keys, ...(this.base.password !== undefined ? { password: this.base.password } : {}), ...(noAgent || !this.base.agent ? {} : { agent: this.base.agent }) };
  }

  /** ssh_config IdentityFile keys: loaded once per worker; missing or undecryptable ones are skipped, as OpenSSH does. */
  private key(file: string): LoadedKey | null {
    if (!this.keyCache.has(file)) this.keyCache.set(file, loadPrivateKeys([file], false, this.config.keyPassphrase).keys[0] ?? null);
    return this.keyCache.get(file)!;
  }

  private knownHosts(file: string): KnownHostEntry[] {
    let entries = this.knownHostsCache.get(file);
    if (!entries) {
      try {
        entries = parseKnownHosts(fs.readFileSync(file, 'utf8'));
      } catch {
        entries = [];
      }
      this.knownHostsCache.set(file, entries);
    }
    return entries;
  }
}
