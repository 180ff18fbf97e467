// Bounded reads of the output files a run published: the end-of-run view shows the start of a
// failed host's stderr, and a host may have printed 600 MB there, so only a head is ever read.
import fs from 'node:fs';
import path from 'node:path';
import type { HostResult } from './status.js';

/** The start of one stream as read from disk: a bounded head, and the file's full size. */
export interface OutputHead {
  text: string;
  /** Size of the whole file. */
  bytes: number;
  /** Bytes of the file that `text` was decoded from (the head read). */
  headBytes: number;
}

/** Enough for a few lines of an error message; a thousand failed hosts cost a few MB at most. */
export const HEAD_BYTES = 4096;

let block: Buffer | undefined;

/**
 * Calls `read` with a file opened without following a symlink in its last component, and closes it: a
 * host chose the names under the run directory. Null when the file is missing or not a regular file (a FIFO
 * included: null at once, not a wait for a writer).
 */
export function readRegularFile<T>(file: string, read: (fd: number, size: number) => T): T | null {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO would wait for a writer; a regular file reads the same with it.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = fs.fstatSync(fd);
    return st.isFile() ? read(fd, st.size) : null;
  } finally {
    fs.closeSync(fd);
  }
}

/** The first `max` bytes of a file, decoded, and its size; null when it is missing or not a regular file. */
export function readHead(file: string, max = HEAD_BYTES): OutputHead | null {
  return readRegularFile(file, (fd, size) => {
    const buf = max <= HEAD_BYTES ? (block ??= Buffer.allocUnsafe(HEAD_BYTES)) : Buffer.allocUnsafe(max);
    const n = fs.readSync(fd, buf, 0, Math.min(max, size), 0);
    return { text: buf.subarray(0, n).toString('utf8'), bytes: size, headBytes: n };
  });
}

/** Where a host's stderr is, relative to the run directory: a playbook host's is its failed step's. */
export function stderrPath(result: Pick<HostResult, 'id' | 'step'>): string {
  return result.step === undefined
    ? path.join('stderr', result.id)
    : path.join('steps', result.step, 'stderr', result.id);
}

/** Heads of the stderr of every host that is not ok and has one. */
export function failureStderrHeads(
  dir: string,
  results: HostResult[],
): Map<string, { head: OutputHead; file: string }> {
  const heads = new Map<string, { head: OutputHead; file: string }>();
  for (const r of results) {
    if (r.status === 'ok') continue;
    const file = stderrPath(r);
    const head = readHead(path.join(dir, file));
    if (head !== null && head.bytes > 0) heads.set(r.id, { head, file });
  }
  return heads;
}
