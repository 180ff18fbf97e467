// A worker's way to reach hosts: credentials per host (ssh_config IdentityFile, IdentitiesOnly),
// known_hosts per file, handshake pacing, and shared jump-host connections.
import { connectSsh, type ConnectOptions, type Credentials } from '../transport/connect.js';
import type { HostConnection } from '../transport/connection.js';
import { sshConnection } from '../transport/ssh-connection.js';
import { JumpPool, type JumpHop, type JumpStream } from '../transport/jump.js';
import {
  entriesFor,
  KnownHostsIndex,
  parseKnownHosts,
  recordingSalt,
  type HostEntries,
  type KnownHostEntry,
} from '../transport/known-hosts.js';
import { loadPrivateKeys, readCertificateFile, withCertificateFiles, type LoadedKey } from '../transport/keys.js';
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
  private readonly certificateCache = new Map<string, Buffer | null>();
  private readonly knownHostsCache = new Map<string, KnownHostEntry[]>();
  /** One index per list of files a host checks (usually one list for the whole run). */
  private readonly knownHostsIndexes = new Map<string, KnownHostsIndex>();
  /** The salt new hashed names get, per file (see sharedSalt). */
  private readonly hashSalts = new Map<string, Buffer>();
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
      {
        perConnection: config.jumpSessions,
        retries: config.connectRetries,
        retryDelayMs: (attempt) => retryDelayMs(attempt),
        onConnection: jumpHooks.onConnection,
      },
    );
  }

  /** An authenticated connection to the job's host, through its jump hosts if it has any. */
  async connect(job: HostJob, signal: AbortSignal): Promise<HostConnection> {
    let via: JumpStream | undefined;
    if (job.jump && job.jump.length > 0) {
      for (const hop of job.jump) this.hops.set(hop.label, hop);
      via = await this.jumps.open(
        job.jump.map((h): JumpHop => ({ label: h.label, host: h.host, port: h.port })),
        job.host,
        job.port,
      );
    }
    try {
      const client = sshConnection(await this.slot(() => connectSsh({ ...this.optionsFor(job, via?.stream), signal })));
      if (via) client.onClose(via.release);
      return client;
    } catch (err) {
      via?.release();
      throw err;
    }
  }

  /** Close the shared jump-host connections (the worker is shutting down): bastions see a clean disconnect. */
  close(): void {
    this.jumps.closeAll();
  }

  /** known_hosts as the parent now has them (keys recorded by an earlier pass of the run). */
  useKnownHosts(data: WorkerConfig['knownHostsData']): void {
    this.config.knownHostsData = data;
    this.knownHostsCache.clear();
    this.knownHostsIndexes.clear();
    this.hashSalts.clear();
  }

  private optionsFor(target: HostJob | HopTarget, sock: ConnectOptions['sock']): ConnectOptions {
    const job = target as Partial<HostJob>;
    const mode = target.hostKeyMode ?? this.config.hostKeyMode;
    const known = target.knownHosts;
    return {
      host: target.host,
      port: target.port,
      username: target.user,
      credentials: this.credentialsFor(target.keyPaths, target.noAgent === true, target.certificatePaths),
      connectTimeoutMs: job.connectTimeoutMs ?? this.config.connectTimeoutMs,
      hostKeyMode: mode,
      // HostKeyAlias replaces host and port alike (sshconnect.c): no [alias]:port, no bare-name fallback.
      knownEntries:
        mode === 'off'
          ? { exact: [], bare: [] }
          : target.hostKeyAlias !== undefined
            ? this.entriesFor(known.files, target.hostKeyAlias, 22)
            : this.entriesFor(known.files, target.host, target.port),
      ...(target.hostKeyAlias !== undefined ? { hostKeyAlias: target.hostKeyAlias } : {}),
      ...(job.hostKeyAliasSharedBy !== undefined ? { hostKeyAliasSharedBy: job.hostKeyAliasSharedBy } : {}),
      ...(target.keepalive ? { keepalive: target.keepalive } : {}),
      hashKnownHosts: known.hash,
      // Only accept-new records: a salt is for new lines (with checking off the record file was never even read).
      ...(mode === 'accept-new' && known.hash && known.record !== null
        ? { hashSalt: this.sharedSalt(known.record) }
        : {}),
      // UserKnownHostsFile none: nowhere to record, so accept-new refuses new keys (as ssh does).
      ...(known.record !== null ? { onNewHostKey: (line: string) => this.onNewHostKey(line, known.record!) } : {}),
      ...(sock ? { sock } : {}),
    };
  }

  private credentialsFor(keyPaths: string[] | undefined, noAgent: boolean, certificatePaths?: string[]): Credentials {
    if (!keyPaths && !noAgent && !certificatePaths) return this.base;
    const keys = keyPaths ? keyPaths.map((p) => this.key(p)).filter((k): k is LoadedKey => k !== null) : this.base.keys;
    return {
      keys: certificatePaths
        ? withCertificateFiles(
            keys,
            certificatePaths.flatMap((f) => this.certificate(f)),
          )
        : keys,
      ...(this.base.password !== undefined ? { password: this.base.password } : {}),
      ...(noAgent || !this.base.agent ? {} : { agent: this.base.agent }),
    };
  }

  /**
   * ssh_config IdentityFile keys: loaded once per worker; missing or undecryptable ones are skipped, as OpenSSH does.
   */
  private key(file: string): LoadedKey | null {
    if (!this.keyCache.has(file))
      this.keyCache.set(file, loadPrivateKeys([file], false, this.config.keyPassphrase).keys[0] ?? null);
    return this.keyCache.get(file)!;
  }

  /** ssh_config CertificateFile: read once per worker; a missing or unusable file is skipped, as ssh skips it. */
  private certificate(file: string): Buffer[] {
    if (!this.certificateCache.has(file)) {
      const cert = readCertificateFile(file);
      this.certificateCache.set(file, cert instanceof Buffer ? cert : null);
    }
    const cert = this.certificateCache.get(file);
    return cert ? [cert] : [];
  }

  /** Entries from every file in order; the parent read them all (fail closed) before any host. */
  private entriesFor(files: string[], host: string, port: number): HostEntries {
    const id = files.join('\0');
    let index = this.knownHostsIndexes.get(id);
    if (!index) this.knownHostsIndexes.set(id, (index = new KnownHostsIndex(files.flatMap((f) => this.entriesOf(f)))));
    return entriesFor(index, host, port);
  }

  private entriesOf(file: string): KnownHostEntry[] {
    let entries = this.knownHostsCache.get(file);
    if (!entries) {
      const text = this.config.knownHostsData[file];
      // Never read as empty by accident: a file the parent did not read is a bug, not "no keys".
      if (text === undefined) throw new Error(`known_hosts file ${file} was not read before the run`);
      entries = text === null ? [] : parseKnownHosts(text, file);
      this.knownHostsCache.set(file, entries);
    }
    return entries;
  }

  /** HashKnownHosts: one salt per file for what this worker records (recordingSalt says which). */
  private sharedSalt(file: string): Buffer {
    let salt = this.hashSalts.get(file);
    if (!salt) {
      salt = recordingSalt(this.entriesOf(file));
      this.hashSalts.set(file, salt);
    }
    return salt;
  }
}
