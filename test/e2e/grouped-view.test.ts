// A grouped view that scales: output unique per host shows the largest few groups and one line for
// the rest; herd show --all prints every group; one majority with few minorities keeps the full view.
// Piped, and in a real terminal (tmux).
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { foldHosts } from '../../src/report/fold.js';
import { HERD_BIN, PRINT_ADDRESS, runDirOf, runHerd, useLoopbackFleet } from './herd-cli.js';
import { fleetArgs, writeInventory } from './fleet-args.js';
import { hasTmux, openTerminal, type Terminal } from './tmux.js';

const scope = useLoopbackFleet();

const conn = (out: string): string[] => ['--no-progress', ...fleetArgs(scope, out)];

const inventory = (name: string, hosts: string[]): string => writeInventory(scope, name, hosts);

/** The view of hosts that each printed their own address, in inventory order. */
const block = (h: string, i: number): string[] => [`==== ${i === 0 ? '' : 'DIFFERS '}1 host exit 0: ${h}`, `   ${h}`];
const REST = '… 7 more distinct outputs from 7 hosts (herd show --all; output.log)';

describe('piped', () => {
  it('output unique per host: the largest 5 groups, then one line; herd show the same; herd show --all every group', async () => {
    const hosts = scope.fleet.hosts(12, 2200);
    const r = await runHerd(['run', '-i', inventory('gv.txt', hosts), ...conn('runs-gv'), PRINT_ADDRESS], {
      env: { HOME: scope.home },
    });
    expect(r.code).toBe(0);
    const compact = [...hosts.slice(0, 5).flatMap(block), REST, ''].join('\n');
    expect(r.stdout).toBe(compact);
    const dir = runDirOf(r);
    const shown = await runHerd(['show', dir], { env: { HOME: scope.home } });
    expect(shown.stdout).toBe(compact);
    const all = await runHerd(['show', '--all', dir], { env: { HOME: scope.home } });
    expect(all.code).toBe(0);
    expect(all.stdout).toBe([...hosts.flatMap(block), ''].join('\n'));
  });

  it('one majority and a few minorities keep the full view', async () => {
    const hosts = scope.fleet.hosts(10, 2220);
    const odd = [hosts[3]!, hosts[7]!];
    const cmd = `case $(${PRINT_ADDRESS}) in ${odd[0]}) echo sdm ;; ${odd[1]}) echo nvme0n1 ;; *) echo sdb ;; esac`;
    const r = await runHerd(['run', '-i', inventory('gv-major.txt', hosts), ...conn('runs-gv-major'), cmd], {
      env: { HOME: scope.home },
    });
    expect(r.code).toBe(0);
    const rest = hosts.filter((h) => !odd.includes(h));
    expect(r.stdout).toBe(
      [
        `==== 8 hosts exit 0: ${foldHosts(rest)}`,
        '   sdb',
        `==== DIFFERS 1 host exit 0: ${odd[0]}`,
        '   sdm',
        `==== DIFFERS 1 host exit 0: ${odd[1]}`,
        '   nvme0n1',
        '',
      ].join('\n'),
    );
    expect(r.stdout).not.toContain('more distinct');
  });

  it('herd show --all with a flag that prints something else is refused before reading the run', async () => {
    for (const [flag, ...rest] of [['--host', 'h1'], ['--status', 'failed'], ['--json']] as const) {
      const r = await runHerd(['show', '--all', flag, ...rest, '-o', path.join(scope.home, 'no-runs-here')], {
        env: { HOME: scope.home },
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`herd: --all shows every group of the grouped view; it does not combine with ${flag}\n`);
    }
  });
});

describe.runIf(hasTmux)('in a real terminal', () => {
  let term: Terminal;
  afterAll(() => term?.close());

  it('output unique per host shows 5 groups and the line for the rest; herd show --all shows all 12', async () => {
    const { fleet, home } = scope;
    const hosts = fleet.hosts(12, 2240);
    const inv = inventory('gv-tty.txt', hosts);
    term = await openTerminal({ name: 'groups', width: 160, height: 60, join: true });
    const herd = `HOME=${home} ${HERD_BIN}`;
    const print = PRINT_ADDRESS.replace(/'/g, `'\\''`);
    const run = await term.run(`${herd} run -i ${inv} ${conn('runs-gv-tty').join(' ')} '${print}'`);
    expect(run).toContain('EXIT=0');
    const runBlocks = run.split('\n').filter((l) => l.startsWith('==== '));
    expect(runBlocks).toEqual(hosts.slice(0, 5).map((h, i) => block(h, i)[0]));
    expect(run).toContain(`\n${REST}\n12 hosts: 12 ok\n`);
    const all = await term.run(`${herd} show --all -o ${home}/runs-gv-tty`);
    expect(all).toContain('EXIT=0');
    expect(all.split('\n').filter((l) => l.startsWith('==== '))).toEqual(hosts.map((h, i) => block(h, i)[0]));
    expect(all).not.toContain('more distinct');
  });
});
