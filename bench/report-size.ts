// How big and how slow is `herd report` for a large run? A run directory of N hosts (default 10,000)
// written by the real RunWriter (test/fleet/large-run.ts), then reading it and rendering, timed.
// Usage: npm run build && node dist/bench/report-size.js [hosts] [dir]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { collectReport } from '../src/report/html/collect.js';
import { renderReport } from '../src/report/html/render.js';
import { readRun } from '../src/results/reader.js';
import { writeLargeRun } from '../test/fleet/large-run.js';

const n = Number(process.argv[2] ?? 10_000);
const out = process.argv[3] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'herd-report-size-'));
const t0 = performance.now();
const dir = writeLargeRun(out, n);
const t1 = performance.now();
const run = readRun(dir);
const t2 = performance.now();
const data = collectReport(run, new Date());
const t3 = performance.now();
const html = renderReport(data);
const t4 = performance.now();
const file = path.join(dir, 'report.html');
fs.writeFileSync(file, html);
const ms = (a: number, b: number): string => `${Math.round(b - a)} ms`;
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;
process.stdout.write(
  [
    `hosts: ${n}  run dir: ${dir} (written in ${ms(t0, t1)})`,
    `readRun: ${ms(t1, t2)}  collect: ${ms(t2, t3)}  render: ${ms(t3, t4)}  total: ${ms(t1, t4)}`,
    `report: ${file}  ${kib(Buffer.byteLength(html))} (${kib(gzipSync(html).length)} gzipped)`,
  ].join('\n') + '\n',
);
