// The pool's queue at fleet scale: a million hosts must neither overflow the stack (spreading the
// job list into push()) nor go quadratic (Array#shift copies a large array on every call).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerPool, type PoolEvent } from '../../../src/engine/pool.js';
import type { HostJob, TaskSpec, WorkerConfig } from '../../../src/engine/protocol.js';
import { JobQueue } from '../../../src/engine/job-queue.js';

const MILLION = 1_000_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-pool-queue-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A real worker process speaking the pool protocol; each host is done as soon as it arrives. */
const workerPath = path.join(dir, 'instant-worker.mjs');
fs.writeFileSync(
  workerPath,
  `process.on('message', (m) => {
    if (m.kind === 'init') process.send({ kind: 'ready', problems: [] });
    else if (m.kind === 'jobs') for (const job of m.jobs) process.send({ kind: 'host_done', result: { id: job.id, status: 'ok', exitCode: 0, durationMs: 0, reason: '' } });
    else if (m.kind === 'shutdown') process.exit(0);
  });\n`,
);

/**
 * Elements that Array#shift, #splice and #slice move or copy on arrays of more than 10,000 items while
 * `fn` runs: a queue drained with shift() moves ~n^2/2 of them, one with a read index ~n. Counting
 * them proves linear draining on any machine, where a clock only measured the machine; past `budget`
 * the call throws at once, so a quadratic queue fails in a moment instead of running for minutes.
 * (Node's own code uses primordials, so only herd's and the test's array calls are counted.)
 */
async function bigArrayMoves(budget: number, fn: () => unknown): Promise<number> {
  const proto = Array.prototype as unknown as Record<'shift' | 'splice' | 'slice', (...a: unknown[]) => unknown>;
  const saved = { shift: proto.shift, splice: proto.splice, slice: proto.slice };
  let moved = 0;
  const big = (a: unknown[]): boolean => a.length > 10_000;
  const over = (): void => {
    if (moved > budget) throw new Error(`moved ${moved} elements of big arrays, over the linear budget ${budget}`);
  };
  const at = (i: unknown, len: number): number => {
    const n = Math.trunc(Number(i ?? 0)) || 0;
    return n < 0 ? Math.max(0, len + n) : Math.min(n, len);
  };
  proto.shift = function (this: unknown[], ...a: unknown[]) {
    if (big(this)) moved += this.length - 1;
    over();
    return saved.shift.apply(this, a);
  };
  proto.splice = function (this: unknown[], ...a: unknown[]) {
    if (big(this)) moved += this.length - at(a[0], this.length);
    over();
    return saved.splice.apply(this, a);
  };
  proto.slice = function (this: unknown[], ...a: unknown[]) {
    if (big(this)) moved += (a[1] === undefined ? this.length : at(a[1], this.length)) - at(a[0], this.length);
    over();
    return saved.slice.apply(this, a);
  };
  try {
    await fn();
  } finally {
    Object.assign(proto, saved);
  }
  return moved;
}

function jobs(n: number): HostJob[] {
  const out: HostJob[] = new Array(n);
  for (let i = 0; i < n; i++)
    out[i] = {
      id: `h${i}`,
      host: `h${i}`,
      port: 22,
      user: 'root',
      tag: `t${i}`,
      knownHosts: { files: [], record: null, hash: false },
    };
  return out;
}

const config = { connectRate: 0 } as unknown as Omit<WorkerConfig, 'concurrency' | 'handshakes'>;
const task: TaskSpec = { kind: 'command', command: 'true', timeoutMs: 0 };

describe('the pool queue with 1,000,000 hosts', () => {
  it('JobQueue is first in, first out, hands returned items back first, and drains a million in linear work', async () => {
    const q = new JobQueue<number>();
    q.pushAll([1, 2, 3]);
    expect(q.shift()).toBe(1);
    q.returnToFront(1);
    expect(q.length).toBe(3);
    expect(q.takeAll()).toEqual([1, 2, 3]);
    const items = Array.from({ length: MILLION }, (_, i) => i);
    let sum = 0;
    // A read index with compaction copies at most ~n in all; Array#shift would move ~5 * 10^11.
    const moved = await bigArrayMoves(2 * MILLION, () => {
      const big = new JobQueue<number>();
      big.pushAll(items);
      for (let v = big.shift(); v !== undefined; v = big.shift()) sum += v;
    });
    expect(sum).toBe((MILLION * (MILLION - 1)) / 2);
    expect(moved).toBeLessThanOrEqual(2 * MILLION);
  });

  it('hands 40,000 hosts of a 1,000,000-host queue to a worker, then drains the rest as not_started', async () => {
    const counts = new Map<string, number>();
    const warnings: string[] = [];
    let finished = 0;
    const onEvent = (e: PoolEvent): void => {
      if (e.kind === 'warning') warnings.push(e.message);
      if (e.kind !== 'host_done') return;
      counts.set(e.result.status, (counts.get(e.result.status) ?? 0) + 1);
      if (++finished === 40_000) pool.drain('deadline reached');
    };
    const pool = new WorkerPool({ workers: 1, forks: 64, handshakes: 64, config, onEvent, workerPath });
    const all = jobs(MILLION);
    // Linear work, counted: an Array#shift queue would move ~40,000 x 10^6 elements for the hosts handed out.
    const moved = await bigArrayMoves(10 * MILLION, () => pool.run(all, task));
    await pool.close();
    expect(warnings).toEqual([]);
    expect((counts.get('ok') ?? 0) + (counts.get('not_started') ?? 0)).toBe(MILLION);
    expect(counts.get('ok')).toBeGreaterThanOrEqual(40_000);
    expect(moved).toBeLessThanOrEqual(10 * MILLION);
  }, 120_000);
});
