// What herd report reads from a run directory written by the real RunWriter: bounded however
// hosts fail.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collectReport } from '../../../../src/report/html/collect.js';
import { renderReport } from '../../../../src/report/html/render.js';
import { readRun } from '../../../../src/results/reader.js';
import type { RunRecord } from '../../../../src/results/run-record.js';
import { RunWriter } from '../../../../src/results/writer.js';
import { commandRecord } from '../../results/record.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-report-unit-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function record(id: string, n: number): RunRecord {
  return commandRecord(id, n);
}

// launchRun creates the run directory (createRunDir) before the writer fills it.
const newWriter = (rec: RunRecord, hosts: string[]): RunWriter => {
  fs.mkdirSync(path.join(tmp, rec.id), { recursive: true, mode: 0o700 });
  return new RunWriter(tmp, rec, hosts);
};

describe('collectReport', () => {
  it('shows the 50 largest failure groups and counts the rest, when every host fails its own way', () => {
    const hosts = Array.from({ length: 300 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    const writer = newWriter(record('20261127T120000.000Z-fail', hosts.length), hosts);
    hosts.forEach((id, i) => {
      writer.onPhase(id, 'running');
      // A request id in each message: no two hosts' stderr group together.
      writer.onOutput(id, 'stderr', Buffer.from(`error: request ${1000 + i} refused\n`));
      writer.onDone({ id, status: 'failed', exitCode: 1, durationMs: 5, reason: 'exit code 1' });
    });
    writer.finish('done');
    const data = collectReport(readRun(writer.dir), new Date());
    expect(data.failures).toHaveLength(50);
    expect(data.hiddenFailures).toEqual({ groups: 250, hosts: 250 });
    expect(renderReport(data)).toContain('… 250 more failure groups from 250 hosts (failed.txt; herd show)');
  });

  it('a run killed mid-way: hosts without a result are interrupted (were running) or not_started, never ok', () => {
    const hosts = ['10.1.0.1', '10.1.0.2', '10.1.0.3'];
    const writer = newWriter(record('20261127T120000.000Z-kill', hosts.length), hosts);
    writer.onPhase(hosts[0]!, 'running');
    writer.onDone({ id: hosts[0]!, status: 'ok', exitCode: 0, durationMs: 5, reason: '' });
    writer.onPhase(hosts[1]!, 'running');
    // No finish(): as after kill -9, run.json still says running and has no end.
    const data = collectReport(readRun(writer.dir), new Date());
    expect(data.state).toBe('running');
    expect(data.counts).toEqual([
      ['ok', 1],
      ['interrupted', 1],
      ['not_started', 1],
    ]);
    expect(data.hosts.map((h) => h[1])).toEqual(['ok', 'interrupted', 'not_started']);
    // Its end is unknown: the page says so and shows when the journal last recorded something.
    expect(data.endedAt).toBeNull();
    expect(data.lastRecordAt).not.toBeNull();
    expect(renderReport(data)).toContain(
      `<dt>ended</dt><dd class="mono">(did not finish; last journal entry ${data.lastRecordAt})</dd>`,
    );
  });
  it('does not follow a symlink that stands where a host output file should be', () => {
    const hosts = ['10.2.0.1', '10.2.0.2'];
    const writer = newWriter(record('20261127T120000.000Z-link', hosts.length), hosts);
    for (const id of hosts) {
      writer.onPhase(id, 'running');
      writer.onOutput(id, 'stdout', Buffer.from('same\n'));
      writer.onOutput(id, 'stderr', Buffer.from('error: same\n'));
      writer.onDone({ id, status: 'failed', exitCode: 1, durationMs: 5, reason: 'exit code 1' });
    }
    writer.finish('done');
    const secret = path.join(tmp, 'secret');
    fs.writeFileSync(secret, 'SECRET-CONTENT\n');
    for (const stream of ['stdout', 'stderr']) {
      const file = path.join(writer.dir, stream, hosts[1]!);
      fs.rmSync(file);
      fs.symlinkSync(secret, file);
    }
    const data = collectReport(readRun(writer.dir), new Date());
    expect(JSON.stringify(data)).toContain('error: same');
    expect(JSON.stringify(data)).not.toContain('SECRET-CONTENT');
    expect(renderReport(data)).not.toContain('SECRET-CONTENT');
  });
});
