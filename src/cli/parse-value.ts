// The parsers of option values, shared by the option table's rows, herd.yml and HERD_* (config-file.ts).
import { UsageError } from '../errors.js';

/** Parse a number flag, naming the flag, what was expected and what was given. */
export function parseNumber(
  flag: string,
  value: string | undefined,
  fallback: number,
  opts: { min: number; integer?: boolean; max?: number },
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  const okInteger = !opts.integer || Number.isInteger(n);
  if (!Number.isFinite(n) || !okInteger || n < opts.min || (opts.max !== undefined && n > opts.max)) {
    const kind = opts.integer ? 'an integer' : 'a number';
    const range = opts.max !== undefined ? ` between ${opts.min} and ${opts.max}` : ` >= ${opts.min}`;
    throw new UsageError(`${flag}: expected ${kind}${range}, got ${JSON.stringify(value)}`);
  }
  return n;
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** Parse a byte size such as 4096, 512K, 10M or 1G (binary units); undefined means 0 (no cap). */
export function parseSize(flag: string, value: string | undefined): number {
  if (value === undefined) return 0;
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)i?B?$/i.exec(value.trim());
  if (!m) throw new UsageError(`${flag}: expected a size such as 4096, 512K, 10M or 1G, got ${JSON.stringify(value)}`);
  return Math.floor(Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!);
}

const DURATION_UNITS: Record<string, number> = { '': 1000, s: 1000, m: 60_000, h: 3_600_000 };

/** Parse a duration such as 90s, 10m, 1h or 30 (seconds) into milliseconds; at least one second. */
export function parseDuration(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smh]?)$/i.exec(value.trim());
  const ms = m ? Math.round(Number(m[1]) * DURATION_UNITS[m[2]!.toLowerCase()]!) : NaN;
  if (!(ms >= 1000)) {
    throw new UsageError(
      `${flag}: expected a duration of at least 1s such as 90s, 10m or 1h, got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}
