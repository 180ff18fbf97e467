// targets.json: what a rerun needs of each host beyond its id, since a rerun never re-reads the inventory:
// the key the inventory gave it (ansible_ssh_private_key_file) and, for playbooks, its inventory variables,
// so a rerun renders every template with the values the first run used.
import fs from 'node:fs';
import path from 'node:path';
import { RunDirError } from '../errors.js';
import type { Target } from '../inventory/types.js';
import type { Vars } from '../inventory/vars.js';

export const TARGETS_FILE = 'targets.json';

export interface TargetRecord {
  vars?: Vars;
  identity_file?: string;
}

export interface TargetsRecord {
  hosts: Record<string, TargetRecord>;
}

/**
 * The record of the hosts that have something beyond their id; null when none has. Variables only for playbooks:
 * no other run renders them, and an inventory may hold values nobody wants copied into every run directory.
 */
export function targetsRecord(targets: readonly Target[], withVars: boolean): TargetsRecord | null {
  const hosts: Record<string, TargetRecord> = {};
  for (const t of targets) {
    const entry: TargetRecord = {
      ...(withVars && t.vars && Object.keys(t.vars).length > 0 ? { vars: t.vars } : {}),
      ...(t.identityFile !== undefined ? { identity_file: t.identityFile } : {}),
    };
    if (Object.keys(entry).length > 0) hosts[t.id] = entry;
  }
  return Object.keys(hosts).length > 0 ? { hosts } : null;
}

/** A run directory's targets.json; null when the run recorded none (no host had vars or a key of its own). */
export function readTargetsRecord(dir: string): TargetsRecord | null {
  const file = path.join(dir, TARGETS_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new RunDirError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new RunDirError(`${file}: not JSON (${(err as Error).message})`, { cause: err });
  }
  const hosts = (data as { hosts?: unknown } | null)?.hosts;
  if (typeof hosts !== 'object' || hosts === null || Array.isArray(hosts))
    throw new RunDirError(`${file}: expected {"hosts": {...}}`);
  for (const [id, entry] of Object.entries(hosts as Record<string, unknown>)) {
    const e = entry as TargetRecord | null;
    const varsOk = e?.vars === undefined || (typeof e.vars === 'object' && e.vars !== null && !Array.isArray(e.vars));
    const keyOk = e?.identity_file === undefined || typeof e.identity_file === 'string';
    if (typeof e !== 'object' || e === null || !varsOk || !keyOk)
      throw new RunDirError(`${file}: host ${JSON.stringify(id)}: expected {"vars"?: {...}, "identity_file"?: "..."}`);
  }
  return { hosts: hosts as Record<string, TargetRecord> };
}

/** The targets rebuilt from their ids, given back what the earlier run recorded of them. */
export function restoreTargets(targets: readonly Target[], record: TargetsRecord | null): Target[] {
  if (record === null) return [...targets];
  return targets.map((t) => {
    const r = Object.hasOwn(record.hosts, t.id) ? record.hosts[t.id] : undefined;
    if (!r) return t;
    return {
      ...t,
      ...(r.vars !== undefined ? { vars: r.vars } : {}),
      ...(r.identity_file !== undefined ? { identityFile: r.identity_file } : {}),
    };
  });
}
