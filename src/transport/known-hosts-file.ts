// The parent's side of known_hosts: reads every trust file before any host, and is the only writer.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { ioReason } from '../io-reason.js';

/**
 * Read known_hosts files as latin1 text (one char per byte). Only a missing file counts as empty
 * (null); any other error (EACCES, EISDIR, ENOTDIR, EIO...) stops the run, since treating an
 * unreadable file as empty would let accept-new trust and re-pin keys the file pins or revokes.
 */
export function readKnownHostsFiles(files: Iterable<string>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const file of files) {
    if (file in out) continue;
    try {
      out[file] = readTrustFile(file);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'ENOENT') {
        const why = `cannot read it (${ioReason(e)}); refusing to treat it as empty`;
        throw new UsageError(`known_hosts file ${file}: ${why}`, 'E_KNOWN_HOSTS');
      }
      out[file] = null;
    }
  }
  return out;
}

function readTrustFile(file: string): string {
  // O_NONBLOCK: a FIFO put in place of the file must not hang the run before it starts.
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const stat = fs.fstatSync(fd);
    // A character device is allowed for UserKnownHostsFile=/dev/null, a common spelling of "no file".
    if (!stat.isFile() && !stat.isCharacterDevice() && !stat.isDirectory()) {
      throw Object.assign(new Error('not a regular file'), { code: 'not a regular file' });
    }
    return fs.readFileSync(fd).toString('latin1');
  } finally {
    fs.closeSync(fd);
  }
}

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
