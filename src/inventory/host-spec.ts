// One host token: `host`, `user@host`, `host:port`, `user@host:port`, `[::1]:22`, `::1`. Pure.
import { isIPv6 } from 'node:net';

export interface HostSpec {
  host: string;
  port?: number;
  user?: string;
}

export class HostSpecError extends Error {
  constructor(
    message: string,
    /** 0-based offset of the problem within the token. */
    readonly offset: number,
  ) {
    super(message);
  }
}

/** Longest DNS label and name (RFC 1035 2.3.4). */
const MAX_LABEL = 63;
const MAX_NAME = 253;
const USER_RE = /^[A-Za-z0-9._][A-Za-z0-9._-]*$/;
const HOSTNAME_RE = /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;

/** Parse one token (ranges already expanded); offsets in errors point into the token. */
export function parseHostSpec(token: string): HostSpec {
  let rest = token;
  let base = 0;
  let user: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    if (!USER_RE.test(user)) throw new HostSpecError(`bad user name ${JSON.stringify(user)}`, 0);
    rest = rest.slice(at + 1);
    base = at + 1;
  }
  let host: string;
  let portText: string | undefined;
  let portOffset = 0;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw new HostSpecError('unterminated [ in IPv6 address', base);
    host = rest.slice(1, close);
    if (!isIPv6(host)) throw new HostSpecError(`bad IPv6 address ${JSON.stringify(host)}`, base + 1);
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':'))
        throw new HostSpecError(`unexpected ${JSON.stringify(after)} after ]`, base + close + 1);
      portText = after.slice(1);
      portOffset = base + close + 2;
    }
  } else if ((rest.match(/:/g) ?? []).length >= 2) {
    host = rest;
    if (!isIPv6(host))
      throw new HostSpecError(`bad IPv6 address ${JSON.stringify(host)} (write [addr]:port to give a port)`, base);
  } else {
    const colon = rest.indexOf(':');
    host = colon >= 0 ? rest.slice(0, colon) : rest;
    if (colon >= 0) {
      portText = rest.slice(colon + 1);
      portOffset = base + colon + 1;
    }
    checkHostName(host, base);
  }
  const spec: HostSpec = { host };
  if (user !== undefined) spec.user = user;
  if (portText !== undefined) spec.port = parsePort(portText, portOffset);
  return spec;
}

function checkHostName(host: string, offset: number): void {
  if (host === '') throw new HostSpecError('missing host name', offset);
  if (/^[\d.]+$/.test(host)) {
    const parts = host.split('.');
    if (parts.length !== 4 || parts.some((p) => p === '' || Number(p) > 255 || p.length > 3)) {
      throw new HostSpecError(`bad IPv4 address ${JSON.stringify(host)}`, offset);
    }
    // The resolver (inet_aton) reads a leading zero as octal: 010.0.0.1 is 8.0.0.1, another machine.
    const padded = parts.find((p) => p.length > 1 && p.startsWith('0'));
    if (padded !== undefined) {
      const plain = parts.map((p) => String(Number(p))).join('.');
      throw new HostSpecError(
        `bad IPv4 address ${JSON.stringify(host)}: ${JSON.stringify(padded)} has a leading zero, which the resolver reads as octal; write ${plain}`,
        offset,
      );
    }
    return;
  }
  if (!HOSTNAME_RE.test(host))
    throw new HostSpecError(`bad host name ${JSON.stringify(host)}`, offset + badNameAt(host));
  // RFC 1035 limits: a resolver refuses longer names, so they can only be typos (or a range gone wrong).
  let at = 0;
  for (const label of host.split('.')) {
    if (label.length > MAX_LABEL) {
      throw new HostSpecError(
        `host name label ${JSON.stringify(label)} is ${label.length} characters long (DNS allows at most ${MAX_LABEL})`,
        offset + at,
      );
    }
    at += label.length + 1;
  }
  const length = host.endsWith('.') ? host.length - 1 : host.length;
  if (length > MAX_NAME)
    throw new HostSpecError(`host name is ${length} characters long (DNS allows at most ${MAX_NAME})`, offset);
}

/**
 * Where a name that HOSTNAME_RE refuses goes wrong: a leading `-` (ssh would read an option) is at its label's start.
 */
function badNameAt(host: string): number {
  let at = 0;
  const labels = host.split('.');
  for (const [i, label] of labels.entries()) {
    if ((label === '' && i < labels.length - 1) || label.startsWith('-')) return at;
    const c = [...label].findIndex((ch) => !/[A-Za-z0-9_-]/.test(ch));
    if (c >= 0) return at + c;
    if (label.endsWith('-')) return at + label.length - 1;
    at += label.length + 1;
  }
  return 0;
}

function parsePort(text: string, offset: number): number {
  if (!/^\d+$/.test(text)) throw new HostSpecError(`bad port ${JSON.stringify(text)}: expected 1-65535`, offset);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new HostSpecError(`port ${port} out of range 1-65535`, offset);
  return port;
}

/** The canonical text of a host spec; parsing it gives the same spec back. */
export function formatHostSpec(spec: HostSpec): string {
  const v6 = spec.host.includes(':');
  const host = v6 && spec.port !== undefined ? `[${spec.host}]` : spec.host;
  return `${spec.user !== undefined ? `${spec.user}@` : ''}${host}${spec.port !== undefined ? `:${spec.port}` : ''}`;
}
