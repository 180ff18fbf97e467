import { describe, expect, it } from 'vitest';
import { parseInventory, selectTargets } from '../../../src/inventory/index.js';

const inventory = parseInventory([
  {
    name: 'fleet.ini',
    text: '[web]\nweb[01-04].dc1\n[db]\ndb1.dc1\ndb2.dc2\n[storage]\n10.0.0.[1-5]\nops@10.0.0.9:2222\n',
  },
]).targets;
const files: Record<string, string> = { 'failed.txt': '10.0.0.2\n10.0.0.4\nnot-in-inventory\n' };
const select = (patterns: string) => selectTargets(inventory, patterns, (f) => {
  const text = files[f];
  if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
  return text;
});
const ids = (patterns: string) => select(patterns).targets.map((t) => t.id);

describe('--limit patterns', () => {
  it.each([
    ['web', ['web01.dc1', 'web02.dc1', 'web03.dc1', 'web04.dc1']],
    ['db,web01.dc1', ['web01.dc1', 'db1.dc1', 'db2.dc2']],
    ['*.dc2', ['db2.dc2']],
    ['web0?.dc1,!web02.dc1', ['web01.dc1', 'web03.dc1', 'web04.dc1']],
    ['storage,!10.0.0.[2-4]', ['10.0.0.1', '10.0.0.5', 'ops@10.0.0.9:2222']],
    ['all,&storage,&10.0.0.*', ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', 'ops@10.0.0.9:2222']],
    ['!web,!storage', ['db1.dc1', 'db2.dc2']],
    ['@failed.txt', ['10.0.0.2', '10.0.0.4']],
    ['storage,!@failed.txt', ['10.0.0.1', '10.0.0.3', '10.0.0.5', 'ops@10.0.0.9:2222']],
    ['10.0.0.9', ['ops@10.0.0.9:2222']],
    ['ops@10.0.0.9:2222', ['ops@10.0.0.9:2222']],
  ])('%s selects the right hosts in inventory order', (patterns, expected) => {
    expect(ids(patterns)).toEqual(expected);
  });

  it('reports terms that match nothing', () => {
    expect(select('web,nosuch,!alsonot').unmatched).toEqual(['nosuch', '!alsonot']);
  });

  it('names an unreadable @file', () => {
    expect(() => select('@missing.txt')).toThrow('--limit @missing.txt: cannot read it (ENOENT)');
  });
});
