import { describe, expect, it } from 'vitest';
import { HOSTS_TSV_HEADER, formatTsv, hostRow, parseTsv, tsvField } from '../../../src/results/tsv.js';

describe('TSV fields', () => {
  it.each([
    ['a\tb', 'a b'],
    ['line1\nline2', 'line1 line2'],
    [null, '-'],
    [0, '0'],
  ])('makes %j one field: %j', (value, expected) => {
    expect(tsvField(value as string | number | null)).toBe(expected);
  });
});

describe('hosts.tsv rows', () => {
  it('writes one row per host that parses back, with - for missing values', () => {
    const text = formatTsv(HOSTS_TSV_HEADER, [
      hostRow({ id: '10.0.0.1', status: 'ok', exitCode: 0, durationMs: 12, reason: '' }),
      hostRow({ id: 'ops@10.0.0.2:2222', status: 'unreachable', exitCode: null, durationMs: 3, reason: 'connection\trefused' }),
    ]);
    expect(text).toBe('host\tstatus\texit\tduration_ms\treason\tstep\n10.0.0.1\tok\t0\t12\t-\t-\nops@10.0.0.2:2222\tunreachable\t-\t3\tconnection refused\t-\n');
    expect(parseTsv(text)).toEqual([
      { host: '10.0.0.1', status: 'ok', exit: '0', duration_ms: '12', reason: '-', step: '-' },
      { host: 'ops@10.0.0.2:2222', status: 'unreachable', exit: '-', duration_ms: '3', reason: 'connection refused', step: '-' },
    ]);
  });
});
