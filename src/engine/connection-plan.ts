// Who to connect to, as whom, with which keys and through which jump hosts, for every selected
// host: the inventory, then the command line, then ssh_config, then defaults (first one set wins,
// as in OpenSSH where the command line overrides the file). Pure: the ssh_config is read elsewhere.
import { randomBytes } from 'node:crypto';
import type { Target } from '../inventory/types.js';
import {
  DEFAULT_GLOBAL_KNOWN_HOSTS_FILES,
  DEFAULT_PORT,
  KEEPALIVE_INTERVAL_MS,
  defaultUserKnownHostsFiles,
} from '../defaults.js';
import type { HostKeyMode, Keepalive } from '../transport/connect.js';
import {
  expandTokens,
  parseJumpList,
  settingsFor,
  type HostSettings,
  type JumpSpec,
  type SshConfigFile,
  type TokenContext,
} from '../transport/ssh-config.js';
import type { HopTarget, HostJob, KnownHostsSpec } from './protocol.js';

export interface ConnectionDefaults {
  /** -u / -p as given on the command line; null when not given. */
  cliUser: string | null;
  cliPort: number | null;
  /** -k keys when given (they then apply to every host). */
  cliKeys: string[] | null;
  /** Command-line values that override ssh_config; null when not given. */
  cliConnectTimeoutS: number | null;
  /** --connect-retries when given: it then overrides ssh_config ConnectionAttempts. */
  cliConnectRetries?: number | null;
  cliHostKeyMode: HostKeyMode | null;
  /** --known-hosts FILE: the only user known_hosts file (as `ssh -o UserKnownHostsFile=FILE`). */
  cliKnownHostsPath: string | null;
  /** -J hops; null when not given (ProxyJump from ssh_config then applies). */
  cliJump: JumpSpec[] | null;
  localUser: string;
  home: string;
  sshConfig: SshConfigFile | null;
}

/** Connection settings for one name (a target or a jump hop) after ssh_config. */
function resolveEndpoint(
  alias: string,
  explicitUser: string | undefined,
  explicitPort: number | undefined,
  d: ConnectionDefaults,
  isTarget: boolean,
) {
  const s = settingsFor(d.sshConfig, alias, explicitUser ?? d.cliUser ?? undefined, d.localUser);
  const host = s.hostName ?? alias;
  // -u and -p apply to the targets; a jump host takes its user and port from its own spec or ssh_config.
  const user = explicitUser ?? (isTarget ? d.cliUser : null) ?? s.user ?? d.localUser;
  const port = explicitPort ?? (isTarget ? d.cliPort : null) ?? s.port ?? DEFAULT_PORT;
  const tokens = { alias, host, user, port, localUser: d.localUser, home: d.home };
  const keyPaths = d.cliKeys ?? (s.identityFiles ? s.identityFiles.map((f) => expandTokens(f, tokens)) : undefined);
  const certificatePaths = s.certificateFiles?.map((f) => expandTokens(f, tokens));
  return { settings: s, host, user, port, keyPaths, certificatePaths, tokens, knownHosts: knownHostsFor(s, tokens, d) };
}

/** The user files, then the global files, as OpenSSH reads them; new keys go to the first user file. */
function knownHostsFor(s: HostSettings, tokens: TokenContext, d: ConnectionDefaults): KnownHostsSpec {
  const user =
    d.cliKnownHostsPath !== null
      ? [d.cliKnownHostsPath]
      : (s.userKnownHostsFiles ?? defaultUserKnownHostsFiles(d.home)).map((f) => expandTokens(f, tokens));
  // OpenSSH expands ~ and %-tokens in UserKnownHostsFile only; GlobalKnownHostsFile is taken literally.
  const global = s.globalKnownHostsFiles ?? DEFAULT_GLOBAL_KNOWN_HOSTS_FILES;
  return { files: [...user, ...global], record: user[0] ?? null, hash: s.hashKnownHosts ?? false };
}

/**
 * ServerAliveInterval (0 = off) with ServerAliveCountMax (ssh's default 3); a count alone applies to herd's own
 * interval; neither: herd's own keepalive (defaults.ts), which stays on where ssh's is off by default.
 */
function keepaliveOf(s: HostSettings): { keepalive?: Keepalive } {
  if (s.serverAliveIntervalS !== undefined) {
    return { keepalive: { intervalMs: s.serverAliveIntervalS * 1000, countMax: s.serverAliveCountMax ?? 3 } };
  }
  if (s.serverAliveCountMax !== undefined)
    return { keepalive: { intervalMs: KEEPALIVE_INTERVAL_MS, countMax: s.serverAliveCountMax } };
  return {};
}

function planHops(hops: JumpSpec[], d: ConnectionDefaults): HopTarget[] {
  return hops.map((hop) => {
    const e = resolveEndpoint(hop.alias, hop.user, hop.port, d, false);
    const hostKeyMode = d.cliHostKeyMode ?? e.settings.hostKeyMode;
    return {
      label: `${e.user}@${e.host}:${e.port}`,
      host: e.host,
      port: e.port,
      user: e.user,
      ...(e.keyPaths ? { keyPaths: e.keyPaths } : {}),
      ...(e.certificatePaths ? { certificatePaths: e.certificatePaths } : {}),
      ...(e.settings.identitiesOnly ? { noAgent: true } : {}),
      ...(hostKeyMode ? { hostKeyMode } : {}),
      knownHosts: e.knownHosts,
      ...(e.settings.hostKeyAlias !== undefined ? { hostKeyAlias: e.settings.hostKeyAlias } : {}),
      ...keepaliveOf(e.settings),
    };
  });
}

/** Turn selected targets into jobs with every connection detail filled in. */
export function planJobs(targets: Target[], d: ConnectionDefaults): HostJob[] {
  // One object per distinct value (jobs are never changed once planned): 50,000 hosts each with their own copy of the
  // same known_hosts files held ~20 MiB of the parent's heap for the whole run.
  const values = new Map<string, unknown>();
  const shared = <T>(value: T): T => {
    if (value === undefined) return value;
    const key = JSON.stringify(value);
    if (values.has(key)) return values.get(key) as T;
    values.set(key, value);
    return value;
  };
  const jobs = targets.map((t): HostJob => {
    const e = resolveEndpoint(t.host, t.user, t.port, d, true);
    const s = e.settings;
    const jumpSpec =
      d.cliJump ??
      (s.proxyJump
        ? parseJumpList(s.proxyJump, `ProxyJump (${d.sshConfig?.path ?? 'ssh config'}, host ${t.host})`)
        : null);
    const connectTimeoutS = d.cliConnectTimeoutS ?? s.connectTimeoutS;
    const hostKeyMode = d.cliHostKeyMode ?? s.hostKeyMode;
    // ConnectionAttempts N is N tries in all: N - 1 retries (ssh's own default, 1, means none).
    const connectRetries =
      d.cliConnectRetries ?? (s.connectionAttempts !== undefined ? s.connectionAttempts - 1 : undefined);
    // An inventory key (ansible_ssh_private_key_file) wins over -k and ssh_config, as in Ansible.
    const keyPaths = shared(t.identityFile !== undefined ? [t.identityFile.replace(/^~(?=\/|$)/, d.home)] : e.keyPaths);
    return {
      id: t.id,
      host: e.host,
      port: e.port,
      user: e.user,
      tag: randomBytes(8).toString('hex'),
      ...(keyPaths ? { keyPaths } : {}),
      ...(e.certificatePaths ? { certificatePaths: shared(e.certificatePaths) } : {}),
      ...(s.identitiesOnly ? { noAgent: true } : {}),
      ...(jumpSpec && jumpSpec.length > 0 ? { jump: planHops(jumpSpec, d) } : {}),
      ...(connectTimeoutS !== undefined ? { connectTimeoutMs: Math.round(connectTimeoutS * 1000) } : {}),
      ...(hostKeyMode ? { hostKeyMode } : {}),
      ...(connectRetries !== undefined ? { connectRetries } : {}),
      ...(d.cliConnectRetries == null && s.connectionAttempts !== undefined ? { retryConnectFailures: true } : {}),
      knownHosts: shared(e.knownHosts),
      ...(s.hostKeyAlias !== undefined ? { hostKeyAlias: s.hostKeyAlias } : {}),
      ...keepaliveOf(s),
    };
  });
  markSharedAliases(jobs);
  return jobs;
}

/**
 * Hosts of one run that file their key under one HostKeyAlias in the same known_hosts files: ssh meets them one
 * at a time, so its accept-new pins the first key and checks the rest against it; herd meets them in parallel, so
 * the worker is told how many share the alias and accept-new refuses a key not pinned yet rather than trust
 * whichever arrived first.
 */
function markSharedAliases(jobs: HostJob[]): void {
  // Only hosts that look the alias up in the same known_hosts files compete for its first line.
  const keyOf = (j: HostJob) =>
    j.hostKeyAlias === undefined ? null : [j.hostKeyAlias, ...j.knownHosts.files].join('\0');
  const count = new Map<string, number>();
  for (const j of jobs) {
    const k = keyOf(j);
    if (k !== null) count.set(k, (count.get(k) ?? 0) + 1);
  }
  for (const j of jobs) {
    const k = keyOf(j);
    const n = k === null ? 0 : count.get(k)!;
    if (n > 1) j.hostKeyAliasSharedBy = n;
  }
}
