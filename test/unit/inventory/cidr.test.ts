// IPv4 CIDR blocks in inventories and --limit, against Python's ipaddress module as the oracle:
// the same usable hosts (no network or broadcast address up to /30, both of a /31, the one of a /32).
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CidrError,
  expandCidr,
  formatIpv4,
  looksLikeCidr,
  MIN_PREFIX,
  parseIpv4,
} from '../../../src/inventory/cidr.js';

/** Python's answer for each block: `ip_network(block, strict=False).hosts()`, one process for all. */
function pythonHosts(blocks: string[]): string[][] {
  const script = [
    'import ipaddress, json, sys',
    'print(json.dumps([[str(h) for h in ipaddress.ip_network(b, strict=False).hosts()] for b in json.load(sys.stdin)]))',
  ].join('\n');
  return JSON.parse(
    execFileSync('python3', ['-c', script], { input: JSON.stringify(blocks), maxBuffer: 64 << 20 }).toString(),
  ) as string[][];
}

const octet = fc.integer({ min: 0, max: 255 });
const block = fc
  .tuple(octet, octet, octet, octet, fc.integer({ min: MIN_PREFIX, max: 32 }))
  .map(([a, b, c, d, p]) => `${a}.${b}.${c}.${d}/${p}`);

describe('expandCidr', () => {
  it('gives the hosts Python ipaddress gives, host bits in the address ignored', () => {
    const fixed = [
      '10.0.0.5/30',
      '10.0.0.5/31',
      '10.0.0.5/32',
      '192.168.1.0/24',
      '255.255.255.255/32',
      '0.0.0.0/30',
      '10.9.0.0/16',
    ];
    const blocks = [
      ...fixed,
      ...fc.sample(
        block.filter((b) => !b.endsWith('/16') && !b.endsWith('/17')),
        300,
      ),
    ];
    const expected = pythonHosts(blocks);
    blocks.forEach((b, i) => expect(expandCidr(b), b).toEqual(expected[i]));
  });

  it('refuses what is not a block of at most /16, with the offset of the bad part', () => {
    const refused = (token: string): [string, number] => {
      try {
        expandCidr(token);
      } catch (err) {
        expect(err).toBeInstanceOf(CidrError);
        return [(err as CidrError).message, (err as CidrError).offset];
      }
      throw new Error(`${token} was accepted`);
    };
    expect(refused('10.0.0.0/15')).toEqual(['/15 is too large a block (at most /16, 65,534 hosts)', 9]);
    expect(refused('10.0.0.0/0')).toEqual(['/0 is too large a block (at most /16, 65,534 hosts)', 9]);
    expect(refused('10.0.0.0/33')).toEqual(['bad prefix /33: expected 0-32', 9]);
    expect(refused('10.0.0.256/24')).toEqual(['bad IPv4 address in 10.0.0.256/24', 0]);
    expect(refused('10.0.0/24')).toEqual(['bad IPv4 address in 10.0.0/24', 0]);
  });
});

describe('zero-padded octets', () => {
  it('are refused, as Python ipaddress refuses them and as a plain inventory address is refused', () => {
    const blocks = ['010.0.0.0/30', '10.0.0.08/31', '10.00.0.0/24', '192.168.001.0/24'];
    const python = execFileSync(
      'python3',
      [
        '-c',
        'import ipaddress, json, sys\nfor b in json.load(sys.stdin):\n  try: ipaddress.ip_network(b, strict=False); print("ok")\n  except ValueError: print("refused")',
      ],
      { input: JSON.stringify(blocks) },
    ).toString();
    expect(python.trim().split('\n')).toEqual(blocks.map(() => 'refused'));
    for (const b of blocks) expect(() => expandCidr(b), b).toThrow(CidrError);
    expect(() => expandCidr('010.0.0.0/30')).toThrow('bad IPv4 address in 010.0.0.0/30');
    expect(expandCidr('10.0.0.0/31')).toEqual(['10.0.0.0', '10.0.0.1']);
  });
});

describe('the address helpers', () => {
  it('parse and format are inverses over the whole address space', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => parseIpv4(formatIpv4(n)) === n));
  });

  it.each([
    '01.2.3.4',
    '1.2.3.00',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.256',
    '1.2.3.-1',
    '1.2.3.1e2',
    '1.2.3.0x1',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1..3.4',
    '1234.1.1.1',
  ])('parseIpv4 refuses %j', (text) => {
    expect(parseIpv4(text)).toBeNull();
  });

  it('looksLikeCidr takes only dotted-quad/number, so names with a slash are not blocks', () => {
    expect(looksLikeCidr('10.0.0.0/24')).toBe(true);
    expect(looksLikeCidr('999.0.0.0/99')).toBe(true); // then refused by expandCidr, with a reason
    for (const t of ['web/24', '10.0.0.0', '10.0.0.0/', '10.0.0.0/24/1', 'a10.0.0.0/24', '10.0.0.0/24 '])
      expect(looksLikeCidr(t)).toBe(false);
  });
});
