// Open one authenticated SSH connection with a single deadline covering TCP, banner, key exchange and auth.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { AnyAuthMethod, Client } from 'ssh2';
import ssh2 from './ssh2.js';
import { KEEPALIVE_COUNT_MAX, KEEPALIVE_INTERVAL_MS } from '../defaults.js';
import type { LoadedKey } from './keys.js';
import { HostFailure, classifyConnectError, type ConnectPhase } from './failure.js';
import { hostKeyChangedReason } from './hostkey-reason.js';
import { isCertificateType, verifyHostCertificate } from './host-cert.js';
import {
  asciiLower,
  formatKnownHostsLine,
  knownHostsName,
  keyTypeOfBlob,
  knownKeyTypes,
  preferredHostKeyAlgorithms,
  verifyHostKey,
  type HostEntries,
} from './known-hosts.js';
import { CERT_HOST_KEY_ALGORITHMS, extendClient, withUserCertificate } from './ssh2-certs.js';
import { shareOffer, unpoolLongLived } from './ssh2-memory.js';

export type HostKeyMode = 'accept-new' | 'strict' | 'off';

export interface Keepalive {
  intervalMs: number;
  countMax: number;
}

export interface Credentials {
  keys: LoadedKey[];
  password?: string;
  /** ssh-agent socket path. */
  agent?: string;
}

export interface ConnectOptions {
  host: string;
  port: number;
  username: string;
  credentials: Credentials;
  connectTimeoutMs: number;
  hostKeyMode: HostKeyMode;
  /** known_hosts entries that apply to this host and port (from every file read). */
  knownEntries: HostEntries;
  /** ssh_config ServerAliveInterval (ms, 0 = off) and ServerAliveCountMax; herd's own keepalive when absent. */
  keepalive?: Keepalive;
  /** ssh_config HostKeyAlias: the known_hosts name (undecorated by the port) and the certificate principal. */
  hostKeyAlias?: string;
  /** Hosts of the run sharing hostKeyAlias (more than one): accept-new refuses a key the alias has not pinned yet. */
  hostKeyAliasSharedBy?: number;
  /** HashKnownHosts: record a new key under a hashed name. */
  hashKnownHosts?: boolean;
  /** The salt hashed names are recorded with (one per file, see connector.ts); absent: a fresh one each. */
  hashSalt?: Buffer;
  /**
   * Called with a known_hosts line when accept-new trusts a key seen for the first time; without it accept-new
   * refuses.
   */
  onNewHostKey?: (line: string) => void;
  /** Aborting gives up the attempt at once (Ctrl-C twice, --deadline). */
  signal?: AbortSignal;
  /** An already open byte stream to the host (a channel through a jump host) instead of a TCP connect. */
  sock?: Duplex;
}

const DEFAULT_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** Every TCP connection to a host this process opened and has not closed (see releaseConnections). */
const openSockets = new Set<net.Socket>();

function tracked(socket: net.Socket): net.Socket {
  openSockets.add(socket);
  socket.once('close', () => openSockets.delete(socket));
  return socket;
}

/**
 * For a worker in herd's own process (engine/in-process-worker.ts), which cannot leave by exiting as a worker process
 * does. 'destroy': every connection open now is cut (it failed, or was killed: nothing of it may act again).
 * 'release' (after shutdown, each connection's disconnect sent and its end written): each is cut as soon as that is
 * out, not when the host closes its side, which a host may never do (ssh2's keepalive timer would hold herd until
 * then); one still open keeps herd alive no more; the function returned cuts those same ones, for when time is up.
 */
export function releaseConnections(how: 'release' | 'destroy'): () => void {
  const sockets = [...openSockets];
  for (const socket of sockets) {
    if (how === 'destroy') socket.destroy();
    else {
      socket.unref();
      if (socket.writableFinished) socket.destroy();
      else socket.once('finish', () => socket.destroy());
    }
  }
  return () => sockets.forEach((socket) => socket.destroy());
}

/** Connect and authenticate, or throw a HostFailure saying exactly why. */
export function connectSsh(options: ConnectOptions): Promise<Client> {
  return new Promise<Client>((resolve, reject) => {
    const client = new ssh2.Client();
    let phase: ConnectPhase = 'tcp';
    let settled = false;
    let hostKeyProblem: HostFailure | null = null;
    let newHostKeyLine: string | null = null;

    const settle = (err: unknown | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err === null) {
        options.signal?.removeEventListener('abort', onAbort);
        if (newHostKeyLine && options.onNewHostKey) options.onNewHostKey(newHostKeyLine);
        queueMicrotask(() => unpoolLongLived(client));
        resolve(client);
        return;
      }
      socket.destroy();
      client.end();
      options.signal?.removeEventListener('abort', onAbort);
      const failure = hostKeyProblem ?? classifyConnectError(err, phase);
      failure.transient =
        hostKeyProblem === null &&
        (phase === 'banner' || phase === 'handshake') &&
        (failure.code === 'E_RESET' || failure.code === 'E_CLOSED');
      failure.connectFailed =
        hostKeyProblem === null && phase === 'tcp' && failure.code !== 'E_DNS' && failure.code !== 'E_NOT_STARTED';
      reject(failure);
    };
    const onAbort = (): void =>
      settle(
        new HostFailure(
          'not_started',
          'E_NOT_STARTED',
          `gave up connecting: ${options.signal?.reason === 'deadline' ? "the run's --deadline was reached" : 'the run was interrupted'}`,
        ),
      );
    if (options.signal?.aborted) {
      queueMicrotask(onAbort);
    } else options.signal?.addEventListener('abort', onAbort, { once: true });

    const timer = setTimeout(() => {
      const what: Record<ConnectPhase, string> = {
        tcp: 'TCP connect',
        banner: 'the SSH banner',
        handshake: 'key exchange',
        auth: 'authentication',
        ready: 'session start',
      };
      const seconds = options.connectTimeoutMs / 1000;
      settle(
        new HostFailure('unreachable', 'E_CONNECT_TIMEOUT', `timed out after ${seconds}s waiting for ${what[phase]}`),
      );
    }, options.connectTimeoutMs);

    // Error, close and end listeners go on before connect(): an unhandled 'error' would kill the worker.
    // First of all: ssh2's "Keepalive timeout" becomes a reason naming the settings (exec.ts reports it).
    const keepalive = options.keepalive ?? { intervalMs: KEEPALIVE_INTERVAL_MS, countMax: KEEPALIVE_COUNT_MAX };
    client.on('error', (err: Error & { level?: string }) => {
      if (err.level === 'client-timeout') err.message = keepaliveReason(keepalive, options.keepalive !== undefined);
    });
    client.on('error', (err) => settle(err));
    // Every connection closes at its end, long after it settled: the error (a stack trace) only when it means one.
    const closed = (): void => {
      if (!settled) settle(new HostFailure('unreachable', 'E_CLOSED', `connection closed during ${phase}`));
    };
    client.on('close', closed);
    client.on('end', closed);
    client.on('handshake', () => {
      phase = 'auth';
    });
    client.on('ready', () => {
      phase = 'ready';
      settle(null);
    });

    const socket: Duplex =
      options.sock ?? coalesceWrites(tracked(net.connect({ host: options.host, port: options.port })));
    socket.on('error', (err) => settle(err));
    const start = (): void => {
      phase = 'banner';
      socket.once('data', () => {
        if (phase === 'banner') phase = 'handshake';
      });
      const serverHostKey = hostKeyAlgorithms(options);
      client.connect({
        sock: socket,
        host: options.host,
        port: options.port,
        username: options.username,
        readyTimeout: options.connectTimeoutMs,
        keepaliveInterval: keepalive.intervalMs,
        keepaliveCountMax: keepalive.countMax,
        algorithms: { serverHostKey: serverHostKey as never },
        authHandler: buildAuthMethods(options.username, options.credentials) as never,
        hostVerifier: (key: Buffer) => {
          const verdict = checkHostKey(options, key);
          if (verdict instanceof HostFailure) {
            hostKeyProblem = verdict;
            return false;
          }
          newHostKeyLine = verdict;
          return true;
        },
      });
      extendClient(client, {
        hostCertificates: serverHostKey.some((alg) => Object.hasOwn(CERT_HOST_KEY_ALGORITHMS, alg)),
        userCertificates: options.credentials.keys.some((k) => k.certificate !== undefined),
      });
      shareOffer(client);
    };
    if (options.sock) start();
    else {
      (socket as net.Socket).setNoDelay(true);
      socket.once('connect', start);
    }
  });
}

/**
 * Known key types first; with a @cert-authority line for the host, every certificate algorithm before them, as
 * OpenSSH orders them (sshconnect2.c order_hostkeyalgs). Without one, no certificate is asked for.
 */
function hostKeyAlgorithms(options: ConnectOptions): string[] {
  const plain = preferredHostKeyAlgorithms(knownKeyTypes(options.knownEntries), DEFAULT_HOST_KEY_ALGORITHMS);
  const entries = [...options.knownEntries.exact, ...options.knownEntries.bare];
  if (options.hostKeyMode === 'off' || !entries.some((e) => e.marker === 'cert-authority')) return plain;
  return [...Object.keys(CERT_HOST_KEY_ALGORITHMS), ...plain];
}

/** Returns a new known_hosts line to record (or null), or the failure that must stop this host. */
function checkHostKey(options: ConnectOptions, key: Buffer): string | null | HostFailure {
  if (options.hostKeyMode === 'off') return null;
  if (isCertificateType(keyTypeOfBlob(key))) return checkHostCertificate(options, key);
  return checkPlainHostKey(options, key);
}

/**
 * sshconnect.c check_host_key for a certificate: valid under a @cert-authority line for the host, or else judged as
 * the plain key it certifies, which must then be pinned: accept-new never records a key whose certificate failed.
 */
function checkHostCertificate(options: ConnectOptions, cert: Buffer): null | HostFailure {
  const verdict = verifyHostCertificate(options.knownEntries, cert, asciiLower(options.hostKeyAlias ?? options.host));
  switch (verdict.kind) {
    case 'valid':
      return null;
    case 'revoked':
      return new HostFailure(
        'hostkey_mismatch',
        'E_HOSTKEY_REVOKED',
        `host certificate refused: its ${verdict.what} is marked @revoked in known_hosts (${verdict.where})`,
      );
    case 'invalid': {
      if (verdict.publicKey) {
        const plain = checkPlainHostKey({ ...options, hostKeyMode: 'strict' }, verdict.publicKey);
        // Pinned, changed or revoked as a plain key: that verdict stands; unknown: the certificate's failure does.
        if (plain === null) return null;
        if (plain instanceof HostFailure && (plain.code === 'E_HOSTKEY_MISMATCH' || plain.code === 'E_HOSTKEY_REVOKED'))
          return plain;
      }
      return new HostFailure('hostkey_unknown', 'E_HOSTKEY_CERT', `${verdict.why}; nothing was recorded`);
    }
    default:
      return verdict satisfies never;
  }
}

function checkPlainHostKey(options: ConnectOptions, key: Buffer): string | null | HostFailure {
  const verdict = verifyHostKey(options.knownEntries, key);
  switch (verdict.kind) {
    case 'match':
      return null;
    case 'revoked':
      return new HostFailure(
        'hostkey_mismatch',
        'E_HOSTKEY_REVOKED',
        `host key ${keyTypeOfBlob(key)} is marked @revoked in known_hosts (${verdict.where})`,
      );
    case 'mismatch':
      return new HostFailure(
        'hostkey_mismatch',
        'E_HOSTKEY_MISMATCH',
        hostKeyChangedReason({
          offeredType: keyTypeOfBlob(key),
          offered: key,
          pinnedType: verdict.pinned.keyType,
          pinned: verdict.pinned.key,
          file: verdict.pinned.file,
          line: verdict.pinned.line,
          name: knownHostsName(...keyName(options)),
        }),
      );
    case 'cert-authority':
      // Pinning the plain key would bypass the CA the user set up (ssh's accept-new would record it).
      return new HostFailure(
        'hostkey_unknown',
        'E_HOSTKEY_CERT',
        `host presented a plain ${keyTypeOfBlob(key)} key, not a certificate, and is trusted only through ` +
          `@cert-authority (${verdict.where}); herd neither trusts nor records it`,
      );
    case 'unknown':
      if (options.hostKeyMode === 'strict') {
        return new HostFailure(
          'hostkey_unknown',
          'E_HOSTKEY_UNKNOWN',
          `host key ${keyTypeOfBlob(key)} is not in known_hosts and strict checking is on`,
        );
      }
      if (options.hostKeyAlias !== undefined && (options.hostKeyAliasSharedBy ?? 0) > 1) {
        // ssh's first contact is one host at a time; in parallel, the first key to arrive would be pinned for all.
        return new HostFailure(
          'hostkey_unknown',
          'E_HOSTKEY_UNKNOWN',
          `host key ${keyTypeOfBlob(key)} is not in known_hosts under HostKeyAlias ${options.hostKeyAlias}, which ` +
            `${options.hostKeyAliasSharedBy} hosts of this run share: accept-new would pin whichever key came first ` +
            `for all of them; pin it first (run one of them alone, e.g. -l HOST) or use strict checking`,
        );
      }
      if (!options.onNewHostKey) {
        // As ssh: accept-new trusts a key only by recording it, and UserKnownHostsFile none leaves nowhere to.
        const why = 'is not in known_hosts and UserKnownHostsFile is none, so accept-new has nowhere to record it';
        return new HostFailure('hostkey_unknown', 'E_HOSTKEY_UNKNOWN', `host key ${keyTypeOfBlob(key)} ${why}`);
      }
      return formatKnownHostsLine(
        ...keyName(options),
        key,
        options.hashKnownHosts === true && (options.hashSalt ?? true),
      );
    default:
      return verdict satisfies never;
  }
}

/** ssh2 gives up after countMax pings unanswered, one interval after the last: (countMax + 1) intervals of silence. */
function keepaliveReason(k: Keepalive, fromConfig: boolean): string {
  const s = k.intervalMs / 1000;
  const settings = fromConfig
    ? `ServerAliveInterval ${s}, ServerAliveCountMax ${k.countMax}`
    : `herd's default keepalive, ${s}s x ${k.countMax}`;
  return `no answer to keepalives for ${s * (k.countMax + 1)}s (${settings})`;
}

/** The name and port a host's key is filed under: HostKeyAlias alone when set, as ssh writes it. */
function keyName(options: ConnectOptions): [string, number] {
  return options.hostKeyAlias !== undefined ? [options.hostKeyAlias, 22] : [options.host, options.port];
}

/** Offer methods in OpenSSH's order: agent, key files, then password. */
function buildAuthMethods(username: string, creds: Credentials): AnyAuthMethod[] {
  const methods: AnyAuthMethod[] = [];
  if (creds.agent) methods.push({ type: 'agent' as const, username, agent: creds.agent });
  for (const k of creds.keys) {
    // As ssh: the certificate beside the key first, then the key alone.
    if (k.certificate)
      methods.push({ type: 'publickey' as const, username, key: withUserCertificate(k.key, k.certificate) });
    methods.push({ type: 'publickey' as const, username, key: k.key });
  }
  if (creds.password !== undefined) methods.push({ type: 'password' as const, username, password: creds.password });
  if (methods.length === 0) methods.push({ type: 'none' as const, username });
  return methods;
}

/**
 * ssh2 writes every SSH packet to the socket on its own, one syscall each; an SFTP transfer of a
 * many-file tree makes tens of thousands. Corking until the end of the current tick sends all
 * packets produced in one go with a single writev (measured: ~1.9 s of 10.7 s worker CPU was
 * socket writes when pulling 1,000 files from 20 hosts).
 */
export function coalesceWrites(socket: net.Socket): net.Socket {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let corked = false;
  socket.write = ((...args: unknown[]) => {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    return write(...args);
  }) as typeof socket.write;
  return socket;
}
