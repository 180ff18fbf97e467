// herd run against a real loopback sshd fleet: per-host outputs, hosts.tsv, failed.txt, host keys.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRINT_ADDRESS, readHostsTsv, runDirOf, runHerd, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

/** Each test writes its runs to its own `-o` directory: none reads what another made, so any one runs alone (-t). */
function commonArgs(knownHosts: string, out: string): string[] {
  return [
    '-u',
    scope.fleet.user,
    '-p',
    String(scope.fleet.port),
    '-k',
    scope.fleet.keyPath,
    '--known-hosts',
    knownHosts,
    '-o',
    out,
  ];
}

describe('herd run on 200 loopback hosts', () => {
  it('gives every host its own stdout file and writes hosts.tsv, failed.txt and run.json', async () => {
    const hosts = scope.fleet.hosts(200);
    const inv = path.join(scope.home, 'inv200.txt');
    fs.writeFileSync(inv, '# two hundred loopback hosts\n' + hosts.join('\n') + '\n');
    const knownHosts = path.join(scope.home, 'kh200');
    const out = path.join(scope.home, 'runs-200');
    const result = await runHerd(['run', '-i', inv, ...commonArgs(knownHosts, out), '-f', '100', PRINT_ADDRESS], {
      env: { HOME: scope.home },
    });
    expect(result.stderr).toContain('200 hosts: 200 ok');
    expect(result.code).toBe(0);
    const dir = runDirOf(result);
    const rows = readHostsTsv(dir);
    expect([...rows.keys()]).toEqual(hosts);
    for (const host of hosts) {
      expect(rows.get(host)?.status).toBe('ok');
      expect(fs.readFileSync(path.join(dir, 'stdout', host), 'utf8')).toBe(`${host}\n`);
    }
    expect(fs.readFileSync(path.join(dir, 'failed.txt'), 'utf8')).toBe('');
    const log = fs.readFileSync(path.join(dir, 'output.log'), 'utf8').trim().split('\n');
    expect(log).toHaveLength(200);
    for (const line of log) {
      const [host, text] = line.split(': ');
      expect(text).toBe(host);
    }
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    expect(record.state).toBe('done');
    expect(record.counts).toEqual({ ok: 200 });
    expect(record.task.command).toBe(PRINT_ADDRESS);
    expect((fs.statSync(dir).mode & 0o777).toString(8)).toBe('700');
    // accept-new recorded one key per host, as [host]:port lines.
    const khLines = fs.readFileSync(knownHosts, 'utf8').trim().split('\n');
    expect(khLines).toHaveLength(200);
    expect(khLines[0]).toMatch(/^\[127\.\d+\.\d+\.\d+\]:\d+ ssh-ed25519 /);
    expect(fs.realpathSync(path.join(out, 'latest'))).toBe(fs.realpathSync(dir));
  });

  it('accepts its own failed.txt and hosts.tsv back as inventories', async () => {
    const hosts = scope.fleet.hosts(6, 300);
    const inv = path.join(scope.home, 'inv6.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const knownHosts = path.join(scope.home, 'kh6');
    const first = await runHerd(
      ['run', '-i', inv, ...commonArgs(knownHosts, path.join(scope.home, 'runs-6')), 'true'],
      { env: { HOME: scope.home } },
    );
    expect(first.code).toBe(0);
    const listed = await runHerd(['hosts', '-i', path.join(runDirOf(first), 'hosts.tsv')], {
      env: { HOME: scope.home },
    });
    expect(listed.stdout.trim().split('\n')).toEqual(hosts);
  });
});

describe('host key checking', () => {
  it('refuses unknown keys under --strict-host-keys and runs nothing', async () => {
    const hosts = scope.fleet.hosts(3, 400);
    const inv = path.join(scope.home, 'inv-strict.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const marker = path.join(scope.home, 'strict-marker');
    const result = await runHerd(
      [
        'run',
        '-i',
        inv,
        ...commonArgs(path.join(scope.home, 'kh-empty'), path.join(scope.home, 'runs-strict')),
        '--strict-host-keys',
        `touch ${marker}`,
      ],
      {
        env: { HOME: scope.home },
      },
    );
    expect(result.code).toBe(1);
    const rows = readHostsTsv(runDirOf(result));
    for (const h of hosts) expect(rows.get(h)?.status).toBe('hostkey_unknown');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('accepts keys from hashed known_hosts entries', async () => {
    const [host] = scope.fleet.hosts(1, 450);
    const knownHosts = path.join(scope.home, 'kh-hashed');
    fs.writeFileSync(knownHosts, `[${host}]:${scope.fleet.port} ${scope.fleet.hostPublicKey}\n`);
    const { execFileSync } = await import('node:child_process');
    execFileSync('ssh-keygen', ['-H', '-f', knownHosts], { stdio: 'ignore' });
    expect(fs.readFileSync(knownHosts, 'utf8')).toMatch(/^\|1\|/);
    const inv = path.join(scope.home, 'inv-hashed.txt');
    fs.writeFileSync(inv, `${host}\n`);
    const result = await runHerd(
      ['run', '-i', inv, ...commonArgs(knownHosts, path.join(scope.home, 'runs-hashed')), '--strict-host-keys', 'true'],
      { env: { HOME: scope.home } },
    );
    expect(result.stderr).toContain('1 host: 1 ok');
    expect(result.code).toBe(0);
  });
});

describe('the end-of-run view', () => {
  it('groups hosts with identical output, folds them into ranges and marks the minority', async () => {
    const hosts = scope.fleet.hosts(8, 480);
    const odd = [hosts[2]!, hosts[5]!];
    const inv = path.join(scope.home, 'groups.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const args = commonArgs(path.join(scope.home, 'kh-groups'), path.join(scope.home, 'runs-groups'));
    const result = await runHerd(['run', '-i', inv, ...args, groupsCommand(odd)], { env: { HOME: scope.home } });
    expect(result.code).toBe(0);
    const majority = hosts.filter((h) => !odd.includes(h));
    const { foldHosts } = await import('../../src/report/fold.js');
    expect(result.stdout).toBe(
      [
        `==== 6 hosts exit 0: ${foldHosts(majority)}`,
        '   sdb disk 2T',
        `==== DIFFERS 2 hosts exit 0: ${foldHosts(odd)}`,
        '   sdm disk 2T',
        '',
      ].join('\n'),
    );
    expect(foldHosts(majority)).toMatch(/\[/);
    const quiet = await runHerd(['run', '-i', inv, ...args, '--no-group', groupsCommand(odd)], {
      env: { HOME: scope.home },
    });
    expect(quiet.stdout).toBe('');
  });
});

/** Most hosts print one disk, the `odd` ones another: a run whose grouped view has a minority. */
function groupsCommand(odd: string[]): string {
  return `case $(echo "$SSH_CONNECTION" | cut -d' ' -f3) in ${odd.join('|')}) echo 'sdm disk 2T';; *) echo 'sdb disk 2T';; esac`;
}

describe('looking at past runs', () => {
  it('herd runs lists runs newest first and herd show replays the grouped view, one host, or a status', async () => {
    // The runs to look at are made here, so the test needs no other test to have run before it.
    const hosts = scope.fleet.hosts(8, 490);
    const odd = [hosts[2]!, hosts[5]!];
    const inv = path.join(scope.home, 'past.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const out = path.join(scope.home, 'runs-past');
    const args = commonArgs(path.join(scope.home, 'kh-past'), out);
    const older = await runHerd(['run', '-i', inv, ...args, 'true'], { env: { HOME: scope.home } });
    const newer = await runHerd(['run', '-i', inv, ...args, groupsCommand(odd)], { env: { HOME: scope.home } });
    expect([older.code, newer.code]).toEqual([0, 0]);

    const runs = await runHerd(['runs', '-o', out], { env: { HOME: scope.home } });
    const lines = runs.stdout.trim().split('\n');
    const ids = lines.map((l) => l.split('\t')[0]!);
    expect(ids).toEqual([path.basename(runDirOf(newer)), path.basename(runDirOf(older))]);
    expect([...ids].sort().reverse()).toEqual(ids);
    expect(lines[0]).toMatch(/\trun\t8 hosts: 8 ok\t.*sdb disk 2T/);

    const latestGroups = await runHerd(['show', '-o', out, ids[0]!], { env: { HOME: scope.home } });
    expect(latestGroups.stdout).toMatch(/^==== 6 hosts exit 0: .*\n {3}sdb disk 2T\n==== DIFFERS 2 hosts exit 0: /);
    const one = await runHerd(['show', '-o', out, ids[0]!, '--host', hosts[2]!], { env: { HOME: scope.home } });
    expect(one.stdout).toBe('sdm disk 2T\n');
    const ok = await runHerd(['show', '-o', out, ids[0]!, '--status', 'ok'], { env: { HOME: scope.home } });
    expect(ok.stdout.trim().split('\n')).toEqual(hosts);
  });
});
