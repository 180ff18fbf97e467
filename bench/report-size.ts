// How big and how slow is `herd report` for a large run? Synthesises a run directory with the real
// writer (RunWriter) for N hosts (default 10,000: mostly ok with one output, a few minorities,
// failures with stderr, unreachable hosts, a slow tail), then times reading it and rendering.
// Usage: npm run build && node dist/bench/report-size.js [hosts] [dir]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { collectReport } from '../src/report/html/collect.js';
import { renderReport } from '../src/report/html/render.js';
import { readRun } from '../src/results/reader.js';
import type { RunRecord } from '../src/results/run-record.js';
import { RunWriter } from '../src/results/writer.js';

const n = Number(process.argv[2] ?? 10_000);
const out = process.argv[3] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'herd-report-size-'));
const hosts = Array.from({ length: n }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
const record: RunRecord = {
  id: `20261127T120000.000Z-${n}`,
  herd_version: '0.1.0',
  command: 'run',
  task: { kind: 'command', command: 'lsblk -no NAME,SIZE,MOUNTPOINT /dev/sda', timeout_s: 0 },
  user: 'ops',
  controller: os.hostname(),
  cwd: process.cwd(),
  argv: ['run', '-i', 'fleet.txt', 'lsblk -no NAME,SIZE,MOUNTPOINT /dev/sda'],
  inventory_sources: ['fleet.txt'],
  limit: null,
  options: {
    user: 'ops', port: null, keys: [], keys_explicit: false, password_source: null, agent: false, forks: 256, workers: 2,
    connect_timeout_s: 10, known_hosts: '~/.ssh/known_hosts', host_key_mode: 'accept-new',
  },
  rerun_of: null,
  state: 'running',
  started_at: new Date().toISOString(),
  ended_at: null,
  hosts_total: n,
  counts: {},
};

const t0 = performance.now();
const writer = new RunWriter(out, record, hosts);
const usual = Buffer.from('sda 1.8T\n├─sda1 512M /boot/efi\n└─sda2 1.8T /\n');
hosts.forEach((id, i) => {
  const durationMs = Math.round(300 + (i % 97) * 7 + (i % 1000 === 0 ? 25_000 : 0));
  if (i % 100 === 7) {
    writer.onDone({ id, status: 'unreachable', exitCode: null, durationMs: 10_000, reason: 'timed out after 10s waiting for TCP connect' });
    return;
  }
  writer.onPhase(id, 'running');
  if (i % 50 === 3) {
    writer.onOutput(id, 'stderr', Buffer.from(`lsblk: /dev/sda: not a block device\n`));
    writer.onDone({ id, status: 'failed', exitCode: 32, durationMs, reason: 'exit code 32' });
    return;
  }
  writer.onOutput(id, 'stdout', i % 200 === 11 ? Buffer.from('sdm 1.8T\n└─sdm1 1.8T /\n') : usual);
  writer.onDone({ id, status: 'ok', exitCode: 0, durationMs, reason: '' });
});
writer.finish('done');
const t1 = performance.now();
const run = readRun(writer.dir);
const t2 = performance.now();
const data = collectReport(run, new Date());
const t3 = performance.now();
const html = renderReport(data);
const t4 = performance.now();
const file = path.join(writer.dir, 'report.html');
fs.writeFileSync(file, html);
const ms = (a: number, b: number): string => `${Math.round(b - a)} ms`;
process.stdout.write(
  [
    `hosts: ${n}  run dir: ${writer.dir} (written in ${ms(t0, t1)})`,
    `readRun: ${ms(t1, t2)}  collect: ${ms(t2, t3)}  render: ${ms(t3, t4)}  total: ${ms(t1, t4)}`,
    `report: ${file}  ${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB`,
  ].join('\n') + '\n',
);
