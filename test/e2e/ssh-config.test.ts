// ssh_config through the real CLI against a real sshd: the user file and the system file (here a
// stand-in named by HERD_SSH_SYSTEM_CONFIG), Include, and the refusals that stop a run before
// any host is contacted (exit 2).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRINT_ADDRESS, runDirOf, runHerd, useLoopbackFleet } from './herd-cli.js';

describe('ssh_config read by herd run', () => {
  const scope = useLoopbackFleet();

  const setUp = (name: string) => {
    const home = path.join(scope.home, name);
    fs.mkdirSync(path.join(home, '.ssh', 'conf.d'), { recursive: true });
    const inventory = path.join(home, 'inventory.txt');
    fs.writeFileSync(inventory, 'alias-a\nalias-b\n');
    return { home, inventory, system: path.join(home, 'ssh_config.system') };
  };

  it('reads ~/.ssh/config (with an Include) and then the system file, as ssh does', async () => {
    const { fleet } = scope;
    const [a, b] = fleet.hosts(2, 70);
    const { home, inventory, system } = setUp('both');
    fs.writeFileSync(
      path.join(home, '.ssh', 'config'),
      'Include conf.d/*.conf\nHost alias-a\n  HostName 127.255.255.254\n',
      { mode: 0o600 },
    );
    fs.writeFileSync(path.join(home, '.ssh', 'conf.d', 'a.conf'), `Host alias-a\n  HostName ${a}\n`, { mode: 0o600 });
    fs.writeFileSync(
      system,
      `Host alias-b\n  HostName ${b}\nHost *\n  User ${fleet.user}\n  Port ${fleet.port}\n  IdentityFile ${fleet.keyPath}\n`,
    );
    const r = await runHerd(
      [
        'run',
        '-i',
        inventory,
        '--known-hosts',
        fleet.knownHostsPath,
        '--host-key-checking',
        'accept-new',
        '-o',
        path.join(home, 'runs'),
        PRINT_ADDRESS,
      ],
      {
        env: { HOME: home, HERD_SSH_SYSTEM_CONFIG: system },
      },
    );
    expect(r.stderr).toContain('2 hosts: 2 ok');
    const dir = runDirOf(r);
    // The included file's HostName comes first, so it wins over the one written after the Include.
    expect(fs.readFileSync(path.join(dir, 'stdout', 'alias-a'), 'utf8')).toBe(`${a}\n`);
    expect(fs.readFileSync(path.join(dir, 'stdout', 'alias-b'), 'utf8')).toBe(`${b}\n`);
    // Both default files were read: run.json names no -F file, so a rerun reads both again.
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    expect(record.options.ssh_config ?? null).toBeNull();
  });

  it('refuses, before contacting any host, a ProxyCommand that applies, an unknown keyword, and Match exec (exit 2, file:line)', async () => {
    const { fleet } = scope;
    const { home, inventory, system } = setUp('refused');
    const config = path.join(home, 'cfg');
    const run = (text: string) => {
      fs.writeFileSync(config, text);
      return runHerd(
        [
          'run',
          '-i',
          inventory,
          '-F',
          config,
          '-u',
          fleet.user,
          '-p',
          String(fleet.port),
          '-k',
          fleet.keyPath,
          '-o',
          path.join(home, 'runs'),
          'true',
        ],
        {
          env: { HOME: home, HERD_SSH_SYSTEM_CONFIG: system },
        },
      );
    };
    const proxy = await run(`Host alias-b\n  ProxyCommand nc %h %p\n`);
    expect(proxy.code).toBe(2);
    expect(proxy.stderr).toContain(`${config}:2: ProxyCommand applies to alias-b`);
    const unknown = await run(`Host zzz\n  NoSuchOption yes\n`);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`${config}:2: Bad configuration option: nosuchoption`);
    const exec = await run(`Match exec "touch ${home}/ran"\n  User x\n`);
    expect(exec.code).toBe(2);
    expect(exec.stderr).toContain(`${config}:1: Match exec is refused`);
    expect(fs.existsSync(path.join(home, 'ran'))).toBe(false);
    expect(fs.existsSync(path.join(home, 'runs'))).toBe(false);
  });
});
