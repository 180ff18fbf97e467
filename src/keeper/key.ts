// Which keeper a command may use. Its identity: the uid (the directory), the herd build (its worker
// module), the credentials (key files' contents, agent, whether a password or passphrase is used, not
// what they are), the host key policy. Its env: every known_hosts file's content and the ssh_config
// read. A keeper serves only commands with its identity; a changed env ends it (its connections were
// verified against files that changed). Each held connection also carries its host's whole connection
// plan (frames.ts connectionOf): a host whose plan changed is connected afresh.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WorkerConfig } from '../engine/protocol.js';
import { fileIdentity } from '../file-identity.js';

/** Which keeper: what a command knows once its credentials are resolved, before it reads any trust file. */
export interface KeeperIdentity {
  /** The keeper's file name in its directory. */
  name: string;
  identity: string;
}

export interface KeeperKey extends KeeperIdentity {
  env: string;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function fileDigest(file: string): string {
  try {
    return sha256(fs.readFileSync(file, 'latin1'));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'unreadable';
  }
}

/**
 * A build, as its file says (fileIdentity): its change time moves with every install and build, even one that keeps
 * the modification time (an npm package's files all carry the same one).
 */
export function buildIdentity(file: string): string {
  try {
    return `${file}@${fileIdentity(fs.statSync(file, { bigint: true }))}`;
  } catch {
    return file;
  }
}

/** The worker module this herd forks: a keeper from another build would speak another protocol. */
function buildOf(): string {
  return buildIdentity(fileURLToPath(new URL('../engine/worker.js', import.meta.url)));
}

/** JSON that also writes Maps, Sets and RegExps (a parsed ssh_config has them). */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Map) return { map: [...v.entries()] };
    if (v instanceof Set) return { set: [...v.values()] };
    if (v instanceof RegExp) return { re: v.source };
    return v;
  });
}

export function envDigest(knownHostsData: Record<string, string | null>, sshConfig: unknown): string {
  const files = Object.keys(knownHostsData)
    .sort()
    .map((f) => [f, knownHostsData[f] ?? null]);
  return sha256(stableJson({ files, sshConfig }));
}

export function keeperIdentity(
  config: Pick<
    WorkerConfig,
    'keyPaths' | 'keysExplicit' | 'hostKeyMode' | 'password' | 'keyPassphrase' | 'agentSocket'
  >,
): KeeperIdentity {
  const identity = sha256(
    stableJson({
      uid: process.getuid?.() ?? null,
      build: buildOf(),
      keys: config.keyPaths.map((k) => [k, fileDigest(k)]),
      keysExplicit: config.keysExplicit,
      hostKeyMode: config.hostKeyMode,
      password: config.password !== undefined,
      keyPassphrase: config.keyPassphrase !== undefined,
      agent: config.agentSocket ?? null,
    }),
  );
  return { name: `k-${identity.slice(0, 16)}`, identity };
}
