// Where a user's connection keepers live: one private directory, checked the way OpenSSH checks a
// ControlPath's directory. Only its owner may reach the sockets in it; a directory anyone else can
// enter or write, or one that is not the user's own, is refused rather than repaired.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';

/** The files of one keeper, named after its key. */
export interface KeeperFiles {
  dir: string;
  name: string;
  socket: string;
  /** A random secret (mode 0600): a client proves it can read this directory by sending it first. */
  token: string;
  /** pid, boot id, start time, what it serves (JSON, mode 0600). */
  state: string;
  /** The keeper's own stderr (mode 0600): its workers' crashes, for the operator. */
  log: string;
}

function uid(): number {
  return process.getuid?.() ?? 0;
}

/** $XDG_RUNTIME_DIR/herd (a per-user tmpfs, emptied at logout and at boot), else /tmp/herd-<uid>. */
export function keeperDir(env: NodeJS.ProcessEnv = process.env): string {
  const runtime = env['XDG_RUNTIME_DIR'];
  if (runtime && path.isAbsolute(runtime)) return path.join(runtime, 'herd');
  return path.join(os.tmpdir(), `herd-${uid()}`);
}

/** Why `dir` may not hold a keeper's socket, or null when it is the user's own and private. */
export function unsafeDirReason(dir: string): string | null {
  const st = fs.lstatSync(dir);
  if (st.isSymbolicLink()) return `${dir} is a symbolic link`;
  if (!st.isDirectory()) return `${dir} is not a directory`;
  if (st.uid !== uid()) return `${dir} is owned by uid ${st.uid}, not by you (uid ${uid()})`;
  if ((st.mode & 0o077) !== 0)
    return `${dir} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}: others may use it (needs 0700)`;
  return null;
}

/**
 * The keeper directory, created (mode 0700) when `create`, else null when there is none. A directory
 * that is not private is refused with a UsageError (exit 2, before any host).
 */
export function privateKeeperDir(create: boolean, env: NodeJS.ProcessEnv = process.env): string | null {
  const dir = keeperDir(env);
  if (create) {
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new UsageError(`--persist: cannot create ${dir}: ${(err as Error).message}`);
      }
    }
  } else if (!fs.existsSync(dir)) return null;
  const reason = unsafeDirReason(dir);
  if (reason !== null) {
    throw new UsageError(`refusing the connection keeper directory: ${reason} (as ssh refuses such a ControlPath)`);
  }
  return dir;
}

export function keeperFiles(dir: string, name: string): KeeperFiles {
  const base = path.join(dir, name);
  return { dir, name, socket: `${base}.sock`, token: `${base}.token`, state: `${base}.json`, log: `${base}.log` };
}

/** Every keeper's files in the directory (by its state files). */
export function listKeeperFiles(dir: string): KeeperFiles[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^k-[0-9a-f]+\.json$/.test(f))
    .map((f) => keeperFiles(dir, f.slice(0, -'.json'.length)));
}

/** This boot's id: a keeper's state from an earlier boot is stale whatever its pid says. */
export function bootId(): string | null {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

/** Remove a keeper's files (it is gone, or was from an earlier boot). */
export function removeKeeperFiles(files: KeeperFiles): void {
  for (const f of [files.socket, files.token, files.state, files.log]) fs.rmSync(f, { force: true });
}
