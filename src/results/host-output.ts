// One host's captured stream: kept in memory while small, spilled to a hidden partial file when large,
// and published under its final name only when the host is done (so no reader sees a torn file).
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** What the end-of-run view keeps of an output: a digest to group by and the start to show. */
export interface OutputSummary {
  digest: string;
  preview: string;
  bytes: number;
  truncated: boolean;
}

export type OutputFingerprint = Omit<OutputSummary, 'preview'>;

const PREVIEW_BYTES = 4096;

/**
 * The preview of a published output, read back from its file: the same first 4096 bytes the summary holds, for the
 * few groups the end-of-run view shows (keeping every host's preview in memory was 4 KiB a host in the parent).
 */
export function readPreview(file: string): string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(PREVIEW_BYTES);
    return head.subarray(0, fs.readSync(fd, head, 0, PREVIEW_BYTES, 0)).toString('utf8');
  } catch (err) {
    return `(herd: could not read ${file} back: ${(err as Error).message})`;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** sha1 of no bytes: the digest of an output nothing was written to. */
const EMPTY_SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';

/** Above this, output goes to disk as it arrives instead of memory. */
export const SPILL_BYTES = 256 * 1024;

export class HostOutput {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private spillPath: string | undefined;
  /**
   * Made at the first byte: a sha1 context is ~1 KiB of native memory, and most hosts of a large run print nothing
   * (20,000 outputs, stdout and stderr of 10,000 running hosts: 25.7 -> 10.5 MiB of the parent's RSS).
   */
  private hash: Hash | undefined;
  private preview: Buffer[] = [];
  private previewBytes = 0;
  bytes = 0;

  constructor(
    private readonly dir: string,
    private readonly name: string,
  ) {}

  append(data: Buffer): void {
    this.bytes += data.length;
    (this.hash ??= createHash('sha1')).update(data);
    if (this.previewBytes < PREVIEW_BYTES) {
      this.preview.push(data.subarray(0, PREVIEW_BYTES - this.previewBytes));
      this.previewBytes += Math.min(data.length, PREVIEW_BYTES - this.previewBytes);
    }
    this.chunks.push(data);
    this.buffered += data.length;
    if (this.buffered >= SPILL_BYTES) this.spill();
  }

  private spill(): void {
    this.spillPath ??= path.join(this.dir, `.${this.name}.partial`);
    fs.appendFileSync(this.spillPath, Buffer.concat(this.chunks), { mode: 0o600 });
    this.chunks = [];
    this.buffered = 0;
  }

  summary(): OutputSummary {
    return { ...this.fingerprint(), preview: Buffer.concat(this.preview).toString('utf8') };
  }

  /** The summary without its preview: what the writer keeps of each host until the run ends. */
  fingerprint(): OutputFingerprint {
    return {
      digest: this.hash ? this.hash.copy().digest('hex') : EMPTY_SHA1,
      bytes: this.bytes,
      truncated: this.bytes > this.previewBytes,
    };
  }

  /** Publish under the final name; returns its path. */
  publish(): string {
    const finalPath = path.join(this.dir, this.name);
    if (this.spillPath) {
      this.spill();
      fs.renameSync(this.spillPath, finalPath);
    } else if (this.buffered > 0 || !createEmpty(finalPath)) {
      const tmp = path.join(this.dir, `.${this.name}.tmp`);
      fs.writeFileSync(tmp, Buffer.concat(this.chunks), { mode: 0o600 });
      fs.renameSync(tmp, finalPath);
    }
    this.chunks = [];
    this.buffered = 0;
    return finalPath;
  }
}

/**
 * An empty output is created under its final name at once: with nothing to write, no reader can see it half-written,
 * so the temporary name and the rename (a second directory update per host and stream, most of them empty) are not
 * needed. False when the name is taken (then the caller replaces it by rename, as for any output).
 */
function createEmpty(finalPath: string): boolean {
  try {
    fs.closeSync(fs.openSync(finalPath, 'wx', 0o600));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

let copyBlock: Buffer | undefined;

/**
 * Copy a file to `write` with `prefix` at the start of every line, in blocks and as bytes, so a
 * gigabyte of output with or without newlines costs one block of memory and linear time. A
 * last line without a newline gets one.
 */
export function copyPrefixedLines(file: string, prefix: string, write: (chunk: Buffer) => void): void {
  const fd = fs.openSync(file, 'r');
  const head = Buffer.from(prefix);
  try {
    // One block for every call: a fresh megabyte per host and stream added ~40 MiB of RSS at 1,000 hosts.
    const block = (copyBlock ??= Buffer.allocUnsafe(256 * 1024));
    let atLineStart = true;
    for (;;) {
      const n = fs.readSync(fd, block, 0, block.length, null);
      if (n === 0) break;
      const pieces: Buffer[] = [];
      let from = 0;
      while (from < n) {
        if (atLineStart) pieces.push(head);
        const nl = block.indexOf(10, from);
        const end = nl < 0 || nl >= n ? n : nl + 1;
        pieces.push(Buffer.from(block.subarray(from, end)));
        atLineStart = end === nl + 1;
        from = end;
      }
      write(Buffer.concat(pieces));
    }
    if (!atLineStart) write(Buffer.from('\n'));
  } finally {
    fs.closeSync(fd);
  }
}
