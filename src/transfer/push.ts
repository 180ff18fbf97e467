// Push a local file or tree to the host. Files go to a random temporary name in the target
// directory, created exclusively (it never follows a link a host or another user planted), and
// are renamed into place, so a dropped connection never leaves a half-written file under the real
// name. Unchanged files (same size and mtime) are skipped; several files are in flight at once,
// since round trips dominate small trees.
import fs from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { PARALLEL_FILES_PER_SESSION } from '../defaults.js';
import type { FileChannel, RemoteStats } from '../transport/connection.js';
import { TransferError } from '../transport/transfer-error.js';
import { sha256File } from './checksum.js';
import { deleteRemoteExtras } from './delete.js';
import { doing, isPermissionDenied, remoteListing, remoteLstat } from './remote.js';
import { settle } from './settle.js';
import { tempName, tempTarget } from './temp-name.js';
import { emptySummary, type TransferOptions, type TransferSummary } from './types.js';

// Files up to this size move whole in one request, the other requests pipelined behind it.
const SMALL_FILE_BYTES = 64 * 1024;

async function ensureRemoteDir(files: FileChannel, dir: string, mode: number): Promise<void> {
  const st = await remoteLstat(files, dir);
  if (st?.isDirectory()) return;
  if (st) throw new TransferError(`${dir} exists on the host and is not a directory`);
  await doing(files.mkdir(dir, mode), `mkdir ${dir}`);
}

/** mkdir -p for the destination root: its missing parents are created (0755), like `install -d`. */
async function ensureRemoteParents(files: FileChannel, dir: string): Promise<void> {
  const parts = dir.split('/').filter(Boolean);
  let current = dir.startsWith('/') ? '' : '.';
  for (const part of parts.slice(0, -1)) {
    current = `${current}/${part}`;
    const st = await remoteLstat(files, current);
    if (st) continue;
    await doing(files.mkdir(current, 0o755), `mkdir ${current}`);
  }
}

/**
 * Upload one file beside its target under a fresh temporary name, then rename it into place.
 * `existing` is what the destination directory's listing said of the target (null: absent;
 * undefined: not listed, so it is looked up). Returns the bytes sent, or null when unchanged.
 */
async function putFile(
  files: FileChannel,
  local: string,
  remote: string,
  st: fs.Stats,
  times: boolean,
  knownHash?: string | null,
  existing?: RemoteStats | null,
): Promise<number | null> {
  if (knownHash !== undefined) {
    if (knownHash !== null && knownHash === sha256File(local)) return null;
  } else {
    const there = existing === undefined ? await remoteLstat(files, remote) : existing;
    if (times && there?.isFile() && there.size === st.size && there.mtime === Math.floor(st.mtimeMs / 1000))
      return null;
  }
  const tmp = path.posix.join(path.posix.dirname(remote), tempName(path.posix.basename(remote)));
  const mode = st.mode & 0o7777;
  const small = st.size <= SMALL_FILE_BYTES ? fs.readFileSync(local) : undefined;
  const handle = await doing(files.open(tmp, 'wx', mode), `create ${remote}`);
  try {
    if (!small) {
      const file = await fs.promises.open(local, 'r');
      try {
        await files.upload(file, handle, st.size, remote);
      } finally {
        await file.close();
      }
    }
    // Write (small files), mode, times and close pipelined: the server answers in order.
    const steps: Promise<unknown>[] = [];
    if (small && small.length > 0) steps.push(doing(files.write(handle, small, 0, small.length, 0), `write ${remote}`));
    const attrs = times ? { mode, atime: st.atimeMs / 1000, mtime: st.mtimeMs / 1000 } : { mode };
    steps.push(doing(files.setAttributes(handle, attrs), `set mode on ${remote}`));
    steps.push(doing(files.close(handle), `close ${remote}`));
    await Promise.all(steps);
    await doing(files.rename(tmp, remote), `rename into ${remote}`);
  } catch (err) {
    void files.close(handle).catch(() => undefined);
    await doing(files.unlink(tmp), 'cleanup').catch(() => undefined);
    throw err;
  }
  return st.size;
}

/**
 * Temporary files an earlier, interrupted push left for the files this one sends into a directory
 * (the listing was taken before this push wrote there, so none of them is its own). Removing one
 * never follows a link. Only those named after a file being sent go: others are not ours to judge.
 */
function removeRemoteLeftovers(
  files: FileChannel,
  dir: string,
  listing: Map<string, RemoteStats>,
  sending: Set<string>,
): Promise<unknown>[] {
  const removals: Promise<unknown>[] = [];
  for (const [name, attrs] of listing) {
    const target = tempTarget(name);
    if (target === undefined || !sending.has(target) || attrs.isDirectory()) continue;
    const full = path.posix.join(dir, name);
    removals.push(doing(files.unlink(full), `remove leftover ${full}`).catch(() => undefined));
  }
  return removals;
}

/**
 * Push a local file or directory tree. A source ending in `/` copies the directory's contents
 * into `remote`; otherwise the file or directory itself lands at `remote`.
 */
export async function pushPath(
  files: FileChannel,
  local: string,
  remote: string,
  opts: TransferOptions = {},
): Promise<TransferSummary> {
  const times = opts.times !== false;
  const summary = emptySummary();
  const limit = pLimit(opts.parallel ?? PARALLEL_FILES_PER_SESSION);
  // The path the operator named is followed (as on pull): a link's own attributes would give
  // the host's file mode 0777 and the link's size and times. Links inside a tree stay links.
  const st = fs.statSync(local);
  const hashOf = (rel: string): string | null | undefined =>
    opts.remoteHashes ? (opts.remoteHashes.get(rel) ?? null) : undefined;
  const present = new Set<string>();
  const sendFile = async (
    l: string,
    r: string,
    rel: string,
    fst: fs.Stats,
    existing?: RemoteStats | null,
  ): Promise<void> => {
    present.add(rel);
    const sent = await putFile(files, l, r, fst, times, hashOf(rel), existing);
    if (sent === null) summary.skipped++;
    else {
      summary.files++;
      summary.bytes += sent;
    }
    opts.onFile?.(rel, sent ?? 0, sent === null ? 'unchanged' : 'sent');
  };
  const compareListing = times && !opts.remoteHashes;
  if (!st.isDirectory()) {
    const target = remote.endsWith('/') ? path.posix.join(remote, path.basename(local)) : remote;
    const name = path.posix.basename(target);
    await ensureRemoteParents(files, target);
    // The parent's listing finds what an interrupted push left under temporary names.
    const listing = await remoteListing(files, path.posix.dirname(target));
    const existing = listing && compareListing ? (listing.get(name) ?? null) : undefined;
    await sendFile(local, target, name, st, existing);
    if (listing) await Promise.all(removeRemoteLeftovers(files, path.posix.dirname(target), listing, new Set([name])));
    return summary;
  }
  const pending: Promise<unknown>[] = [];
  // Directory times are set last: writing inside a directory changes its mtime.
  const dirTimes: { remote: string; st: fs.Stats }[] = [];
  // Directories are created before their files (in walk order); files go in parallel.
  const walk = async (localDir: string, remoteDir: string, rel: string): Promise<void> => {
    const dst = fs.statSync(localDir);
    await ensureRemoteDir(files, remoteDir, dst.mode & 0o7777);
    dirTimes.push({ remote: remoteDir, st: dst });
    summary.dirs++;
    // One listing per directory instead of a stat per file (only size and mtime are compared).
    const listing = await remoteListing(files, remoteDir);
    const sending = new Set<string>();
    for (const entry of fs.readdirSync(localDir, { withFileTypes: true })) {
      const l = path.join(localDir, entry.name);
      const r = path.posix.join(remoteDir, entry.name);
      const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`;
      const followed =
        entry.isSymbolicLink() && opts.followLinks ? fs.statSync(l, { throwIfNoEntry: false }) : undefined;
      present.add(relPath);
      if (entry.isDirectory() || followed?.isDirectory()) await walk(l, r, relPath);
      else if (entry.isFile() || followed?.isFile()) {
        const fst = fs.statSync(l);
        opts.onPlanned?.(fst.size);
        sending.add(entry.name);
        const existing = listing && compareListing ? (listing.get(entry.name) ?? null) : undefined;
        pending.push(limit(() => sendFile(l, r, relPath, fst, existing)));
      } else if (entry.isSymbolicLink()) {
        const target = fs.readlinkSync(l);
        const existing = await remoteLstat(files, r);
        if (existing) await doing(files.unlink(r), `replace ${r}`);
        await doing(files.symlink(target, r), `symlink ${r}`);
        opts.onFile?.(relPath, 0, 'link');
      } else opts.onFile?.(relPath, 0, 'skipped_special');
    }
    if (listing) pending.push(...removeRemoteLeftovers(files, remoteDir, listing, sending));
  };
  const remoteRoot = remote.replace(/\/+$/, '') || '/';
  await ensureRemoteParents(files, remoteRoot);
  await settle(walk(local, remoteRoot, ''), pending);
  if (opts.deleteExtra) await deleteRemoteExtras(files, remoteRoot, '', present, opts);
  if (times) {
    const denied = await Promise.all(
      dirTimes.map((d) =>
        doing(files.setTimes(d.remote, d.st.atimeMs / 1000, d.st.mtimeMs / 1000), `set times on ${d.remote}`).then(
          () => false,
          (err: unknown) => {
            // A directory that was there before, owned by another user (a shared web root): counted, not fatal.
            if (isPermissionDenied(err)) return true;
            throw err;
          },
        ),
      ),
    );
    summary.dirTimesDenied = denied.filter(Boolean).length;
  }
  return summary;
}
