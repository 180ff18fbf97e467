import { describe, expect, it } from 'vitest';
import { formatCounts, formatFailures, formatJumpHosts, formatRecordedHostKeys } from '../../../src/report/summary.js';
import { formatProgress } from '../../../src/report/progress.js';
import type { HostResult } from '../../../src/results/status.js';

const r = (id: string, status: HostResult['status'], reason = ''): HostResult => ({
  id,
  status,
  exitCode: null,
  durationMs: 1,
  reason,
});

describe('end-of-run summary', () => {
  it('counts statuses in a fixed order', () => {
    expect(formatCounts(5, { unreachable: 1, ok: 3, failed: 1 })).toBe('5 hosts: 3 ok, 1 failed, 1 unreachable');
    expect(formatCounts(1, { ok: 1 })).toBe('1 host: 1 ok');
  });

  it('groups failures by status and reason, largest first, with hosts folded into ranges', () => {
    const lines = formatFailures([
      r('10.0.0.1', 'ok'),
      r('10.0.0.2', 'failed', 'exit code 1'),
      r('10.0.0.3', 'unreachable', 'connection refused'),
      r('10.0.0.4', 'unreachable', 'connection refused'),
      r('10.0.0.5', 'unreachable', 'connection refused'),
    ]);
    expect(lines).toEqual([
      '  3 unreachable: connection refused\n      10.0.0.[3-5]',
      '  1 failed: exit code 1\n      10.0.0.2',
    ]);
    expect(formatFailures([r('a1', 'failed', 'x'), r('b1', 'failed', 'x')], 3)).toEqual([
      '  2 failed: x\n      a1,... (see failed.txt)',
    ]);
  });

  it('keeps a reason on its line when it quotes a host name with line breaks, so it cannot forge entries', () => {
    // A remote file name inside an SFTP failure reason is the host's choice.
    const lines = formatFailures([
      r('10.0.0.2', 'failed', 'open /d/x\n  9 ok: all fine\r\n      10.0.0.9: Permission denied'),
    ]);
    expect(lines).toEqual([
      '  1 failed: open /d/x\\n  9 ok: all fine\\r\\n      10.0.0.9: Permission denied\n      10.0.0.2',
    ]);
  });
});

describe('progress line', () => {
  it('shows done, ok, not ok, running, rate and eta', () => {
    expect(formatProgress({ total: 100, done: 50, ok: 45, notOk: 5, running: 10, connecting: 0 }, 10_000)).toBe(
      '50/100 done  45 ok  5 not ok  10 running  0 connecting  5.0 hosts/s  eta 10s',
    );
  });

  it('counts hosts still connecting, and the eta never undercuts a connect timeout being waited out', () => {
    const c = { total: 53, done: 52, ok: 52, notOk: 0, running: 0, connecting: 1 };
    expect(formatProgress({ ...c, connectWaitMs: 8_200 }, 10_000)).toBe(
      '52/53 done  52 ok  0 not ok  0 running  1 connecting  5.2 hosts/s  eta 9s',
    );
    expect(formatProgress({ ...c, connectWaitMs: 100 }, 10_000)).toMatch(/eta 1s$/);
    // Past its timeout (retrying): no estimate rather than a wrong one.
    expect(formatProgress({ ...c, connectWaitMs: null }, 10_000)).toMatch(/eta \?$/);
  });
});

describe('live status area', () => {
  it('shows counts per state, rate, eta and the slowest running hosts, cut to the terminal width', async () => {
    const { formatStatus } = await import('../../../src/report/progress.js');
    const lines = formatStatus(
      {
        total: 100,
        states: { queued: 40, connecting: 5, running: 15, ok: 35, unreachable: 5 },
        slowest: [
          { id: '10.0.0.7', ms: 12_400 },
          { id: '10.0.0.9', ms: 9_000 },
        ],
      },
      10_000,
      200,
    );
    expect(lines).toEqual([
      'herd 40/100  queued 40  connecting 5  running 15  ok 35  unreachable 5',
      '     4.0 hosts/s  elapsed 10s  eta 15s',
      '     slowest: 10.0.0.7 12s  10.0.0.9 9s',
    ]);
    expect(formatStatus({ total: 1, states: { running: 1 }, slowest: [] }, 0, 10)[0]).toBe('herd 0/1  ');
  });
});

describe('live status for transfers', () => {
  it('adds files, bytes and rate', async () => {
    const { formatStatus } = await import('../../../src/report/progress.js');
    const lines = formatStatus(
      {
        total: 2,
        states: { running: 2 },
        slowest: [],
        transfer: { files: 300, bytes: 20 * 1024 * 1024, plannedFiles: 500, plannedBytes: 40 * 1024 * 1024 },
      },
      4_000,
      200,
    );
    expect(lines[2]).toBe('     files 300/500  20.0/40.0 MB  5.0 MB/s');
  });
});

describe('failures with stderr excerpts', () => {
  const ex = (key: string, more: number, cut = false, file = 'stderr/x') => ({
    excerpt: { key, lines: [key], more, cut },
    file,
  });
  const f = (id: string) => ({ ...r(id, 'failed', 'exit code 1'), exitCode: 1 });

  it('splits one reason by excerpt, shows each excerpt once, and says how much is left out', () => {
    const lines = formatFailures(
      [f('h1'), f('h2'), f('h3'), f('h4'), f('h5')],
      200,
      new Map([
        ['h1', ex('E1', 0)],
        ['h2', ex('E1', 0)],
        ['h3', ex('E2', 3, false, 'stderr/h3')],
        ['h4', ex('E3', 2, false, 'stderr/h4')],
        ['h5', ex('E3', 5, true, 'stderr/h5')],
      ]),
    );
    expect(lines).toEqual([
      '  2 failed: exit code 1\n      h[1-2]\n      | E1',
      '  2 failed: exit code 1\n      h[4-5]\n      | E3\n      … at least 2 more lines (stderr/h4)',
      '  1 failed: exit code 1\n      h3\n      | E2\n      … 3 more lines (stderr/h3)',
    ]);
    expect(
      formatFailures(
        [f('h1'), f('h2')],
        200,
        new Map([
          ['h1', ex('E', 0)],
          ['h2', ex('E', 0, true, 'stderr/h2')],
        ]),
      ),
    ).toEqual(['  2 failed: exit code 1\n      h[1-2]\n      | E\n      … more (stderr/h2)']);
    expect(formatFailures([f('h1')], 200, new Map([['h1', ex('E', 1)]]))).toEqual([
      '  1 failed: exit code 1\n      h1\n      | E\n      … 1 more line (stderr/x)',
    ]);
  });
});

describe('jump hosts and recorded host keys', () => {
  it('one line per jump host, saying when its sshd throttled herd', () => {
    expect(
      formatJumpHosts([
        { host: 'ops@bastion:22', connections: 38, throttled: 3 },
        { host: 'b2', connections: 1, throttled: 0 },
      ]),
    ).toEqual([
      'jump host ops@bastion:22: 38 connections (3 dropped before authentication by its sshd: throttled, retried with backoff)',
      'jump host b2: 1 connection',
    ]);
  });

  it('one line per known_hosts file written', () => {
    expect(
      formatRecordedHostKeys([
        { file: '/root/.ssh/known_hosts', count: 12 },
        { file: 'kh', count: 1 },
      ]),
    ).toEqual(['recorded 12 new host keys in /root/.ssh/known_hosts', 'recorded 1 new host key in kh']);
  });

  it('counts say nothing ran when no host has a status', () => {
    expect(formatCounts(0, {})).toBe('0 hosts: nothing ran');
    expect(formatCounts(1, { ok: 1 })).toBe('1 host: 1 ok');
  });
});
