// A playbook's steps as the operator reads them on the terminal: per step, counts by step status,
// the hosts of every status but the majority folded into ranges, and the failures grouped by
// reason with their stderr excerpt (as in the end-of-run summary). Pure: step results in, lines out.
import {
  STEP_STATUSES,
  type HostResult,
  type HostStatus,
  type StepResult,
  type StepStatus,
} from '../results/status.js';
import { foldHosts } from './fold.js';
import { formatFailures, type HostExcerpt } from './summary.js';

/** A folded host list longer than this is cut, pointing at steps.tsv (the failure list cuts alike). */
const HOSTS_CHARS = 200;

/** What the recap needs of a step result (steps.tsv holds exactly this much). */
export type RecapStep = Pick<StepResult, 'host' | 'play' | 'step' | 'name' | 'status' | 'exitCode' | 'reason'>;

/** The step statuses that say why a host did not get through the step: shown grouped by reason. */
function failureStatus(status: StepStatus): HostStatus | null {
  switch (status) {
    case 'failed':
    case 'diverged':
    case 'timeout':
    case 'interrupted':
    case 'unverified':
    case 'not_started':
      return status;
    case 'ok':
    case 'changed':
    case 'skipped':
    case 'would_run':
    case 'would_skip':
    case 'already_done':
      return null;
    default: {
      const never: never = status;
      return never;
    }
  }
}

export const isFailureStep = (status: StepStatus): boolean => failureStatus(status) !== null;

/** `host\tplay.step` -> the excerpt of that host's stderr at that step. */
export const excerptKey = (host: string, step: string): string => `${host}\t${step}`;

/**
 * One step's block: `[1.3] mount: 5 changed, 3 failed`, then a line of hosts per status other than
 * the majority (failures as groups by reason). With no single largest status, every status lists its hosts.
 */
export function formatStepBlock(
  results: RecapStep[],
  excerpts: ReadonlyMap<string, HostExcerpt> = new Map(),
): string[] {
  const first = results[0];
  if (first === undefined) return [];
  const key = `${first.play}.${first.step}`;
  const byStatus = new Map<StepStatus, string[]>();
  for (const r of results) {
    const hosts = byStatus.get(r.status);
    if (hosts) hosts.push(r.host);
    else byStatus.set(r.status, [r.host]);
  }
  const present = STEP_STATUSES.filter((s) => byStatus.has(s));
  const sizes = present.map((s) => byStatus.get(s)!.length);
  const largest = Math.max(...sizes);
  const majority = sizes.filter((n) => n === largest).length === 1 ? present[sizes.indexOf(largest)] : undefined;
  const lines = [`[${key}] ${first.name}: ${present.map((s) => `${byStatus.get(s)!.length} ${s}`).join(', ')}`];
  for (const s of present) {
    if (s === majority || failureStatus(s) !== null) continue;
    const hosts = byStatus.get(s)!;
    const folded = foldHosts(hosts);
    // As in the failure list: thousands of scattered hosts do not flood the terminal.
    const shown = folded.length > HOSTS_CHARS ? `${folded.slice(0, HOSTS_CHARS)}... (see steps.tsv)` : folded;
    lines.push(`  ${hosts.length} ${s}: ${shown}`);
  }
  const failures: HostResult[] = [];
  const stepExcerpts = new Map<string, HostExcerpt>();
  for (const r of results) {
    const status = failureStatus(r.status);
    if (status === null) continue;
    failures.push({ id: r.host, status, exitCode: r.exitCode, durationMs: 0, reason: r.reason });
    const ex = excerpts.get(excerptKey(r.host, key));
    if (ex) stepExcerpts.set(r.host, ex);
  }
  if (failures.length > 0) lines.push(...formatFailures(failures, HOSTS_CHARS, stepExcerpts, 'steps.tsv'));
  return lines;
}

/** One step of one host, as `herd show --host` heads its output: `[1.3] mount: failed: exit code 32`. */
export function formatStepHeader(r: RecapStep): string {
  const reason = r.reason.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
  return `[${r.play}.${r.step}] ${r.name}: ${r.status}${reason === '' ? '' : `: ${reason}`}`;
}

/** Every step of a run, in play and step order, each as its block. */
export function formatRecap(results: RecapStep[], excerpts: ReadonlyMap<string, HostExcerpt> = new Map()): string[] {
  const bySteps = new Map<string, RecapStep[]>();
  for (const r of results) {
    const key = `${r.play}.${r.step}`;
    const list = bySteps.get(key);
    if (list) list.push(r);
    else bySteps.set(key, [r]);
  }
  const ordered = [...bySteps.values()].sort((a, b) => a[0]!.play - b[0]!.play || a[0]!.step - b[0]!.step);
  return ordered.flatMap((rs) => formatStepBlock(rs, excerpts));
}
