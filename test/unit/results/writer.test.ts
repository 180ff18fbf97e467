// The run directory's one writer: files an operator greps and feeds back (hosts.tsv, failed.txt,
// output.log), a journal line per event, and a final row for every host however the run ended.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseInventory } from '../../../src/inventory/index.js';
import type { RunRecord } from '../../../src/results/run-record.js';
import { formatTsv, hostRow, HOSTS_TSV_HEADER, parseTsv } from '../../../src/results/tsv.js';
import { hostsTsvFlushDelayMs, RunWriter } from '../../../src/results/writer.js';
import { commandRecord } from './record.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-writer-unit-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let seq = 0;
function newWriter(hosts: string[]): { w: RunWriter; record: RunRecord } {
  const id = `20261127T120000.000Z-w${seq++}`;
  const record: RunRecord = commandRecord(id, hosts.length);
  fs.mkdirSync(path.join(tmp, id), { mode: 0o700 });
  return { w: new RunWriter(tmp, record, hosts), record };
}

const read = (dir: string, name: string): string => fs.readFileSync(path.join(dir, name), 'utf8');

describe('RunWriter', () => {
  it('ends every host with a row: unfinished ones interrupted or not_started, with their codes', () => {
    const { w } = newWriter(['a', 'b', 'c', 'd']);
    w.onPhase('a', 'running');
    w.onDone({ id: 'a', status: 'ok', exitCode: 0, durationMs: 5, reason: '' });
    w.onPhase('b', 'running');
    w.onPhase('c', 'connecting');
    const record = w.finish('interrupted');
    expect(parseTsv(read(w.dir, 'hosts.tsv')).map((r) => [r['host'], r['status'], r['reason']])).toEqual([
      ['a', 'ok', '-'],
      ['b', 'interrupted', 'run ended while the command was running'],
      ['c', 'not_started', 'run ended before this host started'],
      ['d', 'not_started', 'run ended before this host started'],
    ]);
    expect(record).toMatchObject({ state: 'interrupted', counts: { ok: 1, interrupted: 1, not_started: 2 } });
    expect(JSON.parse(read(w.dir, 'run.json'))).toMatchObject({
      state: 'interrupted',
      counts: { ok: 1, interrupted: 1, not_started: 2 },
    });
    const codes = read(w.dir, 'journal.ndjson')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e['kind'] === 'host_done')
      .map((e) => [e['id'], e['code'] ?? null]);
    expect(codes).toEqual([
      ['a', null],
      ['b', 'E_INTERRUPTED'],
      ['c', 'E_NOT_STARTED'],
      ['d', 'E_NOT_STARTED'],
    ]);
  });

  it('failed.txt lists every host not ok, in inventory order, and reads back as an inventory', () => {
    const hosts = ['ops@10.0.0.1:2222', '10.0.0.2', '[::1]:22', 'web1'];
    const { w } = newWriter(hosts);
    w.onDone({ id: 'web1', status: 'failed', exitCode: 1, durationMs: 1, reason: 'exit code 1' });
    w.onDone({ id: '10.0.0.2', status: 'ok', exitCode: 0, durationMs: 1, reason: '' });
    w.onDone({
      id: 'ops@10.0.0.1:2222',
      status: 'unreachable',
      exitCode: null,
      durationMs: 1,
      reason: 'connection refused',
    });
    w.finish('done');
    const failed = read(w.dir, 'failed.txt');
    expect(failed).toBe('ops@10.0.0.1:2222\n[::1]:22\nweb1\n');
    const inv = parseInventory([{ name: 'failed.txt', text: failed }]);
    expect(inv.targets.map((t) => t.id)).toEqual(['ops@10.0.0.1:2222', '[::1]:22', 'web1']);
  });

  it('keeps the first result of a host: a later one never turns a failure into ok', () => {
    const { w } = newWriter(['a']);
    w.onDone({ id: 'a', status: 'failed', exitCode: 1, durationMs: 1, reason: 'exit code 1' });
    w.onDone({ id: 'a', status: 'ok', exitCode: 0, durationMs: 1, reason: '' });
    w.finish('done');
    expect(parseTsv(read(w.dir, 'hosts.tsv'))[0]).toMatchObject({ status: 'failed' });
    expect(read(w.dir, 'failed.txt')).toBe('a\n');
  });

  it('output.log prefixes every line with its host (and step), so grep | cut -d: -f1 lists hosts', () => {
    const { w } = newWriter(['h1', 'h2']);
    w.onPhase('h1', 'running');
    w.onPhase('h2', 'running');
    w.onOutput('h1', 'stdout', Buffer.from('one\ntw'));
    w.onOutput('h2', 'stdout', Buffer.from('other\n'));
    w.onOutput('h1', 'stdout', Buffer.from('o\nno newline'));
    w.onOutput('h1', 'stderr', Buffer.from('warn\n'));
    w.onDone({ id: 'h1', status: 'ok', exitCode: 0, durationMs: 1, reason: '' });
    w.onOutput('h2', 'stdout', Buffer.from('in step\n'), '1.1');
    w.onStepDone({ host: 'h2', play: 1, step: 1, name: 's', status: 'ok', exitCode: 0, durationMs: 1, reason: '' });
    w.onDone({ id: 'h2', status: 'ok', exitCode: 0, durationMs: 1, reason: '' });
    w.finish('done');
    expect(read(w.dir, 'output.log')).toBe(
      'h1: one\nh1: two\nh1: no newline\nh1: warn\nh2: [1.1] in step\nh2: other\n',
    );
    expect(read(w.dir, 'stdout/h1')).toBe('one\ntwo\nno newline');
    expect(fs.readlinkSync(path.join(tmp, 'latest'))).toBe(path.basename(w.dir));
  });
});

describe('what the writer keeps of each host after it ended', () => {
  it('keeps no output preview in memory: 2,000 hosts with a distinct 4 KiB stdout each cost well under their 8 MiB', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const hosts = Array.from({ length: 2_000 }, (_, i) => `h${i}`);
    const output = (i: number): Buffer => Buffer.from(`${i}:`.padEnd(4096, 'x'));
    const { w } = newWriter(hosts);
    gc();
    const before = process.memoryUsage().heapUsed;
    hosts.forEach((id, i) => {
      w.onPhase(id, 'running');
      w.onOutput(id, 'stdout', output(i));
      w.onDone({ id, status: 'ok', exitCode: 0, durationMs: 1, reason: '' });
    });
    gc();
    const kept = process.memoryUsage().heapUsed - before;
    w.finish('done');
    // Before: each host's 4 KiB preview stayed in the parent until the run ended (200 MiB at 50,000 such hosts).
    expect(kept).toBeLessThan(2 * 1024 * 1024);
    // The preview is still the start of the host's output, read back from its published file when asked for.
    expect(w.outputSummary('h7')).toEqual({
      digest: createHash('sha1').update(output(7)).digest('hex'),
      preview: output(7).toString(),
      bytes: 4096,
      truncated: false,
    });
  }, 60_000);
});

describe('hosts.tsv rewrites while a run goes on', () => {
  it('come at least a second apart, and twenty times as far apart as the last one took, up to 30 s', () => {
    expect([0, 10, 50, 213, 1_000, 4_000].map(hostsTsvFlushDelayMs)).toEqual([
      1_000, 1_000, 1_000, 4_260, 20_000, 30_000,
    ]);
  });

  it('so their share of a long run stays under 5% up to 300,000 rows (simulated: a rewrite costs in proportion to its rows)', () => {
    for (const rows of [1_000, 50_000, 300_000]) {
      const cost = rows * 0.004; // ms per rewrite: 213 ms at 50,000 rows was measured
      let t = 0;
      let spent = 0;
      while (t < 3_600_000) {
        spent += cost;
        t += cost + hostsTsvFlushDelayMs(cost);
      }
      expect(spent / t, `${rows} rows`).toBeLessThan(0.05);
    }
  });

  it('format each host once: a rewrite at 50,000 rows costs a fraction of formatting them (issue 15: linear files)', () => {
    // Before: every rewrite formatted every row again (tsvField on each field), 213 ms at 50,000 rows, so the
    // rewrites' share of a 50k run was their whole 5% (hostsTsvFlushDelayMs). Measured against formatTsv itself in
    // this process, so a loaded machine slows both sides alike.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const hosts = Array.from({ length: 50_000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
      const result = (id: string, i: number) =>
        ({ id, status: 'failed', exitCode: 1, durationMs: 500 + i, reason: `exit\tcode ${i}` }) as const;
      const { w } = newWriter(hosts);
      const last = 10;
      hosts.slice(0, -last).forEach((id, i) => w.onDone(result(id, i)));
      vi.advanceTimersByTime(31_000);
      const rows = hosts.map((id, i) => hostRow(result(id, i)));
      let formatNs = Infinity;
      for (let k = 0; k < 3; k++) {
        const t = process.hrtime.bigint();
        formatTsv(HOSTS_TSV_HEADER, rows);
        formatNs = Math.min(formatNs, Number(process.hrtime.bigint() - t));
      }
      let rewriteNs = Infinity;
      for (let k = hosts.length - last; k < hosts.length; k++) {
        w.onDone(result(hosts[k]!, k));
        const t = process.hrtime.bigint();
        vi.advanceTimersByTime(31_000);
        rewriteNs = Math.min(rewriteNs, Number(process.hrtime.bigint() - t));
      }
      // Each host's row is the same as formatTsv makes it, in inventory order.
      expect(read(w.dir, 'hosts.tsv')).toBe(formatTsv(HOSTS_TSV_HEADER, rows));
      expect(rewriteNs / formatNs).toBeLessThan(0.5);
      w.finish('done');
    } finally {
      vi.useRealTimers();
    }
  }, 60_000);
});
