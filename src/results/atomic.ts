// Write files so a reader (or a crash) only ever sees the old or the new content, never a torn one.
import fs from 'node:fs';
import path from 'node:path';

let counter = 0;

export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${counter++}.tmp`);
  fs.writeFileSync(tmp, data, { mode });
  fs.renameSync(tmp, file);
}

/** Point `link` at `target` (a relative name) by renaming a fresh symlink over it. */
export function replaceSymlink(target: string, link: string): void {
  const tmp = `${link}.${process.pid}.${counter++}.tmp`;
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, link);
}
