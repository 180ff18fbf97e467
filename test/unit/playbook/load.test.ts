import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadPlaybook } from '../../../src/playbook/index.js';
import type { Playbook } from '../../../src/playbook/types.js';

const exists = (p: string) => p.endsWith('/files/present.sh') || p.endsWith('/files/app/');
const load = (text: string, extraVars: Record<string, string> = {}) =>
  loadPlaybook({ file: '/pb/site.yml', text }, { fileExists: exists, extraVars });

describe('valid playbooks', () => {
  it('reads a single play with defaults and derived step names', () => {
    const pb = load('steps:\n  - run: mkdir -p /data\n  - name: named\n    run: true\n');
    expect(pb.plays).toHaveLength(1);
    const play = pb.plays[0]!;
    expect(play).toMatchObject({ index: 1, name: 'play 1', hosts: 'all', vars: {} });
    expect(play.steps.map((s) => s.name)).toEqual(['run: mkdir -p /data', 'named']);
    expect(play.steps[0]).toMatchObject({
      kind: 'run',
      check: false,
      become: false,
      ignoreErrors: false,
      position: { line: 2, column: 5 },
    });
  });

  it('reads a list of plays with every step option', () => {
    const pb = load(`- name: disks
  hosts: storage,!db
  vars: { dev: /dev/sdb, size: 10 }
  serial: 10%
  max_fail: 2
  steps:
    - name: inspect
      run: lsblk
      check: true
      expect: { consensus: true, exit: [0, 1], stdout: "^sd" }
      timeout: 30
    - script: files/present.sh
      args: "{{ dev }}"
      become: true
      ignore_errors: true
      unless: blkid {{ dev }}
- steps:
    - push: { src: files/app/, dest: "/opt/app-{{ host }}" }
    - pull: { src: /var/log, dest: logs }
`);
    expect(pb.plays).toHaveLength(2);
    const [a, b] = pb.plays;
    expect(a).toMatchObject({
      hosts: 'storage,!db',
      vars: { dev: '/dev/sdb', size: '10' },
      serial: { kind: 'percent', p: 10 },
      maxFail: { kind: 'count', n: 2 },
    });
    expect(a!.steps[0]).toMatchObject({
      check: true,
      expect: { consensus: true, exit: [0, 1], stdout: '^sd' },
      timeoutS: 30,
    });
    expect(a!.steps[1]).toMatchObject({
      kind: 'script',
      script: '/pb/files/present.sh',
      args: '{{ dev }}',
      become: true,
      ignoreErrors: true,
      unless: 'blkid {{ dev }}',
    });
    expect(b!.steps[0]).toMatchObject({ kind: 'push', src: '/pb/files/app/', dest: '/opt/app-{{ host }}' });
    expect(b!.steps[1]).toMatchObject({ kind: 'pull', src: '/var/log', dest: 'logs' });
  });

  it('accepts variables from --var', () => {
    expect(load('steps:\n  - run: echo {{ extra }}\n', { extra: 'x' }).plays[0]!.steps[0]).toMatchObject({
      run: 'echo {{ extra }}',
    });
  });

  it('loads every example in playbooks/', () => {
    const dir = path.resolve(__dirname, '../../../playbooks');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yml'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      const file = path.join(dir, f);
      expect(
        loadPlaybook({ file, text: fs.readFileSync(file, 'utf8') }, { fileExists: fs.existsSync }).plays.length,
      ).toBeGreaterThan(0);
    }
  });
});

describe('validation errors carry file:line:col', () => {
  it.each([
    ['steps:\n  - run: [unclosed\n', /^\/pb\/site\.yml:3:1: YAML syntax: /],
    ['', '/pb/site.yml:1:1: the playbook is empty: expected a play or a list of plays'],
    ['just text\n', '/pb/site.yml:1:1: expected a play (a mapping) or a list of plays'],
    ['name: x\n', '/pb/site.yml:1:1: play 1: missing "steps"'],
    ['steps: []\n', '/pb/site.yml:1:8: expected a non-empty list for "steps", got a list'],
    ['hostz: web\nsteps:\n  - run: x\n', '/pb/site.yml:1:1: unknown play key "hostz" (did you mean "hosts"?)'],
    [
      'steps:\n  - run: mkfs\n    unles: blkid\n',
      '/pb/site.yml:3:5: unknown step key "unles" (did you mean "unless"?)',
    ],
    ['steps:\n  - run: x\n    frobnicate: 1\n', /^\/pb\/site\.yml:3:5: unknown step key "frobnicate"; allowed: /],
    ['steps:\n  - name: nothing\n', '/pb/site.yml:2:5: step 1: needs one of run, script, push, pull'],
    [
      'steps:\n  - run: x\n    pull: { src: a, dest: b }\n',
      '/pb/site.yml:3:5: step 1: has both "run" and "pull"; a step does one thing',
    ],
    ['steps:\n  - run: [a, b]\n', '/pb/site.yml:2:10: expected a string for "run", got a list'],
    [
      'steps:\n  - run: x\n    check: yes please\n',
      '/pb/site.yml:3:12: expected true or false for "check", got a string',
    ],
    [
      'steps:\n  - run: x\n    timeout: -3\n',
      '/pb/site.yml:3:14: expected a positive number of seconds for "timeout", got -3',
    ],
    [
      'serial: 0\nsteps:\n  - run: x\n',
      '/pb/site.yml:1:9: expected a positive count or a percentage like "10%" for "serial", got 0',
    ],
    [
      'max_fail: 150%\nsteps:\n  - run: x\n',
      '/pb/site.yml:1:11: expected a count (0 or more) or a percentage like "10%" for "max_fail", got "150%"',
    ],
    [
      'steps:\n  - run: x\n    expect: { stdout: "([" }\n',
      /^\/pb\/site\.yml:3:23: bad regular expression for "stdout": /,
    ],
    [
      'steps:\n  - run: x\n    expect: { exit: [0, 300] }\n',
      '/pb/site.yml:3:25: expected exit codes 0-255 for "exit", got 300',
    ],
    [
      'steps:\n  - run: echo {{ dev }}\n',
      /^\/pb\/site\.yml:2:15: unknown variable "dev"; known: host, port, run_id, user$/,
    ],
    [
      'vars: { a: "{{ b }}" }\nsteps:\n  - run: x\n',
      '/pb/site.yml:1:13: unknown variable "b" (play vars may use built-ins and --var values only)',
    ],
    ['steps:\n  - run: x\n    unless: "test -e {{ mnt }}"\n', /^\/pb\/site\.yml:3:22: unknown variable "mnt"/],
    [
      'steps:\n  - script: files/missing.sh\n',
      '/pb/site.yml:2:13: script files/missing.sh not found (looked for /pb/files/missing.sh)',
    ],
    [
      'steps:\n  - push: { src: nope/, dest: /x }\n',
      '/pb/site.yml:2:18: push source nope/ not found (looked for /pb/nope/)',
    ],
    ['steps:\n  - push: { src: files/app/ }\n', '/pb/site.yml:2:11: push: missing "dest"'],
    ['steps:\n  - run: x\n    args: y\n', '/pb/site.yml:3:5: "args" only goes with "script"'],
    ['vars: { 9x: 1 }\nsteps:\n  - run: x\n', '/pb/site.yml:1:9: bad variable name "9x": use letters, digits and _'],
  ])('rejects %j', (text, message) => {
    let error: Error | undefined;
    try {
      load(text);
    } catch (err) {
      error = err as Error;
    }
    expect(error, 'expected a PlaybookError').toBeDefined();
    expect((error as { code?: string }).code).toBe('E_PLAYBOOK');
    if (typeof message === 'string') expect(error!.message).toBe(message);
    else expect(error!.message).toMatch(message);
  });
});

describe('fields that are not templated are refused at load time', () => {
  it.each([
    ['script', 'steps:\n  - script: "files/{{ host }}.sh"\n', '/pb/site.yml:2:20: "script" is not templated'],
    ['step name', 'steps:\n  - name: "format {{ dev }}"\n    run: x\n', '/pb/site.yml:2:19: "name" is not templated'],
    ['play name', 'name: "disks of {{ host }}"\nsteps:\n  - run: x\n', '/pb/site.yml:1:17: "name" is not templated'],
    ['hosts', 'hosts: "{{ group }}"\nsteps:\n  - run: x\n', '/pb/site.yml:1:9: "hosts" is not templated'],
  ])('%s', (_, text, message) => {
    expect(() => load(text)).toThrow(message);
  });
});

describe('malformed and unknown templates are refused at load time', () => {
  it.each([
    ['a filter', 'steps:\n  - run: echo {{ host | upper }}\n', '/pb/site.yml:2:15: malformed template'],
    ['a Go template', "steps:\n  - run: docker ps --format '{{.Names}}'\n", '/pb/site.yml:2:30: malformed template'],
    ['an unclosed {{', 'steps:\n  - run: x\n    when: test {{ host\n', '/pb/site.yml:3:16: malformed template'],
    ['the second {{ of a value', 'steps:\n  - run: echo {{ host }} {{ port\n', '/pb/site.yml:2:26: malformed template'],
    [
      'in expect.stdout',
      'steps:\n  - run: x\n    expect: { stdout: "{{ nope }}" }\n',
      '/pb/site.yml:3:24: unknown variable "nope"',
    ],
    [
      'in push dest',
      'steps:\n  - push: { src: files/app/, dest: "/x/{{ nope }}" }\n',
      '/pb/site.yml:2:40: unknown variable "nope"',
    ],
    [
      'a play var named like a built-in',
      'vars: { host: x }\nsteps:\n  - run: x\n',
      '/pb/site.yml:1:9: "host" is a built-in variable',
    ],
  ])('%s', (_, text, message) => {
    expect(() => load(text)).toThrow(message);
  });
});

// Ansible reads playbooks with PyYAML (YAML 1.1): PyYAML itself is the oracle for which spellings are
// booleans and what they mean; the `yaml` package's YAML 1.1 schema is not (it also reads y/n).
describe('booleans written the Ansible way', () => {
  const SPELLINGS = [
    ...['yes', 'no', 'true', 'false', 'on', 'off'].flatMap((w) => [
      w,
      w[0]!.toUpperCase() + w.slice(1),
      w.toUpperCase(),
    ]),
    'y',
    'Y',
    'n',
    'N',
    'yEs',
    'oN',
    'OfF',
    'tRUE',
    't',
    'f',
    '1',
    '0',
    'enable',
    '"yes"',
    "'no'",
    '"true"',
    'yes please',
    '~',
    'null',
  ];
  const pyyaml = (): unknown[] =>
    JSON.parse(
      execFileSync(
        'python3',
        [
          '-c',
          'import json,sys,yaml\nprint(json.dumps([yaml.safe_load("v: " + s)["v"] for s in json.load(sys.stdin)]))',
        ],
        {
          input: JSON.stringify(SPELLINGS),
        },
      ).toString(),
    ) as unknown[];

  it('reads exactly the spellings PyYAML reads as booleans, with their value, in every boolean field; the rest stay errors', () => {
    const oracle = pyyaml();
    expect(oracle.filter((v) => typeof v === 'boolean')).toHaveLength(18);
    const fields = [
      (s: string) => [`steps:\n  - run: x\n    check: ${s}\n`, (pb: Playbook) => pb.plays[0]!.steps[0]!.check, '3:12'],
      (s: string) => [
        `steps:\n  - run: x\n    become: ${s}\n`,
        (pb: Playbook) => pb.plays[0]!.steps[0]!.become,
        '3:13',
      ],
      (s: string) => [`become: ${s}\nsteps:\n  - run: x\n`, (pb: Playbook) => pb.plays[0]!.steps[0]!.become, '1:9'],
      (s: string) => [
        `steps:\n  - run: x\n    ignore_errors: ${s}\n`,
        (pb: Playbook) => pb.plays[0]!.steps[0]!.ignoreErrors,
        '3:20',
      ],
      (s: string) => [
        `steps:\n  - run: x\n    expect:\n      consensus: ${s}\n`,
        (pb: Playbook) => pb.plays[0]!.steps[0]!.expect?.consensus,
        '4:18',
      ],
    ] as const;
    SPELLINGS.forEach((spelling, i) => {
      const want = oracle[i];
      for (const field of fields) {
        const [text, read, at] = field(spelling) as [string, (pb: Playbook) => unknown, string];
        if (typeof want === 'boolean') expect(read(load(text)), `${spelling} in ${text}`).toBe(want);
        else
          expect(() => load(text), `${spelling} in ${text}`).toThrow(
            new RegExp(`^/pb/site\\.yml:${at}: expected true or false for `),
          );
      }
    });
  });
});

describe('become at play and step level, become_user and become_method (as Ansible writes them)', () => {
  it('a play-level become is every step default; a step says otherwise for itself; become_user is sudo -u', () => {
    const pb = load(`become: yes
become_user: postgres
steps:
  - run: a
  - run: b
    become: no
  - run: c
    become_user: backup
  - run: d
    become_method: sudo
`);
    expect(pb.plays[0]!.steps.map((s) => [s.become, s.becomeUser])).toEqual([
      [true, 'postgres'],
      [false, undefined],
      [true, 'backup'],
      [true, 'postgres'],
    ]);
    const plain = load('steps:\n  - run: a\n    become: true\n').plays[0]!.steps[0]!;
    expect([plain.become, plain.becomeUser]).toEqual([true, undefined]);
  });

  it.each([
    [
      'become_method: su\nsteps:\n  - run: a\n',
      '1:16: become_method "su" is not supported: herd becomes another user through sudo only',
    ],
    ['steps:\n  - run: a\n    become: true\n    become_method: doas\n', '4:20: become_method "doas" is not supported'],
    ['steps:\n  - run: a\n    become_user: root\n', '3:5: "become_user" does nothing without "become: true"'],
    [
      'become_user: root\nsteps:\n  - run: a\n',
      '1:1: "become_user" does nothing here: no step of this play has "become: true"',
    ],
    ['become: true\nbecome_user: "x; rm -rf /"\nsteps:\n  - run: a\n', '2:14: expected a user name for "become_user"'],
    ['become: true\nbecome_user: "{{ who }}"\nsteps:\n  - run: a\n', '2:15: "become_user" is not templated'],
    ['become: true\nbecome_user: [a]\nsteps:\n  - run: a\n', '2:14: expected a string for "become_user"'],
  ])('refuses %j at file:line:column', (text, message) => {
    expect(() => load(text)).toThrow(`/pb/site.yml:${message}`);
  });
});

describe('keys written by Ansible habit', () => {
  it.each([
    ['- hosts: all\n  tasks:\n    - run: x\n', '2:3: unknown play key "tasks" (did you mean "steps"?)'],
    ['steps:\n  - shell: x\n', '2:5: unknown step key "shell" (did you mean "run"?)'],
    ['steps:\n  - command: x\n', '2:5: unknown step key "command" (did you mean "run"?)'],
    ['steps:\n  - copy: { src: a, dest: b }\n', '2:5: unknown step key "copy" (did you mean "push"?)'],
    ['steps:\n  - fetch: { src: a, dest: b }\n', '2:5: unknown step key "fetch" (did you mean "pull"?)'],
    [
      'max_fail_percentage: 10\nsteps:\n  - run: x\n',
      '1:1: unknown play key "max_fail_percentage" (did you mean "max_fail"?)',
    ],
    ['steps:\n  - run: x\n    register: r\n', '3:5: unknown step key "register"; allowed: run, script'],
  ])("names herd's word for %j", (text, message) => {
    expect(() => load(text)).toThrow(`/pb/site.yml:${message}`);
  });
});
