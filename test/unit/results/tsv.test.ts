import { describe, expect, it } from 'vitest';
import {
  HOSTS_TSV_HEADER,
  STEPS_TSV_HEADER,
  TRANSFERS_TSV_HEADER,
  formatTsv,
  hostRow,
  parseTsv,
  stepRow,
  tsvField,
} from '../../../src/results/tsv.js';

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
      hostRow({
        id: 'ops@10.0.0.2:2222',
        status: 'unreachable',
        exitCode: null,
        durationMs: 3,
        reason: 'connection\trefused',
      }),
    ]);
    expect(text).toBe(
      'host\tstatus\texit\tduration_ms\treason\tstep\n10.0.0.1\tok\t0\t12\t-\t-\nops@10.0.0.2:2222\tunreachable\t-\t3\tconnection refused\t-\n',
    );
    expect(parseTsv(text)).toEqual([
      { host: '10.0.0.1', status: 'ok', exit: '0', duration_ms: '12', reason: '-', step: '-' },
      {
        host: 'ops@10.0.0.2:2222',
        status: 'unreachable',
        exit: '-',
        duration_ms: '3',
        reason: 'connection refused',
        step: '-',
      },
    ]);
  });
});

describe('steps.tsv and transfers.tsv rows', () => {
  it('a step row names the step play.step, so one column sorts and greps across plays', () => {
    const row = stepRow({
      host: 'h',
      play: 2,
      step: 10,
      name: 'mkfs\t/dev/sdb\n',
      status: 'failed',
      exitCode: 1,
      durationMs: 4,
      reason: '',
    });
    expect(formatTsv(STEPS_TSV_HEADER, [row])).toBe(
      'host\tstep\tname\tstatus\texit\tduration_ms\treason\tplay\nh\t2.10\tmkfs /dev/sdb \tfailed\t1\t4\t-\t2\n',
    );
  });

  it('a file name a host chose stays one field of one row, whatever it holds', () => {
    const hostile = 'a\tb\nc\r\nd\t\te';
    const text = formatTsv(TRANSFERS_TSV_HEADER, [
      ['h1', hostile, 3, 'received'],
      ['h2', 'ok', 1, 'received'],
    ]);
    expect(text.split('\n')).toHaveLength(4);
    expect(parseTsv(text)).toEqual([
      { host: 'h1', path: 'a b c d e', bytes: '3', status: 'received' },
      { host: 'h2', path: 'ok', bytes: '1', status: 'received' },
    ]);
  });

  it('parseTsv reads a header-only file as no rows, and a short row with empty fields', () => {
    expect(parseTsv('host\tstatus\n')).toEqual([]);
    expect(parseTsv('')).toEqual([]);
    expect(parseTsv('host\tstatus\nweb1\n')).toEqual([{ host: 'web1', status: '' }]);
  });
});
