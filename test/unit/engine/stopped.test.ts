// One wording for every way a command is stopped: status, code and reason by cause.
import { describe, expect, it } from 'vitest';
import { abortedOutcome, describeKill, stoppedOutcome } from '../../../src/engine/stopped.js';
import type { ExecOutcome } from '../../../src/transport/exec.js';

const base: ExecOutcome = {
  exitCode: null,
  signal: null,
  timedOut: false,
  idle: false,
  aborted: false,
  connectionLost: false,
};
const abortedBy = (reason?: string): AbortSignal => {
  const c = new AbortController();
  c.abort(reason);
  return c.signal;
};
const live = new AbortController().signal;

describe('describeKill', () => {
  it('says verified gone only when the kill saw no process left', () => {
    expect(describeKill(null)).toBe('remote kill could not be confirmed');
    expect(describeKill(undefined, 0)).toBe('remote kill could not be confirmed');
    expect(describeKill(3)).toBe('remote processes killed: 3');
    expect(describeKill(3, 0)).toBe('remote processes killed: 3 (verified gone)');
    expect(describeKill(3, 2)).toBe('remote processes killed: 3; 2 still running after the kill');
  });
});

describe('stoppedOutcome', () => {
  it('is null when the command exited by itself, whatever its exit code', () => {
    expect(stoppedOutcome({ ...base, exitCode: 1 }, 'command', '--timeout 3s', 0, live)).toBeNull();
  });

  it('names the limit that stopped it and what the kill found', () => {
    expect(
      stoppedOutcome({ ...base, timedOut: true, killed: 2, killSurvivors: 0 }, 'command', '--timeout 3s', 0, live),
    ).toEqual({
      status: 'timeout',
      exitCode: null,
      code: 'E_COMMAND_TIMEOUT',
      reason: 'command exceeded --timeout 3s; remote processes killed: 2 (verified gone)',
    });
    expect(stoppedOutcome({ ...base, idle: true, killed: null }, 'guard', 'its timeout', 1500, live)).toEqual({
      status: 'timeout',
      exitCode: null,
      code: 'E_IDLE_TIMEOUT',
      reason: 'guard printed nothing for 1.5s (--idle-timeout); remote kill could not be confirmed',
    });
    expect(stoppedOutcome({ ...base, connectionLost: true }, 'command', '', 0, live)).toEqual({
      status: 'interrupted',
      exitCode: null,
      code: 'E_CONNECTION_LOST',
      reason: 'connection lost while the command was running (it may have run)',
    });
  });

  it('an abort wins over the other causes, and says whether it was the --deadline or an interrupt', () => {
    const all = { ...base, aborted: true, timedOut: true, idle: true, connectionLost: true, killed: 1 };
    expect(stoppedOutcome(all, 'command', '--timeout 3s', 0, abortedBy('deadline'))).toEqual({
      status: 'timeout',
      exitCode: null,
      code: 'E_DEADLINE',
      reason: "command stopped: the run's --deadline was reached; remote processes killed: 1",
    });
    expect(stoppedOutcome(all, 'command', '--timeout 3s', 0, abortedBy('interrupt'))).toMatchObject({
      status: 'interrupted',
      code: 'E_INTERRUPTED',
    });
    expect(abortedOutcome(abortedBy(), 'push', '')).toEqual({
      status: 'interrupted',
      exitCode: null,
      code: 'E_INTERRUPTED',
      reason: 'push interrupted while running',
    });
  });
});
