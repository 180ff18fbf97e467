import { describe, expect, it } from 'vitest';
import { parseAnsibleYaml } from '../../../src/inventory/ansible-yaml.js';

const read = (text: string) => parseAnsibleYaml({ name: 'inv.yml', text }).resolve();

describe('Ansible YAML inventories', () => {
  it('reads hosts, children and vars, YAML 1.1 booleans, and connection variables', () => {
    const { targets } = read(
      'all:\n  vars: { dc: dc1 }\n  children:\n    db:\n      hosts:\n        db1: { ansible_host: 10.0.0.5, ansible_port: 2200, enabled: yes }\n        web[1:2]:2222:\n',
    );
    expect(targets.map((t) => [t.id, t.name, t.groups, t.vars])).toEqual([
      ['10.0.0.5:2200', 'db1', ['db'], { dc: 'dc1', ansible_host: '10.0.0.5', ansible_port: 2200, enabled: true }],
      ['web1:2222', 'web1', ['db'], { dc: 'dc1', ansible_port: 2222 }],
      ['web2:2222', 'web2', ['db'], { dc: 'dc1', ansible_port: 2222 }],
    ]);
  });

  it.each([
    ['all:\n  hosts:\n    - web1\n', 'inv.yml:3:5: all.hosts must be a mapping'],
    ['all:\n  host:\n    web1:\n', 'inv.yml:2:3: unexpected key "host" in group all (expected hosts, vars, children)'],
    [
      'all:\n  hosts:\n    web1:\n      ansible_ssh_common_args: -oProxyCommand=x\n',
      'inv.yml:4:7: host web1: ansible_ssh_common_args is not supported by herd',
    ],
    ['all:\n  hosts:\n    web1:\n    web1:\n', 'inv.yml:3:10: YAML syntax: Map keys must be unique'],
    ['all: [\n', 'inv.yml:2:1: YAML syntax'],
    ['all:\n  vars:\n    on: 1\n', 'inv.yml:3:5: key on reads as a boolean in YAML 1.1, as Ansible reads it; quote it'],
  ])('refuses %j: %s', (text, message) => {
    expect(() => read(text)).toThrow(message);
  });
});
