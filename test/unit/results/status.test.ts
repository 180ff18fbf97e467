// One factory per HostResult shape: what each status always carries, and what it never may.
import { describe, expect, it } from 'vitest';
import {
  divergedOutcome,
  endedOutcome,
  errorOutcome,
  failedOutcome,
  hostResult,
  interruptedOutcome,
  notStarted,
  notStartedOutcome,
  okOutcome,
  timeoutOutcome,
  unverifiedOutcome,
  type HostResult,
} from '../../../src/results/status.js';

describe('okOutcome', () => {
  it('is ok with an exit code, an empty reason or a summary, and never a code', () => {
    expect(okOutcome(0)).toEqual({ status: 'ok', exitCode: 0, reason: '' });
    expect(okOutcome(null, 'sent 2 files (12 KB), 0 unchanged')).toEqual({
      status: 'ok',
      exitCode: null,
      reason: 'sent 2 files (12 KB), 0 unchanged',
    });
    expect('code' in okOutcome(0)).toBe(false);
  });

  it('cannot be given a code (a type error)', () => {
    // @ts-expect-error ok never carries a code
    const lying: ReturnType<typeof okOutcome> = { status: 'ok', exitCode: 0, reason: '', code: 'E_EXIT' };
    expect(lying.status).toBe('ok');
  });
});

describe('the not-ok shapes', () => {
  it('each carry their status, code and reason; exit code null unless the command finished', () => {
    expect(failedOutcome('E_EXIT', 'exit code 3', { exitCode: 3, signal: null })).toEqual({
      status: 'failed',
      exitCode: 3,
      signal: null,
      reason: 'exit code 3',
      code: 'E_EXIT',
    });
    expect(errorOutcome('E_INTERNAL', 'boom')).toEqual({
      status: 'error',
      exitCode: null,
      reason: 'boom',
      code: 'E_INTERNAL',
    });
    expect(interruptedOutcome('E_WORKER_DIED', 'worker process died')).toEqual({
      status: 'interrupted',
      exitCode: null,
      reason: 'worker process died',
      code: 'E_WORKER_DIED',
    });
    expect(timeoutOutcome('E_COMMAND_TIMEOUT', 'command exceeded --timeout 3s', { step: '1.2' })).toEqual({
      status: 'timeout',
      exitCode: null,
      reason: 'command exceeded --timeout 3s',
      step: '1.2',
      code: 'E_COMMAND_TIMEOUT',
    });
  });

  it('diverged is always E_DIVERGED and unverified always E_UNVERIFIED', () => {
    expect(divergedOutcome('output differs from the majority', { exitCode: 0, step: '1.1' })).toEqual({
      status: 'diverged',
      exitCode: 0,
      reason: 'output differs from the majority',
      step: '1.1',
      code: 'E_DIVERGED',
    });
    expect(unverifiedOutcome('step 1.2 (x): exit code 1', { exitCode: 1, step: '1.2' })).toEqual({
      status: 'unverified',
      exitCode: 1,
      reason: 'step 1.2 (x): exit code 1',
      step: '1.2',
      code: 'E_UNVERIFIED',
    });
  });

  it('with a status known only at run time, keep it with its code', () => {
    expect(endedOutcome('hostkey_mismatch', 'E_HOSTKEY_MISMATCH', 'host key changed')).toEqual({
      status: 'hostkey_mismatch',
      exitCode: null,
      reason: 'host key changed',
      code: 'E_HOSTKEY_MISMATCH',
    });
  });

  it('cannot be made without a code and a reason, nor as ok or not_started (type errors)', () => {
    // @ts-expect-error a failure always has a code and a reason
    expect(() => failedOutcome('exit code 1')).not.toThrow();
    // @ts-expect-error ok is okOutcome's alone
    expect(endedOutcome('ok', 'E_EXIT', 'x').status).toBe('ok');
    // @ts-expect-error not_started is notStarted's alone
    expect(endedOutcome('not_started', 'E_EXIT', 'x').status).toBe('not_started');
  });
});

describe('notStarted and hostResult', () => {
  it('stamp an outcome with the host id and its duration', () => {
    const r: HostResult = hostResult('10.0.0.1', 42, failedOutcome('E_EXIT', 'exit code 1', { exitCode: 1 }));
    expect(r).toEqual({
      id: '10.0.0.1',
      durationMs: 42,
      status: 'failed',
      exitCode: 1,
      reason: 'exit code 1',
      code: 'E_EXIT',
    });
  });

  it('not_started is always E_NOT_STARTED with no exit code, 0 ms unless given', () => {
    expect(notStartedOutcome('run was interrupted')).toEqual({
      status: 'not_started',
      exitCode: null,
      reason: 'run was interrupted',
      code: 'E_NOT_STARTED',
    });
    expect(notStarted('h1', 'run was interrupted')).toEqual({
      id: 'h1',
      durationMs: 0,
      status: 'not_started',
      exitCode: null,
      reason: 'run was interrupted',
      code: 'E_NOT_STARTED',
    });
    expect(notStarted('h1', 'gave up', 1500).durationMs).toBe(1500);
  });
});
