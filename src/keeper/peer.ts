// Who is at the other end of an accepted Unix socket. Node has no SO_PEERCRED. The client says which process it
// is (its pid, in its hello); Linux tells the peer's socket inode through sock_diag (`ss -x`, without -p: asking ss
// for every socket's processes made it read every process's file descriptors, 20-30 ms a command on a machine
// with a few hundred processes), and /proc whether that process holds that socket and as which uid. Best effort
// where Linux cannot tell (no ss, no /proc): then the directory's mode and the token are the check.
import { execFile } from 'node:child_process';
import fs from 'node:fs';

/** How long ss may take. */
const SS_TIMEOUT_MS = 2_000;

/**
 * The inode of the peer of the accepted socket at `fd`, as Linux tells it: asked as soon as the socket is accepted,
 * before the client has said who it is (ss takes ~10-15 ms, and a client connects before its hello is ready). null:
 * Linux could not tell (no ss, no /proc); false: its listing does not name exactly one peer.
 */
export function peerOf(fd: number): Promise<string | null | false> {
  const ours = socketInode(`/proc/self/fd/${fd}`);
  return ours === null ? Promise.resolve(null) : peerInode(ours);
}

/**
 * Whether process `pid` holds `peer` (peerOf) and runs as `uid` (real and effective). null: Linux could not tell
 * whose the peer is. A claim that cannot be verified while the peer is known is false; so is a listing that named
 * two peers.
 */
export function holdsPeer(peer: string | null | false, pid: unknown, uid: number): boolean | null {
  if (peer === null) return null;
  if (peer === false) return false;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return false;
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return false;
  }
  const uids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
  if (!uids || Number(uids[1]) !== uid || Number(uids[2]) !== uid) return false;
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((f) => socketInode(`/proc/${pid}/fd/${f}`) === peer);
}

/** The inode of the socket a /proc fd link points to, or null. */
function socketInode(link: string): string | null {
  try {
    return /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(link))?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * The peer inode of our socket `inode`, from `ss -xH`: null when ss cannot say (not installed, failed), false when
 * its listing does not name exactly one peer. A socket's path is printed as it is, spaces and newlines included, so
 * a row is read from its end (local inode, peer address, peer inode), and another user's socket named to look like a
 * row of ours makes two rows for our inode.
 */
function peerInode(inode: string): Promise<string | null | false> {
  return new Promise((resolve) => {
    execFile(
      'ss',
      ['-xH'],
      { encoding: 'utf8', timeout: SS_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (err, listing) => {
        if (err) return resolve(null);
        // Netid State Recv-Q Send-Q Local-Address Local-Inode Peer-Address Peer-Inode
        const peers = listing
          .split('\n')
          .map((l) => l.trim().split(/\s+/))
          .filter((r) => r.length >= 8 && r[r.length - 3] === inode)
          .map((r) => r[r.length - 1]!);
        // One row, with a peer inode: that peer. None (the client already left, or bound its socket to a name
        // that hides the row), two, or no peer: refused.
        const peer = peers.length === 1 ? peers[0]! : '';
        resolve(/^[1-9]\d*$/.test(peer) ? peer : false);
      },
    );
  });
}

/** The accepted socket's file descriptor (libuv's handle keeps it; no public API). */
export function socketFd(socket: unknown): number | null {
  const fd = (socket as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}
