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
    else if (m.kind === 'job') process.send({ kind: 'host_done', result: { id: m.job.id, status: 'ok', exitCode: 0, durationMs: 0, reason: '' } });
    else if (m.kind === 'shutdown') process.exit(0);
  });\n`,
);

function jobs(n: number): HostJob[] {
  const out: HostJob[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = { id: `h${i}`, host: `h${i}`, port: 22, user: 'root', tag: `t${i}`, knownHosts: { files: [], record: null, hash: false } };
  return out;
}

const config = { connectRate: 0 } as unknown as Omit<WorkerConfig, 'concurrency' | 'handshakes'>;
const task: TaskSpec = { kind: 'command', command: 'true', timeoutMs: 0 };

describe('the pool queue with 1,000,000 hosts', () => {
  it('JobQueue is first in, first out, hands returned items back first, and drains a million quickly', () => {
    const q = new JobQueue<number>();
    q.pushAll([1, 2, 3]);
    expect(q.shift()).toBe(1);
    q.returnToFront(1);
    expect(q.length).toBe(3);
    expect(q.takeAll()).toEqual([1, 2, 3]);
    const started = Date.now();
    const big = new JobQueue<number>();
    big.pushAll(Array.from({ length: MILLION }, (_, i) => i));
    let sum = 0;
    for (let v = big.shift(); v !== undefined; v = big.shift()) sum += v;
    expect(sum).toBe((MILLION * (MILLION - 1)) / 2);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('hands 40,000 hosts of a 1,000,000-host queue to a worker, then drains the rest as not_started', async () => {
    const counts = new Map<string, number>();
    const warnings: string[] = [];
    let pool: WorkerPool;
    let finished = 0;
    const onEvent = (e: PoolEvent): void => {
      if (e.kind === 'warning') warnings.push(e.message);
      if (e.kind !== 'host_done') return;
      counts.set(e.result.status, (counts.get(e.result.status) ?? 0) + 1);
      if (++finished === 40_000) pool.drain('deadline reached');
    };
    pool = new WorkerPool({ workers: 1, forks: 64, handshakes: 64, config, onEvent, workerPath });
    const started = Date.now();
    await pool.run(jobs(MILLION), task);
    await pool.close();
    expect(warnings).toEqual([]);
    expect((counts.get('ok') ?? 0) + (counts.get('not_started') ?? 0)).toBe(MILLION);
    expect(counts.get('ok')).toBeGreaterThanOrEqual(40_000);
    expect(Date.now() - started).toBeLessThan(12_000); // with Array#shift: ~0.5 ms a host, 20 s
  }, 60_000);
});
