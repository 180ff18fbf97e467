// Which file, and which version of it, without reading it: what herd's code cache (code-cache.ts) and a connection
// keeper's build check (keeper/key.ts) compare instead of hashing the content.
import type fs from 'node:fs';

/**
 * Device, inode, size, modification and change time. The change time only the kernel sets: any write moves it, even
 * one that puts the modification time back (`touch -r`, an archive's recorded times, npm's fixed ones) — within the
 * file system's timestamp step, which a caller comparing across writes must allow for.
 */
export function fileIdentity(st: fs.BigIntStats): string {
  return [st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs].join(':');
}
