// Why hosts failed, on the terminal: failed hosts grouped by reason and by the start of their
// stderr (the host's own name masked), each group's stderr excerpt shown once, for ad-hoc runs,
// playbook steps and herd show. The real sshd fleet produces every stderr.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { foldHosts } from '../../src/report/fold.js';
import { runDirOf, runHerd, useLoopbackFleet } from './herd-cli.js';
import { fleetArgs, writeInventory } from './fleet-args.js';

const scope = useLoopbackFleet();

const conn = (out: string): string[] => ['--no-progress', ...fleetArgs(scope, out)];

const inventory = (name: string, hosts: string[]): string => writeInventory(scope, name, hosts);

const ME = `me=$(echo "$SSH_CONNECTION" | cut -d' ' -f3)`;

describe('failed hosts grouped by the start of their stderr', () => {
  it('shows each distinct error once, the host masked, long stderr cut with a note; herd show shows the same', async () => {
    const hosts = scope.fleet.hosts(8, 2100);
    const [ls, masked, long, huge, wide] = [hosts.slice(0, 3), hosts.slice(3, 5), hosts[5]!, hosts[6]!, hosts[7]!];
    const cmd = [
      ME,
      `case "$me" in`,
      ...ls.map((h) => `  ${h}) ls /nonexistent ;;`),
      // The same error naming each host's own address, spaced differently on each.
      `  ${masked[0]}) echo "mkfs: $me:  /dev/sdb   is mounted" >&2; exit 2 ;;`,
      `  ${masked[1]}) echo "mkfs: $me: /dev/sdb is mounted " >&2; exit 2 ;;`,
      `  ${long}) for i in 1 2 3 4 5 6 7; do echo "line $i" >&2; done; exit 2 ;;`,
      // 24 MB of stderr: only a head is read.
      `  ${huge}) yes 'stderr line' | head -n 2000000 >&2; exit 2 ;;`,
      // One line longer than the head: its start is shown, cut.
      `  ${wide}) head -c 10000 /dev/zero | tr '\\0' x >&2; exit 2 ;;`,
      `esac`,
    ].join('\n');
    const r = await runHerd(['run', '-i', inventory('fv.txt', hosts), ...conn('runs-fv'), cmd], {
      env: { HOME: scope.home },
    });
    expect(r.code).toBe(1);
    const dir = runDirOf(r);
    const failures = [
      '8 hosts: 8 failed',
      '  3 failed: exit code 2',
      `      ${foldHosts(ls)}`,
      "      | ls: cannot access '/nonexistent': No such file or directory",
      '  2 failed: exit code 2',
      `      ${foldHosts(masked)}`,
      '      | mkfs: <host>:  /dev/sdb   is mounted',
      '  1 failed: exit code 2',
      `      ${long}`,
      '      | line 1',
      '      | line 2',
      '      | line 3',
      '      | line 4',
      `      … 3 more lines (stderr/${long})`,
      '  1 failed: exit code 2',
      `      ${huge}`,
      ...Array.from({ length: 4 }, () => '      | stderr line'),
      // 4096 bytes hold 341 whole lines of 12 bytes: 4 shown, 337 counted, the rest unread.
      `      … at least 337 more lines (stderr/${huge})`,
      '  1 failed: exit code 2',
      `      ${wide}`,
      `      | ${'x'.repeat(160)}…`,
      `      … more (stderr/${wide})`,
    ];
    // accept-new recorded the fleet's key for each new host: the summary says so (`herd show` does not).
    expect(r.stderr).toBe(
      [...failures, `recorded 8 new host keys in ${path.join(scope.home, 'kh')}`, `results: ${dir}`, ''].join('\n'),
    );
    const shown = await runHerd(['show', dir], { env: { HOME: scope.home } });
    expect(shown.stderr).toBe([...failures, `run: ${dir}`, ''].join('\n'));
  });

  it('a failed playbook step shows the step, its exit code and its stderr, grouped', async () => {
    const hosts = scope.fleet.hosts(4, 2120);
    const book = path.join(scope.home, 'fv.yml');
    const mount = [
      ME,
      `if [ "$me" = ${hosts[3]} ]; then echo 'sudo: a password is required' >&2; exit 1; fi`,
      `echo "mount: /data: $me: special device /dev/sdz does not exist" >&2; exit 32`,
    ].join('; ');
    const steps = [
      'steps:',
      '  - name: probe',
      '    run: "true"',
      '  - name: mount data',
      `    run: ${JSON.stringify(mount)}`,
    ];
    fs.writeFileSync(book, steps.join('\n') + '\n');
    const r = await runHerd(['play', '-i', inventory('fv-play.txt', hosts), ...conn('runs-fv-play'), book], {
      env: { HOME: scope.home },
    });
    expect(r.code).toBe(1);
    // Each step's block as it completes, the same blocks as the recap, then the hosts' summary.
    const blocks = [
      '[1.1] probe: 4 changed',
      '[1.2] mount data: 4 failed',
      '  3 failed: exit code 32',
      `      ${foldHosts(hosts.slice(0, 3))}`,
      '      | mount: /data: <host>: special device /dev/sdz does not exist',
      '  1 failed: exit code 1',
      `      ${hosts[3]}`,
      '      | sudo: a password is required',
    ];
    expect(r.stderr).toBe(
      [
        ...blocks,
        'recap:',
        ...blocks,
        '4 hosts: 4 failed',
        '  3 failed: step 1.2 (mount data): exit code 32',
        `      ${foldHosts(hosts.slice(0, 3))}`,
        '      | mount: /data: <host>: special device /dev/sdz does not exist',
        '  1 failed: step 1.2 (mount data): exit code 1',
        `      ${hosts[3]}`,
        '      | sudo: a password is required',
        `recorded 4 new host keys in ${path.join(scope.home, 'kh')}`,
        `results: ${runDirOf(r)}`,
        '',
      ].join('\n'),
    );
  });
});
