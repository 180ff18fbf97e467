// The derivations of src/cli/option-table.ts: commander's view of each row, run.json's record and
// rerun's restore from it, the worker config.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { Option } from 'commander';
import {
  DEFAULT_COMMAND_TIMEOUT_S,
  DEFAULT_CONNECT_RATE,
  DEFAULT_CONNECT_RETRIES,
  DEFAULT_CONNECT_TIMEOUT_S,
  DEFAULT_FORKS,
  DEFAULT_GRACE_S,
  DEFAULT_JUMP_SESSIONS,
  DEFAULT_MAX_HANDSHAKES,
  DEFAULT_OUT_DIR,
  defaultKeyPaths,
  defaultKnownHostsPath,
  defaultWorkers,
} from '../../../src/defaults.js';
import type { HostKeyMode } from '../../../src/transport/connect.js';
import type { JumpSpec } from '../../../src/transport/ssh-config.js';
import {
  COMMAND_OPTIONS,
  OPTIONS,
  optionsRecord,
  overlayGiven,
  restoreOptions,
  resolveOption,
  workerConfig,
  type CommandName,
  type PlainKey,
  type OptionKey,
  type OptionRow,
  type RawOptions,
  type Resolved,
} from '../../../src/cli/option-table.js';
import {
  resolveConnectionOptions,
  resolveRunOptions,
  type ConnectionOptions,
  type RunOptions,
  type SecretSource,
} from '../../../src/cli/options.js';

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
  shard: 'a rerun takes the hosts of the run it repeats; --shard on rerun splits those afresh',
  shardBy: 'a rerun takes the hosts of the run it repeats; --shard on rerun splits those afresh',
  shardCount: 'a rerun takes the hosts of the run it repeats; --shard on rerun splits those afresh',
  runGroup: 'a rerun takes the hosts of the run it repeats; --shard on rerun splits those afresh',
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

/** The resolved options as they were written by hand before they derived from the table. */
interface HandWrittenConnectionOptions {
  user: string | null;
  port: number | null;
  keys: string[];
  keysExplicit: boolean;
  passwordSource: SecretSource;
  keyPassphraseSource: SecretSource;
  knownHostsPath: string;
  hostKeyMode: HostKeyMode;
  connectTimeoutS: number;
  connectRetries: number;
  connectRate: number;
  sshConfigFile: string | undefined;
  jump: JumpSpec[] | null;
  jumpSessions: number;
  explicit: { connectTimeout: boolean; connectRetries: boolean; hostKeyMode: boolean; knownHosts: boolean };
}
interface HandWrittenRunOptions {
  forks: number;
  workers: number;
  maxHandshakes: number;
  timeoutS: number;
  idleTimeoutS: number;
  deadlineS: number;
  /** --persist: a keeper's idle time in ms; null without. */
  persistMs: number | null;
  maxOutputBytes: number;
  graceS: number;
  outDir: string;
  quiet: boolean;
  progress: boolean;
  stream: boolean;
  json: boolean;
  colour: boolean;
  workersExplicit: boolean;
}

/** Rows no single resolved field comes from: combined with others in options.ts (deriveConnection, deriveRun). */
const DERIVED_FROM = [
  'key',
  'askPass',
  'passwordEnv',
  'askKeyPassphrase',
  'keyPassphraseEnv',
  'strictHostKeys',
  'hostKeyChecking',
  'progress',
];

const plainRows = rows.filter((entry): entry is [PlainKey, OptionRow] => entry[1].into !== undefined);

describe('resolved options from the table', () => {
  it('types each resolved field by its row, as the hand-written interfaces did', () => {
    // Checked by tsc (npm run typecheck): a row's kind, number rule or resolve gives its field's type.
    expectTypeOf<ConnectionOptions>().toEqualTypeOf<HandWrittenConnectionOptions>();
    expectTypeOf<RunOptions>().toEqualTypeOf<HandWrittenRunOptions>();
    expectTypeOf(resolveOption('forks', {})).toEqualTypeOf<number>();
    expectTypeOf(resolveOption('user', {})).toEqualTypeOf<string | null>();
    expectTypeOf(resolveOption('quiet', {})).toEqualTypeOf<boolean>();
  });

  it("resolves every plain row's default and example to a value of its kind", () => {
    expect(plainRows.length).toBeGreaterThan(20);
    for (const [key, row] of plainRows) {
      for (const raw of [{}, example(key)]) {
        const value: unknown = resolveOption(key, raw);
        const where = `${key} from ${JSON.stringify(raw)}`;
        if (row.number && !(key === 'port' && value === null)) {
          expect(typeof value, where).toBe('number');
          expect(value as number, where).toBeGreaterThanOrEqual(row.number.min);
          if (row.number.max !== undefined) expect(value as number, where).toBeLessThanOrEqual(row.number.max);
        } else if (row.value === 'flag' || row.value === 'negated') {
          expect(typeof value, where).toBe('boolean');
        } else if (row.choices && value !== null) {
          expect(row.choices, where).toContain(value);
        }
      }
      // Given a value, a row resolves to something other than its default.
      expect(resolveOption(key, example(key)), key).not.toEqual(resolveOption(key, {}));
    }
  });

  it('resolves every row that reaches a connection, a worker or the session, alone or in a named derivation', () => {
    const reaching = rows.filter(([, row]) => row.goes.some((g) => ['connection', 'worker', 'session'].includes(g)));
    const unresolved = reaching.filter(([key, row]) => row.into === undefined && !DERIVED_FROM.includes(key));
    expect(unresolved.map(([key]) => key)).toEqual([]);
    for (const key of DERIVED_FROM) expect(OPTIONS[key as OptionKey], key).not.toHaveProperty('into');
  });

  it("resolves the table's defaults to exactly the defaults herd had", () => {
    expect(resolveConnectionOptions({})).toStrictEqual({
      user: null,
      port: null,
      keys: defaultKeyPaths(),
      keysExplicit: false,
      passwordSource: null,
      keyPassphraseSource: null,
      knownHostsPath: path.resolve(defaultKnownHostsPath()),
      hostKeyMode: 'accept-new',
      connectTimeoutS: DEFAULT_CONNECT_TIMEOUT_S,
      connectRetries: DEFAULT_CONNECT_RETRIES,
      connectRate: DEFAULT_CONNECT_RATE,
      sshConfigFile: undefined,
      jump: null,
      jumpSessions: DEFAULT_JUMP_SESSIONS,
      explicit: { connectTimeout: false, connectRetries: false, hostKeyMode: false, knownHosts: false },
    });
    expect(resolveRunOptions({})).toStrictEqual({
      forks: DEFAULT_FORKS,
      workers: defaultWorkers(),
      maxHandshakes: DEFAULT_MAX_HANDSHAKES,
      timeoutS: DEFAULT_COMMAND_TIMEOUT_S,
      idleTimeoutS: 0,
      deadlineS: 0,
      persistMs: null,
      maxOutputBytes: 0,
      graceS: DEFAULT_GRACE_S,
      outDir: path.resolve(DEFAULT_OUT_DIR),
      quiet: false,
      progress: true,
      stream: false,
      json: false,
      colour: true,
      workersExplicit: false,
    });
    // The derivations: -q takes the progress line away, as --no-progress does.
    expect(resolveRunOptions({ quiet: true }).progress).toBe(false);
    expect(resolveRunOptions({ progress: false }).progress).toBe(false);
  });
});
