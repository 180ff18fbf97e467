// The parent's side of known_hosts: the only code that writes the file.
import fs from 'node:fs';
import path from 'node:path';

/**
 * Append lines with O_APPEND in one write: concurrent herd runs or ssh clients appending at the
 * same time cannot interleave inside a line, and workers never write this file at all.
 */
export function appendKnownHosts(file: string, lines: string[]): void {
  if (lines.length === 0) return;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const stat = fs.statSync(file);
    if (stat.size > 0) {
      const fd = fs.openSync(file, 'r');
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, stat.size - 1);
      fs.closeSync(fd);
      if (last[0] !== 0x0a) prefix = '\n';
    }
  } catch {
    /* a missing file is created below */
  }
  fs.appendFileSync(file, prefix + lines.join('\n') + '\n', { mode: 0o600 });
}
