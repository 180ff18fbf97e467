// Templates against a real loopback fleet: -e/--var values rendered per host, and template errors
// refused with exit 2 before any host is contacted.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHostsTsv, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

function conn(): string[] {
  return [
    '-u',
    scope.fleet.user,
    '-p',
    String(scope.fleet.port),
    '-k',
    scope.fleet.keyPath,
    '--known-hosts',
    path.join(scope.home, 'kh'),
    '-o',
    path.join(scope.home, 'runs'),
  ];
}

function write(name: string, text: string): string {
  const file = path.join(scope.home, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('-e/--var values', () => {
  it("-e 'dev=/tmp/dd-{{ host }}.disk' gives each host its own rendered path, never a literal {{ host }}", async () => {
    const disk = scratchDir('herd-disk-');
    fs.chmodSync(disk, 0o777);
    const hosts = scope.fleet.hosts(3, 2100);
    const inv = write('vars.txt', hosts.join('\n') + '\n');
    const book = write('vars.yml', 'vars: { dev: /nonexistent/default }\nsteps:\n  - run: touch {{ dev }}\n');
    const result = await runHerd(['play', '-i', inv, ...conn(), '-e', `dev=${disk}/dd-{{ host }}.disk`, book], {
      env: { HOME: scope.home },
    });
    expect(result.stderr).toContain('3 hosts: 3 ok');
    expect(result.code).toBe(0);
    expect(fs.readdirSync(disk).sort()).toEqual(hosts.map((h) => `dd-${h}.disk`).sort());
  });

  it('an unknown variable in a --var value is exit 2 naming -e/--var and the key, before any host is contacted', async () => {
    const hosts = scope.fleet.hosts(2, 2110);
    const inv = write('vars-bad.txt', hosts.join('\n') + '\n');
    const book = write('vars-bad.yml', 'steps:\n  - run: touch {{ dev }}\n');
    const runs = path.join(scope.home, 'runs-bad');
    const args = ['play', '-i', inv, ...conn().slice(0, -2), '-o', runs, book];
    const unknown = await runHerd([...args, '-e', 'dev=/tmp/{{ mnt }}'], { env: { HOME: scope.home } });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('-e/--var dev=/tmp/{{ mnt }}: unknown variable "mnt"');
    const builtin = await runHerd([...args, '-e', 'dev=x', '--var', 'host=evil'], { env: { HOME: scope.home } });
    expect(builtin.code).toBe(2);
    expect(builtin.stderr).toContain('-e/--var host=evil: "host" is a built-in variable');
    expect(fs.existsSync(runs)).toBe(false);
  });
});

describe('playbook and path templates', () => {
  it('a malformed {{ in a playbook is exit 2 with file:line:col, before any host', async () => {
    const inv = write('malformed.txt', scope.fleet.hosts(1, 2120).join('\n') + '\n');
    const book = write('malformed.yml', "steps:\n  - run: docker ps --format '{{.Names}}'\n");
    const runs = path.join(scope.home, 'runs-malformed');
    const result = await runHerd(['play', '-i', inv, ...conn().slice(0, -2), '-o', runs, book], {
      env: { HOME: scope.home },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${book}:2:30: malformed template`);
    expect(fs.existsSync(runs)).toBe(false);
  });

  it('herd push renders {{ host }} in the remote path and refuses an unknown variable with exit 2', async () => {
    const hosts = scope.fleet.hosts(2, 2130);
    const inv = write('push.txt', hosts.join('\n') + '\n');
    const src = write('push-src.txt', 'hello\n');
    const dest = scratchDir('herd-push-');
    fs.chmodSync(dest, 0o777);
    const bad = await runHerd(['push', '-i', inv, ...conn(), src, `${dest}/{{ hostname }}.txt`], {
      env: { HOME: scope.home },
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      'unknown variable "hostname"; paths may use only the built-ins host, port, run_id, user',
    );
    const good = await runHerd(['push', '-i', inv, ...conn(), src, `${dest}/{{ host }}.txt`], {
      env: { HOME: scope.home },
    });
    expect(good.code).toBe(0);
    expect(fs.readdirSync(dest).sort()).toEqual(hosts.map((h) => `${h}.txt`).sort());
    expect([...readHostsTsv(runDirOf(good)).values()].map((r) => r.status)).toEqual(['ok', 'ok']);
  });
});
