// herd push / herd pull: a file or a directory tree to or from every selected host over SFTP.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../errors.js';
import { builtinsOnlyProblem } from '../../playbook/index.js';
import { executeSinglePass } from '../../engine/run.js';
import type { LaunchRequest } from '../launch.js';
import { freshRun, launchRun } from '../launch.js';
import type { RawOptions } from '../options.js';

/** Every push and pull flag is a row of option-table.ts. */
export type TransferRaw = RawOptions;

export interface TransferFlags {
  times: boolean;
  checksum: boolean;
  deleteExtra: boolean;
  followLinks: boolean;
  keepSpecialBits: boolean;
}

/** The launch of a push or pull (also used by rerun). */
export function transferLaunch(
  direction: 'push' | 'pull',
  local: string,
  remote: string,
  flags: TransferFlags,
): Pick<LaunchRequest, 'execute' | 'taskRecord'> {
  return {
    taskRecord: {
      kind: 'transfer',
      direction,
      local,
      remote,
      times: flags.times,
      checksum: flags.checksum,
      delete: flags.deleteExtra,
      follow_links: flags.followLinks,
      keep_special_bits: flags.keepSpecialBits,
    },
    // {{ run_id }} in paths is the id launchRun drew with the run directory.
    execute: (run) => executeSinglePass(run, { kind: 'transfer', direction, local, remote, runId: run.id, ...flags }),
  };
}

/** Paths are rendered per host with the built-ins only; anything else is refused before any host is contacted. */
function checkPathTemplate(direction: 'push' | 'pull', what: string, value: string): void {
  const problem = builtinsOnlyProblem(value, 'paths');
  if (problem !== null) throw new UsageError(`${direction} ${what} ${JSON.stringify(value)}: ${problem}`, 'E_TEMPLATE');
}

export async function transferCommand(
  direction: 'push' | 'pull',
  first: string,
  second: string,
  raw: TransferRaw,
): Promise<number> {
  const base = freshRun(raw);
  const local =
    path.resolve(direction === 'push' ? first : second) + (direction === 'push' && first.endsWith('/') ? '/' : '');
  const remote = direction === 'push' ? second : first;
  if (direction === 'push' && !first.includes('{{') && !fs.existsSync(local))
    throw new UsageError(`push: ${first}: no such file or directory`);
  if (remote.trim() === '') throw new UsageError(`${direction}: the remote path is empty`);
  checkPathTemplate(direction, direction === 'push' ? 'LOCAL_PATH' : 'REMOTE_PATH', first);
  checkPathTemplate(direction, direction === 'push' ? 'REMOTE_PATH' : 'LOCAL_DIR', second);
  return launchRun({
    commandName: direction,
    ...transferLaunch(direction, local, remote, {
      times: raw.times !== false,
      checksum: raw.checksum === true,
      deleteExtra: raw.delete === true,
      followLinks: raw.followLinks === true,
      keepSpecialBits: raw.keepSpecialBits === true,
    }),
    ...base,
  });
}
