// Run ids sort by start time as plain strings, so `ls` and `sort` list runs in order.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { HerdError, UsageError } from '../errors.js';
import { ioReason } from '../io-reason.js';

/** Before any host is contacted: a usage error (exit 2) in words, not an internal error with an errno. */
function cannotCreate(outDir: string, err: unknown): UsageError {
  return new UsageError(`cannot create a run directory in ${outDir}: ${ioReason(err)}`, 'E_RUN_DIR', { cause: err });
}

/** Enough that runs started in the same millisecond (parallel CI jobs, loops) practically never draw the same id. */
export const RUN_ID_RANDOM_BYTES = 6;
const CREATE_ATTEMPTS = 16;

export type RandomSource = (n: number) => Buffer;

/** e.g. 20261124T103455.123Z-3f9a0c12be47: UTC start time to the millisecond, plus a random suffix. */
export function newRunId(now: Date = new Date(), random: RandomSource = randomBytes): string {
  const stamp = now.toISOString().replace(/[-:]/g, '');
  return `${stamp}-${random(RUN_ID_RANDOM_BYTES).toString('hex')}`;
}

/**
 * Pick a run id and create its directory (private: outputs often hold sensitive data) in one
 * exclusive mkdir, so two runs can never share a directory: on EEXIST another id is drawn.
 */
export function createRunDir(
  outDir: string,
  opts: { now?: () => Date; random?: RandomSource } = {},
): { id: string; dir: string } {
  try {
    fs.mkdirSync(outDir, { recursive: true });
  } catch (err) {
    throw cannotCreate(outDir, err);
  }
  for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
    const id = newRunId(opts.now?.() ?? new Date(), opts.random);
    const dir = path.join(outDir, id);
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
      // mkdir's mode is filtered by the umask; the run directory is private whatever the umask.
      fs.chmodSync(dir, 0o700);
      return { id, dir };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw cannotCreate(outDir, err);
    }
  }
  throw new HerdError(
    'E_RUN_DIR',
    `cannot create a new run directory in ${outDir}: ${CREATE_ATTEMPTS} ids drawn were all taken`,
  );
}
