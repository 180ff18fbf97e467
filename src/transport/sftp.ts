// Recursive SFTP push and pull over an already open connection (the same one used for commands).
// ssh2's own sftp() is used rather than ssh2-sftp-client because the latter always opens its own
// connection, which would double the handshakes and bypass our host-key checks and timeouts.
import fs from 'node:fs';
import path from 'node:path';
import type { Client, SFTPWrapper, Stats } from 'ssh2';
import { HerdError } from '../errors.js';

export class TransferError extends HerdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_TRANSFER', message, options);
  }
}

export interface TransferSummary {
  files: number;
  dirs: number;
  bytes: number;
}

export function openSftp(client: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => {
    client.sftp((err, sftp) => (err ? reject(new TransferError(`could not start SFTP: ${err.message}`, { cause: err })) : resolve(sftp)));
  });
}

const call = <T>(fn: (cb: (err: Error | null | undefined, value: T) => void) => void, what: string): Promise<T> =>
  new Promise((resolve, reject) => fn((err, value) => (err ? reject(new TransferError(`${what}: ${err.message}`, { cause: err })) : resolve(value))));

async function remoteStat(sftp: SFTPWrapper, p: string): Promise<Stats | null> {
  try {
    return await call<Stats>((cb) => sftp.lstat(p, cb), `stat ${p}`);
  } catch {
    return null;
  }
}

async function ensureRemoteDir(sftp: SFTPWrapper, dir: string, mode: number): Promise<void> {
  const st = await remoteStat(sftp, dir);
  if (st?.isDirectory()) return;
  if (st) throw new TransferError(`${dir} exists on the host and is not a directory`);
  await call<void>((cb) => sftp.mkdir(dir, { mode }, (err) => cb(err, undefined)), `mkdir ${dir}`);
}

/** Upload one file to a temporary name beside the target, then rename it into place. */
async function putFileAtomic(sftp: SFTPWrapper, local: string, remote: string, mode: number): Promise<number> {
  const tmp = path.posix.join(path.posix.dirname(remote), `.${path.posix.basename(remote)}.herd-tmp-${process.pid}`);
  await call<void>((cb) => sftp.fastPut(local, tmp, { mode }, (err) => cb(err, undefined)), `upload ${remote}`);
  try {
    await call<void>((cb) => sftp.ext_openssh_rename(tmp, remote, (err) => cb(err, undefined)), `rename into ${remote}`);
  } catch {
    await call<void>((cb) => sftp.rename(tmp, remote, (err) => cb(err, undefined)), `rename into ${remote}`);
  }
  await call<void>((cb) => sftp.chmod(remote, mode, (err) => cb(err, undefined)), `chmod ${remote}`);
  return fs.statSync(local).size;
}

/**
 * Push a local file or directory tree. A source ending in `/` copies the directory's contents
 * into `remote`; otherwise the file or directory itself lands at `remote`.
 */
export async function pushPath(sftp: SFTPWrapper, local: string, remote: string): Promise<TransferSummary> {
  const summary: TransferSummary = { files: 0, dirs: 0, bytes: 0 };
  const st = fs.lstatSync(local);
  if (!st.isDirectory()) {
    summary.bytes += await putFileAtomic(sftp, local, remote.endsWith('/') ? path.posix.join(remote, path.basename(local)) : remote, st.mode & 0o7777);
    summary.files++;
    return summary;
  }
  const walk = async (localDir: string, remoteDir: string): Promise<void> => {
    await ensureRemoteDir(sftp, remoteDir, fs.statSync(localDir).mode & 0o7777);
    summary.dirs++;
    for (const entry of fs.readdirSync(localDir, { withFileTypes: true })) {
      const l = path.join(localDir, entry.name);
      const r = path.posix.join(remoteDir, entry.name);
      if (entry.isDirectory()) await walk(l, r);
      else if (entry.isFile()) {
        summary.bytes += await putFileAtomic(sftp, l, r, fs.statSync(l).mode & 0o7777);
        summary.files++;
      } else if (entry.isSymbolicLink()) {
        const target = fs.readlinkSync(l);
        if (await remoteStat(sftp, r)) await call<void>((cb) => sftp.unlink(r, (err) => cb(err, undefined)), `replace ${r}`);
        await call<void>((cb) => sftp.symlink(target, r, (err) => cb(err, undefined)), `symlink ${r}`);
      }
    }
  };
  await walk(local, remote.replace(/\/+$/, '') || '/');
  return summary;
}

/** A remote directory entry name that could escape the destination is refused. */
export function isSafeEntryName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

/** Pull a remote file or directory tree into `localDir` (created as needed), atomically per file. */
export async function pullPath(sftp: SFTPWrapper, remote: string, localDir: string): Promise<TransferSummary> {
  const summary: TransferSummary = { files: 0, dirs: 0, bytes: 0 };
  const root = path.resolve(localDir);
  const st = await remoteStat(sftp, remote);
  if (!st) throw new TransferError(`${remote}: no such file or directory on the host`);
  fs.mkdirSync(root, { recursive: true });
  const getFile = async (r: string, l: string, mode: number): Promise<void> => {
    if (!path.resolve(l).startsWith(root + path.sep)) throw new TransferError(`refused ${r}: it would land outside ${root}`);
    const tmp = path.join(path.dirname(l), `.${path.basename(l)}.herd-tmp-${process.pid}`);
    await call<void>((cb) => sftp.fastGet(r, tmp, (err) => cb(err, undefined)), `download ${r}`);
    fs.chmodSync(tmp, mode & 0o7777);
    fs.renameSync(tmp, l);
    summary.bytes += fs.statSync(l).size;
    summary.files++;
  };
  if (!st.isDirectory()) {
    await getFile(remote, path.join(root, path.posix.basename(remote)), st.mode);
    return summary;
  }
  const walk = async (remoteDir: string, local: string): Promise<void> => {
    fs.mkdirSync(local, { recursive: true });
    summary.dirs++;
    const list = await call<{ filename: string; attrs: Stats }[]>((cb) => sftp.readdir(remoteDir, cb as never), `list ${remoteDir}`);
    for (const entry of list) {
      if (!isSafeEntryName(entry.filename)) throw new TransferError(`refused entry ${JSON.stringify(entry.filename)} in ${remoteDir}: unsafe name`);
      const r = path.posix.join(remoteDir, entry.filename);
      const l = path.join(local, entry.filename);
      const est = await remoteStat(sftp, r);
      if (!est) continue;
      if (est.isDirectory()) await walk(r, l);
      else if (est.isFile()) await getFile(r, l, est.mode);
      else if (est.isSymbolicLink()) {
        const target = await call<string>((cb) => sftp.readlink(r, cb), `readlink ${r}`);
        fs.rmSync(l, { force: true });
        fs.symlinkSync(target, l);
      }
    }
  };
  await walk(remote, root);
  return summary;
}
