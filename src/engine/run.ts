// Parent orchestration of one run: run directory, worker pool, live progress, signals, known_hosts.
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { Target } from '../inventory/types.js';
import { RunWriter } from '../results/writer.js';
import type { RunRecord } from '../results/run-record.js';
import type { HostResult } from '../results/status.js';
import { ProgressLine } from '../report/progress.js';
import { appendKnownHosts } from '../transport/known-hosts-file.js';
import { WorkerPool } from './pool.js';
import type { HostJob, WorkerConfig } from './protocol.js';

export interface RunRequest {
  targets: Target[];
  defaultUser: string;
  defaultPort: number;
  outDir: string;
  record: RunRecord;
  workers: number;
  forks: number;
  config: Omit<WorkerConfig, 'concurrency'>;
  /** Seconds running commands get to finish after the first Ctrl-C. */
  graceS: number;
}

export interface RunUi {
  stderr: Writable & { isTTY?: boolean; columns?: number };
  progress: boolean;
}

export interface RunOutcome {
  dir: string;
  record: RunRecord;
  results: HostResult[];
  interrupted: boolean;
  warnings: string[];
}

/** Turn selected targets into jobs with connection details filled in. */
export function planJobs(targets: Target[], defaultUser: string, defaultPort: number): HostJob[] {
  return targets.map((t) => ({
    id: t.id,
    host: t.host,
    port: t.port ?? defaultPort,
    user: t.user ?? defaultUser,
    tag: randomBytes(8).toString('hex'),
  }));
}

export async function executeRun(request: RunRequest, ui: RunUi): Promise<RunOutcome> {
  const jobs = planJobs(request.targets, request.defaultUser, request.defaultPort);
  const writer = new RunWriter(request.outDir, request.record, jobs.map((j) => j.id));
  const warnings: string[] = [];
  const runningIds = new Set<string>();
  let ok = 0;
  let notOk = 0;
  const progress = new ProgressLine(ui.stderr, () => ({ total: jobs.length, done: ok + notOk, ok, notOk, running: runningIds.size }), ui.progress);
  const knownHostsPending: string[] = [];

  const pool = new WorkerPool({
    workers: request.workers,
    forks: request.forks,
    config: request.config,
    onEvent: (event) => {
      switch (event.kind) {
        case 'host_phase':
          if (event.phase === 'running') runningIds.add(event.id);
          writer.onPhase(event.id, event.phase);
          return;
        case 'output':
          writer.onOutput(event.id, event.stream, event.data);
          return;
        case 'host_done':
          runningIds.delete(event.result.id);
          if (event.result.status === 'ok') ok++;
          else notOk++;
          writer.onDone(event.result);
          return;
        case 'hostkey_new':
          knownHostsPending.push(event.line);
          if (knownHostsPending.length >= 64) flushKnownHosts();
          return;
        case 'warning':
          warnings.push(event.message);
          progress.note(`herd: warning: ${event.message}`);
          return;
      }
    },
  });
  const flushKnownHosts = (): void => {
    const lines = knownHostsPending.splice(0);
    try {
      appendKnownHosts(request.config.knownHostsPath, lines);
    } catch (err) {
      progress.note(`herd: warning: could not record new host keys in ${request.config.knownHostsPath}: ${(err as Error).message}`);
    }
  };

  let interrupted = false;
  let graceTimer: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!interrupted) {
      interrupted = true;
      progress.note(`herd: ${signal}: starting no new hosts; running commands get ${request.graceS}s to finish (Ctrl-C again to stop them now)`);
      pool.drain(`run interrupted by ${signal} before this host started`);
      graceTimer = setTimeout(() => pool.abort(`run interrupted by ${signal}`), request.graceS * 1000);
      graceTimer.unref();
    } else {
      progress.note(`herd: ${signal} again: stopping running commands now`);
      pool.abort(`run interrupted by ${signal}`);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  progress.start();
  try {
    await pool.run(jobs);
  } finally {
    if (graceTimer) clearTimeout(graceTimer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress.stop();
    flushKnownHosts();
  }
  const record = writer.finish(interrupted ? 'interrupted' : 'done');
  return { dir: writer.dir, record, results: writer.resultsInOrder(), interrupted, warnings };
}
