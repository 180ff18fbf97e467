// One inventory token -> user, host, port. What passes here goes to the resolver and to ssh as it is,
// so anything the resolver would read differently from the operator, or ssh as an option, is refused.
import { lookup } from 'node:dns/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatHostSpec, HostSpecError, parseHostSpec, type HostSpec } from '../../../src/inventory/host-spec.js';

function refusal(token: string): [string, number] {
  try {
    parseHostSpec(token);
  } catch (err) {
    expect(err).toBeInstanceOf(HostSpecError);
    return [(err as HostSpecError).message, (err as HostSpecError).offset];
  }
  throw new Error(`${token} was accepted`);
}

describe('parseHostSpec', () => {
  it.each<[string, HostSpec]>([
    ['web1', { host: 'web1' }],
    ['ops@web1.dc1.example.com.', { host: 'web1.dc1.example.com.', user: 'ops' }],
    ['10.0.0.1:2222', { host: '10.0.0.1', port: 2222 }],
    ['root@10.0.0.1:22', { host: '10.0.0.1', port: 22, user: 'root' }],
    ['::1', { host: '::1' }],
    ['[::1]:2222', { host: '::1', port: 2222 }],
    ['a@[fe80::1%eth0]:22', { host: 'fe80::1%eth0', port: 22, user: 'a' }],
    ['_svc.host', { host: '_svc.host' }],
  ])('reads %j', (token, spec) => {
    expect(parseHostSpec(token)).toEqual(spec);
  });

  it('refuses what ssh would take as an option or a shell would split, with the offset of the problem', () => {
    expect(refusal('-oProxyCommand=x')).toEqual(['bad host name "-oProxyCommand=x"', 0]);
    expect(refusal('ops@web1.-x')).toEqual(['bad host name "web1.-x"', 9]);
    expect(refusal('-v@web1')).toEqual(['bad user name "-v"', 0]);
    expect(refusal('ops@web;id')).toEqual(['bad host name "web;id"', 7]);
    expect(refusal('ops@web$(id)')).toEqual(['bad host name "web$(id)"', 7]);
    expect(refusal('a@[fe80::1%$(id)]:22')[0]).toBe('bad IPv6 address "fe80::1%$(id)"');
  });

  it('refuses bad addresses and ports, naming the part', () => {
    expect(refusal('10.0.0.256')).toEqual(['bad IPv4 address "10.0.0.256"', 0]);
    expect(refusal('10.0.0')).toEqual(['bad IPv4 address "10.0.0"', 0]);
    expect(refusal('web1:0')).toEqual(['port 0 out of range 1-65535', 5]);
    expect(refusal('ops@web1:65536')).toEqual(['port 65536 out of range 1-65535', 9]);
    expect(refusal('web1:22a')).toEqual(['bad port "22a": expected 1-65535', 5]);
    expect(refusal('web1:')).toEqual(['bad port "": expected 1-65535', 5]);
    expect(refusal('fe80::1::22')[0]).toBe('bad IPv6 address "fe80::1::22" (write [addr]:port to give a port)');
    expect(refusal('[::1')).toEqual(['unterminated [ in IPv6 address', 0]);
    expect(refusal('[::1]22')).toEqual(['unexpected "22" after ]', 5]);
    expect(refusal('@web1')).toEqual(['bad user name ""', 0]);
    expect(refusal('ops@')).toEqual(['missing host name', 4]);
  });

  it('refuses DNS names a resolver would refuse: a label over 63 characters, a name over 253', () => {
    const label = 'a'.repeat(64);
    expect(refusal(`ops@x.${label}.com`)).toEqual([
      `host name label "${label}" is 64 characters long (DNS allows at most 63)`,
      6,
    ]);
    const long = Array.from({ length: 4 }, () => 'b'.repeat(63)).join('.'); // 255 characters
    expect(refusal(long)).toEqual(['host name is 255 characters long (DNS allows at most 253)', 0]);
    expect(parseHostSpec(`${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(61)}.`).host).toHaveLength(
      254,
    );
  });

  it('refuses an IPv4 octet with a leading zero, which the resolver reads as octal (010.0.0.1 is 8.0.0.1)', async () => {
    // The resolver is the oracle: what herd would hand to ssh is another machine than the one written.
    expect((await lookup('010.0.0.1', { family: 4 })).address).toBe('8.0.0.1');
    for (const token of ['010.0.0.1', '10.0.0.010', 'root@192.168.001.009:22', '10.00.0.1']) {
      expect(() => parseHostSpec(token), token).toThrow(HostSpecError);
    }
    expect(refusal('ops@10.0.0.010')).toEqual([
      'bad IPv4 address "10.0.0.010": "010" has a leading zero, which the resolver reads as octal; write 10.0.0.10',
      4,
    ]);
    expect(parseHostSpec('10.0.0.0')).toEqual({ host: '10.0.0.0' });
  });
});

describe('formatHostSpec', () => {
  it('is the canonical text: parsing it gives the same spec back', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
    const name = fc
      .array(label, { minLength: 1, maxLength: 4 })
      .map((l) => l.join('.'))
      .filter((n) => !/^[\d.]+$/.test(n));
    const v4 = fc.tuple(...Array.from({ length: 4 }, () => fc.integer({ min: 0, max: 255 }))).map((o) => o.join('.'));
    const v6 = fc.ipV6();
    const spec = fc.record(
      {
        host: fc.oneof(name, v4, v6),
        port: fc.integer({ min: 1, max: 65535 }),
        user: fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,8}$/),
      },
      { requiredKeys: ['host'] },
    );
    fc.assert(
      fc.property(spec, (s) => {
        expect(parseHostSpec(formatHostSpec(s))).toEqual(s);
      }),
    );
  });

  it('brackets an IPv6 address only when a port follows', () => {
    expect(formatHostSpec({ host: '::1', port: 22 })).toBe('[::1]:22');
    expect(formatHostSpec({ host: '::1', user: 'u' })).toBe('u@::1');
  });
});
