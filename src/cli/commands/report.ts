// herd report: one self-contained HTML file of a past run, to look at or attach to a change ticket.
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_OUT_DIR } from '../../defaults.js';
import { UsageError } from '../../errors.js';
import { collectReport } from '../../report/html/collect.js';
import { renderReport } from '../../report/html/render.js';
import { writeFileAtomic } from '../../results/atomic.js';
import { readRun, resolveRunDir } from '../../results/reader.js';

export interface ReportRaw {
  /** -o, --output FILE: where the HTML goes (default: report.html in the run directory). */
  output?: string;
  /** Where run directories are (herd show's -o; here -o names the report file, as the issue spells it). */
  runsDir?: string;
}

export function reportCommand(which: string | undefined, raw: ReportRaw): number {
  if (raw.output !== undefined) {
    const parent = path.dirname(path.resolve(raw.output));
    if (!fs.statSync(parent, { throwIfNoEntry: false })?.isDirectory()) {
      throw new UsageError(`-o ${raw.output}: no directory ${parent} to write it in`);
    }
    if (fs.statSync(raw.output, { throwIfNoEntry: false })?.isDirectory()) {
      throw new UsageError(`-o ${raw.output}: is a directory; -o names the report file`);
    }
  }
  const dir = resolveRunDir(raw.runsDir ?? DEFAULT_OUT_DIR, which);
  const run = readRun(dir);
  const html = renderReport(collectReport(run, new Date()));
  const file = path.resolve(raw.output ?? path.join(dir, 'report.html'));
  // 0644: the report is made to be shared; the run directory itself stays private (0700).
  writeFileAtomic(file, html, 0o644);
  process.stdout.write(`${file}\n`);
  return 0;
}
