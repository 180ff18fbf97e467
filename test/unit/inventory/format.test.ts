import { describe, expect, it } from 'vitest';
import { detectFormat } from '../../../src/inventory/format.js';

describe('which reader an inventory gets', () => {
  it.each([
    ['hosts.ini', '10.0.0.1\n', undefined, 'ansible-ini'],
    ['hosts.yml', 'all:\n', undefined, 'ansible-yaml'],
    ['hosts.yaml', 'all:\n', undefined, 'ansible-yaml'],
    ['hosts.txt', '[a:children]\nb\n', undefined, 'herd'],
    ['hosts', '[a:children]\nb\n', undefined, 'ansible-ini'],
    ['hosts', 'h1 ansible_port=2200\n', undefined, 'ansible-ini'],
    ['<stdin>', 'h1 ansible_user=ops\n', undefined, 'ansible-ini'],
    ['hosts', '[s:vars]\ndev=/dev/sdb\n10.0.0.1\n', undefined, 'herd'],
    ['hosts.ini', '10.0.0.1\n', 'herd', 'herd'],
    ['hosts.txt', '10.0.0.1\n', 'ansible', 'ansible-ini'],
    ['hosts.yml', 'all:\n', 'ansible', 'ansible-yaml'],
  ] as const)('%s holding %j with --inventory-format %s: %s', (name, text, flag, format) => {
    expect(detectFormat(name, text, flag)).toBe(format);
  });
});
