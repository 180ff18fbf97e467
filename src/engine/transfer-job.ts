// herd push / herd pull on one connected host: a file or a tree over SFTP, per-file results.
import path from 'node:path';
import { toErrorData } from '../errors.js';
import { builtinVars } from '../playbook/render.js';
import { renderTemplate } from '../playbook/template.js';
import { failedOutcome, okOutcome, type Outcome } from '../results/status.js';
import type { HostConnection } from '../transport/connection.js';
import { transfer, TransferStopped } from '../transfer/transfer.js';
import type { TransferSummary } from '../transfer/types.js';
import { abortedOutcome } from './stopped.js';
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
  if (s.dirTimesDenied > 0)
    notes.push(`times of ${plural(s.dirTimesDenied, 'directory', 'directories')} not kept (not permitted)`);
  return notes.map((n) => `, ${n}`).join('');
}

export async function runTransferTask(
  conn: HostConnection,
  job: HostJob,
  task: TransferTask,
  ctx: TransferContext,
): Promise<Outcome> {
  const vars = builtinVars({ host: job.host, port: String(job.port), user: job.user, run_id: task.runId });
  try {
    const remote = renderTemplate(task.remote, vars);
    const local = renderTemplate(task.local, vars);
    const options = {
      times: task.times,
      deleteExtra: task.deleteExtra,
      followLinks: task.followLinks,
      keepSpecialBits: task.keepSpecialBits,
      ...(task.checksum ? { checksum: { tag: `${job.tag}h` } } : {}),
      onFile: ctx.onFileDone,
      onPlanned: ctx.onFilePlanned,
      signal: ctx.signal,
    };
    if (task.direction === 'push') {
      const s = await transfer(conn, { direction: 'push', local, remote, ...options });
      return okOutcome(
        null,
        `sent ${plural(s.files, 'file')} (${formatSize(s.bytes)}), ${s.skipped} unchanged${summaryNotes(s)}`,
      );
    }
    // One folder per host, like pslurp: LOCAL_DIR/<host>/...
    const s = await transfer(conn, { direction: 'pull', local: path.join(local, job.id), remote, ...options });
    return okOutcome(
      null,
      `received ${plural(s.files, 'file')} (${formatSize(s.bytes)}), ${s.skipped} unchanged${summaryNotes(s)}`,
    );
  } catch (err) {
    if (err instanceof TransferStopped)
      return abortedOutcome(
        ctx.signal,
        task.direction,
        'files in flight stay under temporary names; herd rerun finishes them',
      );
    // The cause's own code: E_CONNECTION_LOST, E_NO_SUCH_FILE, E_UNSAFE_PATH, E_NO_SPACE... (E_TRANSFER when it has
    // none).
    const { code, message } = toErrorData(err);
    return failedOutcome(code === 'E_INTERNAL' ? 'E_TRANSFER' : code, message);
  }
}
