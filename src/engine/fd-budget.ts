// File-descriptor preflight: fit --forks under `ulimit -n` before starting, instead of failing
// hosts with EMFILE halfway through a run.
import fs from 'node:fs';
import { FDS_RESERVED } from '../defaults.js';

/** The soft RLIMIT_NOFILE of this process (inherited by workers), or null where it cannot be read. */
export function openFileLimit(limitsText?: string): number | null {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return null;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!m) return null;
  return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
}

/**
 * The largest forks that fits: each worker holds its share of sessions, each needing
 * `fdsPerSession` descriptors, plus a reserve for the process itself.
 */
export function fitForks(forks: number, workers: number, fdsPerSession: number, limit: number): number {
  const perWorker = Math.floor((limit - FDS_RESERVED) / fdsPerSession);
  return Math.max(1, Math.min(forks, perWorker * workers));
}

/** The `ulimit -n` at which fitForks leaves `sessions` sessions alone: the number the warning tells the user to set. */
export function limitFor(sessions: number, workers: number, fdsPerSession: number): number {
  return Math.ceil(sessions / workers) * fdsPerSession + FDS_RESERVED;
}
