// Read what the HTML report shows from a run directory. Every read is bounded: a host's output
// is hashed in blocks and only its first 4 KiB kept, so 10,000 hosts or a 1 GB output stay cheap.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import type { OutputSummary } from '../../results/host-output.js';
import { readRegularFile } from '../../results/output-head.js';
import type { RunOnDisk } from '../../results/reader.js';
import type { RunTaskRecord } from '../../results/run-record.js';
import {
  HOST_STATUSES,
  STEP_STATUSES,
  type HostResult,
  type HostStatus,
  type StepStatus,
} from '../../results/status.js';
import { parseTsv } from '../../results/tsv.js';
import { failureExcerpts } from '../failure-excerpts.js';
import { foldHosts } from '../fold.js';
import { groupOutputs, type HostOutputEntry } from '../groups.js';
import { formatFailures } from '../summary.js';
import type { HostRow, ReportData, ReportOutputGroup, ReportStep } from './model.js';

const PREVIEW_BYTES = 4096;
/** Output groups shown in the report; the rest are counted. Beyond this they are per-host noise (uptime). */
export const MAX_REPORT_GROUPS = 20;
/** Failure groups shown; when hosts fail each their own way (a request id in the error) the rest are counted. */
export const MAX_FAILURE_GROUPS = 50;
/** Characters of folded host names shown per failure group. */
const FAILURE_HOST_CHARS = 2000;

export function describeTask(t: RunTaskRecord): string {
  switch (t.kind) {
    case 'command':
      return t.command;
    case 'playbook':
      return `play ${t.file}${t.check ? ' --check' : ''}`;
    case 'transfer':
      return t.direction === 'push' ? `push ${t.local} -> ${t.remote}` : `pull ${t.remote} -> ${t.local}/<host>`;
    default: {
      const never: never = t;
      return String(never);
    }
  }
}

export function collectReport(run: RunOnDisk, now: Date): ReportData {
  const { dir, record } = run;
  const results: HostResult[] = run.hosts.map(
    (h) =>
      h.result ?? {
        id: h.id,
        status: h.wasRunning ? 'interrupted' : 'not_started',
        exitCode: null,
        durationMs: 0,
        reason: 'no final status (the run did not finish)',
      },
  );
  const counts = new Map<HostStatus, number>();
  for (const r of results) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const hosts: HostRow[] = results.map((r) => [r.id, r.status, r.exitCode, r.durationMs, r.reason, r.step ?? '']);
  const { groups, hiddenGroups } = outputGroups(dir, results);
  return {
    id: record.id,
    herdVersion: record.herd_version,
    command: record.command,
    what: describeTask(record.task),
    argv: record.argv,
    user: record.user,
    controller: record.controller,
    cwd: record.cwd,
    inventories: record.inventory_sources,
    limit: record.limit,
    rerunOf: record.rerun_of,
    state: record.state,
    startedAt: record.started_at,
    endedAt: record.ended_at,
    lastRecordAt: run.endedAt,
    counts: HOST_STATUSES.filter((s) => counts.has(s)).map((s) => [s, counts.get(s)!]),
    hosts,
    ...failureGroups(dir, results),
    groups,
    hiddenGroups,
    steps: stepCounts(run),
    generatedAt: now.toISOString(),
  };
}

/** The terminal's failure list, largest group first, cut to MAX_FAILURE_GROUPS. */
function failureGroups(dir: string, results: HostResult[]): Pick<ReportData, 'failures' | 'hiddenFailures'> {
  const all = formatFailures(results, FAILURE_HOST_CHARS, failureExcerpts(dir, results));
  const failures = all.slice(0, MAX_FAILURE_GROUPS);
  // Each entry starts `  N status: reason` (formatFailures' own format, pinned by its tests).
  const shownHosts = failures.reduce((n, f) => n + Number(/^\s*(\d+) /.exec(f)?.[1] ?? 0), 0);
  const notOk = results.filter((r) => r.status !== 'ok').length;
  return { failures, hiddenFailures: { groups: all.length - failures.length, hosts: notOk - shownHosts } };
}

/** Digest of the whole file (read in blocks) and its first 4 KiB; null when missing or not a regular file. */
function summarise(file: string, block: Buffer): OutputSummary | null {
  return readRegularFile(file, (fd) => {
    const hash = createHash('sha1');
    let head: Buffer | undefined;
    let bytes = 0;
    for (let n; (n = fs.readSync(fd, block, 0, block.length, null)) > 0;) {
      head ??= Buffer.from(block.subarray(0, Math.min(n, PREVIEW_BYTES)));
      hash.update(block.subarray(0, n));
      bytes += n;
    }
    const preview = (head ?? Buffer.alloc(0)).toString('utf8');
    return { digest: hash.digest('hex'), preview, bytes, truncated: bytes > PREVIEW_BYTES };
  });
}

/** A host whose output a group can hold: its output file and the exit code it ended with. */
interface OutputSource {
  id: string;
  exitCode: number | null;
  file: string;
}

function outputGroups(dir: string, results: HostResult[]): Pick<ReportData, 'groups' | 'hiddenGroups'> {
  const sources = results
    .filter((r) => r.status === 'ok' || r.status === 'failed')
    .map((r) => ({ id: r.id, exitCode: r.exitCode, file: path.join(dir, 'stdout', r.id) }));
  return groupSources(sources);
}

function groupSources(sources: OutputSource[]): Pick<ReportData, 'groups' | 'hiddenGroups'> {
  const block = Buffer.allocUnsafe(64 * 1024);
  const entries: HostOutputEntry[] = [];
  for (const s of sources) {
    const summary = summarise(s.file, block);
    if (summary !== null) entries.push({ id: s.id, exitCode: s.exitCode, summary });
  }
  const all = groupOutputs(entries);
  const shown = all.slice(0, MAX_REPORT_GROUPS);
  const hidden = all.slice(MAX_REPORT_GROUPS);
  const majority = shown[0];
  const groups: ReportOutputGroup[] = shown.map((g) => ({
    hosts: g.hosts.length,
    folded: foldHosts(g.hosts),
    exitCode: g.exitCode,
    preview: g.summary.preview,
    bytes: g.summary.bytes,
    truncated: g.summary.truncated,
    diff:
      majority === undefined || g.summary.digest === majority.summary.digest
        ? null
        : previewDiff(majority.summary.preview, g.summary.preview),
  }));
  return { groups, hiddenGroups: { outputs: hidden.length, hosts: hidden.reduce((n, g) => n + g.hosts.length, 0) } };
}

function previewDiff(reference: string, text: string): string {
  const patch = createTwoFilesPatch('majority', 'this group', reference, text, undefined, undefined, { context: 3 });
  return patch
    .split('\n')
    .filter((l) => !/^=+$/.test(l))
    .join('\n')
    .trimEnd();
}

/** Playbook runs: per step, how many hosts ended it with each status (the journal's latest record). */
function stepCounts(run: RunOnDisk): ReportStep[] {
  if (run.record.task.kind !== 'playbook') return [];
  const names = new Map<string, string>();
  // The exit code each host's latest record of a step has (a resumed run appends a newer one).
  const exits = new Map<string, Map<string, number | null>>();
  try {
    for (const row of parseTsv(fs.readFileSync(path.join(run.dir, 'steps.tsv'), 'utf8'))) {
      const key = row['step'];
      if (key === undefined) continue;
      if (!names.has(key)) names.set(key, row['name'] ?? '');
      const exit = Number(row['exit']);
      const perHost = exits.get(key) ?? new Map<string, number | null>();
      perHost.set(row['host'] ?? '', row['exit'] !== '' && Number.isInteger(exit) ? exit : null);
      exits.set(key, perHost);
    }
  } catch {
    // No steps.tsv (no step ended): the journal's keys are all there is.
  }
  const perStep = new Map<string, Map<StepStatus, number>>();
  for (const h of run.hosts) {
    for (const [key, rec] of h.steps) {
      const m = perStep.get(key) ?? new Map<StepStatus, number>();
      m.set(rec.status, (m.get(rec.status) ?? 0) + 1);
      perStep.set(key, m);
    }
  }
  const order = (k: string): number[] => k.split('.').map(Number);
  return [...perStep.keys()]
    .sort((a, b) => order(a)[0]! - order(b)[0]! || order(a)[1]! - order(b)[1]!)
    .map((key) => {
      const m = perStep.get(key)!;
      const perHost = exits.get(key) ?? new Map<string, number | null>();
      // Output directories are named by the step key the journal wrote (`1.2`), never by host text.
      const out = path.join(run.dir, 'steps', key, 'stdout');
      const sources = !/^\d+\.\d+$/.test(key)
        ? []
        : run.hosts
            .filter((h) => h.steps.has(key))
            .map((h) => ({ id: h.id, exitCode: perHost.get(h.id) ?? null, file: path.join(out, h.id) }));
      const counts = STEP_STATUSES.filter((s) => m.has(s)).map((s): [StepStatus, number] => [s, m.get(s)!]);
      return { key, name: names.get(key) ?? '', counts, ...groupSources(sources) };
    });
}
