// herd push / herd pull on one connected host: a file or a tree over SFTP, per-file results.
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from 'ssh2';
import { toErrorData } from '../errors.js';
import { CHECKSUM_TIMEOUT_MS } from '../defaults.js';
import { builtinVars } from '../playbook/render.js';
import { renderTemplate } from '../playbook/template.js';
import type { HostResult } from '../results/status.js';
import { openSftp, parseSha256Listing, pullPath, pushPath, TransferError, TransferStopped, whileConnected, type TransferSummary } from '../transport/sftp.js';
import { abortedOutcome } from './stopped.js';
import { execCommand } from '../transport/exec.js';
import { shellQuote } from '../transport/remote-command.js';
import type { HostJob, TaskSpec } from './protocol.js';
import { formatSize, plural } from '../results/words.js';

type TransferTask = Extract<TaskSpec, { kind: 'transfer' }>;

export interface TransferContext {
  onFileDone: (path: string, bytes: number, status: string) => void;
  onFilePlanned: (bytes: number) => void;
  signal: AbortSignal;
}


/** What a transfer left undone, said in the host's reason so it is seen without reading transfers.tsv. */
export function summaryNotes(s: TransferSummary): string {
  const notes: string[] = [];
  if (s.tempNamed > 0) notes.push(`${s.tempNamed} skipped (named like herd temporary files)`);
  if (s.dirTimesDenied > 0) notes.push(`times of ${plural(s.dirTimesDenied, 'directory', 'directories')} not kept (not permitted)`);
  return notes.map((n) => `, ${n}`).join('');
}

export async function runTransferTask(client: Client, job: HostJob, task: TransferTask, ctx: TransferContext): Promise<Omit<HostResult, 'id' | 'durationMs'>> {
  const vars = builtinVars({ host: job.host, port: String(job.port), user: job.user, run_id: task.runId });
  try {
    const remote = renderTemplate(task.remote, vars);
    const local = renderTemplate(task.local, vars);
    const remoteHashes = task.checksum ? await hashRemote(client, job, task.direction === 'push' ? pushTarget(local, remote) : remote) : undefined;
    const sftp = await openSftp(client);
    try {
      const opts = { times: task.times, onFile: ctx.onFileDone, onPlanned: ctx.onFilePlanned, deleteExtra: task.deleteExtra, followLinks: task.followLinks, keepSpecialBits: task.keepSpecialBits, ...(remoteHashes ? { remoteHashes } : {}) };
      if (task.direction === 'push') {
        const s = await whileConnected(client, pushPath(sftp, local, remote, opts), ctx.signal);
        return { status: 'ok', exitCode: null, reason: `sent ${plural(s.files, 'file')} (${formatSize(s.bytes)}), ${s.skipped} unchanged${summaryNotes(s)}` };
      }
      // One folder per host, like pslurp: LOCAL_DIR/<host>/...
      const s = await whileConnected(client, pullPath(sftp, remote, path.join(local, job.id), opts), ctx.signal);
      return { status: 'ok', exitCode: null, reason: `received ${plural(s.files, 'file')} (${formatSize(s.bytes)}), ${s.skipped} unchanged${summaryNotes(s)}` };
    } finally {
      sftp.end();
    }
  } catch (err) {
    if (err instanceof TransferStopped) return { ...abortedOutcome(ctx.signal, task.direction, 'files in flight stay under temporary names; herd rerun finishes them'), exitCode: null };
    // The cause's own code: E_CONNECTION_LOST, E_NO_SUCH_FILE, E_UNSAFE_PATH, E_NO_SPACE... (E_TRANSFER when it has none).
    const { code, message } = toErrorData(err);
    return { status: 'failed', exitCode: null, reason: message, code: code === 'E_INTERNAL' ? 'E_TRANSFER' : code };
  }
}

/** Where a push lands: a directory's contents go into `remote`; a file lands at `remote` (or inside it, with a trailing /). */
function pushTarget(local: string, remote: string): { root: string; file?: string } | string {
  if (fs.statSync(local).isDirectory()) return remote.replace(/\/+$/, '') || '/';
  const target = remote.endsWith('/') ? path.posix.join(remote, path.basename(local)) : remote;
  return { root: path.posix.dirname(target), file: path.posix.basename(target) };
}

/** --checksum: sha256 of the files under a remote path, computed on the host in one command. */
async function hashRemote(client: Client, job: HostJob, where: { root: string; file?: string } | string): Promise<Map<string, string>> {
  const { root, file } = typeof where === 'string' ? { root: where, file: undefined } : where;
  const command =
    file !== undefined
      ? `cd -- ${shellQuote(root)} 2>/dev/null && sha256sum -- ./${shellQuote(file)} 2>/dev/null; exit 0`
      : `if [ -d ${shellQuote(root)} ]; then cd -- ${shellQuote(root)} && find . -type f -exec sha256sum -- {} + 2>/dev/null; else cd -- "$(dirname -- ${shellQuote(root)})" 2>/dev/null && sha256sum -- "./$(basename -- ${shellQuote(root)})" 2>/dev/null; fi; exit 0`;
  let out = '';
  const outcome = await execCommand(client, command, { timeoutMs: CHECKSUM_TIMEOUT_MS, tag: `${job.tag}h`, onStdout: (c) => {
    out += c.toString('utf8');
  }, onStderr: () => {} });
  if (outcome.exitCode !== 0) {
    const why = outcome.timedOut ? 'timed out' : `exit ${outcome.exitCode}`;
    throw new TransferError(`could not compute checksums on the host (${why})`);
  }
  return parseSha256Listing(out);
}
