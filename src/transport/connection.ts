// What the engine and transfer/ may do with a connected host: run a command, open a file channel,
// learn that the connection went away, close it. The ssh2 implementation is ssh-connection.ts and
// sftp-channel.ts; nothing outside transport/ sees ssh2's types.
import type { FileHandle } from 'node:fs/promises';
import type { ExecOptions, ExecOutcome } from './exec.js';

/** One authenticated connection to a host. */
export interface HostConnection {
  /**
   * Run a command (timeouts, remote kill, become); rejects only when no channel could be opened (HostFailure
   * E_CHANNEL).
   */
  exec(command: string, options: ExecOptions): Promise<ExecOutcome>;
  /** A file channel (SFTP) over this connection; rejects with a TransferError when the host refuses one. */
  openFiles(): Promise<FileChannel>;
  /** `listener` runs once when the connection has closed, from either side; the result unsubscribes. */
  onClose(listener: () => void): () => void;
  /**
   * `listener` runs when code in this connection's callbacks threw (herd's own handlers: a bug, not
   * the host's doing); the connection is dropped then, and whatever waited on it may never settle.
   * The result unsubscribes (a connection kept across passes serves several jobs, each with its own listener).
   */
  onInternalError(listener: (err: Error) => void): () => void;
  close(): void;
}

/** An opaque open remote file. */
export type RemoteHandle = Buffer;

/** A remote entry's attributes (SFTP ATTRS); a hostile listing may leave any of them out. */
export interface RemoteStats {
  mode: number;
  size: number;
  /** Seconds since the epoch. */
  atime: number;
  mtime: number;
  isDirectory(): boolean;
  isFile(): boolean;
  isSymbolicLink(): boolean;
}

export interface RemoteEntry {
  filename: string;
  attrs: RemoteStats;
}

/**
 * Remote file operations. Each call sends its request at once, so calls made together are
 * pipelined (the server answers in order). Failures reject with the host's error as it came
 * (its SFTP status in `code`), except where a method says it throws a TransferError.
 */
export interface FileChannel {
  /** A directory's entries without . and .., bounded (TransferError past MAX_LISTING_ENTRIES). */
  list(dir: string): Promise<RemoteEntry[]>;
  stat(p: string): Promise<RemoteStats>;
  lstat(p: string): Promise<RemoteStats>;
  mkdir(p: string, mode: number): Promise<void>;
  /** Set times without following a link at `p` where the server can (lsetstat@openssh.com). */
  setTimes(p: string, atime: number, mtime: number): Promise<void>;
  chmod(p: string, mode: number): Promise<void>;
  /** 'wx' creates exclusively (O_CREAT|O_EXCL on the host): it never follows anything at the name. */
  open(p: string, flags: 'r' | 'wx', mode?: number): Promise<RemoteHandle>;
  /** Bytes read into buf[offset, offset + length); fewer at the end of the file. */
  read(handle: RemoteHandle, buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  write(handle: RemoteHandle, buf: Buffer, offset: number, length: number, position: number): Promise<void>;
  setAttributes(handle: RemoteHandle, attrs: { mode: number; atime?: number; mtime?: number }): Promise<void>;
  close(handle: RemoteHandle): Promise<void>;
  /** Replaces `to` atomically (posix-rename@openssh.com), else a plain SFTP rename. */
  rename(from: string, to: string): Promise<void>;
  unlink(p: string): Promise<void>;
  rmdir(p: string): Promise<void>;
  /** A link at `p` pointing to `target`. */
  symlink(target: string, p: string): Promise<void>;
  readlink(p: string): Promise<string>;
  /** Local file -> remote handle, `size` bytes, several requests in flight (TransferError naming `what`). */
  upload(local: FileHandle, handle: RemoteHandle, size: number, what: string): Promise<void>;
  /** Remote handle -> local file, its first `size` bytes, several requests in flight (TransferError naming `what`). */
  download(handle: RemoteHandle, local: FileHandle, size: number, what: string): Promise<void>;
  end(): void;
}
