// Pure formatting of herd's tab-separated result files: one record per line, no tabs or newlines inside fields.
import type { HostResult, StepResult } from './status.js';

/** `step` is where a playbook host stopped (`play.step`); `-` for ad-hoc runs and hosts that finished. */
export const HOSTS_TSV_HEADER = ['host', 'status', 'exit', 'duration_ms', 'reason', 'step'] as const;

/**
 * One row per file of a push or pull; status is sent, received, unchanged, link, skipped_special, skipped_temp_name or
 * deleted.
 */
export const TRANSFERS_TSV_HEADER = ['host', 'path', 'bytes', 'status'] as const;

export const STEPS_TSV_HEADER = ['host', 'step', 'name', 'status', 'exit', 'duration_ms', 'reason', 'play'] as const;

/** Make a value safe for one TSV field: tabs and line breaks become spaces. */
export function tsvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  return String(value).replace(/[\t\r\n]+/g, ' ');
}

export function formatTsv(header: readonly string[], rows: (string | number | null | undefined)[][]): string {
  const lines = [header.join('\t'), ...rows.map((r) => r.map(tsvField).join('\t'))];
  return lines.join('\n') + '\n';
}

/** A hosts.tsv row; `exit` is `-` when the command did not report an exit code. */
export function hostRow(
  result: Pick<HostResult, 'id' | 'status' | 'exitCode' | 'durationMs' | 'reason' | 'step'>,
): (string | number | null)[] {
  return [
    result.id,
    result.status,
    result.exitCode,
    result.durationMs,
    result.reason === '' ? '-' : result.reason,
    result.step ?? null,
  ];
}

/** A steps.tsv row: `step` is `play.step` so one column sorts and greps across plays. */
export function stepRow(r: StepResult): (string | number | null)[] {
  return [
    r.host,
    `${r.play}.${r.step}`,
    r.name,
    r.status,
    r.exitCode,
    r.durationMs,
    r.reason === '' ? '-' : r.reason,
    r.play,
  ];
}

/** Parse herd TSV text back into records keyed by header names. */
export function parseTsv(text: string): Record<string, string>[] {
  const lines = text.split('\n').filter((l) => l !== '');
  const header = (lines.shift() ?? '').split('\t');
  return lines.map((line) => {
    const fields = line.split('\t');
    return Object.fromEntries(header.map((h, i) => [h, fields[i] ?? '']));
  });
}
