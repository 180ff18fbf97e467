// What the operator sees of a playbook: each step's counts as it completes, the recap at the end
// (also under --check), herd show's recap and per-host steps, and --stream's step tags.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { foldHosts } from '../../src/report/fold.js';
import { runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

function conn(runs: string): string[] {
  const { fleet, home } = scope;
  return ['-u', fleet.user, '-p', String(fleet.port), '-k', fleet.keyPath, '--known-hosts', path.join(home, 'kh'), '-o', path.join(home, runs)];
}

/** Six hosts: two already have a filesystem (its step is skipped), two fail to mount; one more host refuses connections. */
function disksPlay(): { book: string; inv: string; hosts: string[]; down: string } {
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
  return { book, inv, hosts, down };
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
    const checkSteps = ['[1.1] inspect: 6 ok', '[1.2] make filesystem: 4 would_run, 2 would_skip', `  2 would_skip: ${formatted}`, '[1.3] mount: 6 would_run'];
    expect(check.stderr).toBe(
      [
        ...checkSteps,
        'recap:',
        ...checkSteps,
        '7 hosts: 6 ok, 1 unreachable',
        '  1 unreachable: connection refused',
        '      127.0.0.1:1',
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
