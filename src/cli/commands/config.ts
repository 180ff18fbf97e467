// herd config: the effective settings and where each comes from, one per line (TSV), or --json.
import type { Command } from 'commander';
import { DEFAULT_OUT_DIR } from '../../defaults.js';
import { writeText } from '../../report/terminal-safe.js';
import {
  CONFIGURABLE,
  configKey,
  envName,
  originText,
  type ConfigurableKey,
  type Origin,
  type Value,
} from '../config-file.js';
import type { Effective } from '../config-load.js';
import { OPTIONS, type OptionRow } from '../option-table.js';

/**
 * What herd does when nothing sets an option, as a value where it has one ('' where the default is behaviour, see
 * --help).
 */
function builtIn(key: ConfigurableKey): Value {
  const r: OptionRow = OPTIONS[key];
  if (r.number) return String(typeof r.number.default === 'function' ? r.number.default() : r.number.default);
  if (r.value === 'flag') return false;
  if (r.value === 'negated') return true;
  if (r.value === 'strings') return [];
  if (key === 'out') return DEFAULT_OUT_DIR;
  if (key === 'hostKeyChecking') return 'accept-new';
  return '';
}

interface Row {
  key: ConfigurableKey;
  value: Value;
  origin: Origin;
}

/**
 * Each setting as this command resolved it: its command line, then the files and HERD_* (applied before the action).
 */
export function effectiveRows(cmd: Command, effective: Effective): Row[] {
  const opts = cmd.opts<Record<string, Value | undefined>>();
  return CONFIGURABLE.map((key) => {
    if (cmd.getOptionValueSource(key) === 'cli') return { key, value: opts[key]!, origin: { kind: 'command-line' } };
    const s = effective.settings.get(key);
    return s ? { key, value: s.value, origin: s.origin } : { key, value: builtIn(key), origin: { kind: 'built-in' } };
  });
}

/** One TSV field: a value holding a tab, a newline or a comma-joined list's comma is quoted as JSON. */
const field = (s: string): string => (/[\t\n\r,"]/.test(s) ? JSON.stringify(s) : s);
const shown = (v: Value): string => (Array.isArray(v) ? v.map(field).join(',') : field(String(v))) || '-';

export function configCommand(cmd: Command, effective: Effective, json: boolean): number {
  const rows = effectiveRows(cmd, effective);
  if (json) {
    const line = (r: Row) =>
      JSON.stringify({
        kind: 'setting',
        setting: configKey(r.key),
        variable: envName(r.key),
        value: r.value === '' ? null : r.value,
        source: originText(r.origin),
        origin: r.origin,
      });
    process.stdout.write(rows.map((r) => line(r) + '\n').join(''));
    return 0;
  }
  // Values come from files anyone in the repository may have written: controls are shown, not obeyed.
  writeText(
    process.stdout,
    [
      'setting\tvalue\tsource',
      ...rows.map((r) => `${configKey(r.key)}\t${shown(r.value)}\t${originText(r.origin)}`),
    ].join('\n') + '\n',
  );
  return 0;
}
