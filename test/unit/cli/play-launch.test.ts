// The error an inventory-variable problem becomes: the template's file:line:column, the play, and the hosts folded.
import { describe, expect, it } from 'vitest';
import { hostVarsError } from '../../../src/cli/play-launch.js';
import { checkHostVars, loadPlaybook } from '../../../src/playbook/index.js';

const book = loadPlaybook(
  { file: '/pb/disks.yml', text: 'name: disks\nsteps:\n  - run: mkfs {{ dev }}\n' },
  { fileExists: () => true, inventoryVars: true },
);
const ids = Array.from({ length: 12 }, (_, i) => `web${String(i + 1).padStart(2, '0')}`);

describe('hostVarsError', () => {
  it('names file:line:column, the variable, how many of the play hosts lack it, and folds them', () => {
    const problem = checkHostVars(book, new Map([[1, ids]]), (id): Record<string, string> =>
      id < 'web04' ? { dev: '/dev/sdb' } : {},
    );
    const err = hostVarsError(problem!);
    expect(err.code).toBe('E_PLAYBOOK');
    expect(err.message).toBe(
      '/pb/disks.yml:3:15: variable "dev" is not set for 9 of 12 hosts of play 1 (disks): web[04-12]; ' +
        "set it in the inventory (herd hosts --vars shows each host's), in the play's vars or with --var",
    );
  });
  it('a name no host has lists the names there are', () => {
    const problem = checkHostVars(book, new Map([[1, ['a']]]), () => ({ disk: 'x' }));
    expect(hostVarsError(problem!).message).toMatch(
      /not set for all 1 host of play 1 \(disks\): a; .*; known: disk, host, port, run_id, user$/,
    );
  });
});

describe('hostVarsError on a rerun', () => {
  it('says the rerun uses the recorded variables and does not read the inventory again', () => {
    const problem = checkHostVars(book, new Map([[1, ['a']]]), () => ({}));
    expect(hostVarsError(problem!, '20261127T101010.000Z-ab12').message).toContain(
      '; a rerun renders with the variables run 20261127T101010.000Z-ab12 recorded and does not read the inventory again (herd play does)',
    );
  });
});
