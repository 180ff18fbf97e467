// --checksum: files compare by sha256 instead of size and mtime, hashed on the host in one command.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { CHECKSUM_TIMEOUT_MS } from '../defaults.js';
import type { HostConnection } from '../transport/connection.js';
import { shellQuote } from '../transport/remote-command.js';
import { TransferError } from '../transport/transfer-error.js';

/** sha256 of a local file, read in blocks (bounded memory for large files). */
export function sha256File(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const block = Buffer.alloc(1024 * 1024);
    for (let n = fs.readSync(fd, block); n > 0; n = fs.readSync(fd, block)) hash.update(block.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** Parse `sha256sum` output of `find . -type f -exec sha256sum {} +` into relative path -> hash. */
export function parseSha256Listing(text: string): Map<string, string> {
  const hashes = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{64}) {2}\.\/(.+)$/.exec(line);
    if (m) hashes.set(m[2]!, m[1]!);
  }
  return hashes;
}

/**
 * sha256 of the files under a remote path, computed on the host in one command: the tree under
 * `root`, or the one `file` in the directory `root`. `tag` tags the command's processes.
 */
export async function hashRemote(
  conn: HostConnection,
  tag: string,
  where: { root: string; file?: string },
): Promise<Map<string, string>> {
  const { root, file } = where;
  const command =
    file !== undefined
      ? `cd -- ${shellQuote(root)} 2>/dev/null && sha256sum -- ./${shellQuote(file)} 2>/dev/null; exit 0`
      : `if [ -d ${shellQuote(root)} ]; then cd -- ${shellQuote(root)} && find . -type f -exec sha256sum -- {} + 2>/dev/null; ` +
        `else cd -- "$(dirname -- ${shellQuote(root)})" 2>/dev/null && ` +
        `sha256sum -- "./$(basename -- ${shellQuote(root)})" 2>/dev/null; ` +
        'fi; exit 0';
  let out = '';
  const outcome = await conn.exec(command, {
    timeoutMs: CHECKSUM_TIMEOUT_MS,
    tag,
    onStdout: (c) => {
      out += c.toString('utf8');
    },
    onStderr: () => {},
  });
  if (outcome.exitCode !== 0) {
    const why = outcome.timedOut ? 'timed out' : `exit ${outcome.exitCode}`;
    throw new TransferError(`could not compute checksums on the host (${why})`);
  }
  return parseSha256Listing(out);
}
