// herd diff: the hosts whose output differs from the majority (or --against HOST), with unified diffs.
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_OUT_DIR } from '../../defaults.js';
import { UsageError } from '../../errors.js';
import { diffRecords, formatDiff } from '../../report/diff.js';
import { jsonForTerminal, writeText } from '../../report/terminal-safe.js';
import { readRun, resolveRunDir } from '../../results/reader.js';

export function diffCommand(which: string | undefined, raw: { out?: string; step?: string; against?: string; json?: boolean }): number {
  const dir = resolveRunDir(raw.out ?? DEFAULT_OUT_DIR, which);
  const run = readRun(dir);
  let outputDir = path.join(dir, 'stdout');
  if (run.record.task.kind === 'playbook') {
    const steps = fs.existsSync(path.join(dir, 'steps')) ? fs.readdirSync(path.join(dir, 'steps')).sort() : [];
    if (raw.step === undefined) throw new UsageError(`run ${run.record.id} is a playbook run: choose a step with --step (one of ${steps.join(', ') || 'none'})`);
    const step = raw.step.includes('.') ? raw.step : `1.${raw.step}`;
    if (!steps.includes(step)) throw new UsageError(`--step ${raw.step}: no output recorded for step ${step} (steps with output: ${steps.join(', ') || 'none'})`);
    outputDir = path.join(dir, 'steps', step, 'stdout');
  } else if (raw.step !== undefined) {
    throw new UsageError(`--step: run ${run.record.id} is not a playbook run`);
  }
  const outputs = new Map<string, string>();
  for (const h of run.hosts) {
    const file = path.join(outputDir, h.id);
    if (fs.existsSync(file)) outputs.set(h.id, fs.readFileSync(file, 'utf8'));
  }
  if (raw.against !== undefined && !outputs.has(raw.against)) throw new UsageError(`--against ${raw.against}: that host has no output in run ${run.record.id}`);
  if (raw.json) {
    const records = diffRecords(outputs, raw.against);
    process.stdout.write(records.map((r) => jsonForTerminal(r) + '\n').join(''));
    return records.length > 1 ? 1 : 0;
  }
  const { text, differs } = formatDiff(outputs, raw.against);
  writeText(process.stdout, text);
  return differs ? 1 : 0;
}
