// herd show --json rebuilds a past run's events from its run directory: each event carries the time
// it happened (from the journal the run wrote), not the time `show` was typed.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDirOf, runHerd, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

interface Entry {
  kind: string;
  t: string;
  id?: string;
  host?: string;
}

const journalOf = (dir: string): Entry[] =>
  fs
    .readFileSync(path.join(dir, 'journal.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Entry);

describe('herd show --json', () => {
  it('stamps host_done, run_done and output events with the times the run recorded', async () => {
    const { fleet, home } = scope;
    const hosts = fleet.hosts(3, 1960);
    const inv = path.join(home, 'show-json.txt');
    fs.writeFileSync(inv, [...hosts, '127.0.0.1:1'].join('\n') + '\n');
    const conn = [
      '-u',
      fleet.user,
      '-p',
      String(fleet.port),
      '-k',
      fleet.keyPath,
      '--known-hosts',
      path.join(home, 'kh'),
    ];
    const run = await runHerd(['run', '-i', inv, ...conn, '-o', path.join(home, 'runs'), 'echo hi'], {
      env: { HOME: home },
    });
    expect(run.code).toBe(1);
    const dir = runDirOf(run);
    // Long enough that a time taken when `show` runs cannot pass for the run's own.
    await new Promise((r) => setTimeout(r, 1_200));
    const journal = journalOf(dir);
    const doneAt = new Map(journal.filter((e) => e.kind === 'host_done').map((e) => [e.id!, e.t]));
    const runDoneAt = journal.find((e) => e.kind === 'run_done')!.t;

    const shown = await runHerd(['show', dir, '--json'], { env: { HOME: home } });
    expect(shown.code).toBe(0);
    const events = shown.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Entry);
    const hostDone = events.filter((e) => e.kind === 'host_done');
    expect(hostDone).toHaveLength(4);
    for (const e of hostDone) expect(e.t).toBe(doneAt.get(e.host!));
    expect(events.at(-1)).toMatchObject({ kind: 'run_done', t: runDoneAt });

    // Output is published when its host ends: its events carry that time.
    const one = await runHerd(['show', dir, '--host', hosts[1]!, '--json'], { env: { HOME: home } });
    const outputs = one.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Entry);
    expect(outputs.map((e) => e.kind)).toEqual(['output', 'output']);
    for (const e of outputs) expect(e.t).toBe(doneAt.get(hosts[1]!));
  });
});
