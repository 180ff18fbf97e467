// The Slurm harness itself (test/fleet/slurm.ts): a real array job runs on it with the environment `--shard auto`
// reads, and stopping it leaves no process and no file behind.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { slurmSkipReason, startSlurm } from '../fleet/slurm.js';

const skip = slurmSkipReason();
if (skip) console.warn(`skipping the Slurm harness test: ${skip}`);

/** Processes whose environment names this cluster (how stop() finds what Slurm started). */
function clusterPids(dir: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/environ`, 'latin1').split('\0').includes(`HERD_SLURM_CLUSTER=${dir}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(skip !== undefined)('a single-node Slurm cluster from the Debian packages', () => {
  it('runs an array job with the scheduler environment, then stops every process it started', async () => {
    const slurm = await startSlurm();
    const { dir } = slurm;
    try {
      const script = path.join(dir, 'job.sh');
      fs.writeFileSync(
        script,
        '#!/bin/sh\n' +
          'echo "$SLURM_ARRAY_JOB_ID $SLURM_ARRAY_TASK_ID $SLURM_ARRAY_TASK_MIN $SLURM_ARRAY_TASK_MAX ' +
          '$SLURM_ARRAY_TASK_COUNT"\n' +
          // Every task waits for all four: proof they run at the same time on the one node.
          `touch ${dir}/ran.$SLURM_ARRAY_TASK_ID; i=0\n` +
          `while [ $(ls ${dir} | grep -c '^ran\\.') -lt 4 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\n` +
          '[ $i -lt 300 ]\n',
      );
      const r = await slurm.client(
        'sbatch',
        ['--parsable', '--array=0-3', '--wait', '-o', path.join(dir, 'out-%a.txt'), script],
        { timeoutMs: 90_000 },
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const job = r.stdout.trim();
      expect(job).toMatch(/^\d+$/);
      for (const k of [0, 1, 2, 3])
        expect(fs.readFileSync(path.join(dir, `out-${k}.txt`), 'utf8')).toBe(`${job} ${k} 0 3 4\n`);
      // A job still running when the cluster stops is stopped with it.
      const long = await slurm.client('sbatch', ['--parsable', '-o', '/dev/null', '--wrap', 'sleep 600']);
      expect(long.code).toBe(0);
      await waitRunning(slurm.client, long.stdout.trim());
      expect(clusterPids(dir).length).toBeGreaterThan(3);
    } finally {
      await slurm.stop();
    }
    expect(clusterPids(dir)).toEqual([]);
    expect(fs.existsSync(dir)).toBe(false);
  });
});

async function waitRunning(client: Awaited<ReturnType<typeof startSlurm>>['client'], job: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await client('squeue', ['-h', '-j', job, '-o', '%T']);
    if (r.stdout.trim() === 'RUNNING') return;
    if (Date.now() > deadline) throw new Error(`job ${job} not running after 30 s: ${r.stdout}${r.stderr}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}
