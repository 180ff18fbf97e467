// Inventory variables checked against each play's hosts before any host is contacted: a template naming a
// variable some host lacks, a value no template can take, or a built-in's name set by the inventory.
import { describe, expect, it } from 'vitest';
import type { Vars } from '../../../src/inventory/vars.js';
import { checkHostVars, loadPlaybook, usedInventoryTexts } from '../../../src/playbook/index.js';

const load = (text: string, extraVars: Record<string, string> = {}) =>
  loadPlaybook({ file: '/pb/site.yml', text }, { fileExists: () => true, extraVars, inventoryVars: true });

const inventory: Record<string, Vars> = {
  web1: { dev: '/dev/sdb', port: 8080 },
  web2: { dev: '/dev/sdc' },
  web3: {},
  web4: { dev: ['a', 'b'] },
};
const varsOf = (id: string) => inventory[id];
const hosts = (...ids: string[]) => new Map([[1, ids]]);

describe('checkHostVars', () => {
  it('passes when every host of the play has the variable', () => {
    const pb = load('steps:\n  - run: mkfs {{ dev }}\n');
    expect(checkHostVars(pb, hosts('web1', 'web2'), varsOf)).toBeNull();
  });

  it('names the template position, the variable and the hosts of the play that lack it', () => {
    const pb = load('steps:\n  - run: echo ok\n  - run: mkfs {{ dev }}\n');
    expect(checkHostVars(pb, hosts('web1', 'web2', 'web3'), varsOf)).toMatchObject({
      kind: 'missing',
      use: { name: 'dev', position: { file: '/pb/site.yml', line: 3, column: 15 } },
      hosts: ['web3'],
      of: 3,
    });
  });

  it('looks only at the hosts of the play (after --limit and hosts:), never the whole inventory', () => {
    const pb = load('steps:\n  - run: mkfs {{ dev }}\n');
    expect(checkHostVars(pb, hosts('web2'), varsOf)).toBeNull();
  });

  it('a play var or --var of that name is enough: no host needs it then', () => {
    expect(
      checkHostVars(load('vars: { dev: /x }\nsteps:\n  - run: mkfs {{ dev }}\n'), hosts('web3'), varsOf),
    ).toBeNull();
    expect(checkHostVars(load('steps:\n  - run: mkfs {{ dev }}\n', { dev: '/y' }), hosts('web3'), varsOf)).toBeNull();
  });

  it('a play var using an inventory variable needs it on every host of the play', () => {
    const pb = load('vars: { mnt: "/data/{{ dev }}" }\nsteps:\n  - run: echo {{ mnt }}\n');
    expect(checkHostVars(pb, hosts('web1', 'web3'), varsOf)).toMatchObject({
      kind: 'missing',
      use: { name: 'dev', position: { line: 1, column: 21 } },
      hosts: ['web3'],
    });
  });

  it('refuses a list or mapping value, naming the hosts holding it', () => {
    const pb = load('steps:\n  - run: mkfs {{ dev }}\n');
    expect(checkHostVars(pb, hosts('web1', 'web4'), varsOf)).toMatchObject({
      kind: 'unusable',
      hosts: ['web4'],
      why: expect.stringContaining('a list') as string,
    });
  });

  it('refuses an inventory value naming a variable other than a built-in (values may use built-ins only)', () => {
    const pb = load('steps:\n  - run: echo {{ dir }}\n');
    const vars: Record<string, Vars> = { a: { dir: '/srv/{{ host }}' }, b: { dir: '/srv/{{ other }}' } };
    expect(checkHostVars(pb, hosts('a'), (id) => vars[id])).toBeNull();
    expect(checkHostVars(pb, hosts('a', 'b'), (id) => vars[id])).toMatchObject({
      kind: 'unusable',
      hosts: ['b'],
      why: expect.stringContaining('unknown variable "other"') as string,
    });
  });

  it('refuses a built-in that an inventory also sets (port=8080), only where a template uses it', () => {
    expect(checkHostVars(load('steps:\n  - run: echo {{ port }}\n'), hosts('web1', 'web2'), varsOf)).toMatchObject({
      kind: 'builtin_clash',
      use: { name: 'port' },
      hosts: ['web1'],
    });
    expect(checkHostVars(load('steps:\n  - run: echo {{ dev }}\n'), hosts('web1'), varsOf)).toBeNull();
  });

  it('checks plays in order, each against its own hosts', () => {
    const pb = load('- steps:\n    - run: echo {{ dev }}\n- steps:\n    - run: echo {{ dev }}\n');
    const playHosts = new Map([
      [1, ['web1']],
      [2, ['web2', 'web3']],
    ]);
    expect(checkHostVars(pb, playHosts, varsOf)).toMatchObject({
      kind: 'missing',
      play: { index: 2 },
      hosts: ['web3'],
    });
  });
});

describe('usedInventoryTexts', () => {
  it('gives the texts of the variables templates use, not the rest, and never a built-in name', () => {
    const pb = load('steps:\n  - run: echo {{ dev }} {{ port }}\n');
    expect(usedInventoryTexts(pb, { dev: '/dev/sdb', port: 8080, unused: 'x', n: 3 })).toEqual({ dev: '/dev/sdb' });
  });
});

describe('a name no host of the play has (a typo?)', () => {
  it('lists the names there are: built-ins, play vars, --var and the inventory variables of those hosts', () => {
    const pb = load('vars: { mnt: /m }\nsteps:\n  - run: mkfs {{ dve }} {{ mnt }}\n', { size: '1' });
    expect(checkHostVars(pb, hosts('web1', 'web2'), varsOf, { size: '1' })).toMatchObject({
      kind: 'missing',
      hosts: ['web1', 'web2'],
      known: ['dev', 'host', 'mnt', 'port', 'run_id', 'size', 'user'],
    });
  });
});
