// What the operator sees: --json events, --stream lines, and the live display in a real terminal.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runHerd, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

function conn(): string[] {
  const { fleet, home } = scope;
  return [
    '-u',
    fleet.user,
    '-p',
    String(fleet.port),
    '-k',
    fleet.keyPath,
    '--known-hosts',
    path.join(home, 'kh'),
    '-o',
    path.join(home, 'runs'),
  ];
}

function inventory(name: string, hosts: string[]): string {
  const file = path.join(scope.home, name);
  fs.writeFileSync(file, hosts.join('\n') + '\n');
  return file;
}

describe('--json', () => {
  it('prints one JSON event per line on stdout: run_start, host_start, output, host_done, run_done', async () => {
    const hosts = scope.fleet.hosts(4, 1700);
    const result = await runHerd(
      [
        'run',
        '-i',
        inventory('json.txt', [...hosts, '127.0.0.1:1']),
        ...conn(),
        '--json',
        'echo "héllo from $(echo $SSH_CONNECTION | cut -d" " -f3)"',
      ],
      {
        env: { HOME: scope.home },
      },
    );
    expect(result.code).toBe(1);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ kind: 'run_start', hosts: 5 });
    expect(events.at(-1)).toMatchObject({ kind: 'run_done', state: 'done', counts: { ok: 4, unreachable: 1 } });
    for (const h of hosts) {
      expect(events.filter((e) => e.kind === 'host_start' && e.host === h)).toHaveLength(1);
      const text = events
        .filter((e) => e.kind === 'output' && e.host === h && e.stream === 'stdout')
        .map((e) => e.text)
        .join('');
      expect(text).toBe(`héllo from ${h}\n`);
      expect(events.find((e) => e.kind === 'host_done' && e.host === h)).toMatchObject({ status: 'ok', exit: 0 });
    }
    expect(events.find((e) => e.kind === 'host_done' && e.host === '127.0.0.1:1')).toMatchObject({
      status: 'unreachable',
      reason: 'connection refused',
    });
    for (const e of events) expect(typeof e.t).toBe('string');
    expect(result.stderr).toContain('5 hosts: 4 ok, 1 unreachable');
  });
});

describe('--stream', () => {
  it('prints host: line as output arrives, without colour when not a terminal', async () => {
    const hosts = scope.fleet.hosts(3, 1720);
    const result = await runHerd(
      ['run', '-i', inventory('stream.txt', hosts), ...conn(), '--stream', 'echo one; printf two'],
      { env: { HOME: scope.home } },
    );
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n').sort();
    expect(lines).toEqual(hosts.flatMap((h) => [`${h}: one`, `${h}: two`]).sort());
    expect(result.stdout).not.toMatch(/\x1b/);
    expect(result.stderr).not.toMatch(/\x1b/);
  });
});

describe('herd diff', () => {
  it('shows who differs from the majority in a past run and exits 1, or 0 when all agree', async () => {
    const hosts = scope.fleet.hosts(5, 1740);
    const odd = hosts[3]!;
    const out = path.join(scope.home, 'runs-diff');
    const args = ['run', '-i', inventory('diff.txt', hosts), ...conn().slice(0, -2), '-o', out, '-q'];
    await runHerd(
      [
        ...args,
        `echo sda; if [ "$(echo $SSH_CONNECTION | cut -d' ' -f3)" = ${odd} ]; then echo sdm; else echo sdb; fi`,
      ],
      { env: { HOME: scope.home } },
    );
    const diff = await runHerd(['diff', '-o', out], { env: { HOME: scope.home } });
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain(`differs: 1 host: ${odd}\n--- majority\n`);
    expect(diff.stdout).toContain('-sdb\n+sdm\n');
    await runHerd([...args, 'echo same'], { env: { HOME: scope.home } });
    const same = await runHerd(['diff', '-o', out], { env: { HOME: scope.home } });
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('all 5 hosts printed the same output');
  });
});

describe('--json on the commands that look at inventories and past runs', () => {
  it('hosts, runs, show and diff each print one JSON object per line', async () => {
    const hostsOut = await runHerd(
      ['hosts', '-i', path.join(process.cwd(), 'inventories', 'loopback.txt'), '-l', 'db', '--json'],
      { env: { HOME: scope.home } },
    );
    const hostLines = hostsOut.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(hostLines[0]).toEqual({
      kind: 'host',
      id: '127.0.20.1',
      host: '127.0.20.1',
      port: null,
      user: null,
      groups: ['db'],
    });
    expect(hostLines).toHaveLength(4);

    const out = path.join(scope.home, 'runs-diff');
    const runs = (await runHerd(['runs', '-o', out, '--json'], { env: { HOME: scope.home } })).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs[0]).toMatchObject({ kind: 'run', command: 'run', state: 'done', hosts: 5, counts: { ok: 5 } });

    const older = runs[1].id as string;
    const show = (await runHerd(['show', '-o', out, older, '--json'], { env: { HOME: scope.home } })).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(show.filter((e) => e.kind === 'host_done')).toHaveLength(5);
    expect(show.at(-1)).toMatchObject({ kind: 'run_done', run: older, counts: { ok: 5 } });

    const diff = await runHerd(['diff', '-o', out, older, '--json'], { env: { HOME: scope.home } });
    expect(diff.code).toBe(1);
    const variants = diff.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(variants.map((v) => [v.reference, v.count])).toEqual([
      [true, 4],
      [false, 1],
    ]);
    expect(variants[1].diff).toContain('-sdb\n+sdm');
  });
});
