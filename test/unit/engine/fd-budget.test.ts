// --forks fitted under ulimit -n: the limit read as the kernel reports it, and the number the warning
// tells the user to set is exactly the one that keeps their --forks.
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FDS_RESERVED } from '../../../src/defaults.js';
import { fitForks, limitFor, openFileLimit } from '../../../src/engine/fd-budget.js';

describe('openFileLimit', () => {
  it('reads this process soft limit as the shell ulimit -Sn reports it', () => {
    const shell = execFileSync('sh', ['-c', 'ulimit -Sn'], { encoding: 'utf8' }).trim();
    expect(openFileLimit()).toBe(shell === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(shell));
  });
});

describe('fitForks and limitFor', () => {
  it('the ulimit -n the warning names keeps every session, and one less would not', () => {
    const arb = fc.tuple(
      fc.integer({ min: 1, max: 100_000 }),
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 1, max: 8 }),
    );
    fc.assert(
      fc.property(arb, ([sessions, workers, fds]) => {
        const limit = limitFor(sessions, workers, fds);
        expect(fitForks(sessions, workers, fds, limit)).toBe(sessions);
        // (one session is the floor: herd never fits --forks to zero)
        if (sessions > 1) expect(fitForks(sessions, workers, fds, limit - 1)).toBeLessThan(sessions);
      }),
    );
  });

  it('never goes below one session, even under a limit smaller than the reserve', () => {
    expect(fitForks(100, 4, 2, FDS_RESERVED - 10)).toBe(1);
    expect(fitForks(100, 4, 2, 0)).toBe(1);
  });
});
