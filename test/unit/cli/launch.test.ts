// The launch wires the operator's ways to stop a run before the run is announced: a Ctrl-C sent the
// moment run_start appears (a script reading --json, a test) must reach herd's handler, never Node's
// default one, which would kill herd before it records anything.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { executeRun } from '../../../src/cli/launch.js';
import type { RunRequest } from '../../../src/engine/run.js';
import type { RunEvent } from '../../../src/engine/events.js';
import { createRunDir } from '../../../src/results/run-id.js';
import type { RunRecord } from '../../../src/results/run-record.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function emptyRun(): RunRequest {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-launch-'));
  dirs.push(outDir);
  const { id } = createRunDir(outDir);
  const record = {
    id,
    herd_version: 'test',
    command: 'run',
    task: { kind: 'command', command: 'true', timeout_s: 0 },
    user: 'test',
    controller: 'test',
    cwd: outDir,
    argv: [],
    inventory_sources: [],
    limit: null,
    options: {},
    rerun_of: null,
    state: 'running',
    started_at: new Date().toISOString(),
    ended_at: null,
    hosts_total: 0,
    counts: {},
  } as unknown as RunRecord;
  return {
    targets: [],
    connection: {} as RunRequest['connection'],
    outDir,
    record,
    workers: 1,
    forks: 1,
    config: {} as RunRequest['config'],
    handshakes: 1,
    graceS: 1,
    prepared: { jobs: [], knownHostsFiles: [], knownHostsData: {} },
  };
}

describe('executeRun', () => {
  it('has Ctrl-C and SIGTERM handled by the run when run_start is announced, and lets them go once the run closed', async () => {
    const before = { int: process.listenerCount('SIGINT'), term: process.listenerCount('SIGTERM') };
    const atStart: number[] = [];
    const listener = (e: RunEvent): void => {
      if (e.kind === 'run_start')
        atStart.push(process.listenerCount('SIGINT') - before.int, process.listenerCount('SIGTERM') - before.term);
    };
    const outcome = await executeRun(emptyRun(), listener, async () => {});
    expect(atStart).toEqual([1, 1]);
    expect(outcome.record.state).toBe('done');
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual([before.int, before.term]);
  });
});
