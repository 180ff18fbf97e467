// herd push / herd pull: a file or a directory tree to or from every selected host over SFTP.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../errors.js';
import { executeCommandRun } from '../../engine/run.js';
import type { LaunchRequest } from '../launch.js';
import { freshRun, launchRun } from '../launch.js';
import type { RawOptions } from '../options.js';

export interface TransferRaw extends RawOptions {
  times?: boolean;
  checksum?: boolean;
  delete?: boolean;
  followLinks?: boolean;
}

export interface TransferFlags {
  times: boolean;
  checksum: boolean;
  deleteExtra: boolean;
  followLinks: boolean;
}

/** The launch of a push or pull (also used by rerun). */
export function transferLaunch(direction: 'push' | 'pull', local: string, remote: string, flags: TransferFlags): Pick<LaunchRequest, 'execute' | 'taskRecord'> {
  return {
    taskRecord: { kind: 'transfer', direction, local, remote, times: flags.times, checksum: flags.checksum, delete: flags.deleteExtra, follow_links: flags.followLinks },
    // {{ run_id }} in paths is the id launchRun drew with the run directory.
    execute: (session, ui) => executeCommandRun(session, { kind: 'transfer', direction, local, remote, runId: session.record.id, ...flags }, ui),
  };
}

export async function transferCommand(direction: 'push' | 'pull', first: string, second: string, raw: TransferRaw): Promise<number> {
  const base = freshRun(raw);
  const local = path.resolve(direction === 'push' ? first : second) + (direction === 'push' && first.endsWith('/') ? '/' : '');
  const remote = direction === 'push' ? second : first;
  if (direction === 'push' && !first.includes('{{') && !fs.existsSync(local)) throw new UsageError(`herd push: ${first} does not exist`);
  if (remote.trim() === '') throw new UsageError(`herd ${direction}: the remote path is empty`);
  return launchRun({
    commandName: direction,
    ...transferLaunch(direction, local, remote, { times: raw.times !== false, checksum: raw.checksum === true, deleteExtra: raw.delete === true, followLinks: raw.followLinks === true }),
    ...base,
  });
}
