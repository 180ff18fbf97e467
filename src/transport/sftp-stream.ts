// Large files over SFTP with several requests in flight, between a remote handle and a local file
// handle that the caller opened itself. ssh2's fastGet/fastPut open both ends by path with 'w',
// which would follow a link planted at the temporary name; here herd opens both ends exclusively.
import type { FileHandle } from 'node:fs/promises';
import type { SFTPWrapper } from 'ssh2';
import { TransferError } from './transfer-error.js';

export interface StreamWindow {
  chunkSize: number;
  concurrency: number;
}

/**
 * Move `size` bytes in chunks, `window.concurrency` of them in flight, each with its own buffer.
 * On a failure no new chunk starts, and the chunks in flight settle before the error is thrown,
 * so the caller may then close and remove the files.
 */
async function inChunks(
  size: number,
  window: StreamWindow,
  step: (buf: Buffer, pos: number, len: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const slot = async (): Promise<void> => {
    const buf = Buffer.allocUnsafe(Math.min(window.chunkSize, size));
    while (!failed && next < size) {
      const pos = next;
      const len = Math.min(window.chunkSize, size - pos);
      next += len;
      try {
        await step(buf, pos, len);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const slots = Math.max(1, Math.min(window.concurrency, Math.ceil(size / window.chunkSize)));
  const results = await Promise.allSettled(Array.from({ length: slots }, slot));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/** Fill buf[0, len) from the remote handle at `pos`; a server may answer a read with fewer bytes. */
function readRemote(
  sftp: SFTPWrapper,
  handle: Buffer,
  buf: Buffer,
  pos: number,
  len: number,
  what: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const more = (off: number): void =>
      sftp.read(handle, buf, off, len - off, pos + off, (err, n) => {
        if (err) return reject(new TransferError(`read ${what}: ${err.message}`, { cause: err }));
        // End of file before the listed size: the file shrank while it was copied.
        if (n === 0) return reject(new TransferError(`${what} shrank while it was copied`));
        if (off + n < len) more(off + n);
        else resolve();
      });
    more(0);
  });
}

/** Remote handle -> local file handle: the first `size` bytes (the size the listing gave). */
export async function download(
  sftp: SFTPWrapper,
  handle: Buffer,
  local: FileHandle,
  size: number,
  window: StreamWindow,
  what: string,
): Promise<void> {
  await inChunks(size, window, async (buf, pos, len) => {
    await readRemote(sftp, handle, buf, pos, len, what);
    for (let off = 0; off < len;) off += (await local.write(buf, off, len - off, pos + off)).bytesWritten;
  });
}

/** Local file handle -> remote handle: `size` bytes (the size the local stat gave). */
export async function upload(
  sftp: SFTPWrapper,
  local: FileHandle,
  handle: Buffer,
  size: number,
  window: StreamWindow,
  what: string,
): Promise<void> {
  await inChunks(size, window, async (buf, pos, len) => {
    for (let off = 0; off < len;) {
      const { bytesRead } = await local.read(buf, off, len - off, pos + off);
      if (bytesRead === 0) throw new TransferError(`${what} shrank while it was copied`);
      off += bytesRead;
    }
    await new Promise<void>((resolve, reject) =>
      sftp.write(handle, buf, 0, len, pos, (err) =>
        err ? reject(new TransferError(`write ${what}: ${err.message}`, { cause: err })) : resolve(),
      ),
    );
  });
}
