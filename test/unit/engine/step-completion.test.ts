import { describe, expect, it } from 'vitest';
import { StepCompletion } from '../../../src/engine/step-completion.js';
import type { StepResult } from '../../../src/results/status.js';

const r = (host: string, step: number, status: StepResult['status'] = 'ok'): StepResult => ({
  host,
  play: 1,
  step,
  name: `s${step}`,
  status,
  exitCode: 0,
  durationMs: 1,
  reason: '',
});

function track(jobs: { id: string; from: number; to: number }[], held: number | null = null) {
  const done: string[] = [];
  const c = new StepCompletion(jobs, held, (step, results) =>
    done.push(`${step}:${results.map((x) => x.host).join(',')}`),
  );
  return { c, done };
}

describe('a step complete across a batch', () => {
  it('completes a step once every host that reached it reported it; a host that stopped earlier does not hold it', () => {
    const { c, done } = track([
      { id: 'a', from: 1, to: 3 },
      { id: 'b', from: 1, to: 3 },
    ]);
    c.onStep(r('a', 1));
    c.onStep(r('a', 2));
    expect(done).toEqual([]);
    c.onStep(r('b', 1, 'failed'));
    expect(done).toEqual(['1:a,b']);
    c.onHostEnded('b');
    expect(done).toEqual(['1:a,b', '2:a']);
    c.onStep(r('a', 3));
    expect(done).toEqual(['1:a,b', '2:a', '3:a']);
    c.onHostEnded('a');
    c.finish();
    expect(done).toEqual(['1:a,b', '2:a', '3:a']);
  });

  it('a resumed host is waited for only from its first step; a held gate step completes at finish', () => {
    const { c, done } = track(
      [
        { id: 'a', from: 1, to: 2 },
        { id: 'b', from: 2, to: 2 },
      ],
      2,
    );
    c.onStep(r('a', 1));
    expect(done).toEqual(['1:a']);
    c.onHostEnded('a');
    c.onHostEnded('b');
    expect(done).toEqual(['1:a']);
    c.onStep(r('a', 2));
    c.onStep(r('b', 2, 'diverged'));
    c.finish();
    expect(done).toEqual(['1:a', '2:a,b']);
  });
});
