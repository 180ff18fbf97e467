import { describe, expect, it } from 'vitest';
import { excerptOf, hostMasks, maskHost } from '../../../src/report/excerpt.js';
import { formatFailures } from '../../../src/report/summary.js';

const head = (text: string, bytes = Buffer.byteLength(text)) => ({ text, bytes, headBytes: Buffer.byteLength(text) });

describe('host masking', () => {
  it('masks the inventory name, its address and address:port where they stand alone', () => {
    expect(hostMasks('root@10.0.0.1:2222')).toEqual(['root@10.0.0.1:2222', '10.0.0.1:2222', '10.0.0.1']);
    const m = hostMasks('10.0.0.1');
    expect(maskHost('from 10.0.0.1: refused; 10.0.0.12 and 110.0.0.1 and 10.0.0.1.5 stay; 10.0.0.1:22 ok', m)).toBe(
      'from <host>: refused; 10.0.0.12 and 110.0.0.1 and 10.0.0.1.5 stay; <host>:22 ok',
    );
    expect(maskHost('WEB1.example.com, web12, root@web1: x', hostMasks('web1'))).toBe(
      '<host>.example.com, web12, root@<host>: x',
    );
    expect(maskHost('[::1]:22 and ::1', hostMasks('[::1]:22'))).toBe('<host> and <host>');
  });

  it('masks an address after a dash, as in per-host file names, but not a name after a dash', () => {
    // playbooks/data-disks.yml names its files /tmp/herd-demo-<address>.fstab:
    // the same error on six hosts is one group.
    expect(maskHost('grep: /tmp/herd-demo-127.0.1.1.fstab: No such file', hostMasks('127.0.1.1'))).toBe(
      'grep: /tmp/herd-demo-<host>.fstab: No such file',
    );
    expect(maskHost('x-127.0.1.10 and 1127.0.1.1', hostMasks('127.0.1.1'))).toBe('x-127.0.1.10 and 1127.0.1.1');
    expect(maskHost('prod-db1 and db1', hostMasks('db1'))).toBe('prod-db1 and <host>');
  });
});

describe('stderr excerpt', () => {
  it('keys on the first lines up to whitespace and the host name, skipping blank lines', () => {
    const a = excerptOf(head('\n  E: disk\tfull on 10.0.0.1  \r\nmore\n'), hostMasks('10.0.0.1'))!;
    const b = excerptOf(head('E: disk full on 10.0.0.2\nmore\n'), hostMasks('10.0.0.2'))!;
    expect(a.key).toBe(b.key);
    expect(a.lines).toEqual(['  E: disk\tfull on <host>', 'more']);
    expect(a).toMatchObject({ more: 0, cut: false });
    expect(excerptOf(head(' \n\n'), [])).toBeNull();
  });

  it('counts the lines after the shown ones, and only a lower bound when the head was cut', () => {
    expect(excerptOf(head('1\n2\n3\n4\n5\n\n6'), [])).toMatchObject({
      lines: ['1', '2', '3', '4'],
      more: 2,
      cut: false,
    });
    // The head ends inside line 7: that part line is neither shown nor counted as whole.
    expect(excerptOf(head('1\n2\n3\n4\n5\n6\n7 is lon', 1e9), [])).toMatchObject({
      lines: ['1', '2', '3', '4'],
      more: 2,
      cut: true,
    });
    // A long line is cut at 160 characters, never inside a surrogate pair.
    expect(excerptOf(head(`${'x'.repeat(159)}\u{1F600}yz\n`), [])!.lines).toEqual([`${'x'.repeat(159)}\u{1F600}…`]);
    const one = excerptOf(head('x'.repeat(4096), 1e9), [])!;
    expect(one.lines).toEqual([`${'x'.repeat(160)}…`]);
    expect(one).toMatchObject({ more: 0, cut: true });
  });
});

describe('at fleet scale', () => {
  it('1,000 hosts printing the same error with their own address make one group', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`);
    const excerptFor = (id: string) =>
      excerptOf(head(`ssh: connect to host ${id} port 22: No route to host\n`), hostMasks(id))!;
    const excerpts = new Map(ids.map((id) => [id, { excerpt: excerptFor(id), file: `stderr/${id}` }]));
    const results = ids.map((id) => ({
      id,
      status: 'failed' as const,
      exitCode: 255,
      durationMs: 1,
      reason: 'exit code 255',
    }));
    expect(formatFailures(results, 200, excerpts)).toEqual([
      '  1000 failed: exit code 255\n      10.0.[0-3].[1-250]\n      | ssh: connect to host <host> port 22: No route to host',
    ]);
  });
});
