import { describe, expect, it } from 'vitest';
import { readInventories } from '../../../src/inventory/load.js';

describe('several -i sources of different formats', () => {
  it('merges them in order: a host seen again joins the new groups and takes the later variables', () => {
    const { targets } = readInventories([
      { name: 'a.txt', text: '[web]\n10.0.0.1 role=old\n10.0.0.2\n' },
      { name: 'b.ini', text: '[db]\n10.0.0.1 role=new\n10.0.0.3\n' },
    ]);
    expect(targets.map((t) => [t.id, t.groups, t.vars ?? {}])).toEqual([
      ['10.0.0.1', ['web', 'db'], { role: 'new' }],
      ['10.0.0.2', ['web'], {}],
      ['10.0.0.3', ['db'], {}],
    ]);
  });
});
