// --json: newline-delimited JSON events on stdout, one object per line, `kind` first.
// Formatters are a mapped type over the event union, so a new kind without a case is a compile error.
import { StringDecoder } from 'node:string_decoder';
import type { Writable } from 'node:stream';
import type { HostResult, HostStatus, StepResult } from '../results/status.js';
import { jsonForTerminal } from './terminal-safe.js';

/** The --json event lines (a stable format of their own, not the engine's RunEvent). */
export type JsonEvent =
  | { kind: 'run_start'; run: string; dir: string; command: string; hosts: number }
  | { kind: 'host_start'; host: string }
  | { kind: 'output'; host: string; stream: 'stdout' | 'stderr'; text: string; step?: string }
  | { kind: 'step_done'; step: StepResult }
  | { kind: 'host_done'; result: HostResult }
  | { kind: 'run_done'; run: string; dir: string; state: string; counts: Partial<Record<HostStatus, number>> };

type Formatters = { [K in JsonEvent['kind']]: (e: Extract<JsonEvent, { kind: K }>) => Record<string, unknown> };

const FORMAT: Formatters = {
  run_start: (e) => ({ run: e.run, dir: e.dir, command: e.command, hosts: e.hosts }),
  host_start: (e) => ({ host: e.host }),
  output: (e) => ({ host: e.host, stream: e.stream, text: e.text, ...(e.step ? { step: e.step } : {}) }),
  step_done: (e) => {
    const { stdout: _kept, ...s } = e.step;
    return {
      host: s.host,
      step: `${s.play}.${s.step}`,
      name: s.name,
      status: s.status,
      exit: s.exitCode,
      duration_ms: s.durationMs,
      reason: s.reason,
      ...(s.code ? { code: s.code } : {}),
    };
  },
  host_done: (e) => ({
    host: e.result.id,
    status: e.result.status,
    exit: e.result.exitCode,
    duration_ms: e.result.durationMs,
    reason: e.result.reason,
    ...(e.result.code ? { code: e.result.code } : {}),
    ...(e.result.step ? { step: e.result.step } : {}),
  }),
  run_done: (e) => ({ run: e.run, dir: e.dir, state: e.state, counts: e.counts }),
};

/** Pure: one event as one JSON line. */
export function formatEvent(event: JsonEvent, now: Date = new Date()): string {
  const body = (FORMAT[event.kind] as (e: JsonEvent) => Record<string, unknown>)(event);
  return jsonForTerminal({ kind: event.kind, t: now.toISOString(), ...body }) + '\n';
}

/** Writes events to a stream; output chunks are decoded per host and stream so UTF-8 never splits. */
export class NdjsonSink {
  private readonly decoders = new Map<string, StringDecoder>();
  constructor(private readonly out: Writable) {}

  emit(event: JsonEvent): void {
    this.out.write(formatEvent(event));
  }

  output(host: string, stream: 'stdout' | 'stderr', data: Buffer, step?: string): void {
    const key = `${host}\t${stream}\t${step ?? ''}`;
    let d = this.decoders.get(key);
    if (!d) this.decoders.set(key, (d = new StringDecoder('utf8')));
    const text = d.write(data);
    if (text !== '')
      this.emit(
        step === undefined ? { kind: 'output', host, stream, text } : { kind: 'output', host, stream, text, step },
      );
  }
}
