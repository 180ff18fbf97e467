// The bench's accounting of connections that outlive a run (issue 16's warm case): an OpenSSH ControlMaster left
// in the background does the crypto of every later run, and the fleet's sshd process that serves it stays alive.
// Leaving either out would make a persistent tool look free, on both sides of the table.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../fleet/fleet.js';
import { endTagged, taggedProcesses } from '../../bench/measure.js';
import { runOnFleet, type FleetRef } from '../../bench/on-fleet.js';

describe('bench accounting of held connections', () => {
  let fleet: Fleet;
  let ref: FleetRef;
  let work: string;
  const tag = `accounting-${process.pid}`;

  beforeAll(async () => {
    fleet = await startFleet({ logLevel: 'INFO' });
    ref = { pid: fleet.pid, log: path.join(fleet.dir, 'sshd.log') };
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-bench-accounting-'));
  });
  afterAll(async () => {
    await endTagged(tag, work);
    await fleet?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** ssh to the fleet's first host through a ControlMaster that persists in the background. */
  const ssh = (command: string): string[] => [
    'ssh',
    ...['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes'],
    ...['-o', 'ControlMaster=auto', '-o', 'ControlPersist=60', '-o', `ControlPath=${path.join(work, '%C')}`],
    ...['-p', String(fleet.port), '-i', fleet.keyPath, '-l', fleet.user, fleet.hosts(1)[0]!, command],
  ];

  it('finds the ControlMaster a run leaves behind (its title hides the tag), counts the sshd CPU it keeps alive, and ends it', async () => {
    const env = { ...process.env, HOME: work };
    const opts = { timeoutMs: 60_000, tag, mark: work };
    const first = await runOnFleet(ref, ssh('true'), env, work, opts);
    expect(first.exitCode).toBe(0);
    expect(first.logins).toBe(1);
    // The master rewrote its argv and environ into `ssh: PATH [mux]`: found by the work directory in that title.
    expect(first.background).toBe(1);

    // Well over the quarter second asserted (a fixed count, not a time: the machine may be loaded; 200,000 rounds
    // took 0.22-0.23 s of dash's CPU on a quiet machine here, under the bar) over the held connection: the remote
    // shell is reaped by an sshd process that lives on with the master, so only a count of the live tree sees it.
    const loop = `sh -c 'i=0; while [ $i -lt 600000 ]; do i=$((i+1)); done'`;
    const burn = await runOnFleet(ref, ssh(loop), env, work, opts);
    expect(burn.exitCode).toBe(0);
    expect(burn.logins).toBe(0);
    expect(burn.sshdCpuS).toBeGreaterThan(0.25);

    expect(await endTagged(tag, work)).toBe(1);
    expect(taggedProcesses(tag, work)).toEqual([]);
  });
});
