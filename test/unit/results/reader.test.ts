// Reading a run directory back (rerun, show, runs, diff, report). Every directory here is written by
// the real RunWriter, then cut the way real life cuts it: kill -9 mid-run, a torn last journal line,
// a journal someone deleted.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunDirError } from '../../../src/errors.js';
import { readRun, readSteps, resolveRunDir, selectRerunHosts } from '../../../src/results/reader.js';
import type { RunRecord } from '../../../src/results/run-record.js';
import type { HostResult } from '../../../src/results/status.js';
import { RunWriter } from '../../../src/results/writer.js';
import { commandRecord } from './record.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-reader-unit-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let seq = 0;
function record(n: number): RunRecord {
  return commandRecord(`20261127T120000.000Z-r${String(seq++).padStart(3, '0')}`, n);
}

/** A run directory as launchRun makes it: createRunDir, then the one writer. */
function newWriter(hosts: string[], outDir = tmp): RunWriter {
  const rec = record(hosts.length);
  fs.mkdirSync(path.join(outDir, rec.id), { recursive: true, mode: 0o700 });
  return new RunWriter(outDir, rec, hosts);
}

const result = (id: string, status: HostResult['status'], extra: Partial<HostResult> = {}): HostResult => ({
  id,
  status,
  exitCode: status === 'ok' ? 0 : null,
  durationMs: 7,
  reason: status === 'ok' ? '' : `${status} here`,
  ...extra,
});

/** A finished run with one host in each interesting state. */
function finishedRun(): string {
  const hosts = ['ok1', 'fail1', 'unreach1', 'int1', 'never1'];
  const w = newWriter(hosts);
  w.onPhase('ok1', 'running');
  w.onDone(result('ok1', 'ok'));
  w.onPhase('fail1', 'running');
  w.onDone(result('fail1', 'failed', { exitCode: 3, reason: 'exit code 3' }));
  w.onPhase('unreach1', 'connecting');
  w.onDone(result('unreach1', 'unreachable', { reason: 'connection refused', code: 'E_REFUSED' }));
  w.onPhase('int1', 'running');
  w.finish('interrupted');
  return w.dir;
}

describe('readRun', () => {
  it('reads every host of a finished run in inventory order, with its result as the engine recorded it', () => {
    const run = readRun(finishedRun());
    expect(run.record.state).toBe('interrupted');
    expect(run.hosts.map((h) => [h.id, h.result?.status, h.result?.exitCode])).toEqual([
      ['ok1', 'ok', 0],
      ['fail1', 'failed', 3],
      ['unreach1', 'unreachable', null],
      ['int1', 'interrupted', null],
      ['never1', 'not_started', null],
    ]);
    expect(run.hosts[1]!.result!.reason).toBe('exit code 3');
    expect(run.hosts.every((h) => h.doneAt !== null && !h.wasRunning)).toBe(true);
    expect(run.endedAt).not.toBeNull();
    expect(run.playHosts).toBeNull();
  });

  it('after kill -9: hosts without a result are null, and those that were running say so', () => {
    const w = newWriter(['a', 'b', 'c']);
    w.onPhase('a', 'running');
    w.onDone(result('a', 'ok'));
    w.onPhase('b', 'running');
    // no finish(): the process died here
    const run = readRun(w.dir);
    expect(run.record.state).toBe('running');
    expect(run.hosts.map((h) => [h.id, h.result?.status ?? null, h.wasRunning])).toEqual([
      ['a', 'ok', false],
      ['b', null, true],
      ['c', null, false],
    ]);
    // no run_done: the run ended (as far as anyone knows) at its last journal entry
    expect(run.endedAt).toBe(run.hosts[0]!.doneAt);
  });

  it('skips a journal line torn by kill -9 and keeps every line before it', () => {
    const w = newWriter(['a', 'b']);
    w.onPhase('a', 'running');
    w.onDone(result('a', 'failed', { exitCode: 1, reason: 'exit code 1' }));
    w.onPhase('b', 'running');
    w.onDone(result('b', 'ok'));
    const journal = path.join(w.dir, 'journal.ndjson');
    const text = fs.readFileSync(journal, 'utf8');
    fs.writeFileSync(journal, text.slice(0, text.length - 20)); // b's host_done cut mid-line, no newline
    const run = readRun(w.dir);
    expect(run.hosts.map((h) => [h.id, h.result?.status ?? null, h.wasRunning])).toEqual([
      ['a', 'failed', false],
      ['b', null, true],
    ]);
  });

  it('without a journal, falls back to hosts.tsv: "-" is an empty reason and no exit code, as the writer meant it', () => {
    const w = newWriter(['ok1', 'fail1', 'gone1']);
    w.onPhase('ok1', 'running');
    w.onDone(result('ok1', 'ok'));
    w.onPhase('fail1', 'running');
    w.onDone(result('fail1', 'failed', { exitCode: 2, reason: 'exit code 2', step: '1.3' }));
    w.onPhase('gone1', 'running');
    w.finish('done');
    fs.rmSync(path.join(w.dir, 'journal.ndjson'));
    const run = readRun(w.dir);
    expect(run.hosts.map((h) => h.result)).toEqual([
      { id: 'ok1', status: 'ok', exitCode: 0, durationMs: 7, reason: '' },
      { id: 'fail1', status: 'failed', exitCode: 2, durationMs: 7, reason: 'exit code 2', step: '1.3' },
      {
        id: 'gone1',
        status: 'interrupted',
        exitCode: null,
        durationMs: 0,
        reason: 'run ended while the command was running',
      },
    ]);
    expect(run.endedAt).toBeNull();
  });

  it('without a journal, a host still running in hosts.tsv has no result and was running', () => {
    const w = newWriter(['a', 'b']);
    w.onPhase('a', 'running');
    fs.rmSync(path.join(w.dir, 'journal.ndjson'));
    // the constructor wrote hosts.tsv with both queued; a flush would write "running" for a
    const tsv = path.join(w.dir, 'hosts.tsv');
    fs.writeFileSync(tsv, fs.readFileSync(tsv, 'utf8').replace('a\tqueued', 'a\trunning'));
    const run = readRun(w.dir);
    expect(run.hosts.map((h) => [h.id, h.result, h.wasRunning])).toEqual([
      ['a', null, true],
      ['b', null, false],
    ]);
  });

  it('keeps a reason with tabs and line breaks as the engine gave it (the journal, not the flattened hosts.tsv)', () => {
    const w = newWriter(['a']);
    w.onDone(result('a', 'failed', { reason: 'line1\nline2\tx' }));
    w.finish('done');
    expect(readRun(w.dir).hosts[0]!.result?.reason).toBe('line1\nline2\tx');
  });

  it('refuses a directory without a readable run.json or hosts.tsv with E_RUN_DIR, naming the file', () => {
    const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
    expect(() => readRun(empty)).toThrow(RunDirError);
    expect(() => readRun(empty)).toThrow(`cannot read ${path.join(empty, 'run.json')}`);
    fs.writeFileSync(path.join(empty, 'run.json'), '{"id": "x"');
    expect(() => readRun(empty)).toThrow(`cannot read ${path.join(empty, 'run.json')}`);
    fs.writeFileSync(path.join(empty, 'run.json'), '{}');
    expect(() => readRun(empty)).toThrow(`cannot read ${path.join(empty, 'hosts.tsv')}`);
  });
});

describe('selectRerunHosts', () => {
  it('takes what did not succeed, never an ok host; interrupted ones only when asked', () => {
    const run = readRun(finishedRun());
    expect(selectRerunHosts(run, false)).toEqual(['fail1', 'unreach1', 'never1']);
    expect(selectRerunHosts(run, true)).toEqual(['fail1', 'unreach1', 'int1', 'never1']);
  });

  it('after kill -9: a host that was running counts as interrupted, one that never started is taken', () => {
    const w = newWriter(['a', 'b', 'c']);
    w.onPhase('a', 'running');
    w.onDone(result('a', 'ok'));
    w.onPhase('b', 'running');
    const run = readRun(w.dir);
    expect(selectRerunHosts(run, false)).toEqual(['c']);
    expect(selectRerunHosts(run, true)).toEqual(['b', 'c']);
  });
});

describe('resolveRunDir', () => {
  it('finds latest, a run id under the output directory, or a path', () => {
    const out = fs.mkdtempSync(path.join(tmp, 'out-'));
    const first = newWriter(['a'], out);
    first.finish('done');
    const second = newWriter(['a'], out);
    second.finish('done');
    expect(resolveRunDir(out, undefined)).toBe(fs.realpathSync(second.dir));
    expect(resolveRunDir(out, 'latest')).toBe(fs.realpathSync(second.dir));
    expect(resolveRunDir(out, path.basename(first.dir))).toBe(fs.realpathSync(first.dir));
    expect(resolveRunDir('/nonexistent', first.dir)).toBe(fs.realpathSync(first.dir));
  });

  it('names every place it looked when there is no run', () => {
    const out = fs.mkdtempSync(path.join(tmp, 'none-'));
    expect(() => resolveRunDir(out, 'nope')).toThrow(RunDirError);
    expect(() => resolveRunDir(out, 'nope')).toThrow(
      `no run found at ${path.join(out, 'nope')} or ${path.resolve('nope')}`,
    );
  });
});

describe('readSteps', () => {
  it('reads steps.tsv rows as the writer wrote them, "-" as no exit code and no reason', () => {
    const w = newWriter(['h1']);
    w.onPhase('h1', 'running');
    const base = { host: 'h1', play: 1, durationMs: 3 };
    w.onStepDone({ ...base, step: 1, name: 'inspect\tdisks\n', status: 'ok', exitCode: 0, reason: '' });
    w.onStepDone({ ...base, step: 2, name: 'format', status: 'failed', exitCode: 1, reason: 'exit code 1' });
    w.onStepDone({ ...base, play: 2, step: 10, name: 'mount', status: 'not_started', exitCode: null, reason: '' });
    w.onDone(result('h1', 'failed', { step: '1.2' }));
    w.finish('done');
    expect(readSteps(w.dir)).toEqual([
      { host: 'h1', play: 1, step: 1, name: 'inspect disks ', status: 'ok', exitCode: 0, reason: '' },
      { host: 'h1', play: 1, step: 2, name: 'format', status: 'failed', exitCode: 1, reason: 'exit code 1' },
      { host: 'h1', play: 2, step: 10, name: 'mount', status: 'not_started', exitCode: null, reason: '' },
    ]);
  });

  it('is empty for a run without steps, and leaves out rows a hand edit broke', () => {
    const w = newWriter(['h1']);
    w.onPhase('h1', 'running');
    w.onStepDone({ host: 'h1', play: 1, step: 1, name: 'a', status: 'ok', exitCode: 0, durationMs: 1, reason: '' });
    w.finish('done');
    const steps = path.join(w.dir, 'steps.tsv');
    fs.appendFileSync(
      steps,
      'h1\tone.two\tx\tok\t0\t1\t-\t1\nh1\t1.2\tx\tbogus\t0\t1\t-\t1\n\t1.3\tx\tok\t0\t1\t-\t1\n',
    );
    expect(readSteps(w.dir)).toHaveLength(1);
    fs.rmSync(steps);
    expect(readSteps(w.dir)).toEqual([]);
  });
});
