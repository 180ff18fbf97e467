// What the operator sees of a playbook: each step's counts as it completes, the recap at the end
// (also under --check), herd show's recap and per-host steps, and --stream's step tags.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { foldHosts } from '../../src/report/fold.js';
import { openGate } from './gate.js';
import { HERD_BIN, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';
import { fleetArgs } from './fleet-args.js';
import { hasTmux, openTerminal, type Terminal } from './tmux.js';

const scope = useLoopbackFleet();

const conn = (runs: string): string[] => fleetArgs(scope, runs);

/**
 * Six hosts: two already have a filesystem (its step is skipped), two fail to mount; one more host refuses
 * connections.
 */
function disksPlay(): { book: string; inv: string; hosts: string[]; down: string; disk: string } {
  const { fleet, home } = scope;
  const disk = scratchDir('herd-recap-disk-');
  fs.chmodSync(disk, 0o777);
  const hosts = fleet.hosts(6, 3000);
  for (const h of hosts.slice(0, 2)) fs.writeFileSync(path.join(disk, `${h}.fs`), '');
  for (const h of hosts.slice(4)) fs.writeFileSync(path.join(disk, `${h}.broken`), '');
  const down = '127.0.0.1:1';
  const inv = path.join(home, 'recap.txt');
  fs.writeFileSync(inv, [...hosts, down].join('\n') + '\n');
  const book = path.join(home, 'recap.yml');
  fs.writeFileSync(
    book,
    `- name: data disks
  vars: { base: "${disk}" }
  steps:
    - name: inspect
      run: echo inspecting
      check: true
    - name: make filesystem
      run: touch {{ base }}/{{ host }}.fs
      creates: "{{ base }}/{{ host }}.fs"
    - name: mount
      run: 'test ! -e {{ base }}/{{ host }}.broken || { echo "mount: /dev/sdb on {{ host }}: wrong fs type" >&2; exit 32; }'
`,
  );
  return { book, inv, hosts, down, disk };
}

const EXIT_32 = 'mount: /dev/sdb on <host>: wrong fs type';

describe('herd play on the terminal (piped)', () => {
  it('prints each step as it completes, then the recap; --check shows what would change', async () => {
    const { home } = scope;
    const { book, inv, hosts } = disksPlay();
    const formatted = foldHosts(hosts.slice(0, 2));
    const broken = foldHosts(hosts.slice(4));
    const check = await runHerd(['play', '--check', '-i', inv, ...conn('runs-recap'), book], { env: { HOME: home } });
    expect(check.code).toBe(1);
    const checkSteps = [
      '[1.1] inspect: 6 ok',
      '[1.2] make filesystem: 4 would_run, 2 would_skip',
      `  2 would_skip: ${formatted}`,
      '[1.3] mount: 6 would_run',
    ];
    expect(check.stderr).toBe(
      [
        ...checkSteps,
        'recap:',
        ...checkSteps,
        '7 hosts: 6 ok, 1 unreachable',
        '  1 unreachable: connection refused',
        '      127.0.0.1:1',
        `recorded 6 new host keys in ${path.join(home, 'kh')}`,
        `results: ${runDirOf(check)}`,
        '',
      ].join('\n'),
    );
    const play = await runHerd(['play', '-i', inv, ...conn('runs-recap'), book], { env: { HOME: home } });
    expect(play.code).toBe(1);
    const steps = [
      '[1.1] inspect: 6 ok',
      '[1.2] make filesystem: 4 changed, 2 skipped',
      `  2 skipped: ${formatted}`,
      '[1.3] mount: 4 changed, 2 failed',
      '  2 failed: exit code 32',
      `      ${broken}`,
      `      | ${EXIT_32}`,
    ];
    expect(play.stderr).toBe(
      [
        ...steps,
        'recap:',
        ...steps,
        '7 hosts: 4 ok, 2 failed, 1 unreachable',
        '  2 failed: step 1.3 (mount): exit code 32',
        `      ${broken}`,
        `      | ${EXIT_32}`,
        '  1 unreachable: connection refused',
        '      127.0.0.1:1',
        `results: ${runDirOf(play)}`,
        '',
      ].join('\n'),
    );
    expect(play.stdout).toBe('');
  }, 60_000);
});

describe('herd show of a playbook run', () => {
  it("shows the recap, a host's steps with their output, an unreachable host's status, and refuses a bogus --status", async () => {
    const { home } = scope;
    const { book, inv, hosts } = disksPlay();
    const play = await runHerd(['play', '-i', inv, ...conn('runs-show'), book], { env: { HOME: home } });
    const dir = runDirOf(play);
    const show = await runHerd(['show', dir], { env: { HOME: home } });
    expect(show.code).toBe(0);
    expect(show.stdout).toBe(
      [
        'recap:',
        '[1.1] inspect: 6 ok',
        '[1.2] make filesystem: 4 changed, 2 skipped',
        `  2 skipped: ${foldHosts(hosts.slice(0, 2))}`,
        '[1.3] mount: 4 changed, 2 failed',
        '  2 failed: exit code 32',
        `      ${foldHosts(hosts.slice(4))}`,
        `      | ${EXIT_32}`,
        '',
      ].join('\n'),
    );
    expect(show.stderr).toContain('7 hosts: 4 ok, 2 failed, 1 unreachable\n');
    const failed = await runHerd(['show', dir, '--host', hosts[4]!], { env: { HOME: home } });
    expect(failed.stdout).toBe(
      '[1.1] inspect: ok\ninspecting\n[1.2] make filesystem: changed\n[1.3] mount: failed: exit code 32\n',
    );
    expect(failed.stderr).toBe(`mount: /dev/sdb on ${hosts[4]}: wrong fs type\n`);
    const down = await runHerd(['show', dir, '--host', '127.0.0.1:1'], { env: { HOME: home } });
    expect(down.code).toBe(0);
    expect(down.stdout).toBe('');
    expect(down.stderr).toBe('127.0.0.1:1 unreachable: connection refused\n');
    const bogus = await runHerd(['show', dir, '--status', 'bogus'], { env: { HOME: home } });
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toBe(
      'herd: --status bogus: not a host status; valid statuses: ok, failed, unreachable, auth_failed, hostkey_mismatch, ' +
        'hostkey_unknown, timeout, diverged, unverified, interrupted, not_started, error\n',
    );
  }, 60_000);
});

describe('herd play --stream', () => {
  it('tags every streamed line with its step, as output.log does', async () => {
    const { home } = scope;
    const { book, inv, hosts } = disksPlay();
    const play = await runHerd(['play', '--stream', '-i', inv, ...conn('runs-stream'), book], { env: { HOME: home } });
    const lines = play.stdout.split('\n').filter(Boolean).sort();
    const expected = [
      ...hosts.map((h) => `${h}: [1.1] inspecting`),
      ...hosts.slice(4).map((h) => `${h}: [1.3] mount: /dev/sdb on ${h}: wrong fs type`),
    ];
    expect(lines).toEqual(expected.sort());
    const log = fs
      .readFileSync(path.join(runDirOf(play), 'output.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .sort();
    expect(log).toEqual(lines);
  }, 60_000);
});

describe('herd play with serial batches', () => {
  it('prints a block per step per batch as each batch completes it, and the recap over all batches; --quiet neither', async () => {
    const { fleet, home } = scope;
    const hosts = fleet.hosts(4, 3100);
    const inv = path.join(home, 'serial.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const book = path.join(home, 'serial.yml');
    fs.writeFileSync(
      book,
      `- name: two by two\n  serial: 2\n  steps:\n    - name: one\n      run: 'true'\n    - name: two\n      run: 'true'\n`,
    );
    const play = await runHerd(['play', '-i', inv, ...conn('runs-serial'), book], { env: { HOME: home } });
    expect(play.code).toBe(0);
    const blocks = ['[1.1] one: 2 changed', '[1.2] two: 2 changed'];
    expect(play.stderr).toBe(
      [
        ...blocks,
        ...blocks,
        'recap:',
        '[1.1] one: 4 changed',
        '[1.2] two: 4 changed',
        '4 hosts: 4 ok',
        `recorded 4 new host keys in ${path.join(home, 'kh')}`,
        `results: ${runDirOf(play)}`,
        '',
      ].join('\n'),
    );
    // --quiet: only the final summary, no step blocks and no recap.
    const quiet = await runHerd(['play', '-q', '-i', inv, ...conn('runs-serial'), book], { env: { HOME: home } });
    expect(quiet.stderr).toBe(`4 hosts: 4 ok\nresults: ${runDirOf(quiet)}\n`);
  }, 60_000);
});

describe('gates and reruns in the recap', () => {
  it('prints a consensus step after its verdict, with the held-back hosts as diverged', async () => {
    const { fleet, home } = scope;
    const hosts = fleet.hosts(4, 3300);
    const inv = path.join(home, 'gate.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const book = path.join(home, 'gate.yml');
    const odd = `[ {{ host }} = ${hosts[2]} ]`;
    fs.writeFileSync(
      book,
      `- name: gate\n  steps:\n    - name: inspect disks\n      run: 'if ${odd}; then echo sdm; else echo sdb; fi'\n` +
        `      check: true\n      expect: { consensus: true }\n    - name: format\n      run: 'true'\n`,
    );
    const play = await runHerd(['play', '-i', inv, ...conn('runs-gate'), book], { env: { HOME: home } });
    expect(play.code).toBe(1);
    const gate = [
      '[1.1] inspect disks: 3 ok, 1 diverged',
      '  1 diverged: output differs from the majority; held back from later steps',
      `      ${hosts[2]}`,
      '[1.2] format: 3 changed',
    ].join('\n');
    const verdict = play.stderr.indexOf('  [HELD BACK] 1 host: ');
    expect(verdict).toBeGreaterThan(-1);
    expect(play.stderr.indexOf(`${gate}\nrecap:\n${gate}\n4 hosts: 3 ok, 1 diverged\n`)).toBeGreaterThan(verdict);
  }, 60_000);

  it('a rerun prints the resumed steps as they complete and counts the earlier ones already_done in its recap', async () => {
    const { home } = scope;
    const { book, inv, hosts, disk } = disksPlay();
    const first = await runHerd(['play', '-i', inv, ...conn('runs-rerun'), book], { env: { HOME: home } });
    expect(first.code).toBe(1);
    for (const h of hosts.slice(4)) fs.rmSync(path.join(disk, `${h}.broken`));
    // conn() without -o: rerun takes the run directory's parent with -o.
    const rerun = await runHerd(['rerun', '-o', path.join(home, 'runs-rerun'), ...conn('runs-rerun').slice(0, 8)], {
      env: { HOME: home },
    });
    expect(rerun.code).toBe(1);
    expect(rerun.stderr).toBe(
      [
        '[1.3] mount: 2 changed',
        'recap:',
        '[1.1] inspect: 2 already_done',
        '[1.2] make filesystem: 2 already_done',
        '[1.3] mount: 2 changed',
        '3 hosts: 2 ok, 1 unreachable',
        '  1 unreachable: connection refused',
        '      127.0.0.1:1',
        `results: ${runDirOf(rerun)}`,
        '',
      ].join('\n'),
    );
  }, 60_000);
});

describe.runIf(hasTmux)('herd play in a real terminal', () => {
  let term: Terminal;
  afterAll(() => term?.close());

  it("prints the step blocks above the live area and the recap, a host's escape sequences shown escaped", async () => {
    const { fleet, home } = scope;
    const hosts = fleet.hosts(6, 3200);
    const inv = path.join(home, 'tty-recap.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const book = path.join(home, 'tty-recap.yml');
    const bad = hosts
      .slice(4)
      .map((h) => `[ {{ host }} = ${h} ]`)
      .join(' || ');
    // The last three hosts hold in step 1.2 on a gate until the test has seen the screen it wants.
    const hold = openGate();
    const mount = `case {{ host }} in ${hosts.slice(3).join('|')}) ${hold.command('true')};; esac; if ${bad}; then printf "bad \\\\033[31mred\\\\n" >&2; exit 3; fi`;
    fs.writeFileSync(
      book,
      `- name: tty\n  steps:\n    - name: settle\n      run: 'true'\n    - name: mount\n      run: |\n        ${mount}\n`,
    );
    term = await openTerminal({ name: 'recap', width: 150, height: 45 });
    const cmd =
      `HOME=${home} ${HERD_BIN} play -i ${inv} -u ${fleet.user} -p ${fleet.port} -k ${fleet.keyPath} ` +
      `--known-hosts ${home}/kh -o ${home}/runs-tty -f 3 ${book}; echo "EXIT=$?"`;
    term.send(cmd);
    // -f 3: the last three hosts start once the first three are through; step 1.1 is complete when
    // they have done it, while they are held in step 1.2: its block is above the live area.
    let during: string;
    try {
      during = await term.waitFor((s) => s.includes('[1.1] settle: 6 changed') && /herd \d+\/6 /.test(s), 60_000);
    } finally {
      hold.release();
    }
    expect(during).not.toContain('[1.2] mount');
    const after = await term.waitFor((s) => /^EXIT=\d+$/m.test(s), 30_000);
    expect(after).toContain('EXIT=1');
    expect(hold.started().sort()).toEqual(hosts.slice(3).sort());
    const blocks = [
      '[1.1] settle: 6 changed',
      '[1.2] mount: 4 changed, 2 failed',
      '  2 failed: exit code 3',
      `      ${foldHosts(hosts.slice(4))}`,
      '      | bad \\x1b[31mred',
    ].join('\n');
    expect(after).toContain(`${blocks}\nrecap:\n${blocks}\n6 hosts: 4 ok, 2 failed\n`);
    // The live area was cleared, and nothing a host sent drove the terminal (no red, no raw escape).
    expect(after).not.toMatch(/herd \d+\/6 /);
    expect(after).not.toMatch(/\[2K|\x1b/);
  }, 120_000);
});
