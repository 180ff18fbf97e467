// Inventory variables in playbook templates, against a real loopback fleet: herd-format host and group vars
// and Ansible INI vars render per host; a variable some selected host lacks is exit 2 before any host; a
// rerun renders the values the first run recorded, not the edited inventory's, and keeps each host's key.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fleetArgs, hostDisk, writeFile } from './fleet-args.js';
import { readHostsTsv, runDirOf, runHerd, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

/** What step `key` printed on each host. */
function stepOut(runDir: string, key: string, id: string): string {
  return fs.readFileSync(path.join(runDir, 'steps', key, 'stdout', id), 'utf8');
}

const SHOW = 'steps:\n  - run: echo "dev={{ dev }} fs={{ fs }}"\n';

describe('inventory variables in playbook templates', () => {
  it('herd format: host vars win over group vars, per host', async () => {
    const [a, b, c] = scope.fleet.hosts(3, 8100);
    const inv = writeFile(
      scope,
      'vars.txt',
      `[disks]\n${a} dev=/dev/sdb\n${b}\n[disks:vars]\ndev=/dev/sdz\nfs=xfs\n[other]\n${c} dev="/dev/my disk" fs=ext4\n`,
    );
    const book = writeFile(scope, 'show.yml', SHOW);
    const result = await runHerd(['play', '-i', inv, ...fleetArgs(scope, path.join(scope.home, 'runs')), book], {
      env: { HOME: scope.home },
    });
    expect(result.code, result.stderr).toBe(0);
    const dir = runDirOf(result);
    expect(stepOut(dir, '1.1', a!)).toBe('dev=/dev/sdb fs=xfs\n');
    expect(stepOut(dir, '1.1', b!)).toBe('dev=/dev/sdz fs=xfs\n');
    expect(stepOut(dir, '1.1', c!)).toBe('dev=/dev/my disk fs=ext4\n');
  });

  it('Ansible INI: host vars, group vars, numbers and booleans render as Ansible renders them', async () => {
    const { fleet } = scope;
    const [a, b] = fleet.hosts(2, 8110);
    const inv = writeFile(
      scope,
      'vars.ini',
      [
        `db1 ansible_host=${a} dev=/dev/sdc`,
        '[web]',
        `web1 ansible_host=${b} fs=ext4`,
        '[all:vars]',
        `ansible_port=${fleet.port}`,
        `ansible_user=${fleet.user}`,
        'dev=/dev/sdb',
        'fs=xfs',
        'size=1.5',
        'wipe=False',
        '',
      ].join('\n'),
    );
    const book = writeFile(scope, 'show-ini.yml', 'steps:\n  - run: echo "{{ dev }} {{ fs }} {{ size }} {{ wipe }}"\n');
    const result = await runHerd(['play', '-i', inv, ...fleetArgs(scope, path.join(scope.home, 'runs')), book], {
      env: { HOME: scope.home },
    });
    expect(result.code, result.stderr).toBe(0);
    const dir = runDirOf(result);
    expect(stepOut(dir, '1.1', `${fleet.user}@${a}:${fleet.port}`)).toBe('/dev/sdc xfs 1.5 False\n');
    expect(stepOut(dir, '1.1', `${fleet.user}@${b}:${fleet.port}`)).toBe('/dev/sdb ext4 1.5 False\n');
  });

  it('a variable some selected host lacks is exit 2 naming it, file:line:column and the hosts; -l leaves them out', async () => {
    const hosts = scope.fleet.hosts(5, 8120);
    const inv = writeFile(
      scope,
      'partial.txt',
      hosts.map((h, i) => (i < 2 ? `${h} dev=/dev/sdb fs=xfs` : h)).join('\n') + '\n',
    );
    const book = writeFile(scope, 'partial.yml', SHOW);
    const runs = path.join(scope.home, 'runs-partial');
    const refused = await runHerd(['play', '-i', inv, ...fleetArgs(scope, runs), book], { env: { HOME: scope.home } });
    expect(refused.code).toBe(2);
    const folded = `${hosts[2]!.replace(/\d+$/, '')}[${hosts[2]!.split('.')[3]}-${hosts[4]!.split('.')[3]}]`;
    expect(refused.stderr).toContain(
      `${book}:2:20: variable "dev" is not set for 3 of 5 hosts of play 1 (play 1): ${folded};`,
    );
    expect(fs.existsSync(runs)).toBe(false);
    const limited = await runHerd(
      ['play', '-i', inv, '-l', hosts.slice(0, 2).join(','), ...fleetArgs(scope, runs), book],
      {
        env: { HOME: scope.home },
      },
    );
    expect(limited.code, limited.stderr).toBe(0);
    expect(limited.stderr).toContain('2 hosts: 2 ok');
  });

  it('a list from a YAML inventory used in a template is exit 2, before any host', async () => {
    const [a] = scope.fleet.hosts(1, 8130);
    const inv = writeFile(
      scope,
      'list.yml',
      `all:\n  hosts:\n    ${a}:\n      dev: [/dev/sdb, /dev/sdc]\n      fs: xfs\n`,
    );
    const runs = path.join(scope.home, 'runs-list');
    const refused = await runHerd(
      ['play', '-i', inv, ...fleetArgs(scope, runs), writeFile(scope, 'list-book.yml', SHOW)],
      {
        env: { HOME: scope.home },
      },
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /list-book\.yml:2:20: variable "dev" cannot be used for all 1 host .*: its value is a list/,
    );
    expect(fs.existsSync(runs)).toBe(false);
  });
});

describe('an inventory variable named like a built-in', () => {
  it('is exit 2 where a template uses that name (herd will not guess which is meant), harmless where none does', async () => {
    const [a] = scope.fleet.hosts(1, 8160);
    const inv = writeFile(scope, 'clash.txt', `${a} port=8080 dev=/dev/sdb\n`);
    const runs = path.join(scope.home, 'runs-clash');
    const book = writeFile(scope, 'clash.yml', 'steps:\n  - run: echo {{ dev }}:{{ port }}\n');
    const refused = await runHerd(['play', '-i', inv, ...fleetArgs(scope, runs), book], { env: { HOME: scope.home } });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `${book}:2:25: {{ port }} is herd's built-in "port", but the inventory also sets "port" for all 1 host`,
    );
    expect(fs.existsSync(runs)).toBe(false);
    const unused = await runHerd(
      [
        'play',
        '-i',
        inv,
        ...fleetArgs(scope, runs),
        writeFile(scope, 'no-clash.yml', SHOW.replace(' fs={{ fs }}', '')),
      ],
      {
        env: { HOME: scope.home },
      },
    );
    expect(unused.code, unused.stderr).toBe(0);
    expect(stepOut(runDirOf(unused), '1.1', a!)).toBe('dev=/dev/sdb\n');
  });
});

describe('herd rerun of a playbook with inventory variables', () => {
  it('renders the values the first run recorded, even after the inventory was edited', async () => {
    const disk = hostDisk();
    const [a, b] = scope.fleet.hosts(2, 8140);
    const inv = writeFile(scope, 'rerun.txt', `[disks]\n${a} dev=/dev/sdb\n${b}\n[disks:vars]\ndev=/dev/group\n`);
    // Fails everywhere until the go file exists; then writes the rendered value where the test can read it.
    const book = writeFile(
      scope,
      'rerun.yml',
      `steps:\n  - run: test -e ${disk}/go && echo "{{ dev }}" > ${disk}/{{ host }}.dev\n`,
    );
    const out = path.join(scope.home, 'runs-rerun');
    const first = await runHerd(['play', '-i', inv, ...fleetArgs(scope, out), book], { env: { HOME: scope.home } });
    expect(first.code).toBe(1);
    fs.writeFileSync(inv, `[disks]\n${a} dev=/dev/EDITED\n${b}\n[disks:vars]\ndev=/dev/EDITED\n`);
    fs.writeFileSync(path.join(disk, 'go'), '');
    const rerun = await runHerd(['rerun', '-o', out], { env: { HOME: scope.home } });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(fs.readFileSync(path.join(disk, `${a}.dev`), 'utf8')).toBe('/dev/sdb\n');
    expect(fs.readFileSync(path.join(disk, `${b}.dev`), 'utf8')).toBe('/dev/group\n');
  });

  it('a variable the first run did not record is exit 2: the rerun does not read the edited inventory', async () => {
    const [a] = scope.fleet.hosts(1, 8145);
    const inv = writeFile(scope, 'rerun-new.txt', `${a} dev=/dev/sdb\n`);
    const book = writeFile(scope, 'rerun-new.yml', 'steps:\n  - run: echo {{ dev }}; false\n');
    const out = path.join(scope.home, 'runs-rerun-new');
    const first = await runHerd(['play', '-i', inv, ...fleetArgs(scope, out), book], { env: { HOME: scope.home } });
    expect(first.code).toBe(1);
    const id = path.basename(runDirOf(first));
    fs.writeFileSync(inv, `${a} dev=/dev/sdb fs=xfs\n`);
    fs.writeFileSync(book, 'steps:\n  - run: echo {{ dev }} {{ fs }}\n');
    const rerun = await runHerd(['rerun', '-o', out], { env: { HOME: scope.home } });
    expect(rerun.code).toBe(2);
    expect(rerun.stderr).toContain(
      `${book}:2:25: variable "fs" is not set for all 1 host of play 1 (play 1): ${a}; a rerun renders with the ` +
        `variables run ${id} recorded and does not read the inventory again (herd play does)`,
    );
  });

  it("keeps each host's ansible_ssh_private_key_file: the rerun logs in with it, with no -k", async () => {
    const { fleet, home } = scope;
    const disk = hostDisk();
    const [a] = fleet.hosts(1, 8150);
    const inv = writeFile(
      scope,
      'key.ini',
      `h1 ansible_host=${a} ansible_port=${fleet.port} ansible_user=${fleet.user} ansible_ssh_private_key_file=${fleet.keyPath}\n`,
    );
    const out = path.join(home, 'runs-key');
    const base = ['--known-hosts', path.join(home, 'kh'), '-o', out];
    const first = await runHerd(['run', '-i', inv, ...base, `test -e ${disk}/go`], { env: { HOME: home } });
    expect(first.code).toBe(1);
    fs.writeFileSync(path.join(disk, 'go'), '');
    const rerun = await runHerd(['rerun', '-o', out], { env: { HOME: home } });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect([...readHostsTsv(runDirOf(rerun)).values()].map((r) => r.status)).toEqual(['ok']);
  });
});
