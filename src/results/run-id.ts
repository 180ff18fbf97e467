// Run ids sort by start time as plain strings, so `ls` and `sort` list runs in order.
import { randomBytes } from 'node:crypto';

/** e.g. 20261124T103455Z-3f9a: UTC start time plus a short random suffix against same-second runs. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}
