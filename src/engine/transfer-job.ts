// herd push / herd pull on one connected host: a file or a tree over SFTP, per-file results.
import path from 'node:path';
import type { Client } from 'ssh2';
import { renderTemplate } from '../playbook/template.js';
import type { HostResult } from '../results/status.js';
import { openSftp, pullPath, pushPath } from '../transport/sftp.js';
import type { HostJob, TaskSpec } from './protocol.js';

type TransferTask = Extract<TaskSpec, { kind: 'transfer' }>;

export interface TransferContext {
  onFileDone: (path: string, bytes: number, status: string) => void;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export async function runTransferTask(client: Client, job: HostJob, task: TransferTask, ctx: TransferContext): Promise<Omit<HostResult, 'id' | 'durationMs'>> {
  const vars = { host: job.host, port: String(job.port), user: job.user, run_id: task.runId };
  const remote = renderTemplate(task.remote, vars);
  try {
    const sftp = await openSftp(client);
    try {
      const opts = { times: task.times, onFile: ctx.onFileDone };
      if (task.direction === 'push') {
        const s = await pushPath(sftp, renderTemplate(task.local, vars), remote, opts);
        return { status: 'ok', exitCode: null, reason: `sent ${s.files} files (${megabytes(s.bytes)}), ${s.skipped} unchanged` };
      }
      // One folder per host, like pslurp: LOCAL_DIR/<host>/...
      const s = await pullPath(sftp, remote, path.join(task.local, job.id), opts);
      return { status: 'ok', exitCode: null, reason: `received ${s.files} files (${megabytes(s.bytes)}), ${s.skipped} unchanged` };
    } finally {
      sftp.end();
    }
  } catch (err) {
    return { status: 'failed', exitCode: null, reason: (err as Error).message, code: 'E_TRANSFER' };
  }
}
