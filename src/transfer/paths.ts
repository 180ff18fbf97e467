// Where a transfer may write: a hostile host's names and links never lead outside the destination.
import path from 'node:path';

/** A path a hostile host chose that would lead outside the destination: refused with this code. */
export const UNSAFE = { code: 'E_UNSAFE_PATH' } as const;

/** A remote directory entry name that could escape the destination is refused. */
export function isSafeEntryName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

/** Is `candidate` inside `root` (both absolute)? `..cfg` is a name inside; only `..` as a whole segment climbs out. */
export function inside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/**
 * Where a push lands: a directory's contents go into `remote` (the tree root); a file lands at
 * `remote`, or inside it when `remote` ends with `/`.
 */
export function pushTarget(local: string, localIsDir: boolean, remote: string): { root: string; file?: string } {
  if (localIsDir) return { root: remote.replace(/\/+$/, '') || '/' };
  const target = remote.endsWith('/') ? path.posix.join(remote, path.basename(local)) : remote;
  return { root: path.posix.dirname(target), file: path.posix.basename(target) };
}
