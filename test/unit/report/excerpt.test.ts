import { describe, expect, it } from 'vitest';
import { excerptOf, hostMasks, maskHost } from '../../../src/report/excerpt.js';

const head = (text: string, bytes = Buffer.byteLength(text)) => ({ text, bytes, headBytes: Buffer.byteLength(text) });

describe('host masking', () => {
  it('masks the inventory name, its address and address:port where they stand alone', () => {
    expect(hostMasks('root@10.0.0.1:2222')).toEqual(['root@10.0.0.1:2222', '10.0.0.1:2222', '10.0.0.1']);
    const m = hostMasks('10.0.0.1');
    expect(maskHost('from 10.0.0.1: refused; 10.0.0.12 and 110.0.0.1 and 10.0.0.1.5 stay; 10.0.0.1:22 ok', m)).toBe(
      'from <host>: refused; 10.0.0.12 and 110.0.0.1 and 10.0.0.1.5 stay; <host>:22 ok',
    );
    expect(maskHost('WEB1.example.com, web12, root@web1: x', hostMasks('web1'))).toBe('<host>.example.com, web12, root@<host>: x');
    expect(maskHost('[::1]:22 and ::1', hostMasks('[::1]:22'))).toBe('<host> and <host>');
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
    expect(excerptOf(head('1\n2\n3\n4\n5\n\n6'), [])).toMatchObject({ lines: ['1', '2', '3', '4'], more: 2, cut: false });
    // The head ends inside line 7: that part line is neither shown nor counted as whole.
    expect(excerptOf(head('1\n2\n3\n4\n5\n6\n7 is lon', 1e9), [])).toMatchObject({ lines: ['1', '2', '3', '4'], more: 2, cut: true });
    const one = excerptOf(head('x'.repeat(4096), 1e9), [])!;
    expect(one.lines).toEqual([`${'x'.repeat(160)}…`]);
    expect(one).toMatchObject({ more: 0, cut: true });
  });
});
