// herd runs: past runs, newest first, one line each: id, when, what ran, counts by status.
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_OUT_DIR, DEFAULT_RUNS_LIMIT } from '../../defaults.js';
import { formatCounts } from '../../report/summary.js';
import type { RunRecord } from '../../results/run-record.js';
import { parseNumber } from '../parse-value.js';

export function runsCommand(raw: { out?: string; limit?: string; json?: boolean }): number {
  const outDir = path.resolve(raw.out ?? DEFAULT_OUT_DIR);
  const ids = fs.existsSync(outDir)
    ? fs
        .readdirSync(outDir)
        .filter((d) => /^\d{8}T\d{6}(\.\d{3})?Z-/.test(d))
        .sort()
        .reverse()
    : [];
  const max = parseNumber('-n', raw.limit, DEFAULT_RUNS_LIMIT, { min: 1, integer: true });
  for (const id of ids.slice(0, max)) {
    let record: RunRecord;
    try {
      record = JSON.parse(fs.readFileSync(path.join(outDir, id, 'run.json'), 'utf8')) as RunRecord;
    } catch {
      process.stdout.write(`${id}\t?\t(unreadable run.json)\n`);
      continue;
    }
    if (raw.json) {
      const { id: runId, started_at, ended_at, command, state, hosts_total, counts, task, rerun_of } = record;
      process.stdout.write(
        JSON.stringify({
          kind: 'run',
          id: runId,
          started_at,
          ended_at,
          command,
          state,
          hosts: hosts_total,
          counts,
          task,
          rerun_of,
        }) + '\n',
      );
      continue;
    }
    const t = record.task;
    const what =
      t.kind === 'command'
        ? t.command
        : t.kind === 'playbook'
          ? `play ${t.file}${t.check ? ' --check' : ''}`
          : t.direction === 'push'
            ? `push ${t.local} -> ${t.remote}`
            : `pull ${t.remote} -> ${t.local}/<host>`;
    const state = record.state === 'running' ? ' (unfinished)' : record.state === 'interrupted' ? ' (interrupted)' : '';
    process.stdout.write(
      `${id}\t${record.started_at}\t${record.command}\t${formatCounts(record.hosts_total, record.counts)}${state}\t${what.replace(/\s+/g, ' ')}\n`,
    );
  }
  if (ids.length === 0) process.stderr.write(`herd: no runs in ${outDir}\n`);
  return 0;
}
