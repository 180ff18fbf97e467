import { describe, expect, it } from 'vitest';
import { expandAnsibleRanges, parseAnsibleIni } from '../../../src/inventory/ansible-ini.js';

const read = (text: string) => parseAnsibleIni({ name: 'inv.ini', text }).resolve();

describe('Ansible INI inventories', () => {
  it('turns ansible_host, ansible_port, ansible_user and the key variable into the target', () => {
    const { targets } = read(
      '[db]\ndb1 ansible_host=10.0.0.5 ansible_port=2200 ansible_user=ops ansible_ssh_private_key_file=~/.ssh/db\n10.0.0.7:2201\n',
    );
    expect(targets[0]).toMatchObject({
      id: 'ops@10.0.0.5:2200',
      name: 'db1',
      host: '10.0.0.5',
      port: 2200,
      user: 'ops',
      identityFile: '~/.ssh/db',
      groups: ['db'],
    });
    expect(targets[1]).toMatchObject({
      id: '10.0.0.7:2201',
      name: '10.0.0.7',
      port: 2201,
      vars: { ansible_port: 2201 },
    });
  });

  it('puts a host in its groups and their ancestors, and a host with no group in ungrouped', () => {
    const { targets } = read('lone\n[a:children]\nb\n[b]\nh1\n');
    expect(targets.map((t) => [t.id, t.groups])).toEqual([
      ['lone', ['ungrouped']],
      ['h1', ['b', 'a']],
    ]);
  });

  it.each([
    ['web01 web02\n', 'inv.ini:1:7: expected key=value host variable, got "web02" (one host per line)'],
    ['[web]\nweb1 ansible_become=yes\n', 'inv.ini:2:6: host web1: ansible_become is not supported by herd'],
    [
      '[web]\nweb1\n[web:vars]\nansible_connection=local\n',
      'inv.ini:4:1: host web1: ansible_connection=local: herd connects only over SSH',
    ],
    ['[a:children]\nb\n[b:children]\na\n', 'inv.ini:4:1: group a as a child of b makes a loop'],
    ['h1 ansible_host=10.0.0.5\nh2 ansible_host=10.0.0.5\n', 'inv.ini:2:1: hosts h1 and h2 both connect to 10.0.0.5'],
    ['h1 ansible_port=70000\n', 'inv.ini:1:4: host h1: ansible_port=70000: expected a port 1-65535'],
    ['h1 x=[1,2]\n', 'inv.ini:1:6: [1,2] looks like a Python list'],
    ['ops@h1\n', 'inv.ini:1:1: host ops@h1: "ops@h1" is not a plain address'],
    ['[web:oops]\n', 'inv.ini:1:1: section [web:oops] has an unknown type oops'],
    ['[p:children]\nweb\nwbe\n[web]\nh1\n', 'inv.ini:3:1: section [p:children] names group wbe, declared nowhere'],
    ['[web]\nh1\n[wbe:vars]\nx=1\n', 'inv.ini:3:1: section [wbe:vars] is for group wbe, declared nowhere'],
  ])('refuses %j: %s', (text, message) => {
    expect(() => read(text)).toThrow(message);
  });
});

describe('Ansible ranges', () => {
  it.each([
    ['web[01:03].dc', ['web01.dc', 'web02.dc', 'web03.dc']],
    ['n[a:c]', ['na', 'nb', 'nc']],
    ['n[1:9:4]', ['n1', 'n5', 'n9']],
    ['r[1:2]n[1:2]', ['r1n1', 'r1n2', 'r2n1', 'r2n2']],
  ])('expands %s', (pattern, names) => {
    expect(expandAnsibleRanges(pattern)).toEqual(names);
  });

  it.each([
    ['n[01:100]', 'same width'],
    ['n[5:1]', 'goes backwards'],
    ['n[1:2000000]', 'larger than 1000000 hosts'],
  ])('refuses %s', (pattern, message) => {
    expect(() => expandAnsibleRanges(pattern)).toThrow(message);
  });
});

describe('--limit on an Ansible inventory', () => {
  it('selects by parent groups, by the Ansible host name and by globs on it, never widening', async () => {
    const { selectTargets } = await import('../../../src/inventory/limit.js');
    const { targets } = read(
      '[app:children]\nweb\ndb\n[web]\nweb1 ansible_host=10.0.0.1\nweb2 ansible_host=10.0.0.2\n[db]\ndb1 ansible_host=10.0.0.5\n[other]\nx1\n',
    );
    const ids = (pattern: string) => selectTargets(targets, pattern, () => '').targets.map((t) => t.id);
    expect(ids('app')).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.5']);
    expect(ids('app,!db')).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(ids('web1,db1')).toEqual(['10.0.0.1', '10.0.0.5']);
    expect(ids('web*')).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(ids('ungrouped')).toEqual([]);
    expect(ids('other')).toEqual(['x1']);
  });
});
