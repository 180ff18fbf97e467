// The terminal view fed by the engine's StopControl: the stop notes are rendered from its events,
// and the control drains, then aborts, the pass it is attached to.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StopControl } from '../../../src/engine/stop-control.js';
import type { RunEvent } from '../../../src/engine/events.js';
import { createRunView } from '../../../src/cli/render-run.js';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

function setup(graceS: number, deadlineS?: number) {
  const stderr = new Capture();
  const view = createRunView({ stderr, progress: false });
  const events: RunEvent[] = [];
  const control = new StopControl(graceS, deadlineS, (e) => {
    events.push(e);
    view.listener(e);
  });
  const calls: string[] = [];
  control.attach({
    drain: (reason) => calls.push(`drain: ${reason}`),
    abort: (reason, cause) => calls.push(`abort ${cause ?? 'interrupt'}: ${reason}`),
  });
  return { stderr, view, events, control, calls };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('StopControl through the run view', () => {
  it('Ctrl-C twice: the grace note, then the stop-now note; drain first, abort on the second', () => {
    const { stderr, events, control, calls } = setup(7);
    control.interrupt('SIGINT');
    expect(control.stopped).toBe(true);
    control.interrupt('SIGINT');
    control.close();
    expect(events).toEqual([
      { kind: 'stop_requested', cause: 'SIGINT', again: false, graceS: 7 },
      { kind: 'stop_requested', cause: 'SIGINT', again: true, graceS: 7 },
    ]);
    expect(stderr.text).toBe(
      'herd: SIGINT: starting no new hosts; running commands get 7s to finish (Ctrl-C again to stop them now)\n' +
        'herd: SIGINT again: stopping running commands now\n',
    );
    const reason = 'run interrupted by SIGINT before this host started';
    expect(calls).toEqual([`drain: ${reason}`, `abort interrupt: ${reason}`]);
  });

  it('SIGTERM once: running commands are aborted when the grace runs out', () => {
    vi.useFakeTimers();
    const { stderr, control, calls } = setup(3);
    control.interrupt('SIGTERM');
    expect(calls).toHaveLength(1);
    vi.advanceTimersByTime(2_999);
    expect(calls).toHaveLength(1);
    vi.advanceTimersByTime(1);
    const reason = 'run interrupted by SIGTERM before this host started';
    expect(calls).toEqual([`drain: ${reason}`, `abort interrupt: ${reason}`]);
    expect(stderr.text).toContain('herd: SIGTERM: starting no new hosts; running commands get 3s to finish');
    control.close();
  });

  it('--deadline: one note, an abort as deadline, and the reason names the deadline; a later signal is a second stop', () => {
    const { stderr, control, calls } = setup(5, 12);
    control.deadline();
    control.deadline();
    expect(stderr.text).toBe('herd: --deadline 12s reached: starting no new hosts and stopping running commands\n');
    expect(calls).toEqual(["abort deadline: the run's --deadline 12s was reached before this host started"]);
    expect(control.interrupted).toBe(false);
    expect(control.stopCause()).toBe("the run's --deadline 12s was reached");
    control.close();
  });

  it('a stop between passes acts on no pool, and close() leaves no grace timer to fire', () => {
    vi.useFakeTimers();
    const { control, calls } = setup(1);
    control.attach(undefined);
    control.interrupt('SIGINT');
    control.close();
    vi.advanceTimersByTime(5_000);
    expect(calls).toEqual([]);
    expect(control.interruptReason()).toBe('run interrupted by SIGINT before this host started');
  });
});
