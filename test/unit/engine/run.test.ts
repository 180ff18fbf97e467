// A Run's events go to its run-directory writer before the CLI's listener: whatever the operator was
// shown (a step's result, a host's end) is already on disk when it is shown.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../src/engine/events.js';
import type { HostJob } from '../../../src/engine/protocol.js';
import { Run, type RunRequest } from '../../../src/engine/run.js';
import { commandRecord } from '../results/record.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-run-unit-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function request(id: string, hosts: string[]): RunRequest {
  fs.mkdirSync(path.join(tmp, id), { mode: 0o700 });
  const jobs: HostJob[] = hosts.map((h) => ({
    id: h,
    host: h,
    port: 22,
    user: 'ops',
    knownHosts: { files: [], record: null, hash: false },
    tag: `t-${h}`,
  }));
  // Only what the constructor and the recording calls read: no pass runs, so no pool is started.
  return {
    outDir: tmp,
    targets: [],
    record: commandRecord(id, hosts.length),
    graceS: 1,
    prepared: { jobs, knownHostsFiles: [], knownHostsData: {} },
  } as unknown as RunRequest;
}

describe('Run', () => {
  it('records each event in the run directory before its listener hears of it', async () => {
    const seen: string[] = [];
    let dir = '';
    const onDisk = (name: string): string =>
      fs.existsSync(path.join(dir, name)) ? fs.readFileSync(path.join(dir, name), 'utf8') : '';
    const listener = (e: RunEvent): void => {
      if (e.kind === 'run_start') dir = e.dir;
      if (e.kind === 'step_done' || e.kind === 'step_already_done')
        seen.push(`${e.kind} ${e.step.host} in steps.tsv: ${onDisk('steps.tsv').includes(`${e.step.host}\t1.`)}`);
      if (e.kind === 'host_done')
        seen.push(`host_done ${e.result.id} in journal: ${onDisk('journal.ndjson').includes(`"id":"${e.result.id}"`)}`);
      if (e.kind === 'plays') seen.push(`plays in plays.json: ${onDisk('plays.json') !== ''}`);
      if (e.kind === 'gate_reference') seen.push(`gate in journal: ${onDisk('journal.ndjson').includes('"gate"')}`);
    };
    const run = new Run(request('20261127T120000.000Z-run0', ['a', 'b']), listener);
    run.start();
    run.plays([{ index: 1, name: 'p', hosts: ['a', 'b'] }]);
    run.gateReference(1, 1, 'x');
    run.stepAlreadyDone({
      host: 'b',
      play: 1,
      step: 1,
      name: 's',
      status: 'already_done',
      exitCode: null,
      durationMs: 0,
      reason: 'done in run r0',
    });
    run.recordStep({ host: 'a', play: 1, step: 1, name: 's', status: 'ok', exitCode: 0, durationMs: 1, reason: '' });
    run.finishHost({ id: 'a', status: 'ok', exitCode: 0, durationMs: 1, reason: '' });
    await run.finish();
    expect(seen).toEqual([
      'plays in plays.json: true',
      'gate in journal: true',
      'step_already_done b in steps.tsv: true',
      'step_done a in steps.tsv: true',
      'host_done a in journal: true',
    ]);
  });
});
