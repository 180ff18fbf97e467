// ~/.ssh/config and /etc/ssh/ssh_config (or -F FILE): the settings OpenSSH would use for a host,
// computed by herd's own reader of OpenSSH's rules (ssh-config-read.ts). Reading files is the only
// I/O here; turning them into per-host settings is pure.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { HostKeyMode } from './connect.js';
import { ioReason } from '../io-reason.js';
import { asciiLower } from './known-hosts.js';
import {
  anyIdentityFile,
  parseConfigFile,
  resolveHost,
  type ConfigSource,
  type ParsedConfig,
  type Setting,
} from './ssh-config-read.js';

/** What herd takes from an ssh_config for one host; absent fields were not set there. */
export interface HostSettings {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles?: string[];
  /** CertificateFile, every file in order (before ~ and %-token expansion, as identityFiles). */
  certificateFiles?: string[];
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
  /** HostKeyAlias, lower-cased as ssh does: the known_hosts name and certificate principal instead of the host's. */
  hostKeyAlias?: string;
  /** ServerAliveInterval in seconds (0 = off) and ServerAliveCountMax, when the file sets them. */
  serverAliveIntervalS?: number;
  serverAliveCountMax?: number;
  /** ConnectionAttempts: tries in all (1 or more). */
  connectionAttempts?: number;
}

export interface SshConfigFile {
  /** The file named in messages: -F FILE, else ~/.ssh/config (or the system file when alone). */
  path: string;
  config: ParsedConfig;
}

export function defaultSshConfigPath(): string {
  return path.join(os.homedir(), '.ssh', 'config');
}

/** OpenSSH's system-wide client configuration, read after the user's file unless -F is given. */
export const SYSTEM_SSH_CONFIG = '/etc/ssh/ssh_config';

function diskSource(home: string): ConfigSource {
  return {
    home,
    readFile: (f) => {
      try {
        return fs.readFileSync(f, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new UsageError(`${f}: cannot read ssh config: ${ioReason(err)}`, 'E_SSH_CONFIG');
      }
    },
    permissionProblem: (f) => {
      const st = fs.statSync(f);
      const ownerOk = st.uid === 0 || st.uid === process.getuid?.();
      return ownerOk && (st.mode & 0o022) === 0 ? null : `bad owner or permissions on ${f} (ssh refuses it too)`;
    },
    readDir: (d) => {
      try {
        return fs.readdirSync(d);
      } catch {
        return null;
      }
    },
  };
}

/** Parse config text as if read from `file` (a user file); for tests and callers holding the text. */
export function parseSshConfigText(file: string, text: string, home = os.homedir()): SshConfigFile {
  return { path: file, config: { files: [parseConfigFile(file, text, diskSource(home), true)] } };
}

/**
 * Read ssh_config as ssh does. `-F none` reads nothing; -F FILE reads only FILE (a missing or
 * unreadable one is an error before any host is touched); otherwise ~/.ssh/config then the
 * system file, either may be missing. `systemPath` stands in for /etc/ssh/ssh_config (`none`: no system file).
 */
export function loadSshConfig(
  file: string | undefined,
  opts: { systemPath?: string; home?: string } = {},
): SshConfigFile | null {
  if (file === 'none') return null;
  const home = opts.home ?? os.homedir();
  const src = diskSource(home);
  if (file !== undefined) {
    let text: string | null;
    try {
      text = src.readFile(file);
    } catch (err) {
      throw new UsageError(`-F ${file}: ${(err as Error).message}`, 'E_SSH_CONFIG');
    }
    if (text === null) throw new UsageError(`-F ${file}: cannot read ssh config: no such file`, 'E_SSH_CONFIG');
    return { path: file, config: { files: [parseConfigFile(file, text, src, true)] } };
  }
  const userPath = opts.home ? path.join(home, '.ssh', 'config') : defaultSshConfigPath();
  const systemPath = opts.systemPath ?? SYSTEM_SSH_CONFIG;
  const files = [];
  const userText = src.readFile(userPath);
  if (userText !== null) {
    const bad = src.permissionProblem?.(userPath);
    if (bad) throw new UsageError(`${userPath}: ${bad}`, 'E_SSH_CONFIG');
    files.push(parseConfigFile(userPath, userText, src, true));
  }
  const systemText = systemPath === 'none' ? null : src.readFile(systemPath);
  if (systemText !== null) files.push(parseConfigFile(systemPath, systemText, src, false));
  if (files.length === 0) return null;
  return { path: files[0]!.path, config: { files } };
}

/** Whether any section names an IdentityFile other than `none` (a run may then log in without -k). */
export function namesIdentityFile(file: SshConfigFile | null): boolean {
  return file !== null && anyIdentityFile(file.config);
}

const at = (s: Setting): string => (s.line > 0 ? `${s.file}:${s.line}` : s.file);

/**
 * Map OpenSSH's StrictHostKeyChecking to herd's modes (`ask` has no terminal to ask on: strict).
 * `no` becomes accept-new: a config file never turns checking off for herd, only the explicit
 * `--host-key-checking off` does, so a changed key still stops a host.
 */
function hostKeyModeOf(value: string | undefined): HostKeyMode | undefined {
  switch (value?.toLowerCase()) {
    case 'yes':
    case 'true':
    case 'ask':
      return 'strict';
    case 'accept-new':
    case 'no':
    case 'false':
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
  /** This machine's name (%l, %L) and uid (%i); the running process's when absent. */
  localHost?: string;
  uid?: number;
}

/**
 * Expand as ssh does for IdentityFile and UserKnownHostsFile: `~` first, then `${VAR}` from the
 * environment and the %-tokens of DEFAULT_CLIENT_PERCENT_EXPAND_ARGS (OpenSSH 9.2) in one pass.
 * An unknown %-token is left as written; an unset variable is an error, as in ssh.
 */
export function expandTokens(value: string, t: TokenContext, env: NodeJS.ProcessEnv = process.env): string {
  const tilde = value === '~' ? t.home : value.startsWith('~/') ? path.join(t.home, value.slice(2)) : value;
  const thisHost = t.localHost ?? os.hostname();
  const tokens: Record<string, () => string> = {
    '%': () => '%',
    h: () => t.host,
    n: () => t.alias,
    k: () => t.alias,
    r: () => t.user,
    p: () => String(t.port),
    u: () => t.localUser,
    d: () => t.home,
    i: () => String(t.uid ?? process.getuid?.() ?? ''),
    l: () => thisHost,
    L: () => thisHost.split('.')[0]!,
    C: () => createHash('sha1').update(`${thisHost}${t.host}${t.port}${t.user}`).digest('hex'),
  };
  return tilde.replace(/\$\{([^}]*)\}|%(.)/g, (whole, name: string | undefined, c: string | undefined) => {
    if (name === undefined) return tokens[c!]?.() ?? whole;
    const v = env[name];
    if (name === '' || v === undefined) {
      throw new UsageError(`${JSON.stringify(value)}: environment variable \${${name}} has no value`, 'E_SSH_CONFIG');
    }
    return v;
  });
}

/** A known_hosts file list as OpenSSH takes it: several files on one line; `none` means no file. */
function fileList(s: Setting | undefined, alias: string, keyword: string): string[] | undefined {
  if (!s) return undefined;
  const files = s.args.filter((f) => f !== '');
  if (files.length === 0) return undefined;
  if (files.length === 1 && files[0] === 'none') return [];
  if (files.includes('none')) {
    throw new UsageError(
      `${at(s)}: ${keyword} for ${alias}: "none" must appear alone, as ssh requires`,
      'E_SSH_CONFIG',
    );
  }
  return files;
}

/** The option a host may not be reached with: herd cannot honour it and ignoring it lands elsewhere or trusts less. */
function refusal(opts: Map<string, Setting>): [string, Setting] | null {
  const value = (k: string) => opts.get(k)?.args[0]?.toLowerCase();
  const setBut = (k: string, ...fine: string[]) => value(k) !== undefined && !fine.includes(value(k)!);
  const checks: [string, string, boolean][] = [
    ['proxycommand', 'ProxyCommand', value('proxycommand') !== undefined && value('proxycommand') !== 'none'],
    [
      'knownhostscommand',
      'KnownHostsCommand',
      value('knownhostscommand') !== undefined && value('knownhostscommand') !== 'none',
    ],
    [
      'revokedhostkeys',
      'RevokedHostKeys',
      value('revokedhostkeys') !== undefined && value('revokedhostkeys') !== 'none',
    ],
    ['identityagent', 'IdentityAgent', setBut('identityagent', 'none', 'ssh_auth_sock')],
    ['canonicalizehostname', 'CanonicalizeHostname', setBut('canonicalizehostname', 'no', 'false')],
  ];
  const hit = checks.find(([, , bad]) => bad);
  return hit ? [hit[1], opts.get(hit[0])!] : null;
}

const ONE_OF = (s: Setting, keyword: string, allowed: string[]): string => {
  const v = s.args[0]!.toLowerCase();
  if (!allowed.includes(v)) {
    throw new UsageError(
      `${at(s)}: ${keyword} ${JSON.stringify(s.args[0])}: expected ${allowed.join('|')}`,
      'E_SSH_CONFIG',
    );
  }
  return v;
};

/**
 * The settings for `alias` (an inventory name); `user` is the login user if already known
 * (Match user sees it, as it sees `ssh -l`). A host an unsupported option applies to is refused.
 */
export function settingsFor(
  file: SshConfigFile | null,
  alias: string,
  user?: string,
  localUser = os.userInfo().username,
): HostSettings {
  if (!file) return {};
  const r = resolveHost(file.config, { alias, ...(user !== undefined ? { user } : {}), localUser });
  const o = r.options;
  const refused = refusal(o);
  if (refused) {
    throw new UsageError(
      `${at(refused[1])}: ${refused[0]} applies to ${alias}, and herd does not support it (refused rather than ignored: ` +
        'ssh would reach or trust this host differently)',
      'E_SSH_CONFIG',
    );
  }
  const out: HostSettings = {};
  if (o.has('hostname') || r.hostName !== alias) out.hostName = r.hostName;
  const u = o.get('user');
  if (u) out.user = u.args[0]!;
  const port = o.get('port');
  if (port) {
    const text = port.args[0]!;
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > 65535) {
      throw new UsageError(
        `${at(port)}: Port ${JSON.stringify(text)} for ${alias} is not a port number`,
        'E_SSH_CONFIG',
      );
    }
    out.port = n;
  }
  const ids = r.identityFiles.map((s) => s.args[0]!).filter((f) => f.toLowerCase() !== 'none');
  if (ids.length > 0) out.identityFiles = ids;
  const certs = r.certificateFiles.map((s) => s.args[0]!).filter((f) => f.toLowerCase() !== 'none');
  if (certs.length > 0) out.certificateFiles = certs;
  const only = o.get('identitiesonly');
  if (only && ONE_OF(only, 'IdentitiesOnly', ['yes', 'no', 'true', 'false']).match(/^(yes|true)$/))
    out.identitiesOnly = true;
  const jump = o.get('proxyjump');
  if (jump && jump.args[0]!.toLowerCase() !== 'none') out.proxyJump = jump.args[0]!;
  const timeout = o.get('connecttimeout');
  if (timeout && timeout.args[0] !== 'none') {
    const secs = convtime(timeout.args[0]!);
    if (secs === null) {
      throw new UsageError(
        `${at(timeout)}: ConnectTimeout ${JSON.stringify(timeout.args[0])}: invalid time value`,
        'E_SSH_CONFIG',
      );
    }
    if (secs > 0) out.connectTimeoutS = secs;
  }
  const strict = o.get('stricthostkeychecking');
  if (strict) {
    const states = ['yes', 'no', 'true', 'false', 'ask', 'off', 'accept-new'];
    const mode = hostKeyModeOf(ONE_OF(strict, 'StrictHostKeyChecking', states));
    if (mode) out.hostKeyMode = mode;
  }
  const userFiles = fileList(o.get('userknownhostsfile'), alias, 'UserKnownHostsFile');
  if (userFiles) out.userKnownHostsFiles = userFiles;
  const globalFiles = fileList(o.get('globalknownhostsfile'), alias, 'GlobalKnownHostsFile');
  if (globalFiles) out.globalKnownHostsFiles = globalFiles;
  // Taken literally, as ssh does (no %-tokens; `none` is a name like any other).
  const keyAlias = o.get('hostkeyalias');
  if (keyAlias) out.hostKeyAlias = asciiLower(keyAlias.args[0]!);
  const alive = o.get('serveraliveinterval');
  if (alive) {
    const secs = convtime(alive.args[0]!);
    if (secs === null) {
      throw new UsageError(
        `${at(alive)}: ServerAliveInterval ${JSON.stringify(alive.args[0])}: invalid time value`,
        'E_SSH_CONFIG',
      );
    }
    out.serverAliveIntervalS = secs;
  }
  const aliveCount = o.get('serveralivecountmax');
  if (aliveCount) out.serverAliveCountMax = count(aliveCount, 'ServerAliveCountMax');
  const attempts = o.get('connectionattempts');
  if (attempts) {
    const n = count(attempts, 'ConnectionAttempts');
    // readconf.c: "connection attempts must be greater than zero"; herd's --connect-retries stops at 20.
    if (n < 1 || n > 21) {
      throw new UsageError(
        `${at(attempts)}: ConnectionAttempts ${n} for ${alias}: expected 1 to 21 (--connect-retries allows 20 retries)`,
        'E_SSH_CONFIG',
      );
    }
    out.connectionAttempts = n;
  }
  const hash = o.get('hashknownhosts');
  if (hash)
    out.hashKnownHosts = ['yes', 'true'].includes(ONE_OF(hash, 'HashKnownHosts', ['yes', 'no', 'true', 'false']));
  return out;
}

/** readconf.c parse_int: a decimal count; ssh refuses anything else. */
function count(s: Setting, keyword: string): number {
  const text = s.args[0]!;
  if (!/^\d{1,9}$/.test(text)) {
    throw new UsageError(`${at(s)}: ${keyword} ${JSON.stringify(text)}: expected a whole number`, 'E_SSH_CONFIG');
  }
  return Number(text);
}

/** misc.c convtime(): `90`, `1m30s`, `2h`...; null when ssh would refuse it. */
function convtime(text: string): number | null {
  const mult: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  if (!/^(\d+[smhdwSMHDW]?)+$/.test(text)) return null;
  let total = 0;
  for (const m of text.matchAll(/(\d+)([smhdwSMHDW]?)/g)) total += Number(m[1]) * mult[m[2]!.toLowerCase()]!;
  return total;
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
