// Calls on the host's files with the wording a transfer reports, and what a listing says of its entries.
import type { FileChannel, RemoteEntry, RemoteStats } from '../transport/connection.js';
import { TransferError } from '../transport/transfer-error.js';

/** SSH_FX_PERMISSION_DENIED. */
const SFTP_PERMISSION_DENIED = 3;

/** The host's error as a TransferError saying what herd was doing (`mkdir /srv/app: Permission denied`). */
export function doing<T>(work: Promise<T>, what: string): Promise<T> {
  return work.catch((err: unknown) => {
    if (err instanceof TransferError) throw err;
    throw new TransferError(`${what}: ${(err as Error).message}`, { cause: err });
  });
}

export const isPermissionDenied = (err: unknown): boolean =>
  err instanceof TransferError && (err.cause as { code?: unknown } | undefined)?.code === SFTP_PERMISSION_DENIED;

/** Attributes of `p` itself (a link is not followed); null when it cannot be had. */
export async function remoteLstat(files: FileChannel, p: string): Promise<RemoteStats | null> {
  try {
    return await files.lstat(p);
  } catch {
    return null;
  }
}

/** Attributes of what `p` leads to; null when it cannot be had. */
export async function remoteStat(files: FileChannel, p: string): Promise<RemoteStats | null> {
  try {
    return await files.stat(p);
  } catch {
    return null;
  }
}

/** Attributes from a listing are usable when they say what kind of entry it is (a hostile server may send none). */
export function hasFileType(attrs: RemoteStats | undefined): attrs is RemoteStats {
  if (attrs === undefined || typeof attrs.mode !== 'number') return false;
  return (attrs.mode & 0o170000) !== 0 && typeof attrs.isDirectory === 'function';
}

/** name -> attributes of a listing's entries whose attributes say what they are. */
export function listingByName(entries: RemoteEntry[]): Map<string, RemoteStats> {
  return new Map(entries.filter((e) => hasFileType(e.attrs)).map((e) => [e.filename, e.attrs]));
}

/** name -> attributes of a remote directory's entries; undefined when it cannot be listed. */
export async function remoteListing(files: FileChannel, dir: string): Promise<Map<string, RemoteStats> | undefined> {
  try {
    return listingByName(await files.list(dir));
  } catch {
    return undefined;
  }
}
