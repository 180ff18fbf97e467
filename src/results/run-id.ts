// Run ids sort by start time as plain strings, so `ls` and `sort` list runs in order.
import { randomBytes } from 'node:crypto';

/** e.g. 20261124T103455.123Z-3f9a: UTC start time to the millisecond, plus a random suffix. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '');
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}
