// targets.json: what a rerun restores of each host (its inventory key; a playbook's inventory variables).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseInventory } from '../../../src/inventory/index.js';
import { readTargetsRecord, restoreTargets, targetsRecord, TARGETS_FILE } from '../../../src/results/targets-record.js';

const inventory = parseInventory([
  { name: 'inv', text: '[disks]\n10.0.0.1 dev=/dev/sdb n=3\n10.0.0.2\n[other]\n10.0.0.9\n[disks:vars]\nfs=xfs\n' },
]);
const targets = [
  ...inventory.targets,
  { ...inventory.targets[2]!, id: '10.0.0.10', host: '10.0.0.10', identityFile: '~/.ssh/k' },
];

function roundTrip(withVars: boolean): ReturnType<typeof readTargetsRecord> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-targets-'));
  const record = targetsRecord(targets, withVars);
  if (record) fs.writeFileSync(path.join(dir, TARGETS_FILE), JSON.stringify(record));
  return readTargetsRecord(dir);
}

describe('targets.json', () => {
  it('a rerun rebuilds each target from its id and gets back its variables and key', () => {
    const ids = parseInventory([{ name: 'hosts.tsv', text: targets.map((t) => t.id).join('\n') + '\n' }]).targets;
    const restored = restoreTargets(ids, roundTrip(true));
    expect(restored.map((t) => [t.id, t.vars, t.identityFile])).toEqual([
      ['10.0.0.1', { fs: 'xfs', dev: '/dev/sdb', n: '3' }, undefined],
      ['10.0.0.2', { fs: 'xfs' }, undefined],
      ['10.0.0.9', undefined, undefined],
      ['10.0.0.10', undefined, '~/.ssh/k'],
    ]);
  });
  it('records variables only for playbooks; the key always', () => {
    expect(roundTrip(false)).toEqual({ hosts: { '10.0.0.10': { identity_file: '~/.ssh/k' } } });
  });
  it('no file when no host has anything beyond its id (older runs too): targets stay as they are', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-targets-'));
    expect(targetsRecord(inventory.targets.slice(2), true)).toBeNull();
    expect(readTargetsRecord(dir)).toBeNull();
  });
  it('a damaged file is a run directory error, never a silent rerun without the values', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herd-targets-'));
    fs.writeFileSync(path.join(dir, TARGETS_FILE), '{"hosts": {"a": {"vars": [1]}}}');
    expect(() => readTargetsRecord(dir)).toThrow(/host "a": expected/);
    fs.writeFileSync(path.join(dir, TARGETS_FILE), '{"hosts"');
    expect(() => readTargetsRecord(dir)).toThrow(/not JSON/);
  });
});
