// Read a run directory back: which run, what it did, and each host's final status.
// The journal is the truth (it survives kill -9); hosts.tsv is the fallback for hand-made dirs.
import fs from 'node:fs';
import path from 'node:path';
import { RunDirError } from '../errors.js';
import type { RunRecord } from './run-record.js';
import {
  HOST_STATUSES,
  STEP_STATUSES,
  type HostResult,
  type HostStatus,
  type StepResult,
  type StepStatus,
} from './status.js';
import type { StepRecord } from './resume.js';
import { parseTsv } from './tsv.js';

/** A steps.tsv row: what the terminal recap of a playbook run is made from. */
export type StepRow = Pick<StepResult, 'host' | 'play' | 'step' | 'name' | 'status' | 'exitCode' | 'reason'>;

export interface RunOnDisk {
  dir: string;
  record: RunRecord;
  /** Hosts in run order with their final result, or `null` when the run ended without one (killed). */
  /** `doneAt`: when the journal recorded the result (ISO time; null without a journal). */
  hosts: {
    id: string;
    result: HostResult | null;
    doneAt: string | null;
    wasRunning: boolean;
    steps: Map<string, StepRecord>;
  }[];
  /** When the journal recorded the end of the run, else its last entry (null without a journal). */
  endedAt: string | null;
  /** Playbook runs: the hosts of each play (plays.json). */
  playHosts: Map<number, string[]> | null;
  /** Playbook runs: the majority output of each consensus step (`play.step` -> output). */
  gates: Map<string, string | null>;
}

/** `latest`, a run id, or a path -> the run directory. */
export function resolveRunDir(outDir: string, which: string | undefined): string {
  const name = which ?? 'latest';
  const candidates =
    name.includes('/') || name === '.' ? [path.resolve(name)] : [path.join(outDir, name), path.resolve(name)];
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, 'run.json'))) return fs.realpathSync(dir);
  }
  throw new RunDirError(`no run found at ${candidates.join(' or ')} (expected a directory holding run.json)`);
}

export function readRun(dir: string): RunOnDisk {
  let record: RunRecord;
  try {
    record = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunRecord;
  } catch (err) {
    throw new RunDirError(`cannot read ${path.join(dir, 'run.json')}: ${(err as Error).message}`, { cause: err });
  }
  const order = readOrder(dir);
  const { done, doneAt, endedAt, running, steps, gates } = readJournal(dir);
  return {
    dir,
    record,
    hosts: order.map((id) => ({
      id,
      result: done.get(id) ?? null,
      doneAt: doneAt.get(id) ?? null,
      wasRunning: running.has(id) && !done.has(id),
      steps: steps.get(id) ?? new Map(),
    })),
    endedAt,
    playHosts: readPlayHosts(dir),
    gates,
  };
}

function readPlayHosts(dir: string): Map<number, string[]> | null {
  try {
    const data = JSON.parse(fs.readFileSync(path.join(dir, 'plays.json'), 'utf8')) as {
      plays: { index: number; hosts: string[] }[];
    };
    return new Map(data.plays.map((p) => [p.index, p.hosts]));
  } catch {
    return null;
  }
}

function readOrder(dir: string): string[] {
  try {
    return parseTsv(fs.readFileSync(path.join(dir, 'hosts.tsv'), 'utf8'))
      .map((row) => row['host'] ?? '')
      .filter((h) => h !== '');
  } catch (err) {
    throw new RunDirError(`cannot read ${path.join(dir, 'hosts.tsv')}: ${(err as Error).message}`, { cause: err });
  }
}

interface JournalView {
  done: Map<string, HostResult>;
  doneAt: Map<string, string>;
  endedAt: string | null;
  running: Set<string>;
  steps: Map<string, Map<string, StepRecord>>;
  gates: Map<string, string | null>;
}

function readJournal(dir: string): JournalView {
  const done = new Map<string, HostResult>();
  const running = new Set<string>();
  const steps = new Map<string, Map<string, StepRecord>>();
  const gates = new Map<string, string | null>();
  const doneAt = new Map<string, string>();
  let runDoneAt: string | null = null;
  let lastAt: string | null = null;
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, 'journal.ndjson'), 'utf8');
  } catch {
    return { ...fromHostsTsv(dir, done, running), doneAt, endedAt: null, steps, gates };
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // the last line of a killed run may be cut short
    }
    const at = typeof entry['t'] === 'string' ? entry['t'] : null;
    if (at !== null) lastAt = at;
    if (entry['kind'] === 'run_done') runDoneAt = at;
    if (entry['kind'] === 'host_running' && typeof entry['host'] === 'string') running.add(entry['host']);
    if (entry['kind'] === 'gate')
      gates.set(
        `${String(entry['play'])}.${String(entry['step'])}`,
        typeof entry['majority'] === 'string' ? entry['majority'] : null,
      );
    if (entry['kind'] === 'step_done' && typeof entry['host'] === 'string' && isStepStatus(entry['status'])) {
      const perHost = steps.get(entry['host']) ?? new Map<string, StepRecord>();
      perHost.set(`${String(entry['play'])}.${String(entry['step'])}`, {
        status: entry['status'],
        ignored: entry['ignored'] === true,
      });
      steps.set(entry['host'], perHost);
    }
    if (entry['kind'] === 'host_done' && typeof entry['id'] === 'string' && isStatus(entry['status'])) {
      done.set(entry['id'], {
        id: entry['id'],
        status: entry['status'],
        exitCode: typeof entry['exitCode'] === 'number' ? entry['exitCode'] : null,
        durationMs: typeof entry['durationMs'] === 'number' ? entry['durationMs'] : 0,
        reason: typeof entry['reason'] === 'string' ? entry['reason'] : '',
        ...(typeof entry['step'] === 'string' ? { step: entry['step'] } : {}),
      });
      if (at !== null) doneAt.set(entry['id'], at);
    }
  }
  return { done, doneAt, endedAt: runDoneAt ?? lastAt, running, steps, gates };
}

function isStepStatus(value: unknown): value is StepStatus {
  return typeof value === 'string' && (STEP_STATUSES as readonly string[]).includes(value);
}

function fromHostsTsv(
  dir: string,
  done: Map<string, HostResult>,
  running: Set<string>,
): { done: Map<string, HostResult>; running: Set<string> } {
  const rows = parseTsv(fs.readFileSync(path.join(dir, 'hosts.tsv'), 'utf8'));
  for (const row of rows) {
    const id = row['host'] ?? '';
    const status = row['status'];
    if (status === 'running') running.add(id);
    if (isStatus(status)) {
      const exit = Number(row['exit']);
      // hostRow writes `-` for an empty reason and for no step.
      const step = row['step'] ?? '-';
      done.set(id, {
        id,
        status,
        exitCode: row['exit'] !== '-' && Number.isInteger(exit) ? exit : null,
        durationMs: Number(row['duration_ms']) || 0,
        reason: row['reason'] === '-' ? '' : (row['reason'] ?? ''),
        ...(step !== '-' && step !== '' ? { step } : {}),
      });
    }
  }
  return { done, running };
}

function isStatus(value: unknown): value is HostStatus {
  return typeof value === 'string' && (HOST_STATUSES as readonly string[]).includes(value);
}

/**
 * Which hosts a rerun takes: not ok and not interrupted (unless asked); unfinished ones count as interrupted if they
 * were running.
 */
export function selectRerunHosts(run: RunOnDisk, includeInterrupted: boolean): string[] {
  return run.hosts
    .filter(({ result, wasRunning }) => {
      if (result === null) return includeInterrupted || !wasRunning;
      if (result.status === 'ok') return false;
      if (result.status === 'interrupted') return includeInterrupted;
      return true;
    })
    .map((h) => h.id);
}

/** A playbook run's steps.tsv rows (none for other runs); rows a hand edit broke are left out. */
export function readSteps(dir: string): StepRow[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, 'steps.tsv'), 'utf8');
  } catch {
    return [];
  }
  const rows: StepRow[] = [];
  for (const row of parseTsv(text)) {
    const m = /^(\d+)\.(\d+)$/.exec(row['step'] ?? '');
    const status = row['status'];
    if (!m || !isStepStatus(status) || !row['host']) continue;
    const exit = Number(row['exit']);
    rows.push({
      host: row['host'],
      play: Number(m[1]),
      step: Number(m[2]),
      name: row['name'] ?? '',
      status,
      exitCode: row['exit'] !== '-' && Number.isInteger(exit) ? exit : null,
      reason: row['reason'] === '-' ? '' : (row['reason'] ?? ''),
    });
  }
  return rows;
}
