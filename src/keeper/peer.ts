// Who is at the other end of an accepted Unix socket. Node has no SO_PEERCRED; Linux tells the peer's socket
// inode through sock_diag (`ss -x`), and /proc which process holds it and as which uid. Best effort: null when
// it cannot tell (no ss, no /proc), and then the directory's mode and the token are the check.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** The uids of the processes holding the peer of the socket at `fd` in this process; null when unknown. */
export function peerUids(fd: number): number[] | null {
  let inode: string;
  let listing: string;
  try {
    const link = fs.readlinkSync(`/proc/self/fd/${fd}`);
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (!m) return null;
    inode = m[1]!;
    listing = execFileSync('ss', ['-xpH'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 2_000 });
  } catch {
    return null;
  }
  const rows = listing.split('\n').map((l) => l.trim().split(/\s+/));
  // Netid State Recv-Q Send-Q Local-Address Local-Inode Peer-Address Peer-Inode [users:((...))]
  const ours = rows.find((r) => r[5] === inode);
  const peerInode = ours?.[7];
  if (peerInode === undefined) return null;
  const peer = rows.find((r) => r[5] === peerInode);
  if (!peer) return null;
  const pids = [
    ...(peer
      .slice(8)
      .join(' ')
      .matchAll(/pid=(\d+)/g) ?? []),
  ].map((m) => m[1]!);
  if (pids.length === 0) return null;
  const uids: number[] = [];
  for (const pid of pids) {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const uid = /^Uid:\s+(\d+)/m.exec(status);
      if (uid) uids.push(Number(uid[1]));
    } catch {
      /* gone since */
    }
  }
  return uids.length > 0 ? uids : null;
}

/** The accepted socket's file descriptor (libuv's handle keeps it; no public API). */
export function socketFd(socket: unknown): number | null {
  const fd = (socket as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}
