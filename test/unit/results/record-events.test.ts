// The run directory as a consumer of the run's events: each kind the writer records lands in its file,
// and the kinds that are no record (verdicts, notes, stops) write nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dispatchTo, type RunEvent } from '../../../src/engine/events.js';
import { recordEvents } from '../../../src/results/record-events.js';
import { parseTsv } from '../../../src/results/tsv.js';
import { RunWriter } from '../../../src/results/writer.js';
import { commandRecord } from './record.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-record-events-unit-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let seq = 0;
function newWriter(hosts: string[]): RunWriter {
  const id = `20261127T120000.000Z-e${seq++}`;
  fs.mkdirSync(path.join(tmp, id), { mode: 0o700 });
  return new RunWriter(tmp, commandRecord(id, hosts.length), hosts);
}

const read = (dir: string, name: string): string => fs.readFileSync(path.join(dir, name), 'utf8');
const journal = (dir: string): Record<string, unknown>[] =>
  read(dir, 'journal.ndjson')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .map(({ t: _t, ...e }) => e);

describe('recordEvents', () => {
  it("writes a playbook run's plays, gate references, already_done and done steps, output and results", () => {
    const w = newWriter(['a', 'b']);
    const record = dispatchTo(recordEvents(w));
    const events: RunEvent[] = [
      { kind: 'run_start', run: 'r', dir: w.dir, command: 'play p.yml', hosts: 2, task: 'playbook' },
      { kind: 'plays', plays: [{ index: 1, name: 'disks', hosts: ['a', 'b'] }] },
      { kind: 'gate_reference', play: 1, step: 2, majority: 'sdb\n' },
      {
        kind: 'step_already_done',
        step: {
          host: 'b',
          play: 1,
          step: 1,
          name: 'inspect',
          status: 'already_done',
          exitCode: null,
          durationMs: 0,
          reason: 'done in run r0',
        },
      },
      { kind: 'host_phase', host: 'a', phase: 'connecting', connectTimeoutMs: 1000 },
      { kind: 'host_phase', host: 'a', phase: 'running', connectTimeoutMs: 1000 },
      { kind: 'output', host: 'a', stream: 'stdout', data: Buffer.from('sdb\n'), step: '1.1' },
      {
        kind: 'step_done',
        step: { host: 'a', play: 1, step: 1, name: 'inspect', status: 'ok', exitCode: 0, durationMs: 3, reason: '' },
      },
      { kind: 'gate_verdict', play: 1, step: 1, name: 'inspect', groups: [], majority: 'sdb\n', held: [] },
      { kind: 'warning', message: 'w' },
      { kind: 'stop_requested', cause: 'deadline', deadlineS: 1 },
      { kind: 'host_done', result: { id: 'a', status: 'ok', exitCode: 0, durationMs: 3, reason: '' } },
    ];
    for (const e of events) record(e);
    expect(JSON.parse(read(w.dir, 'plays.json'))).toEqual({ plays: [{ index: 1, name: 'disks', hosts: ['a', 'b'] }] });
    expect(journal(w.dir).map((e) => [e['kind'], e['host'] ?? e['id'] ?? e['majority'] ?? null])).toEqual([
      ['run_start', null],
      ['gate', 'sdb\n'],
      ['step_done', 'b'],
      ['host_running', 'a'],
      ['step_done', 'a'],
      ['host_done', 'a'],
    ]);
    expect(parseTsv(read(w.dir, 'steps.tsv')).map((r) => [r['host'], r['step'], r['status']])).toEqual([
      ['b', '1.1', 'already_done'],
      ['a', '1.1', 'ok'],
    ]);
    expect(read(w.dir, 'output.log')).toBe('a: [1.1] sdb\n');
    // hosts.tsv follows on a timer while hosts end; finish writes its last rows.
    w.finish('done');
    expect(parseTsv(read(w.dir, 'hosts.tsv')).map((r) => [r['host'], r['status']])).toEqual([
      ['a', 'ok'],
      ['b', 'not_started'],
    ]);
  });

  it('appends each file of a files_done to transfers.tsv', () => {
    const w = newWriter(['a']);
    dispatchTo(recordEvents(w))({
      kind: 'files_done',
      host: 'a',
      files: [
        { path: 'x/one', bytes: 3, status: 'sent' },
        { path: 'two', bytes: 0, status: 'unchanged' },
      ],
      planned: { files: 2, bytes: 3 },
    });
    w.finish('done');
    expect(parseTsv(read(w.dir, 'transfers.tsv')).map((r) => Object.values(r))).toEqual([
      ['a', 'x/one', '3', 'sent'],
      ['a', 'two', '0', 'unchanged'],
    ]);
  });
});
