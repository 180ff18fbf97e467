// ~/.ssh/config (or -F FILE): the settings OpenSSH would use for a host, computed with the
// maintained `ssh-config` parser (Host patterns with ! negation, first value wins, Match).
// Reading the file is the only I/O here; turning it into per-host settings is pure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SSHConfig from 'ssh-config';
import { UsageError } from '../errors.js';
import type { HostKeyMode } from './connect.js';
import { ioReason } from '../io-reason.js';

/** What herd takes from an ssh_config for one host; absent fields were not set there. */
export interface HostSettings {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles?: string[];
  identitiesOnly?: boolean;
  /** `ProxyJump` as written (`none` is returned as undefined). */
  proxyJump?: string;
  connectTimeoutS?: number;
  hostKeyMode?: HostKeyMode;
  /** UserKnownHostsFile, every file in order; empty for `none`. */
  userKnownHostsFiles?: string[];
  /** GlobalKnownHostsFile, every file in order; empty for `none`. */
  globalKnownHostsFiles?: string[];
  hashKnownHosts?: boolean;
}

export interface SshConfigFile {
  path: string;
  config: SSHConfig;
}

export function defaultSshConfigPath(): string {
  return path.join(os.homedir(), '.ssh', 'config');
}

/**
 * Read an ssh_config. `-F none` (OpenSSH's spelling) reads nothing; a missing default file is
 * fine; a missing or unreadable file named with -F is an error before any host is touched.
 */
export function loadSshConfig(file: string | undefined): SshConfigFile | null {
  if (file === 'none') return null;
  const chosen = file ?? defaultSshConfigPath();
  let text: string;
  try {
    text = fs.readFileSync(chosen, 'utf8');
  } catch (err) {
    if (file === undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UsageError(`-F ${chosen}: cannot read ssh config: ${ioReason(err)}`, 'E_SSH_CONFIG');
  }
  try {
    return { path: chosen, config: SSHConfig.parse(text) };
  } catch (err) {
    throw new UsageError(`${chosen}: cannot parse ssh config: ${(err as Error).message}`, 'E_SSH_CONFIG');
  }
}

/** Whether any section names an IdentityFile other than `none` (a run may then log in without -k). */
export function namesIdentityFile(file: SshConfigFile | null): boolean {
  interface Line {
    param?: string;
    value?: string | string[];
    config?: Line[];
  }
  const walk = (lines: Line[]): boolean =>
    lines.some(
      (l) =>
        (l.param?.toLowerCase() === 'identityfile' && String(l.value).toLowerCase() !== 'none') ||
        (l.config ? walk(l.config) : false),
    );
  return file !== null && walk(file.config as unknown as Line[]);
}

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
const all = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * Map OpenSSH's StrictHostKeyChecking to herd's modes (`ask` has no terminal to ask on: strict).
 * `no` becomes accept-new: a config file never turns checking off for herd, only the explicit
 * `--host-key-checking off` does, so a changed key still stops a host.
 */
function hostKeyModeOf(value: string | undefined): HostKeyMode | undefined {
  switch (value?.toLowerCase()) {
    case 'yes':
    case 'ask':
      return 'strict';
    case 'accept-new':
    case 'no':
    case 'off':
      return 'accept-new';
    default:
      return undefined;
  }
}

export interface TokenContext {
  /** The name as given in the inventory (%n). */
  alias: string;
  /** The host connected to, after HostName (%h). */
  host: string;
  /** Remote user (%r), port (%p), local user (%u), home (%d). */
  user: string;
  port: number;
  localUser: string;
  home: string;
}

/** Expand `~` and the %-tokens OpenSSH allows in IdentityFile and UserKnownHostsFile. */
export function expandTokens(value: string, t: TokenContext): string {
  const tokens: Record<string, string> = {
    '%': '%',
    h: t.host,
    n: t.alias,
    r: t.user,
    p: String(t.port),
    u: t.localUser,
    d: t.home,
  };
  const expanded = value.replace(/%(.)/g, (whole, c: string) => tokens[c] ?? whole);
  return expanded === '~' ? t.home : expanded.startsWith('~/') ? path.join(t.home, expanded.slice(2)) : expanded;
}

/** A known_hosts file list as OpenSSH takes it: several files on one line; `none` means no file. */
function fileList(
  file: SshConfigFile,
  alias: string,
  keyword: string,
  v: string | string[] | undefined,
): string[] | undefined {
  // The parser has already split the line into (unquoted) words.
  const files = all(v).filter((f) => f !== '');
  if (files.length === 0) return undefined;
  if (files.length === 1 && files[0] === 'none') return [];
  if (files.includes('none')) {
    throw new UsageError(
      `${file.path}: ${keyword} for ${alias}: "none" must appear alone, as ssh requires`,
      'E_SSH_CONFIG',
    );
  }
  return files;
}

/** The settings for `alias` (an inventory name); `user` is the login user if already known. */
export function settingsFor(file: SshConfigFile | null, alias: string, user?: string): HostSettings {
  if (!file) return {};
  // Match exec would run a local command per host; herd evaluates Host and the other Match criteria only.
  const c = file.config.compute(user ? { Host: alias, User: user } : { Host: alias }, {
    ignoreCase: true,
    matchExec: false,
  }) as Record<string, string | string[]>;
  const out: HostSettings = {};
  const hostName = first(c['hostname']);
  if (hostName) out.hostName = hostName.replace(/%h/g, alias).replace(/%%/g, '%');
  const u = first(c['user']);
  if (u) out.user = u;
  const port = first(c['port']);
  if (port !== undefined) {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 1 || n > 65535)
      throw new UsageError(
        `${file.path}: Port ${JSON.stringify(port)} for ${alias} is not a port number`,
        'E_SSH_CONFIG',
      );
    out.port = n;
  }
  const ids = all(c['identityfile']).filter((f) => f.toLowerCase() !== 'none');
  if (ids.length > 0) out.identityFiles = ids;
  if (first(c['identitiesonly'])?.toLowerCase() === 'yes') out.identitiesOnly = true;
  const jump = first(c['proxyjump']);
  if (jump && jump.toLowerCase() !== 'none') out.proxyJump = jump;
  const timeout = first(c['connecttimeout']);
  if (timeout !== undefined && Number(timeout) > 0) out.connectTimeoutS = Number(timeout);
  const mode = hostKeyModeOf(first(c['stricthostkeychecking']));
  if (mode) out.hostKeyMode = mode;
  const userFiles = fileList(file, alias, 'UserKnownHostsFile', c['userknownhostsfile']);
  if (userFiles) out.userKnownHostsFiles = userFiles;
  const globalFiles = fileList(file, alias, 'GlobalKnownHostsFile', c['globalknownhostsfile']);
  if (globalFiles) out.globalKnownHostsFiles = globalFiles;
  const hash = first(c['hashknownhosts'])?.toLowerCase();
  if (hash === 'yes' || hash === 'no') out.hashKnownHosts = hash === 'yes';
  return out;
}

/** One hop of `-J` / `ProxyJump`: `[user@]host[:port]` (IPv6 in brackets with a port). */
export interface JumpSpec {
  alias: string;
  user?: string;
  port?: number;
}

/** Parse `a,b,user@c:2222` into hops, first hop first. */
export function parseJumpList(text: string, flag = '-J'): JumpSpec[] {
  return text.split(',').map((raw) => {
    const hop = raw.trim().replace(/^ssh:\/\//, '');
    const m = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s[\]]+)(?::(\d+))?$/.exec(hop);
    if (!m)
      throw new UsageError(
        `${flag} ${JSON.stringify(text)}: expected [user@]host[:port] hops separated by commas`,
        'E_USAGE',
      );
    const port = m[3] === undefined ? undefined : Number(m[3]);
    if (port !== undefined && (port < 1 || port > 65535))
      throw new UsageError(`${flag} ${JSON.stringify(text)}: port ${port} is out of range`, 'E_USAGE');
    return {
      alias: m[2]!.replace(/^\[|\]$/g, ''),
      ...(m[1] ? { user: m[1] } : {}),
      ...(port !== undefined ? { port } : {}),
    };
  });
}
