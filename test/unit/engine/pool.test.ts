import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
      else if (m.kind === 'job') process.send({ kind: 'host_done', result: { id: m.job.id, status: 'ok', exitCode: 0, durationMs: 0, reason: '' } });
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
