import { describe, expect, it } from 'vitest';
import { parseInventory } from '../../../src/inventory/index.js';

const parse = (text: string, name = 'inv.txt') => parseInventory([{ name, text }]);
const ids = (text: string) => parse(text).targets.map((t) => t.id);

describe('one host per line', () => {
  it.each([
    ['10.0.0.1', ['10.0.0.1'], {}],
    ['ops@10.0.0.1', ['ops@10.0.0.1'], { user: 'ops', host: '10.0.0.1' }],
    ['10.0.0.1:2222', ['10.0.0.1:2222'], { port: 2222 }],
    ['ops@10.0.0.1:2222', ['ops@10.0.0.1:2222'], { user: 'ops', port: 2222 }],
    ['[::1]:22', ['[::1]:22'], { host: '::1', port: 22 }],
    ['[fe80::1]', ['fe80::1'], { host: 'fe80::1' }],
    ['::1', ['::1'], { host: '::1' }],
    ['web01.dc1.example.com', ['web01.dc1.example.com'], {}],
    ['db_1', ['db_1'], {}],
  ])('reads %s', (text, expected, fields) => {
    const { targets } = parse(text + '\n');
    expect(targets.map((t) => t.id)).toEqual(expected);
    expect(targets[0]).toMatchObject(fields);
  });

  it('ignores comments, blank lines, indentation and extra columns', () => {
    expect(ids('# fleet\n\n  10.0.0.1   # trailing comment\n10.0.0.2\tok\t0\t12\t-\n\t\n')).toEqual([
      '10.0.0.1',
      '10.0.0.2',
    ]);
  });

  it("reads herd's own hosts.tsv and failed.txt back", () => {
    expect(
      ids(
        'host\tstatus\texit\tduration_ms\treason\tstep\n127.0.0.2\tok\t0\t12\t-\t-\n127.0.0.3\tfailed\t1\t9\texit code 1\t-\n',
      ),
    ).toEqual(['127.0.0.2', '127.0.0.3']);
    expect(ids('127.0.0.2\nops@127.0.0.3:2222\n')).toEqual(['127.0.0.2', 'ops@127.0.0.3:2222']);
  });

  it('treats a literal first column "host" as a host name except on a TSV header line', () => {
    expect(ids('a\nhost\n')).toEqual(['a', 'host']);
  });

  it('collapses duplicates with a warning naming both places', () => {
    const result = parseInventory([
      { name: 'a.txt', text: '10.0.0.1\n10.0.0.2\n' },
      { name: 'b.txt', text: '10.0.0.[1-3]\n' },
    ]);
    expect(result.targets.map((t) => t.id)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    expect(result.warnings).toEqual([
      'b.txt:1: duplicate host 10.0.0.1 (first at a.txt:1) ignored',
      'b.txt:1: duplicate host 10.0.0.2 (first at a.txt:2) ignored',
    ]);
  });

  it('keeps user@host and host as different targets', () => {
    expect(ids('10.0.0.1\nops@10.0.0.1\n10.0.0.1:22\n')).toEqual(['10.0.0.1', 'ops@10.0.0.1', '10.0.0.1:22']);
  });
});

describe('ranges and CIDR', () => {
  it.each([
    ['10.0.0.[1-3]', ['10.0.0.1', '10.0.0.2', '10.0.0.3']],
    ['10.0.[1-2].[1-2]', ['10.0.1.1', '10.0.1.2', '10.0.2.1', '10.0.2.2']],
    ['web[01-03].dc1', ['web01.dc1', 'web02.dc1', 'web03.dc1']],
    ['web[8-10]', ['web8', 'web9', 'web10']],
    ['web[098-100]', ['web098', 'web099', 'web100']],
    ['10.0.1.[1,3,7-9]', ['10.0.1.1', '10.0.1.3', '10.0.1.7', '10.0.1.8', '10.0.1.9']],
    ['ops@10.0.0.[1-2]:2222', ['ops@10.0.0.1:2222', 'ops@10.0.0.2:2222']],
    ['10.0.0.0/30', ['10.0.0.1', '10.0.0.2']],
    ['10.0.0.0/31', ['10.0.0.0', '10.0.0.1']],
    ['10.0.0.9/32', ['10.0.0.9']],
    ['10.0.0.5/30', ['10.0.0.5', '10.0.0.6']],
    ['ops@10.0.0.0/30', ['ops@10.0.0.1', 'ops@10.0.0.2']],
  ])('expands %s', (text, expected) => {
    expect(ids(text)).toEqual(expected);
  });

  it('gives the usable addresses of a /28', () => {
    const all = ids('10.0.0.0/28');
    expect(all).toHaveLength(14);
    expect(all[0]).toBe('10.0.0.1');
    expect(all[13]).toBe('10.0.0.14');
  });

  it('expands 10,000 hosts, in order', () => {
    const all = ids('10.[0-3].[1-50].[1-50]');
    expect(all).toHaveLength(10_000);
    expect(new Set(all).size).toBe(10_000);
    expect([all[0], all[1], all[50], all[9_999]]).toEqual(['10.0.1.1', '10.0.1.2', '10.0.2.1', '10.3.50.50']);
  });
});

describe('groups', () => {
  it('assigns hosts to the group above them and merges a host listed in several groups', () => {
    const { targets, warnings } = parse('10.0.0.9\n[web]\n10.0.0.[1-2]\n[db]\n10.0.0.2\n10.0.0.3\n');
    expect(targets.map((t) => [t.id, t.groups])).toEqual([
      ['10.0.0.9', []],
      ['10.0.0.1', ['web']],
      ['10.0.0.2', ['web', 'db']],
      ['10.0.0.3', ['db']],
    ]);
    expect(warnings).toEqual([]);
  });
});

describe('errors name the file, line and column', () => {
  it.each([
    ['10.0.0.1\n10.0.0.[1-3\n', 'inv.txt:2:8: unterminated ['],
    ['10.0.0.[5-1]\n', 'inv.txt:1:9: range 5-1 goes backwards'],
    ['10.0.0.[]\n', 'inv.txt:1:8: empty range []'],
    ['10.0.0.[1-x]\n', 'inv.txt:1:9: bad range item "1-x": expected N or N-M'],
    ['10.0.0.256\n', 'inv.txt:1:1: bad IPv4 address "10.0.0.256"'],
    ['  10.0.0.1:99999\n', 'inv.txt:1:12: port 99999 out of range 1-65535'],
    ['10.0.0.1:ssh\n', 'inv.txt:1:10: bad port "ssh": expected 1-65535'],
    ['we!b\n', 'inv.txt:1:3: bad host name "we!b"'],
    ['b@d@10.0.0.1\n', 'inv.txt:1:4: bad host name "d@10.0.0.1"'],
    ['[fe80::zz]:22\n', 'inv.txt:1:2: bad IPv6 address "fe80::zz"'],
    ['[::1]x\n', 'inv.txt:1:6: unexpected "x" after ]'],
    ['10.0.0.0/8\n', 'inv.txt:1:10: /8 is too large a block (at most /16, 65,534 hosts)'],
    ['10.0.0.0/33\n', 'inv.txt:1:10: bad prefix /33: expected 0-32'],
    ['[we b]\n', 'inv.txt:1:1: unterminated ['],
    ['[web!]\n', 'inv.txt:1:1: bad group header [web!]: names use letters, digits, _ . -'],
    ['web/2\n', 'inv.txt:1:4: unexpected / in "web/2" (CIDR blocks are IPv4 a.b.c.d/N)'],
    ['10.[0-999].[0-999].[1-9]\n', 'inv.txt:1:20: expands to more than 1000000 hosts'],
  ])('rejects %j with %s', (text, message) => {
    expect(() => parse(text)).toThrow(message);
  });

  it('throws a typed InventoryError with a stable code and position', () => {
    try {
      parse('ok\n10.0.0.[9-1]\n', 'hosts.ini');
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'E_INVENTORY', position: { file: 'hosts.ini', line: 2, column: 9 } });
    }
  });
});

describe('numbers of any size are exact (ClusterShell: nodeset -e gives the same)', () => {
  it.each([
    ['n[9007199254740993]', ['n9007199254740993']],
    [
      'n[9007199254740991-9007199254740994]',
      ['n9007199254740991', 'n9007199254740992', 'n9007199254740993', 'n9007199254740994'],
    ],
    ['n[12345678901234567890-12345678901234567891]', ['n12345678901234567890', 'n12345678901234567891']],
    ['n[018446744073709551615-018446744073709551616]', ['n018446744073709551615', 'n018446744073709551616']],
  ])('expands %s exactly', (text, expected) => {
    expect(ids(text + '\n')).toEqual(expected);
  });

  it.each([
    ['n[1-999999999999]\n', 'inv.txt:1:3: range [1-999999999999] is larger than 1000000 hosts'],
    [
      'n[1-99999999999999999999999999]\n',
      'inv.txt:1:3: range [1-99999999999999999999999999] is larger than 1000000 hosts',
    ],
    ['n[1-600000,1-600000]\n', 'inv.txt:1:12: range [1-600000,1-600000] is larger than 1000000 hosts'],
  ])('refuses %j before allocating anything', (text, message) => {
    // No clock: the first two expand to 10^12 and 10^26 hosts, so only a refusal that counts before it
    // expands can answer within the test timeout (a hang guard, not a speed bound).
    expect(() => parse(text)).toThrow(message);
  });

  it('refuses a list of 10,000 ranges (10^10 hosts) by counting, not by expanding it', () => {
    // Each item is under the limit and the list alone is ~90 KB: expanding the items before adding them
    // up would allocate 10^10 names and never answer within the test timeout.
    const body = Array.from({ length: 10_000 }, () => '1-999999').join(',');
    expect(() => parse(`n[${body}]\n`)).toThrow(
      /^inv\.txt:1:12: range \[1-999999,1-999999,[-,0-9]*\] is larger than 1000000 hosts$/,
    );
  });
});

describe('padding, Ansible ranges and DNS limits are refused with the reason', () => {
  it.each([
    [
      'node[01-044]\n',
      'inv.txt:1:6: range 01-044: padding length mismatch (2 and 3 digits); write both ends with the same width, e.g. 001-044',
    ],
    [
      'node[001-44]\n',
      'inv.txt:1:6: range 001-44: padding length mismatch (3 and 2 digits); write both ends with the same width, e.g. 001-044',
    ],
    [
      'node[1,9-010]\n',
      'inv.txt:1:8: range 9-010: padding length mismatch (1 and 3 digits); write both ends with the same width, e.g. 009-010',
    ],
    ['web[01:50]\n', 'inv.txt:1:4: [01:50] is an Ansible-style range; herd writes it web[01-50]'],
    ['web[01:50].dc1:2222\n', 'inv.txt:1:4: [01:50] is an Ansible-style range; herd writes it web[01-50].dc1:2222'],
    ['ops@[1:9].dc1\n', 'inv.txt:1:5: [1:9] is an Ansible-style range; herd writes it ops@[1-9].dc1'],
    [
      'web[a:f]\n',
      'inv.txt:1:4: [a:f] is an Ansible-style range; herd ranges are numeric, written [N-M] or lists [1,3,7-9]',
    ],
    [
      'web[1:50:2]\n',
      'inv.txt:1:4: [1:50:2] is an Ansible-style range; herd ranges are numeric, written [N-M] or lists [1,3,7-9]',
    ],
    ['n[1,,2]\n', 'inv.txt:1:5: empty item in range [1,,2]'],
    ['n1-2]\n', 'inv.txt:1:5: unexpected ]'],
    [
      `${'a'.repeat(64)}.dc1\n`,
      `inv.txt:1:1: host name label "${'a'.repeat(64)}" is 64 characters long (DNS allows at most 63)`,
    ],
    [
      `x.${'a'.repeat(64)}\n`,
      `inv.txt:1:3: host name label "${'a'.repeat(64)}" is 64 characters long (DNS allows at most 63)`,
    ],
    [`${'a'.repeat(60)}[1000-1001]\n`, 'is 64 characters long (DNS allows at most 63)'],
    [`${`${'a'.repeat(63)}.`.repeat(4)}b\n`, 'inv.txt:1:1: host name is 257 characters long (DNS allows at most 253)'],
  ])('rejects %j with %s', (text, message) => {
    expect(() => parse(text)).toThrow(message);
  });

  it.each([
    ['n[0-10]', 11, 'n10'],
    ['n[00-10]', 11, 'n10'],
    ['n[9-10]', 2, 'n10'],
    ['n[09-10]', 2, 'n10'],
    ['n[098-100]', 3, 'n100'],
    [`${'a'.repeat(63)}.dc1`, 1, `${'a'.repeat(63)}.dc1`],
  ])('accepts %s, whose ends agree on padding (%i hosts, last %s)', (text, count, last) => {
    const all = ids(text + '\n');
    expect(all).toHaveLength(count);
    expect(all.at(-1)).toBe(last);
  });
});

describe('host and group variables', () => {
  it('reads key=value words after the host, quoted values included, and [group:vars] blocks', () => {
    const { targets } = parse(
      '[storage]\n10.0.0.5 dev=/dev/sdb mnt="/data disk" label=\'a b\'\n10.0.0.6\n[storage:vars]\nfs=xfs\ndev=/dev/sdc\n',
    );
    expect(targets.map((t) => [t.id, t.vars])).toEqual([
      ['10.0.0.5', { fs: 'xfs', dev: '/dev/sdb', mnt: '/data disk', label: 'a b' }],
      ['10.0.0.6', { fs: 'xfs', dev: '/dev/sdc' }],
    ]);
  });

  it('lets a host variable win over a group variable, and a later group name over an earlier one', () => {
    const { targets } = parse('[b]\nh1 x=host\nh2\n[a]\nh2\n[a:vars]\nx=a\ny=a\n[b:vars]\nx=b\n');
    expect(targets.map((t) => [t.id, t.vars])).toEqual([
      ['h1', { x: 'host' }],
      ['h2', { x: 'b', y: 'a' }],
    ]);
  });

  it('refuses a second host on one line instead of dropping it, as Ansible does', () => {
    expect(() => parse('web01 web02\n')).toThrow(
      'inv.txt:1:7: unexpected "web02": after the host a line holds only key=value variables (one host per line)',
    );
  });

  it.each([
    ['10.0.0.1 dev=/dev/sdb oops\n', 'inv.txt:1:23: unexpected "oops"'],
    [
      '10.0.0.1 ansible_port=2200\n',
      'inv.txt:1:10: ansible_port is an Ansible connection variable; name the file .ini',
    ],
    ['[db:children]\nweb\n', 'inv.txt:1:1: [db:children] is Ansible inventory syntax'],
    ['10.0.0.1 a="b\n', 'inv.txt:1:12: unterminated " quote'],
    ['[s:vars]\nnot an assignment\n', 'inv.txt:2:1: unexpected "not"'],
    ['[web] extra\n', 'inv.txt:1:7: unexpected "extra" after a group header'],
    // Found by the fuzzer (seed 1020008949): a quote left open after a group header was a plain Error, no place.
    ['[a-c]\t"\n', 'inv.txt:1:7: unterminated " quote'],
    ['[web]  x"y\n', 'inv.txt:1:9: unterminated " quote'],
  ])('rejects %j with %s', (text, message) => {
    expect(() => parse(text)).toThrow(message);
  });

  it('warns when a [group:vars] block names a group no host is in', () => {
    expect(parse('[web]\nh1\n[wbe:vars]\nx=1\n').warnings).toEqual([
      '[wbe:vars]: no host is in group wbe; its variables apply to none',
    ]);
  });

  it('reads a tab-separated line as a hosts.tsv row only when its second column is a host status', () => {
    expect(parse('10.0.0.2\tfailed\t1\t9\texit code 1\t-\n').targets[0]).not.toHaveProperty('vars');
    expect(parse('10.0.0.2\tdev=/dev/sdb\n').targets[0]!.vars).toEqual({ dev: '/dev/sdb' });
    expect(() => parse('10.0.0.2\t10.0.0.3\n')).toThrow('inv.txt:1:10: unexpected "10.0.0.3"');
  });
});

describe('comments inside variable values', () => {
  it('ends a value (and the line) at # outside quotes, as Ansible does, and keeps it inside quotes', () => {
    expect(parse('h1 q="a#b" url=http://x/#frag more=1\n').targets[0]!.vars).toEqual({ q: 'a#b', url: 'http://x/' });
  });
});
