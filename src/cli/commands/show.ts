// herd show: the end-of-run view again for a past run, one host's output, or the hosts with a status.
import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_OUT_DIR } from '../../defaults.js';
import { UsageError } from '../../errors.js';
import { formatGroups, groupOutputs } from '../../report/groups.js';
import { formatEvent } from '../../report/ndjson.js';
import { formatCounts, formatFailures } from '../../report/summary.js';
import { failureExcerpts } from '../../report/failure-excerpts.js';
import { writeText } from '../../report/terminal-safe.js';
import { readRun, resolveRunDir } from '../../results/reader.js';
import { HOST_STATUSES, type HostResult } from '../../results/status.js';
import { printHostSteps, printRecap } from '../recap-output.js';

export interface ShowRaw {
  out?: string;
  host?: string;
  status?: string;
  json?: boolean;
  all?: boolean;
}

export function showCommand(which: string | undefined, raw: ShowRaw): number {
  // --all widens the grouped view only; with a flag that prints something else it would do nothing.
  if (raw.all) {
    const other =
      raw.host !== undefined ? '--host' : raw.status !== undefined ? '--status' : raw.json ? '--json' : null;
    if (other !== null)
      throw new UsageError(`--all shows every group of the grouped view; it does not combine with ${other}`);
  }
  // A mistyped status would list nobody, as if no host had it.
  if (raw.status !== undefined && !(HOST_STATUSES as readonly string[]).includes(raw.status)) {
    throw new UsageError(`--status ${raw.status}: not a host status; valid statuses: ${HOST_STATUSES.join(', ')}`);
  }
  const dir = resolveRunDir(raw.out ?? DEFAULT_OUT_DIR, which);
  const run = readRun(dir);
  // --json rebuilds the run's events: each carries the time the run recorded for it, not now.
  const runEnded = new Date(run.endedAt ?? run.record.ended_at ?? run.record.started_at);
  const hostEnded = new Map(run.hosts.map((h) => [h.id, h.doneAt === null ? runEnded : new Date(h.doneAt)]));
  if (raw.host !== undefined) {
    const file = path.join(dir, 'stdout', raw.host);
    if (!run.hosts.some((h) => h.id === raw.host))
      throw new UsageError(`--host ${raw.host}: not a host of run ${run.record.id}`);
    const err = path.join(dir, 'stderr', raw.host);
    if (raw.json) {
      for (const [stream, f] of [
        ['stdout', file],
        ['stderr', err],
      ] as const) {
        if (!fs.existsSync(f)) continue;
        // A host's output is published when it ends: that is when its output events are dated.
        const event = { kind: 'output', host: raw.host, stream, text: fs.readFileSync(f, 'utf8') } as const;
        process.stdout.write(formatEvent(event, hostEnded.get(raw.host)));
      }
      return 0;
    }
    let shown: boolean;
    if (run.record.task.kind === 'playbook') shown = printHostSteps(process.stdout, process.stderr, dir, raw.host);
    else {
      shown = fs.existsSync(file) && fs.statSync(file).size > 0;
      if (shown) copyOut(process.stdout, file);
    }
    if (fs.existsSync(err) && fs.statSync(err).size > 0) {
      shown = true;
      copyOut(process.stderr, err);
    }
    // A host that printed nothing (never reached, or silent) is shown by its status, not by silence.
    if (!shown) {
      const result = run.hosts.find((h) => h.id === raw.host)?.result;
      const status = result
        ? `${result.status}${result.reason === '' ? '' : `: ${result.reason}`}`
        : 'no final status (the run did not finish)';
      writeText(process.stderr, `${raw.host} ${status.replace(/\r/g, '\\r').replace(/\n/g, '\\n')}\n`);
    }
    return 0;
  }
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
  if (raw.json) {
    for (const r of results) {
      if (raw.status === undefined || r.status === raw.status)
        process.stdout.write(formatEvent({ kind: 'host_done', result: r }, hostEnded.get(r.id)));
    }
    const counts: Partial<Record<HostResult['status'], number>> = {};
    for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
    process.stdout.write(
      formatEvent({ kind: 'run_done', run: run.record.id, dir, state: run.record.state, counts }, runEnded),
    );
    return 0;
  }
  if (raw.status !== undefined) {
    for (const r of results) if (r.status === raw.status) process.stdout.write(`${r.id}\n`);
    return 0;
  }
  const counts: Partial<Record<HostResult['status'], number>> = {};
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  const failures = formatFailures(results, undefined, failureExcerpts(dir, results));
  const summary = [formatCounts(results.length, counts), ...failures, `run: ${dir}`].join('\n') + '\n';
  if (run.record.task.kind === 'playbook') {
    // Every host's stdout is empty in a playbook run (steps have their own): the step recap is the view.
    printRecap(process.stdout, dir, 'recap:');
    writeText(process.stderr, summary);
    return 0;
  }
  const entries = results
    .filter((r) => (r.status === 'ok' || r.status === 'failed') && fs.existsSync(path.join(dir, 'stdout', r.id)))
    .map((r) => ({ id: r.id, exitCode: r.exitCode, summary: summarise(path.join(dir, 'stdout', r.id)) }));
  if (entries.length > 0) writeText(process.stdout, formatGroups(groupOutputs(entries), raw.all === true) + '\n');
  writeText(process.stderr, summary);
  return 0;
}

const PREVIEW_BYTES = 4096;
const BLOCK_BYTES = 1024 * 1024;

/**
 * What the grouped view needs of a host's stdout, read in blocks: a host may have printed
 * gigabytes, which read whole would not even fit in one buffer (2 GiB).
 */
function summarise(file: string): { digest: string; preview: string; bytes: number; truncated: boolean } {
  const hash = createHash('sha1');
  const block = Buffer.allocUnsafe(BLOCK_BYTES);
  const fd = fs.openSync(file, 'r');
  let bytes = 0;
  let preview = '';
  try {
    for (
      let n = fs.readSync(fd, block, 0, BLOCK_BYTES, null);
      n > 0;
      n = fs.readSync(fd, block, 0, BLOCK_BYTES, null)
    ) {
      if (bytes === 0) preview = block.subarray(0, Math.min(n, PREVIEW_BYTES)).toString('utf8');
      hash.update(block.subarray(0, n));
      bytes += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return { digest: hash.digest('hex'), preview, bytes, truncated: bytes > PREVIEW_BYTES };
}

/** A host's output file to stdout or stderr in blocks (escaped on a terminal, a character never split). */
function copyOut(out: NodeJS.WriteStream, file: string): void {
  const block = Buffer.allocUnsafe(BLOCK_BYTES);
  const decoder = new StringDecoder('utf8');
  const fd = fs.openSync(file, 'r');
  try {
    for (
      let n = fs.readSync(fd, block, 0, BLOCK_BYTES, null);
      n > 0;
      n = fs.readSync(fd, block, 0, BLOCK_BYTES, null)
    ) {
      const chunk = block.subarray(0, n);
      if (out.isTTY) writeText(out, decoder.write(chunk));
      // Stdout and stderr to a pipe or file are written synchronously on Linux: one block at a time.
      else out.write(Buffer.from(chunk));
    }
    if (out.isTTY) writeText(out, decoder.end());
  } finally {
    fs.closeSync(fd);
  }
}
