// herd diff: the hosts whose output differs from the majority (or --against HOST), with unified diffs.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_OUT_DIR } from '../../defaults.js';
import { UsageError } from '../../errors.js';
import { diffRecords, formatDiff } from '../../report/diff.js';
import { jsonForTerminal, writeText } from '../../report/terminal-safe.js';
import { readRun, resolveRunDir } from '../../results/reader.js';

export function diffCommand(
  which: string | undefined,
  raw: { out?: string; step?: string; against?: string; json?: boolean },
): number {
  const dir = resolveRunDir(raw.out ?? DEFAULT_OUT_DIR, which);
  const run = readRun(dir);
  let outputDir = path.join(dir, 'stdout');
  if (run.record.task.kind === 'playbook') {
    const steps = fs.existsSync(path.join(dir, 'steps')) ? fs.readdirSync(path.join(dir, 'steps')).sort() : [];
    if (raw.step === undefined)
      throw new UsageError(
        `run ${run.record.id} is a playbook run: choose a step with --step (one of ${steps.join(', ') || 'none'})`,
      );
    const step = raw.step.includes('.') ? raw.step : `1.${raw.step}`;
    if (!steps.includes(step))
      throw new UsageError(
        `--step ${raw.step}: no output recorded for step ${step} (steps with output: ${steps.join(', ') || 'none'})`,
      );
    outputDir = path.join(dir, 'steps', step, 'stdout');
  } else if (raw.step !== undefined) {
    throw new UsageError(`--step: run ${run.record.id} is not a playbook run`);
  }
  const outputs = new Map<string, string>();
  for (const h of run.hosts) {
    const file = path.join(outputDir, h.id);
    if (fs.existsSync(file)) outputs.set(h.id, comparedText(file));
  }
  if (raw.against !== undefined && !outputs.has(raw.against))
    throw new UsageError(`--against ${raw.against}: that host has no output in run ${run.record.id}`);
  if (raw.json) {
    const records = diffRecords(outputs, raw.against);
    process.stdout.write(records.map((r) => jsonForTerminal(r) + '\n').join(''));
    return records.length > 1 ? 1 : 0;
  }
  const { text, differs } = formatDiff(outputs, raw.against);
  writeText(process.stdout, text);
  return differs ? 1 : 0;
}

/** Outputs are compared in memory up to this size; a longer one by its start and its digest. */
export const DIFF_BYTES = 16 * 1024 * 1024;

/**
 * The text herd diff compares for one output file. A host may print gigabytes (past 512 MiB the
 * text would not even fit in one string): beyond DIFF_BYTES only the start is diffed, followed by a
 * line with the size and sha1 of the whole, so outputs that differ only further on still differ.
 */
function comparedText(file: string): string {
  const size = fs.statSync(file).size;
  if (size <= DIFF_BYTES) return fs.readFileSync(file, 'utf8');
  const hash = createHash('sha1');
  const block = Buffer.allocUnsafe(1024 * 1024);
  const head: Buffer[] = [];
  let read = 0;
  const fd = fs.openSync(file, 'r');
  try {
    for (
      let n = fs.readSync(fd, block, 0, block.length, null);
      n > 0;
      n = fs.readSync(fd, block, 0, block.length, null)
    ) {
      hash.update(block.subarray(0, n));
      if (read < DIFF_BYTES) head.push(Buffer.from(block.subarray(0, Math.min(n, DIFF_BYTES - read))));
      read += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  const start = Buffer.concat(head).toString('utf8');
  return `${start}\n[herd diff: only the first ${DIFF_BYTES} of ${read} bytes compared line by line; sha1 of the whole: ${hash.digest('hex')}]\n`;
}
