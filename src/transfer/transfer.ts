// The one transfer entry both `herd push`/`herd pull` and a playbook's push, pull and script steps
// call: a file channel over the host's connection, the checksum listing when asked, push or pull,
// and a connection that goes away (or a stop) ending it instead of hanging it.
import fs from 'node:fs';
import { HerdError } from '../errors.js';
import type { FileChannel, HostConnection } from '../transport/connection.js';
import { TransferError } from '../transport/transfer-error.js';
import { hashRemote } from './checksum.js';
import { pushTarget } from './paths.js';
import { pullPath } from './pull.js';
import { pushPath } from './push.js';
import type { FileStatus, TransferOptions, TransferSummary } from './types.js';

/** The run was interrupted (or hit its --deadline) mid-transfer. */
export class TransferStopped extends HerdError {
  constructor() {
    super('E_INTERRUPTED', 'transfer stopped');
  }
}

/** What to move and how; each caller sets the options it offers its user, the rest keep their defaults. */
export interface TransferRequest {
  direction: 'push' | 'pull';
  /** Push: the source file or tree. Pull: the directory the host's file or tree goes into. */
  local: string;
  /** Push: where it lands on the host. Pull: the host's file or tree. */
  remote: string;
  /** Keep modification times (default true). */
  times?: boolean;
  /** --checksum: compare by sha256 computed on the host (a command tagged `tag`). */
  checksum?: { tag: string };
  deleteExtra?: boolean;
  followLinks?: boolean;
  keepSpecialBits?: boolean;
  /** Push of one file: its mode on the host afterwards (a script step's 0700). */
  finalMode?: number;
  onFile?: (relPath: string, bytes: number, status: FileStatus) => void;
  onPlanned?: (bytes: number) => void;
  /** Aborting drops the connection and rejects with TransferStopped. */
  signal?: AbortSignal;
}

/** Move one file or tree over `conn`; throws TransferStopped, TransferError or the cause's own error. */
export async function transfer(conn: HostConnection, req: TransferRequest): Promise<TransferSummary> {
  const remoteHashes = req.checksum ? await hashRemote(conn, req.checksum.tag, checksumRoot(req)) : undefined;
  const files = await conn.openFiles();
  try {
    const opts = {
      ...(req.times !== undefined ? { times: req.times } : {}),
      ...(req.onFile ? { onFile: req.onFile } : {}),
      ...(req.onPlanned ? { onPlanned: req.onPlanned } : {}),
      ...(req.deleteExtra !== undefined ? { deleteExtra: req.deleteExtra } : {}),
      ...(req.followLinks !== undefined ? { followLinks: req.followLinks } : {}),
      ...(req.keepSpecialBits !== undefined ? { keepSpecialBits: req.keepSpecialBits } : {}),
      ...(remoteHashes ? { remoteHashes } : {}),
    };
    if (req.direction === 'pull')
      return await whileConnected(conn, pullPath(files, req.remote, req.local, opts), req.signal);
    return await whileConnected(conn, pushAndChmod(files, req, opts), req.signal);
  } finally {
    files.end();
  }
}

async function pushAndChmod(files: FileChannel, req: TransferRequest, opts: TransferOptions): Promise<TransferSummary> {
  const summary = await pushPath(files, req.local, req.remote, opts);
  if (req.finalMode !== undefined) await files.chmod(req.remote, req.finalMode);
  return summary;
}

/** Where --checksum hashes on the host: the push's destination, or the pull's source. */
function checksumRoot(req: TransferRequest): { root: string; file?: string } {
  if (req.direction === 'pull') return { root: req.remote };
  return pushTarget(req.local, fs.statSync(req.local).isDirectory(), req.remote);
}

/**
 * Reject when the connection goes away: a file channel's pending calls may never settle when the
 * socket dies mid-transfer, and a host must never hang.
 */
export function whileConnected<T>(conn: HostConnection, work: Promise<T>, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onClose = (): void =>
      reject(new TransferError('connection lost during the transfer', { code: 'E_CONNECTION_LOST' }));
    // Stopping a transfer means dropping its connection: files in flight stay under their temporary names.
    const onAbort = (): void => {
      reject(new TransferStopped());
      conn.close();
    };
    const unsubscribe = conn.onClose(onClose);
    const cleanup = (): void => {
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (err: unknown) => {
        cleanup();
        reject(err);
      },
    );
  });
}
