// Stderr excerpts of failed hosts and failed playbook steps, read from a run directory the real
// RunWriter wrote: one masked excerpt per host, none for ok hosts or an empty stderr.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { failureExcerpts, stepFailureExcerpts } from '../../../src/report/failure-excerpts.js';
import { readSteps } from '../../../src/results/reader.js';
import type { RunRecord } from '../../../src/results/run-record.js';
import type { HostResult } from '../../../src/results/status.js';
import { RunWriter } from '../../../src/results/writer.js';
import { commandRecord } from '../results/record.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-excerpts-unit-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let seq = 0;
function newWriter(hosts: string[]): RunWriter {
  const id = `20261127T120000.000Z-x${seq++}`;
  const record: RunRecord = commandRecord(id, hosts.length);
  fs.mkdirSync(path.join(tmp, id), { mode: 0o700 });
  return new RunWriter(tmp, record, hosts);
}

describe('failureExcerpts', () => {
  it('masks each failed host own address so the same error groups, and skips ok and silent hosts', () => {
    const hosts = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'];
    const w = newWriter(hosts);
    const results: HostResult[] = [];
    for (const id of hosts) {
      w.onPhase(id, 'running');
      if (id !== '10.0.0.4') w.onOutput(id, 'stderr', Buffer.from(`\nmkfs: cannot open /dev/sdb on ${id}: busy\n`));
      const r: HostResult =
        id === '10.0.0.1'
          ? { id, status: 'ok', exitCode: 0, durationMs: 1, reason: '' }
          : { id, status: 'failed', exitCode: 1, durationMs: 1, reason: 'exit code 1' };
      w.onDone(r);
      results.push(r);
    }
    w.finish('done');
    const excerpts = failureExcerpts(w.dir, results);
    expect([...excerpts.keys()]).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(excerpts.get('10.0.0.2')).toEqual({
      file: 'stderr/10.0.0.2',
      excerpt: {
        key: 'mkfs: cannot open /dev/sdb on <host>: busy',
        lines: ['mkfs: cannot open /dev/sdb on <host>: busy'],
        more: 0,
        cut: false,
      },
    });
    expect(excerpts.get('10.0.0.3')!.excerpt.key).toBe(excerpts.get('10.0.0.2')!.excerpt.key);
  });
});

describe('stepFailureExcerpts', () => {
  it('reads the stderr of the step that failed, keyed by host and step', () => {
    const w = newWriter(['web1', 'web2']);
    for (const host of ['web1', 'web2']) {
      w.onPhase(host, 'running');
      w.onOutput(host, 'stderr', Buffer.from(`${host}: mount: wrong fs type\n`), '1.2');
      const failed = host === 'web2';
      w.onStepDone({
        host,
        play: 1,
        step: 2,
        name: 'mount',
        status: failed ? 'failed' : 'ok',
        exitCode: failed ? 32 : 0,
        durationMs: 1,
        reason: failed ? 'exit code 32' : '',
      });
      w.onDone({
        id: host,
        status: failed ? 'failed' : 'ok',
        exitCode: failed ? 32 : 0,
        durationMs: 1,
        reason: '',
        ...(failed ? { step: '1.2' } : {}),
      });
    }
    w.finish('done');
    const excerpts = stepFailureExcerpts(w.dir, readSteps(w.dir));
    expect([...excerpts.entries()]).toEqual([
      [
        'web2\t1.2',
        {
          file: 'steps/1.2/stderr/web2',
          excerpt: {
            key: '<host>: mount: wrong fs type',
            lines: ['<host>: mount: wrong fs type'],
            more: 0,
            cut: false,
          },
        },
      ],
    ]);
  });
});
