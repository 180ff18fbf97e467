// Read a file line by line in blocks: memory stays one block and one line, whatever the file's size
// (herd merge streams 50 shards' journals and result files through these).
import fs from 'node:fs';
import { RunDirError } from '../errors.js';
import { ioReason } from '../io-reason.js';

const BLOCK = 64 * 1024;

export class LineReader {
  private readonly fd: number;
  private readonly block = Buffer.allocUnsafe(BLOCK);
  private pending: Buffer[] = [];
  private buffered = Buffer.alloc(0);
  private eof = false;

  /** A file that cannot be opened (missing, or a symlink: never followed) is a RunDirError naming it. */
  constructor(file: string) {
    try {
      this.fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (err) {
      throw new RunDirError(`cannot read ${file}: ${ioReason(err)}`, { cause: err });
    }
  }

  /** The next line without its newline (a last line without one too), or null at the end. */
  next(): string | null {
    for (;;) {
      const nl = this.buffered.indexOf(10);
      if (nl >= 0) {
        const line = Buffer.concat([...this.pending, this.buffered.subarray(0, nl)]).toString('utf8');
        this.pending = [];
        this.buffered = this.buffered.subarray(nl + 1);
        return line;
      }
      if (this.eof) {
        if (this.pending.length === 0 && this.buffered.length === 0) return null;
        const line = Buffer.concat([...this.pending, this.buffered]).toString('utf8');
        this.pending = [];
        this.buffered = Buffer.alloc(0);
        return line;
      }
      if (this.buffered.length > 0) this.pending.push(Buffer.from(this.buffered));
      const n = fs.readSync(this.fd, this.block, 0, BLOCK, null);
      if (n === 0) this.eof = true;
      this.buffered = this.block.subarray(0, n);
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Each line of a file (see LineReader), closed when the loop ends however it ends. */
export function* linesOf(file: string): Generator<string> {
  const reader = new LineReader(file);
  try {
    for (let line = reader.next(); line !== null; line = reader.next()) yield line;
  } finally {
    reader.close();
  }
}
