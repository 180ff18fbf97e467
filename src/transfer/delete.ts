// --delete: remove what the source does not have, depth first, never above the destination root.
import fs from 'node:fs';
import path from 'node:path';
import type { FileChannel } from '../transport/connection.js';
import { isSafeEntryName } from './paths.js';
import { doing, remoteLstat } from './remote.js';
import type { TransferOptions } from './types.js';

/** On push: remote entries under `root` that `present` (relative paths sent) does not name. */
export async function deleteRemoteExtras(
  files: FileChannel,
  root: string,
  rel: string,
  present: Set<string>,
  opts: TransferOptions,
): Promise<void> {
  const dir = rel === '' ? root : path.posix.join(root, rel);
  const list = await files.list(dir);
  for (const entry of list) {
    if (!isSafeEntryName(entry.filename) || entry.filename.endsWith('.herd-tmp')) continue;
    const childRel = rel === '' ? entry.filename : `${rel}/${entry.filename}`;
    const full = path.posix.join(root, childRel);
    const st = await remoteLstat(files, full);
    if (!st) continue;
    if (st.isDirectory()) {
      await deleteRemoteExtras(files, root, childRel, present, opts);
      if (!present.has(childRel)) {
        await doing(files.rmdir(full), `remove ${full}`);
        opts.onFile?.(childRel, 0, 'deleted');
      }
    } else if (!present.has(childRel)) {
      await doing(files.unlink(full), `remove ${full}`);
      opts.onFile?.(childRel, 0, 'deleted');
    }
  }
}

/** On pull: local entries under `root` that `present` (relative paths the host has) does not name. */
export function deleteLocalExtras(root: string, rel: string, present: Set<string>, opts: TransferOptions): void {
  const dir = rel === '' ? root : path.join(root, rel);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
    const full = path.join(root, childRel);
    if (entry.isDirectory()) {
      deleteLocalExtras(root, childRel, present, opts);
      if (!present.has(childRel)) {
        fs.rmdirSync(full);
        opts.onFile?.(childRel, 0, 'deleted');
      }
    } else if (!present.has(childRel)) {
      fs.rmSync(full, { force: true });
      opts.onFile?.(childRel, 0, 'deleted');
    }
  }
}
