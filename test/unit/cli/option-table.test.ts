// The derivations of src/cli/option-table.ts: commander's view of each row, run.json's record and
// rerun's restore from it, the worker config.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Option } from 'commander';
import {
  COMMAND_OPTIONS,
  OPTIONS,
  optionsRecord,
  overlayGiven,
  restoreOptions,
  workerConfig,
  type CommandName,
  type OptionKey,
  type OptionRow,
  type RawOptions,
  type Resolved,
} from '../../../src/cli/option-table.js';
import { resolveConnectionOptions, resolveRunOptions } from '../../../src/cli/options.js';

const rows = Object.entries(OPTIONS) as [OptionKey, OptionRow][];

function resolve(raw: RawOptions): Resolved {
  // rerun writes its run directory next to the earlier one: -o is not restored, it is given.
  return { connection: resolveConnectionOptions(raw), run: resolveRunOptions({ ...raw, out: '/tmp/runs' }) };
}

/** What launchRun records: the ssh_config read is -F's file here (no ~/.ssh/config in this picture). */
function record(o: Resolved) {
  const file = o.connection.sshConfigFile;
  return optionsRecord(o, {
    forks: o.run.forks,
    agent: false,
    sshConfigPath: file === undefined || file === 'none' ? null : file,
  });
}

/** rerun's path with nothing given on its command line. */
function rerun(o: Resolved): Resolved {
  const recorded = JSON.parse(JSON.stringify(record(o)));
  return resolve(overlayGiven(restoreOptions(recorded), {}, () => false));
}

/** Rows a rerun does not take from run.json, and why. */
const NOT_RESTORED: Partial<Record<OptionKey, string>> = {
  deadline: 'recorded for the audit; a rerun gets its own time budget',
  grace: 'how this Ctrl-C is handled, not what the run did',
  out: 'a rerun writes next to the earlier run directory',
  quiet: 'display',
  json: 'display',
  progress: 'display',
  stream: 'display',
  color: 'display',
  timeout: 'recorded with the task (task.timeout_s)',
  group: 'display',
};

const example = (key: OptionKey): RawOptions => ({ [key]: OPTIONS[key].example }) as RawOptions;

describe('option table', () => {
  it("names each row by commander's attribute name, on every command", () => {
    for (const [key, row] of rows) {
      for (const c of Object.keys(COMMAND_OPTIONS) as CommandName[]) {
        const flags = row.on?.[c]?.flags ?? row.flags;
        expect(new Option(flags).attributeName(), `${key} on ${c}`).toBe(key);
      }
    }
  });

  it('offers every row on some command, and each command an option once', () => {
    const used = new Set(Object.values(COMMAND_OPTIONS).flat());
    expect(rows.map(([k]) => k).filter((k) => !used.has(k))).toEqual([]);
    for (const [c, keys] of Object.entries(COMMAND_OPTIONS)) expect(new Set(keys).size, c).toBe(keys.length);
  });

  it('records and restores every recorded option: record, restore through rerun, resolve again, equal', () => {
    const restored = rows.filter(
      ([key]) =>
        COMMAND_OPTIONS.rerun.includes(key) &&
        !(key in NOT_RESTORED) &&
        OPTIONS[key].goes.every((g) => g !== 'rerun' && g !== 'task'),
    );
    expect(restored.length).toBeGreaterThan(15);
    // Nothing given: the defaults come back as defaults.
    expect(rerun(resolve({}))).toEqual(resolve({}));
    for (const [key] of restored) {
      const o = resolve(example(key));
      expect(o, `${key}: the example differs from the default`).not.toEqual(resolve({}));
      expect(rerun(o), key).toEqual(o);
    }
    // All at once, one of each pair that cannot go together.
    const together = Object.assign(
      {},
      ...restored
        .filter(([k]) => k !== 'askPass' && k !== 'askKeyPassphrase' && k !== 'strictHostKeys')
        .map(([k]) => example(k)),
    );
    expect(rerun(resolve(together))).toEqual(resolve(together));
  });

  it('records the rows it says it does not restore, yet a rerun does not take them', () => {
    const o = resolve(example('deadline'));
    expect(record(o).deadline_s).toBe(30);
    expect(rerun(o).run.deadlineS).toBe(0);
  });

  it('restores what a run recorded before a field existed as the default', () => {
    const old = {
      user: null,
      port: null,
      keys: [],
      keys_explicit: false,
      password_source: null,
      agent: false,
      forks: 5,
      workers: 2,
      connect_timeout_s: 10,
      known_hosts: null,
      host_key_mode: 'accept-new' as const,
    };
    const o = resolve(overlayGiven(restoreOptions(old), {}, () => false));
    expect(o).toEqual(resolve({ forks: '5', workers: '2', connectTimeout: '10', hostKeyChecking: 'accept-new' }));
  });

  it('writes every field a run recorded by an earlier herd, and restores it to the same record', () => {
    // run.json written by the real engine (test/fixtures/run-dirs), before host_key_mode_explicit existed.
    const file = path.resolve(
      path.dirname(fileURLToPath(import.meta.url)),
      '../../fixtures/run-dirs/gate-held-back/run.json',
    );
    const old = JSON.parse(fs.readFileSync(file, 'utf8')).options;
    expect(Object.keys(old).length).toBeGreaterThan(15);
    expect(record(resolve(overlayGiven(restoreOptions(old), {}, () => false)))).toMatchObject(old);
  });

  it('lets a flag given to rerun win over the recorded one, and displace its alternative', () => {
    const recorded = record(resolve({ passwordEnv: 'A', forks: '3' }));
    const given = new Set(['askPass', 'forks']);
    const merged = overlayGiven(restoreOptions(recorded), { askPass: true, forks: '9', workers: '4' }, (k) =>
      given.has(k),
    );
    expect(merged).toMatchObject({ askPass: true, forks: '9' });
    expect(merged.passwordEnv).toBeUndefined();
    expect(merged.workers).not.toBe('4');
  });

  it('changes the worker config for every row that goes to the workers, and for no other', () => {
    const base = workerConfig(resolve({}), {});
    const secrets = ['askPass', 'passwordEnv', 'askKeyPassphrase', 'keyPassphraseEnv']; // resolved by launch.ts, then passed in
    for (const [key, row] of rows) {
      if (secrets.includes(key)) continue;
      const config = workerConfig(resolve(example(key)), {});
      if (row.goes.includes('worker')) expect(config, key).not.toEqual(base);
      else expect(config, key).toEqual(base);
    }
  });
});
