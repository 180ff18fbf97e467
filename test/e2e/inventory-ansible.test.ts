// Inventories as operators bring them, against a real sshd: an Ansible INI inventory connects where its
// ansible_host, ansible_port, ansible_user and ansible_ssh_private_key_file say (not to port 22 as
// the local user), -l selects by its host names and groups, --inventory-format picks the reader, and
// herd hosts --vars shows each host's variables.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRINT_ADDRESS, readHostsTsv, runDirOf, runHerd, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

function write(name: string, text: string): string {
  const file = path.join(scope.home, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('an Ansible INI inventory', () => {
  it('connects where ansible_host, ansible_port, ansible_user and ansible_ssh_private_key_file say, and -l selects by its names', async () => {
    const { fleet, home } = scope;
    const [a, b, c] = fleet.hosts(3, 40);
    const inv = write(
      'fleet.ini',
      [
        `db1 ansible_host=${a} ansible_port=${fleet.port}`,
        '[web]',
        `${b}:${fleet.port}`,
        `web2 ansible_host=${c} ansible_port=${fleet.port}`,
        '[all:vars]',
        `ansible_user=${fleet.user}`,
        `ansible_ssh_private_key_file=${fleet.keyPath}`,
        '',
      ].join('\n'),
    );
    const base = ['-i', inv, '--known-hosts', path.join(home, 'kh'), '-o', path.join(home, 'runs')];
    const all = await runHerd(['run', ...base, PRINT_ADDRESS], { env: { HOME: home } });
    expect(all.code, all.stderr).toBe(0);
    const ids = [
      `${fleet.user}@${a}:${fleet.port}`,
      `${fleet.user}@${b}:${fleet.port}`,
      `${fleet.user}@${c}:${fleet.port}`,
    ];
    const rows = readHostsTsv(runDirOf(all));
    expect([...rows.keys()].sort()).toEqual([...ids].sort());
    for (const [id, addr] of [
      [ids[0]!, a!],
      [ids[1]!, b!],
      [ids[2]!, c!],
    ] as const) {
      expect(rows.get(id)!.status).toBe('ok');
      expect(fs.readFileSync(path.join(runDirOf(all), 'stdout', id), 'utf8').trim()).toBe(addr);
    }
    // The key is the inventory's, not a default one: a host whose key file is not the fleet's cannot log in.
    const [d] = fleet.hosts(1, 44);
    const wrongKey = write(
      'wrong.ini',
      `nokey ansible_host=${d} ansible_port=${fleet.port} ansible_user=${fleet.user} ansible_ssh_private_key_file=${path.join(home, 'none')}\n`,
    );
    const refused = await runHerd(
      ['run', ...base.map((x) => (x === inv ? wrongKey : x)), '--password-env', 'NO_SUCH_PW', PRINT_ADDRESS],
      { env: { HOME: home, NO_SUCH_PW: 'wrong' } },
    );
    expect(readHostsTsv(runDirOf(refused)).get(`${fleet.user}@${d}:${fleet.port}`)?.status).toBe('auth_failed');
    const some = await runHerd(['run', ...base, '-l', 'db1,web2', PRINT_ADDRESS], { env: { HOME: home } });
    expect(some.code, some.stderr).toBe(0);
    expect([...readHostsTsv(runDirOf(some)).keys()].sort()).toEqual([ids[0], ids[2]].sort());
  });

  it('--inventory-format ansible reads a .txt file as Ansible INI, which herd format refuses with a pointer to the flag', async () => {
    const { fleet, home } = scope;
    const [a] = fleet.hosts(1, 45);
    const inv = write('ansible-style.txt', `${a} ansible_port=${fleet.port} ansible_user=${fleet.user}\n`);
    const conn = ['-k', fleet.keyPath, '--known-hosts', path.join(home, 'kh'), '-o', path.join(home, 'runs-fmt')];
    const refused = await runHerd(['run', '-i', inv, ...conn, 'true'], { env: { HOME: home } });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `${inv}:1:${a!.length + 2}: ansible_port is an Ansible connection variable; name the file .ini or give --inventory-format ansible`,
    );
    const read = await runHerd(['run', '-i', inv, '--inventory-format', 'ansible', ...conn, PRINT_ADDRESS], {
      env: { HOME: home },
    });
    expect(read.code, read.stderr).toBe(0);
    expect([...readHostsTsv(runDirOf(read)).entries()]).toEqual([
      [`${fleet.user}@${a}:${fleet.port}`, expect.objectContaining({ status: 'ok' })],
    ]);
    const herdFormat = await runHerd(
      ['hosts', '-i', write('plain.ini', 'ops@10.0.0.1\n'), '--inventory-format', 'herd'],
      { env: { HOME: home } },
    );
    expect(herdFormat).toMatchObject({ code: 0, stdout: 'ops@10.0.0.1\n' });
  });
});

describe('herd hosts', () => {
  it('--vars prints each host with its resolved variables, group variables under host variables', async () => {
    const inv = write(
      'vars.txt',
      '[storage]\n10.0.0.5 dev=/dev/sdb mnt="/data disk"\n10.0.0.6\n[storage:vars]\ndev=/dev/sdc\nfs=xfs\n',
    );
    const out = await runHerd(['hosts', '-i', inv, '--vars'], { env: { HOME: scope.home } });
    expect(out).toMatchObject({ code: 0, stderr: '' });
    expect(out.stdout).toBe('10.0.0.5\tdev=/dev/sdb\tfs=xfs\tmnt=/data disk\n10.0.0.6\tdev=/dev/sdc\tfs=xfs\n');
  });
});
