import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import {
  COMMAND_LINE_ONLY,
  CONFIGURABLE,
  envNotSettings,
  configKey,
  envName,
  fillFromFiles,
  mergeLayers,
  parseConfigFile,
  parseEnv,
  type Setting,
} from '../../../src/cli/config-file.js';
import {
  COMMAND_OPTIONS,
  OPTIONS,
  flagOf,
  numberSpec,
  type NumberKey,
  type OptionKey,
} from '../../../src/cli/option-table.js';
import { parseNumber } from '../../../src/cli/options.js';

const HOME = '/home/ops';
const parse = (text: string) => parseConfigFile({ path: '/repo/herd.yml', display: 'herd.yml', text }, HOME);
const valueOf = (text: string, key: OptionKey) => parse(text).get(key as never)?.value;
const errorOf = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
};

describe('which options a file may set', () => {
  it('classifies every option of the table: settable in a file, or command line only with a reason', () => {
    const all = Object.keys(OPTIONS).sort();
    expect([...CONFIGURABLE, ...Object.keys(COMMAND_LINE_ONLY)].sort()).toEqual(all);
    expect(CONFIGURABLE.filter((k) => k in COMMAND_LINE_ONLY)).toEqual([]);
  });

  it('herd config takes exactly the settable options, and --json', () => {
    expect([...COMMAND_OPTIONS.config].sort()).toEqual([...CONFIGURABLE, 'json'].sort());
  });

  it('derives keys and HERD_* names from the rows', () => {
    expect(configKey('forks')).toBe('forks');
    expect(configKey('connectTimeout')).toBe('connect_timeout');
    expect(configKey('sshConfig')).toBe('ssh_config');
    expect(envName('forks')).toBe('HERD_FORKS');
    expect(envName('connectTimeout')).toBe('HERD_CONNECT_TIMEOUT');
    expect(envName('progress')).toBe('HERD_PROGRESS');
  });
});

describe('parseConfigFile', () => {
  it('reads each kind of value the way its flag reads it', () => {
    const s = parse(
      'forks: 50\nconnect_timeout: 2.5\nuser: ops\ninventory: [web.txt, /etc/herd/db.txt]\nkey: ~/.ssh/ops\n' +
        'known_hosts: kh\nssh_config: none\nout: ../runs\nquiet: yes\nprogress: off\nhost_key_checking: strict\nmax_output: 10M\n',
    );
    expect(Object.fromEntries([...s].map(([k, v]) => [k, v.value]))).toEqual({
      forks: '50',
      connectTimeout: '2.5',
      user: 'ops',
      inventory: ['/repo/web.txt', '/etc/herd/db.txt'],
      key: ['/home/ops/.ssh/ops'],
      knownHosts: '/repo/kh',
      sshConfig: 'none',
      out: '/runs',
      quiet: true,
      progress: false,
      hostKeyChecking: 'strict',
      maxOutput: '10M',
    });
    expect(s.get('forks')!.origin).toEqual({
      kind: 'file',
      file: '/repo/herd.yml',
      display: 'herd.yml',
      line: 1,
      column: 8,
    });
    expect(valueOf('inventory: hosts.txt\n', 'inventory')).toEqual(['/repo/hosts.txt']);
  });

  it('an empty file or one of comments sets nothing', () => {
    expect(parse('').size).toBe(0);
    expect(parse('# nothing yet\n').size).toBe(0);
  });

  it('checks numbers with the rule and words of the flag, naming file:line:column and the key instead of the flag', () => {
    expect(errorOf(() => parse('user: ops\n\nforks: x\n'))).toBe(
      'herd.yml:3:8: forks: expected an integer >= 1, got "x"',
    );
    for (const key of Object.keys(OPTIONS) as OptionKey[]) {
      const spec = (OPTIONS[key] as { number?: unknown }).number;
      if (!spec || !(CONFIGURABLE as readonly string[]).includes(key)) continue;
      const cli = errorOf(() => parseNumber(flagOf(key), '-1.5x', 0, numberSpec(key as NumberKey)));
      const word = configKey(key);
      expect(errorOf(() => parse(`${word}: -1.5x\n`))).toBe(
        `herd.yml:1:${word.length + 3}: ${word}${cli.slice(flagOf(key).length)}`,
      );
    }
  });

  it.each([
    ['forsk: 3\n', 'herd.yml:1:1: unknown setting "forsk" (did you mean "forks"?)'],
    [
      'forks: 3\nconect_timeout: 3\n',
      'herd.yml:2:1: unknown setting "conect_timeout" (did you mean "connect_timeout"?)',
    ],
    ['frobnicate: 1\n', 'herd.yml:1:1: unknown setting "frobnicate"; `herd config` lists them'],
    [
      'password: hunter2\n',
      'herd.yml:1:1: password: secrets are not kept in files; set password_env to the name of an environment variable that holds it',
    ],
    [
      'key_passphrase: x\n',
      'herd.yml:1:1: key_passphrase: secrets are not kept in files; set key_passphrase_env to the name of an environment variable that holds it',
    ],
    [
      'become_pass: x\n',
      'herd.yml:1:1: become_pass: secrets are not kept in files; set become_pass_env to the name of an environment variable that holds it',
    ],
    [
      'password_env: "hunter 2!"\n',
      'herd.yml:1:15: password_env: expected the name of an environment variable (the secret stays in the environment), got "hunter 2!"',
    ],
    [
      'limit: web\n',
      'herd.yml:1:1: limit is for the command line only: a default selection would silently narrow every command',
    ],
    ['runs_dir: r\n', 'herd.yml:1:1: runs_dir is for the command line only: herd report reads its runs from out:'],
    [
      'json: true\n',
      'herd.yml:1:1: json is for the command line only: it changes what stdout is under the scripts that read it',
    ],
    ['quiet: maybe\n', 'herd.yml:1:8: quiet: expected true or false, got a string'],
    ['quiet: "yes"\n', 'herd.yml:1:8: quiet: expected true or false, got a string'],
    ['user: [a, b]\n', 'herd.yml:1:7: user: expected a string, got a list'],
    ['user:\n', 'herd.yml:1:6: user: expected a string, got nothing'],
    [
      'host_key_checking: yolo\n',
      'herd.yml:1:20: host_key_checking: expected one of accept-new, strict, off, got "yolo"',
    ],
    ['max_output: lots\n', 'herd.yml:1:13: max_output: expected a size such as 4096, 512K, 10M or 1G, got "lots"'],
    ['inventory: "-"\n', 'herd.yml:1:12: inventory: "-" (stdin) is for the command line'],
    ['ask_pass: true\npassword_env: P\n', 'herd.yml:1:11: ask_pass and password_env: choose one'],
    ['- forks\n', 'herd.yml:1:1: expected a mapping of settings (forks: 50), got a list'],
    ['forks: 3\nforks: 4\n', /^herd\.yml:2:1: YAML syntax: /],
    ['forks: [1\n', /^herd\.yml:2:1: YAML syntax: /],
  ])('refuses %j', (text, message) => {
    const got = errorOf(() => parse(text));
    if (typeof message === 'string') expect(got).toBe(message);
    else expect(got).toMatch(message);
  });
});

describe('parseEnv', () => {
  it('reads HERD_* by the rows, lists :-separated, booleans as YAML 1.1 spells them; empty is unset; others are ignored', () => {
    const s = parseEnv(
      {
        HERD_FORKS: '9',
        HERD_INVENTORY: 'a.txt:/b.txt',
        HERD_QUIET: 'yes',
        HERD_USER: '',
        HERD_PASS: 'secret',
        HERD_TEST_X: '1',
      },
      HOME,
    );
    expect(Object.fromEntries([...s].map(([k, v]) => [k, v.value]))).toEqual({
      forks: '9',
      inventory: ['a.txt', '/b.txt'],
      quiet: true,
    });
    expect(s.get('forks')!.origin).toEqual({ kind: 'env', variable: 'HERD_FORKS' });
  });

  it.each([
    [{ HERD_FORKS: 'x' }, 'HERD_FORKS: expected an integer >= 1, got "x"'],
    [{ HERD_QUIET: 'maybe' }, 'HERD_QUIET: expected true or false (or yes/no, on/off), got "maybe"'],
    [{ HERD_HOST_KEY_CHECKING: 'yolo' }, 'HERD_HOST_KEY_CHECKING: expected one of accept-new, strict, off, got "yolo"'],
    [{ HERD_ASK_PASS: 'yes', HERD_PASSWORD_ENV: 'P' }, 'HERD_ASK_PASS and HERD_PASSWORD_ENV: choose one'],
  ])('refuses %j', (env, message) => {
    const got = errorOf(() => parseEnv(env, HOME));
    if (typeof message === 'string') expect(got).toBe(message);
    else expect(got).toMatch(message);
  });
});

describe('mergeLayers', () => {
  const at = (key: string, value: Setting['value'], origin: Setting['origin']): [never, Setting] => [
    key as never,
    { key: key as never, value, origin },
  ];
  const user = new Map([
    at('forks', '1', { kind: 'file', file: '/u', display: '/u', line: 1, column: 1 }),
    at('askPass', true, { kind: 'file', file: '/u', display: '/u', line: 2, column: 1 }),
  ]);
  const project = new Map([
    at('forks', '2', { kind: 'file', file: '/p', display: 'herd.yml', line: 1, column: 1 }),
    at('user', 'ops', { kind: 'file', file: '/p', display: 'herd.yml', line: 2, column: 1 }),
  ]);
  const env = new Map([
    at('user', 'root', { kind: 'env', variable: 'HERD_USER' }),
    at('passwordEnv', 'P', { kind: 'env', variable: 'HERD_PASSWORD_ENV' }),
  ]);

  it('command line > HERD_* > herd.yml > user config; a winner drops the lower ways of saying the same', () => {
    const merged = mergeLayers([user, project, env], new Set<OptionKey>(['port']));
    expect(Object.fromEntries([...merged].map(([k, v]) => [k, v.value]))).toEqual({
      forks: '2',
      user: 'root',
      passwordEnv: 'P',
    });
    const given = mergeLayers([user, project, env], new Set<OptionKey>(['user', 'forks', 'askPass']));
    expect(Object.fromEntries([...given].map(([k, v]) => [k, v.value]))).toEqual({});
  });

  it('rerun: file values fill only what the restored run and the command line leave open, never a rival', () => {
    expect(
      fillFromFiles(
        { forks: '3', askPass: true },
        new Map<string, unknown>([
          ['forks', '9'],
          ['grace', '1'],
          ['passwordEnv', 'P'],
        ]),
      ),
    ).toEqual({
      forks: '3',
      askPass: true,
      grace: '1',
    });
  });
});

describe('envNotSettings', () => {
  it('refuses a HERD_* naming a command-line-only option, warns on a near miss, leaves other HERD_* alone', () => {
    expect(errorOf(() => envNotSettings({ HERD_LIMIT: 'web*' }))).toBe(
      'HERD_LIMIT: limit is for the command line only: a default selection would silently narrow every command',
    );
    expect(errorOf(() => envNotSettings({ HERD_CHECK: 'yes' }))).toBe(
      'HERD_CHECK: check is for the command line only: it describes one playbook run',
    );
    expect(
      envNotSettings({
        HERD_FROKS: '3',
        HERD_PASS: 'secret',
        HERD_FORKS: '3',
        HERD_TEST_EVENTS_FILE: '/x',
        HERD_LIMIT: '',
      }),
    ).toEqual(['HERD_FROKS is not a setting (did you mean HERD_FORKS?); it is not read']);
  });
});
