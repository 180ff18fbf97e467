// Translate ssh2 and socket errors into herd's per-host statuses with a one-line reason.
import { HerdError, type ErrorCode } from '../errors.js';
import type { HostStatus } from '../results/status.js';

/**
 * A host that could not be reached or used: a failed connect, and also a failure on a connection
 * already made (a refused channel, a jump host's tunnel). Carries the host status it maps to.
 */
export class HostFailure extends HerdError {
  readonly status: Exclude<HostStatus, 'ok'>;
  /** A reset or close during banner or key exchange (sshd MaxStartups drops, a restarting daemon): worth a retry. */
  transient = false;
  /** The TCP connect failed (refused, unreachable, timed out; not a lookup): ssh's ConnectionAttempts retries it. */
  connectFailed = false;
  constructor(status: Exclude<HostStatus, 'ok'>, code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = status;
  }
}

const SOCKET_REASONS: Record<string, [ErrorCode, string]> = {
  ECONNREFUSED: ['E_REFUSED', 'connection refused'],
  ECONNRESET: ['E_RESET', 'connection reset by peer'],
  EHOSTUNREACH: ['E_HOST_UNREACHABLE', 'no route to host'],
  ENETUNREACH: ['E_NET_UNREACHABLE', 'network unreachable'],
  ENOTFOUND: ['E_DNS', 'host name not found'],
  EAI_AGAIN: ['E_DNS', 'host name lookup failed (temporary)'],
  ETIMEDOUT: ['E_CONNECT_TIMEOUT', 'connect timed out'],
  EPIPE: ['E_RESET', 'connection closed by peer'],
};

/** What phase the connection reached when it failed; decides the wording and status. */
export type ConnectPhase = 'tcp' | 'banner' | 'handshake' | 'auth' | 'ready';

/** Map any connection-time error to a HostFailure. */
export function classifyConnectError(err: unknown, phase: ConnectPhase): HostFailure {
  if (err instanceof HostFailure) return err;
  const e = err as NodeJS.ErrnoException & { level?: string };
  const sys = e?.code && SOCKET_REASONS[e.code];
  if (sys) {
    const where =
      phase === 'tcp'
        ? ''
        : ` during ${phase === 'banner' ? 'banner exchange' : phase === 'auth' ? 'authentication' : 'key exchange'}`;
    return new HostFailure('unreachable', sys[0], `${sys[1]}${where}`, { cause: err });
  }
  if (e?.level === 'client-authentication') {
    return new HostFailure('auth_failed', 'E_AUTH', 'authentication failed (all offered methods were rejected)', {
      cause: err,
    });
  }
  if (e?.level === 'client-timeout') {
    return new HostFailure('unreachable', 'E_CONNECT_TIMEOUT', `timed out during ${phase}`, { cause: err });
  }
  if (e?.level === 'client-dns') {
    return new HostFailure('unreachable', 'E_DNS', 'host name not found', { cause: err });
  }
  const message = e instanceof Error ? e.message : String(err);
  // ssh2's word for a server that closed before its banner or key exchange: what sshd does to a
  // connection beyond MaxStartups. A close, hence worth a retry, not a failed key exchange.
  if (message === 'Connection lost before handshake') {
    return new HostFailure('unreachable', 'E_CLOSED', 'connection closed by the server before the SSH handshake', {
      cause: err,
    });
  }
  if (/handshake|kex|key exchange|no matching/i.test(message)) {
    return new HostFailure('unreachable', 'E_HANDSHAKE', `SSH handshake failed: ${message}`, { cause: err });
  }
  return new HostFailure('unreachable', 'E_CONNECT', `connection failed during ${phase}: ${message}`, { cause: err });
}
