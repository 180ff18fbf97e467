import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WORKER_PREFETCH } from '../../../src/defaults.js';
import { shareOf, WorkerPool, type PoolEvent, type PoolOptions } from '../../../src/engine/pool.js';

describe('splitting forks over workers', () => {
  it.each([
    [256, 2, [128, 128]],
    [5, 2, [3, 2]],
    [1, 3, [1, 1, 1]],
  ])('%i sessions over %i workers', (total, parts, expected) => {
    expect(Array.from({ length: parts }, (_, i) => shareOf(total, parts, i))).toEqual(expected);
  });
});

describe("a worker's environment", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-pool-env-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  /** A real worker process speaking the pool protocol that tells, as its one start-up problem, what it was given. */
  const workerPath = path.join(dir, 'env-worker.mjs');
  fs.writeFileSync(
    workerPath,
    `process.on('message', (m) => {
      const seen = ['NODE_EXTRA_CA_CERTS', 'HERD_POOL_ENV_PROBE'].map((k) => k + '=' + process.env[k]).join(' ');
      if (m.kind === 'init') process.send({ kind: 'ready', problems: [seen] });
      else if (m.kind === 'jobs') for (const job of m.jobs) process.send({ kind: 'host_done', result: { id: job.id, status: 'ok', exitCode: 0, durationMs: 0, reason: '' } });
      else if (m.kind === 'shutdown') process.exit(0);
    });\n`,
  );

  it("is the parent's without NODE_EXTRA_CA_CERTS (parsed at every process start, and workers speak no TLS)", async () => {
    const saved = { ...process.env };
    process.env['NODE_EXTRA_CA_CERTS'] = '/etc/ssl/certs/ca-certificates.crt';
    process.env['HERD_POOL_ENV_PROBE'] = 'kept';
    const warnings: string[] = [];
    const onEvent = (e: PoolEvent): void => {
      if (e.kind === 'warning') warnings.push(e.message);
    };
    const config = {} as unknown as PoolOptions['config'];
    const pool = new WorkerPool({ workers: 1, forks: 1, handshakes: 1, config, onEvent, workerPath });
    try {
      const job = {
        id: 'h1',
        host: 'h1',
        port: 22,
        user: 'u',
        tag: 't',
        knownHosts: { files: [], record: null, hash: false },
      };
      await pool.run([job], { kind: 'command', command: 'true', timeoutMs: 0 });
    } finally {
      await pool.close();
      process.env = saved;
    }
    expect(warnings).toEqual(['NODE_EXTRA_CA_CERTS=undefined HERD_POOL_ENV_PROBE=kept']);
  });
});

describe('how many jobs a worker holds (issue 15: 50,000 hosts)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-pool-intake-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  /** A real worker process that ends each job a moment after it came, and says how many it held at once. */
  const workerPath = path.join(dir, 'intake-worker.mjs');
  fs.writeFileSync(
    workerPath,
    `let held = 0;
    let most = 0;
    process.on('message', (m) => {
      if (m.kind === 'init') process.send({ kind: 'ready', problems: [] });
      else if (m.kind === 'jobs') for (const job of m.jobs) {
        most = Math.max(most, ++held);
        setTimeout(() => {
          held--;
          process.send({ kind: 'host_done', result: { id: job.id, status: 'ok', exitCode: 0, durationMs: 0, reason: String(most) } });
        }, 1);
      } else if (m.kind === 'shutdown') process.exit(0);
    });\n`,
  );

  it('is its share of --forks plus WORKER_PREFETCH, however many hosts the run has', async () => {
    const most: number[] = [];
    const onEvent = (e: PoolEvent): void => {
      if (e.kind === 'host_done') most.push(Number(e.result.reason));
    };
    const config = {} as unknown as PoolOptions['config'];
    const pool = new WorkerPool({ workers: 2, forks: 20, handshakes: 4, config, onEvent, workerPath });
    const jobs = Array.from({ length: 2_000 }, (_, i) => ({
      id: `h${i}`,
      host: `h${i}`,
      port: 22,
      user: 'u',
      tag: 't',
      knownHosts: { files: [], record: null, hash: false },
    }));
    try {
      await pool.run(jobs, { kind: 'command', command: 'true', timeoutMs: 0 });
    } finally {
      await pool.close();
    }
    expect(most).toHaveLength(2_000);
    // Each worker's share of --forks 20 is 10; it is handed 8 more so it never idles on IPC, and never the queue.
    expect(Math.max(...most)).toBeLessThanOrEqual(10 + WORKER_PREFETCH);
    expect(Math.max(...most)).toBeGreaterThan(1);
  });
});
