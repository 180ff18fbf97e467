// Pull a remote file or tree into a local directory, atomically per file. A hostile host chooses
// the names, link targets, modes and sizes: nothing it sends may land outside the destination.
import fs from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { PARALLEL_FILES_PER_SESSION } from '../defaults.js';
import type { FileChannel, RemoteStats } from '../transport/connection.js';
import { TransferError } from '../transport/transfer-error.js';
import { sha256File } from './checksum.js';
import { deleteLocalExtras } from './delete.js';
import { inside, isSafeEntryName, UNSAFE } from './paths.js';
import { doing, hasFileType, remoteLstat, remoteStat } from './remote.js';
import { settle } from './settle.js';
import { looksLikeTempName, tempName, tempTarget } from './temp-name.js';
import { emptySummary, type TransferOptions, type TransferSummary } from './types.js';

// Files up to this size move whole in one request each way, the other requests pipelined behind it.
const SMALL_FILE_BYTES = 64 * 1024;

// Never follows a link at the name, and fails if anything is there: the temporary file is herd's alone.
const EXCLUSIVE_CREATE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;

// Synchronous: a local lstat takes microseconds, a trip through the thread pool costs more.
const lstatOrUndefined = (p: string): fs.Stats | undefined => fs.lstatSync(p, { throwIfNoEntry: false });

/**
 * Read a small remote file in two round trips (fastGet needs five: open, fstat, read, read to
 * EOF, close). Asks for one byte more than the listed size, so a file that changed size since
 * the listing is noticed: then null, and the caller falls back to the streaming path.
 */
async function readSmallFile(files: FileChannel, remote: string, size: number): Promise<Buffer | null> {
  const handle = await doing(files.open(remote, 'r'), `open ${remote}`);
  const buf = Buffer.allocUnsafe(size + 1);
  const read = doing(files.read(handle, buf, 0, size + 1, 0), `read ${remote}`);
  const closed = doing(files.close(handle), `close ${remote}`);
  const [got] = await Promise.all([read, closed]);
  return got === size ? buf.subarray(0, size) : null;
}

/** Pull a remote file or directory tree into `localDir` (created as needed), atomically per file. */
export async function pullPath(
  files: FileChannel,
  remote: string,
  localDir: string,
  opts: TransferOptions = {},
): Promise<TransferSummary> {
  const times = opts.times !== false;
  const summary = emptySummary();
  const limit = pLimit(opts.parallel ?? PARALLEL_FILES_PER_SESSION);
  // A host's setuid file must not become a root-owned setuid file here unless asked for.
  const modeMask = opts.keepSpecialBits ? 0o7777 : 0o777;
  const root = path.resolve(localDir);
  const present = new Set<string>();
  // The path the operator named is followed, as scp does: a link's own attributes (its length as
  // the size, 0777) would have the file cut short and recorded received. Links inside stay links.
  const st = await remoteStat(files, remote);
  if (!st) throw new TransferError(`${remote}: no such file or directory on the host`, { code: 'E_NO_SUCH_FILE' });
  fs.mkdirSync(root, { recursive: true });
  // `knownAbsent`: the local directory's listing showed no entry of that name (no lstat needed).
  const getFile = async (r: string, l: string, rel: string, rst: RemoteStats, knownAbsent = false): Promise<void> => {
    if (!inside(root, path.resolve(l))) throw new TransferError(`refused ${r}: it would land outside ${root}`, UNSAFE);
    const local = knownAbsent ? undefined : lstatOrUndefined(l);
    if (local?.isSymbolicLink()) {
      throw new TransferError(`refused ${r}: ${l} is a symlink, writing through it could leave ${root}`, UNSAFE);
    }
    present.add(rel);
    const known = opts.remoteHashes?.get(rel);
    const same = opts.remoteHashes
      ? local?.isFile() === true && known !== undefined && sha256File(l) === known
      : times && local?.isFile() === true && local.size === rst.size && Math.floor(local.mtimeMs / 1000) === rst.mtime;
    if (same) {
      summary.skipped++;
      opts.onFile?.(rel, 0, 'unchanged');
      return;
    }
    const tmp = path.join(path.dirname(l), tempName(path.basename(l)));
    let created = false;
    try {
      const whole = (rst.size ?? Infinity) <= SMALL_FILE_BYTES ? await readSmallFile(files, r, rst.size) : null;
      if (whole) {
        // A few small synchronous calls cost less CPU than five trips through libuv's thread pool per file.
        const fd = fs.openSync(tmp, EXCLUSIVE_CREATE, 0o600);
        created = true;
        try {
          for (let off = 0; off < whole.length;) off += fs.writeSync(fd, whole, off);
          fs.fchmodSync(fd, rst.mode & modeMask);
          if (times) fs.futimesSync(fd, rst.atime, rst.mtime);
        } finally {
          fs.closeSync(fd);
        }
        fs.renameSync(tmp, l);
      } else {
        // Async file calls keep the worker's event loop free for the other hosts' packets.
        const handle = await doing(files.open(r, 'r'), `open ${r}`);
        try {
          const file = await fs.promises.open(tmp, EXCLUSIVE_CREATE, 0o600);
          created = true;
          try {
            await files.download(handle, file, rst.size, r);
            await file.chmod(rst.mode & modeMask);
            if (times) await file.utimes(rst.atime, rst.mtime);
          } finally {
            await file.close();
          }
        } finally {
          void files.close(handle).catch(() => undefined);
        }
        await fs.promises.rename(tmp, l);
      }
    } catch (err) {
      // Only a file this pull created goes: the name is random, but an entry there is not ours.
      if (created) await fs.promises.rm(tmp, { force: true });
      throw err;
    }
    summary.bytes += rst.size;
    summary.files++;
    opts.onFile?.(rel, rst.size, 'received');
  };
  if (!st.isDirectory()) {
    const name = path.posix.basename(remote);
    removeLocalLeftovers(root, new Set(fs.readdirSync(root)), (target) => target === name);
    await getFile(remote, path.join(root, name), name, st);
    return summary;
  }
  const pending: Promise<void>[] = [];
  // Directory times are set last: writing inside a directory changes its mtime.
  const dirTimes: { local: string; st: RemoteStats }[] = [];
  const walk = async (remoteDir: string, local: string, rel: string, dst: RemoteStats): Promise<void> => {
    if (local !== root && !inside(root, local)) {
      throw new TransferError(`refused ${remoteDir}: it would land outside ${root}`, UNSAFE);
    }
    // A symlink where a directory goes (left by an earlier pull of a link) would lead the files outside.
    const there = local === root ? undefined : lstatOrUndefined(local);
    if (there && !there.isDirectory()) {
      const why = `${local} exists and is not a directory (a symlink there could lead outside ${root})`;
      throw new TransferError(`refused ${remoteDir}: ${why}`, UNSAFE);
    }
    fs.mkdirSync(local, { recursive: true });
    dirTimes.push({ local, st: dst });
    // What is already there, listed once: a fresh destination then costs no lstat per file.
    const localNames = new Set(fs.readdirSync(local));
    // The host folder is herd's own: every leftover of an interrupted pull in it goes.
    removeLocalLeftovers(local, localNames, () => true);
    summary.dirs++;
    const list = await files.list(remoteDir);
    // A hostile or broken server must not place anything outside the host's folder: check the whole listing first.
    const unsafe = list.find((e) => !isSafeEntryName(e.filename));
    if (unsafe) {
      const name = JSON.stringify(unsafe.filename);
      throw new TransferError(
        `refused entry ${name} in ${remoteDir}: a remote name may not contain / or be . or ..`,
        UNSAFE,
      );
    }
    for (const entry of list) {
      const r = path.posix.join(remoteDir, entry.filename);
      const l = path.join(local, entry.filename);
      const relPath = rel === '' ? entry.filename : `${rel}/${entry.filename}`;
      // Recreated here, a host's link at a temporary name would be where herd writes next.
      if (looksLikeTempName(entry.filename)) {
        summary.tempNamed++;
        opts.onFile?.(relPath, 0, 'skipped_temp_name');
        continue;
      }
      // readdir already carries lstat attributes (OpenSSH's sftp-server lstats each entry): no extra round trip per
      // file.
      const est = hasFileType(entry.attrs) ? entry.attrs : await remoteLstat(files, r);
      if (!est) continue;
      present.add(relPath);
      if (est.isDirectory()) await walk(r, l, relPath, est);
      else if (est.isFile()) {
        opts.onPlanned?.(est.size);
        pending.push(limit(() => getFile(r, l, relPath, est, !localNames.has(entry.filename))));
      } else if (est.isSymbolicLink()) {
        const target = await doing(files.readlink(r), `readlink ${r}`);
        // A link replaces a file or a link, never a directory (files may be on their way into it).
        const old = lstatOrUndefined(l);
        if (old?.isDirectory())
          throw new TransferError(`refused ${r}: the host has a link where ${l} is a directory`, UNSAFE);
        if (old) fs.unlinkSync(l);
        fs.symlinkSync(target, l);
        opts.onFile?.(relPath, 0, 'link');
      } else opts.onFile?.(relPath, 0, 'skipped_special');
    }
  };
  await settle(walk(remote, root, '', st), pending);
  if (opts.deleteExtra) deleteLocalExtras(root, '', present, opts);
  // lutimes: a directory checked above is never swapped for a link, but nothing here follows one anyway.
  if (times) for (const d of dirTimes) fs.lutimesSync(d.local, d.st.atime, d.st.mtime);
  return summary;
}

/**
 * Remove the temporary files an interrupted pull left in `dir` (never following a link), for targets `mine` accepts.
 */
function removeLocalLeftovers(dir: string, names: Set<string>, mine: (target: string) => boolean): void {
  for (const name of names) {
    const target = tempTarget(name);
    if (target === undefined || !mine(target)) continue;
    const full = path.join(dir, name);
    if (lstatOrUndefined(full)?.isDirectory() === false) {
      fs.unlinkSync(full);
      names.delete(name);
    }
  }
}
