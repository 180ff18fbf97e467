// The run directory's only writer (lives in the parent). Files appear as results arrive:
// journal.ndjson line by line, per-host outputs when each host ends, hosts.tsv rewritten atomically.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, replaceSymlink } from './atomic.js';
import {
  HostOutput,
  copyPrefixedLines,
  readPreview,
  type OutputFingerprint,
  type OutputSummary,
} from './host-output.js';
import type { RunRecord, RunState } from './run-record.js';
import { HostsTable, type PendingStatus } from './hosts-table.js';
import { STEPS_TSV_HEADER, TRANSFERS_TSV_HEADER, stepRow, tsvField } from './tsv.js';
import {
  hostResult,
  interruptedOutcome,
  notStarted,
  type HostResult,
  type HostStatus,
  type StepResult,
} from './status.js';

export type { PendingStatus } from './hosts-table.js';

const HOSTS_TSV_FLUSH_MS = 1_000;
/** Rewriting hosts.tsv may take at most 1/HOSTS_TSV_SHARE of the time a run goes on... */
const HOSTS_TSV_SHARE = 20;
/** ...but it is never staler than this. */
const HOSTS_TSV_MAX_DELAY_MS = 30_000;

/**
 * How long after a change hosts.tsv is rewritten, given how long its last rewrite took. The file is rewritten
 * whole (atomically, so a reader never sees half of it), so at a fixed second apart its cost grows with the host
 * count twice over: 50,000 rows took 213 ms a rewrite, a fifth of the parent's time. Spacing the rewrites by twenty
 * times their own cost keeps that share at 5% at any size (up to the staleness bound). Each row is formatted once
 * (hosts-table.ts), so a rewrite of 50,000 rows now costs 10-50 ms (49 ms on average in a 50k run, loaded machine).
 */
export function hostsTsvFlushDelayMs(lastWriteMs: number): number {
  return Math.min(HOSTS_TSV_MAX_DELAY_MS, Math.max(HOSTS_TSV_FLUSH_MS, Math.ceil(lastWriteMs * HOSTS_TSV_SHARE)));
}

export class RunWriter {
  readonly dir: string;
  private readonly journalFd: number;
  private readonly outputLogFd: number;
  private readonly results = new Map<string, HostResult>();
  private readonly pending = new Map<string, PendingStatus>();
  private readonly hostsTable: HostsTable;
  private readonly outputs = new Map<string, { stdout: HostOutput; stderr: HostOutput }>();
  private readonly stepOutputs = new Map<string, { stdout: HostOutput; stderr: HostOutput }>();
  private stepsFd: number | undefined;
  private transfersFd: number | undefined;
  /** Each ended host's stdout digest and size; its preview is read back from the file when asked for. */
  private readonly summaries = new Map<string, OutputFingerprint>();
  private hostsDirty = false;
  /** How long the last rewrite of hosts.tsv took: the next waits twenty times that (hostsTsvFlushDelayMs). */
  private lastHostsWriteMs = 0;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    outDir: string,
    private readonly record: RunRecord,
    private readonly order: string[],
  ) {
    // Created (private, exclusively) by createRunDir when the run id was drawn.
    this.dir = path.join(outDir, record.id);
    fs.mkdirSync(path.join(this.dir, 'stdout'), { mode: 0o700 });
    fs.mkdirSync(path.join(this.dir, 'stderr'), { mode: 0o700 });
    for (const id of order) this.pending.set(id, 'queued');
    this.hostsTable = new HostsTable(order);
    this.journalFd = fs.openSync(path.join(this.dir, 'journal.ndjson'), 'a', 0o600);
    this.outputLogFd = fs.openSync(path.join(this.dir, 'output.log'), 'a', 0o600);
    this.writeRecord();
    this.writeHostsTsv();
    replaceSymlink(record.id, path.join(outDir, 'latest'));
    this.journal({ kind: 'run_start', run: record.id, hosts: order.length });
  }

  onPhase(id: string, phase: 'connecting' | 'running'): void {
    if (!this.pending.has(id)) return;
    this.pending.set(id, phase);
    this.hostsTable.pending(id, phase);
    if (phase === 'running') {
      this.journal({ kind: 'host_running', host: id });
      this.outputsOf(id); // a host that ran gets its (possibly empty) output files
    }
    this.markDirty();
  }

  onOutput(id: string, stream: 'stdout' | 'stderr', data: Buffer, step?: string): void {
    if (step === undefined) this.outputsOf(id)[stream].append(data);
    else this.stepOutputsOf(id, step)[stream].append(data);
  }

  /** A playbook step ended on a host: journal it, append it to steps.tsv, publish its output. */
  onStepDone(result: StepResult): void {
    const key = `${result.play}.${result.step}`;
    const outputs = this.stepOutputs.get(`${result.host}\t${key}`);
    if (outputs) {
      this.stepOutputs.delete(`${result.host}\t${key}`);
      this.appendOutputLog(result.host, outputs.stdout.publish(), key);
      this.appendOutputLog(result.host, outputs.stderr.publish(), key);
    }
    const { stdout: _kept, ...entry } = result;
    this.journal({ kind: 'step_done', ...entry });
    if (this.stepsFd === undefined) {
      this.stepsFd = fs.openSync(path.join(this.dir, 'steps.tsv'), 'a', 0o600);
      fs.writeSync(this.stepsFd, STEPS_TSV_HEADER.join('\t') + '\n');
    }
    fs.writeSync(this.stepsFd, stepRow(result).map(tsvField).join('\t') + '\n');
  }

  /** One file of a push or pull: appended to transfers.tsv as it happens. */
  onFileDone(host: string, file: string, bytes: number, status: string): void {
    if (this.transfersFd === undefined) {
      this.transfersFd = fs.openSync(path.join(this.dir, 'transfers.tsv'), 'a', 0o600);
      fs.writeSync(this.transfersFd, TRANSFERS_TSV_HEADER.join('\t') + '\n');
    }
    fs.writeSync(this.transfersFd, [host, file, bytes, status].map(tsvField).join('\t') + '\n');
  }

  /** The majority output a consensus step settled on, so a rerun is judged against the same reference. */
  journalGate(play: number, step: number, majority: string | null): void {
    this.journal({ kind: 'gate', play, step, majority });
  }

  writeJson(name: string, data: unknown): void {
    writeFileAtomic(path.join(this.dir, name), JSON.stringify(data, null, 2) + '\n');
  }

  private stepOutputsOf(id: string, step: string): { stdout: HostOutput; stderr: HostOutput } {
    const k = `${id}\t${step}`;
    let o = this.stepOutputs.get(k);
    if (!o) {
      const base = path.join(this.dir, 'steps', step);
      fs.mkdirSync(path.join(base, 'stdout'), { recursive: true, mode: 0o700 });
      fs.mkdirSync(path.join(base, 'stderr'), { recursive: true, mode: 0o700 });
      o = {
        stdout: new HostOutput(path.join(base, 'stdout'), id),
        stderr: new HostOutput(path.join(base, 'stderr'), id),
      };
      this.stepOutputs.set(k, o);
    }
    return o;
  }

  onDone(result: HostResult): void {
    if (this.results.has(result.id)) return;
    this.pending.delete(result.id);
    const outputs = this.outputs.get(result.id);
    if (outputs) {
      this.outputs.delete(result.id);
      this.summaries.set(result.id, outputs.stdout.fingerprint());
      this.appendOutputLog(result.id, outputs.stdout.publish());
      this.appendOutputLog(result.id, outputs.stderr.publish());
    }
    this.results.set(result.id, result);
    this.hostsTable.done(result);
    this.journal({ kind: 'host_done', ...result });
    this.markDirty();
  }

  /** Close the run: every host gets a final row, failed.txt and run.json are written. */
  finish(state: RunState): RunRecord {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const id of this.order) {
      if (!this.results.has(id)) {
        const wasRunning = this.pending.get(id) === 'running';
        this.onDone(
          wasRunning
            ? hostResult(id, 0, interruptedOutcome('E_INTERRUPTED', 'run ended while the command was running'))
            : notStarted(id, 'run ended before this host started'),
        );
      }
    }
    this.writeHostsTsv();
    const failed = this.order.filter((id) => this.results.get(id)?.status !== 'ok');
    writeFileAtomic(path.join(this.dir, 'failed.txt'), failed.map((id) => id + '\n').join(''));
    this.record.state = state;
    this.record.ended_at = new Date().toISOString();
    this.record.counts = this.counts();
    this.writeRecord();
    this.journal({ kind: 'run_done', state });
    fs.closeSync(this.journalFd);
    if (this.stepsFd !== undefined) fs.closeSync(this.stepsFd);
    if (this.transfersFd !== undefined) fs.closeSync(this.transfersFd);
    fs.closeSync(this.outputLogFd);
    return this.record;
  }

  counts(): Partial<Record<HostStatus, number>> {
    const counts: Partial<Record<HostStatus, number>> = {};
    for (const r of this.results.values()) counts[r.status] = (counts[r.status] ?? 0) + 1;
    return counts;
  }

  /** Digest and start of a host's stdout (hosts that ran a command only). */
  outputSummary(id: string): OutputSummary | undefined {
    const fingerprint = this.summaries.get(id);
    if (fingerprint === undefined) return undefined;
    const file = path.join(this.dir, 'stdout', id);
    let preview: string | undefined;
    return {
      ...fingerprint,
      get preview(): string {
        return (preview ??= readPreview(file));
      },
    };
  }

  resultsInOrder(): HostResult[] {
    return this.order.map((id) => this.results.get(id)).filter((r): r is HostResult => r !== undefined);
  }

  private outputsOf(id: string): { stdout: HostOutput; stderr: HostOutput } {
    let o = this.outputs.get(id);
    if (!o) {
      o = {
        stdout: new HostOutput(path.join(this.dir, 'stdout'), id),
        stderr: new HostOutput(path.join(this.dir, 'stderr'), id),
      };
      this.outputs.set(id, o);
    }
    return o;
  }

  /**
   * pdsh style `host: line` (playbooks: `host: [play.step] line`), so `grep X output.log | cut -d: -f1 | sort -u`
   * lists hosts.
   */
  private appendOutputLog(id: string, file: string, step?: string): void {
    const prefix = step === undefined ? `${id}: ` : `${id}: [${step}] `;
    if (fs.statSync(file).size === 0) return;
    copyPrefixedLines(file, prefix, (chunk) => fs.writeSync(this.outputLogFd, chunk));
  }

  private journal(entry: Record<string, unknown>): void {
    // One write per line: a kill -9 can lose the line being written, never tear the ones before it.
    fs.writeSync(this.journalFd, JSON.stringify({ t: new Date().toISOString(), ...entry }) + '\n');
  }

  private markDirty(): void {
    this.hostsDirty = true;
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (this.hostsDirty) this.writeHostsTsv();
    }, hostsTsvFlushDelayMs(this.lastHostsWriteMs));
    this.flushTimer.unref();
  }

  private writeHostsTsv(): void {
    // process.hrtime, not performance.now(): the global `performance` loads Node's perf_hooks, ~2.5 ms of every run.
    const started = process.hrtime.bigint();
    this.hostsDirty = false;
    writeFileAtomic(path.join(this.dir, 'hosts.tsv'), this.hostsTable.render());
    this.lastHostsWriteMs = Number(process.hrtime.bigint() - started) / 1e6;
  }

  private writeRecord(): void {
    writeFileAtomic(path.join(this.dir, 'run.json'), JSON.stringify(this.record, null, 2) + '\n');
  }
}
