// herd as a Slurm batch job, cancelled with a plain `scancel`: Slurm sends SIGTERM to every process of the job,
// herd's workers too, and herd must still do what its note says (start no new host, give running commands
// --grace), as for a Ctrl-C on the terminal.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slurmSkipReason, startSlurm, type SlurmCluster } from '../fleet/slurm.js';
import { HERD_BIN, readHostsTsv, runDirOf, scratchDir, useLoopbackFleet } from './herd-cli.js';
import { writeInventory } from './fleet-args.js';
import { openGate, waitUntil } from './gate.js';

const skip = slurmSkipReason();
if (skip) console.warn(`skipping the Slurm cancel test: ${skip}`);

const scope = useLoopbackFleet();
let slurm: SlurmCluster | undefined;
beforeAll(async () => {
  if (!skip) slurm = await startSlurm();
});
afterAll(async () => {
  await slurm?.stop();
});

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

describe.skipIf(skip !== undefined)('scancel of a herd batch job', () => {
  it('gives the running command its --grace (workers ignore the SIGTERM); the rest are not_started', async () => {
    const cluster = slurm!;
    const { fleet } = scope;
    const work = scratchDir('herd-slurm-cancel-');
    const gate = openGate();
    const hosts = fleet.hosts(3, 4300);
    const inv = writeInventory(scope, 'slurm-cancel.txt', hosts);
    const args = ['run', '-i', inv, '-u', fleet.user, '-p', String(fleet.port), '-k', fleet.keyPath];
    args.push('--known-hosts', path.join(work, 'kh'), '-o', path.join(work, 'runs'), '--forks', '1');
    args.push(gate.command('echo "done $me"'));
    const script = path.join(work, 'herd.sbatch');
    fs.writeFileSync(script, `#!/bin/sh\nexec ${q(HERD_BIN)} ${args.map(q).join(' ')}\n`, { mode: 0o755 });
    const log = path.join(work, 'job.out');
    const { jobId, done } = cluster.submitAndWait(['-o', log, script], {
      env: { HOME: scope.home, NO_COLOR: '1', HERD_SSH_SYSTEM_CONFIG: 'none', SSH_AUTH_SOCK: undefined },
    });
    const text = (): string => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '');
    // A failing step must not leave the hosts' commands waiting at the gate after the test.
    let running: string | undefined;
    try {
      const job = await jobId;
      await waitUntil(() => gate.started().length === 1, 'the first host to start');
      running = gate.started()[0];

      const cancel = await cluster.client('scancel', [job]);
      expect(cancel.code, cancel.stderr).toBe(0);
      await waitUntil(() => /SIGTERM: starting no new hosts/.test(text()), `herd's SIGTERM note in ${log}`);
    } finally {
      gate.release();
    }
    await done;

    expect(text()).not.toMatch(/worker \d+ died/);
    const dir = runDirOf({ code: null, signal: null, stdout: '', stderr: text(), durationMs: 0 });
    const rows = readHostsTsv(dir);
    expect(rows.get(running!)).toMatchObject({ status: 'ok', exit: '0' });
    expect(fs.readFileSync(path.join(dir, 'stdout', running!), 'utf8')).toBe(`done ${running}\n`);
    for (const h of hosts.filter((x) => x !== running))
      expect(rows.get(h)).toMatchObject({
        status: 'not_started',
        reason: 'run interrupted by SIGTERM before this host started',
      });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')).state).toBe('interrupted');
  });
});
