// --json: one event per line, `kind` first, whatever bytes a host sends.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatEvent, NdjsonSink, type JsonEvent } from '../../../src/report/ndjson.js';

const NOW = new Date('2026-11-27T12:00:00.000Z');
const T = NOW.toISOString();

function sinkOutput(): { sink: NdjsonSink; lines: () => Record<string, unknown>[] } {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  return {
    sink: new NdjsonSink(out),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('formatEvent', () => {
  it('writes each kind as one line, kind then t first, with the field names scripts read', () => {
    const events: [JsonEvent, Record<string, unknown>][] = [
      [
        { kind: 'run_start', run: 'R', dir: '/d', command: 'run', hosts: 2 },
        { run: 'R', dir: '/d', command: 'run', hosts: 2 },
      ],
      [{ kind: 'host_start', host: 'h' }, { host: 'h' }],
      [
        { kind: 'output', host: 'h', stream: 'stderr', text: 'x' },
        { host: 'h', stream: 'stderr', text: 'x' },
      ],
      [
        { kind: 'output', host: 'h', stream: 'stdout', text: 'x', step: '1.2' },
        { host: 'h', stream: 'stdout', text: 'x', step: '1.2' },
      ],
      [
        {
          kind: 'host_done',
          result: {
            id: 'h',
            status: 'unreachable',
            exitCode: null,
            durationMs: 5,
            reason: 'refused',
            code: 'E_REFUSED',
          },
        },
        { host: 'h', status: 'unreachable', exit: null, duration_ms: 5, reason: 'refused', code: 'E_REFUSED' },
      ],
      [
        {
          kind: 'host_done',
          result: { id: 'h', status: 'failed', exitCode: 1, durationMs: 5, reason: 'exit code 1', step: '2.1' },
        },
        { host: 'h', status: 'failed', exit: 1, duration_ms: 5, reason: 'exit code 1', step: '2.1' },
      ],
      [
        { kind: 'run_done', run: 'R', dir: '/d', state: 'done', counts: { ok: 1, failed: 1 } },
        { run: 'R', dir: '/d', state: 'done', counts: { ok: 1, failed: 1 } },
      ],
    ];
    for (const [event, body] of events) {
      const line = formatEvent(event, NOW);
      expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true);
      expect(line.startsWith(`{"kind":"${event.kind}","t":"${T}",`)).toBe(true);
      expect(JSON.parse(line)).toEqual({ kind: event.kind, t: T, ...body });
    }
  });

  it('a step_done names the step play.step and never carries the kept consensus output', () => {
    const line = formatEvent(
      {
        kind: 'step_done',
        step: {
          host: 'h',
          play: 2,
          step: 3,
          name: 'fmt',
          status: 'diverged',
          exitCode: 0,
          durationMs: 9,
          reason: 'differs',
          stdout: 'SECRET',
        },
      },
      NOW,
    );
    expect(JSON.parse(line)).toEqual({
      kind: 'step_done',
      t: T,
      host: 'h',
      step: '2.3',
      name: 'fmt',
      status: 'diverged',
      exit: 0,
      duration_ms: 9,
      reason: 'differs',
    });
    expect(line).not.toContain('SECRET');
  });

  it('keeps hostile text exact but leaves no character a terminal acts on in the line', () => {
    const text = 'a\nb\r\x1b[2J\x07\x9b31m\u202eevil\u2028\u2029{"kind":"host_done"}';
    const line = formatEvent({ kind: 'output', host: 'h', stream: 'stdout', text }, NOW);
    expect(line.slice(0, -1)).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202e]/);
    expect((JSON.parse(line) as { text: string }).text).toBe(text);
  });
});

describe('NdjsonSink', () => {
  it('never splits a UTF-8 character across events, per host and stream', () => {
    const { sink, lines } = sinkOutput();
    const snow = Buffer.from('☃', 'utf8'); // 3 bytes
    sink.output('a', 'stdout', Buffer.concat([Buffer.from('x'), snow.subarray(0, 1)]));
    sink.output('b', 'stdout', snow.subarray(0, 2)); // another host's half character does not mix in
    sink.output('a', 'stderr', Buffer.from('e'));
    sink.output('a', 'stdout', snow.subarray(1));
    sink.output('b', 'stdout', Buffer.concat([snow.subarray(2), Buffer.from('\n')]));
    expect(lines().map((l) => [l['host'], l['stream'], l['text']])).toEqual([
      ['a', 'stdout', 'x'],
      ['a', 'stderr', 'e'],
      ['a', 'stdout', '☃'],
      ['b', 'stdout', '☃\n'],
    ]);
  });

  it('keeps a playbook step apart from the host stream and names it', () => {
    const { sink, lines } = sinkOutput();
    const euro = Buffer.from('€', 'utf8');
    sink.output('a', 'stdout', euro.subarray(0, 2), '1.1');
    sink.output('a', 'stdout', Buffer.from('plain'));
    sink.output('a', 'stdout', euro.subarray(2), '1.1');
    expect(lines()).toEqual([
      { kind: 'output', t: expect.any(String), host: 'a', stream: 'stdout', text: 'plain' },
      { kind: 'output', t: expect.any(String), host: 'a', stream: 'stdout', text: '€', step: '1.1' },
    ]);
  });

  it('turns bytes that are not UTF-8 into U+FFFD, one line per event', () => {
    const { sink, lines } = sinkOutput();
    sink.output('a', 'stdout', Buffer.from([0xff, 0xfe, 0x41, 0x0a, 0xc3, 0x28]));
    expect(lines()).toHaveLength(1);
    expect(lines()[0]!['text']).toBe('\ufffd\ufffdA\n\ufffd(');
  });
});
