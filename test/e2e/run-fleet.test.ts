// herd run against a real loopback sshd fleet: per-host outputs, hosts.tsv, failed.txt, host keys.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../fleet/fleet.js';
import { PRINT_ADDRESS, readHostsTsv, runDirOf, runHerd, scratchDir } from './herd-cli.js';

let fleet: Fleet;
let home: string;

beforeAll(async () => {
  fleet = await startFleet();
  home = scratchDir();
});
afterAll(async () => {
  await fleet?.stop();
});

function commonArgs(knownHosts: string): string[] {
  return ['-u', fleet.user, '-p', String(fleet.port), '-k', fleet.keyPath, '--known-hosts', knownHosts, '-o', path.join(home, 'runs')];
}

describe('herd run on 200 loopback hosts', () => {
  it('gives every host its own stdout file and writes hosts.tsv, failed.txt and run.json', async () => {
    const hosts = fleet.hosts(200);
    const inv = path.join(home, 'inv200.txt');
    fs.writeFileSync(inv, '# two hundred loopback hosts\n' + hosts.join('\n') + '\n');
    const knownHosts = path.join(home, 'kh200');
    const result = await runHerd(['run', '-i', inv, ...commonArgs(knownHosts), '-f', '100', PRINT_ADDRESS], { env: { HOME: home } });
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
    expect(fs.realpathSync(path.join(home, 'runs', 'latest'))).toBe(fs.realpathSync(dir));
  });

  it('accepts its own failed.txt and hosts.tsv back as inventories', async () => {
    const hosts = fleet.hosts(6, 300);
    const inv = path.join(home, 'inv6.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const knownHosts = path.join(home, 'kh6');
    const first = await runHerd(['run', '-i', inv, ...commonArgs(knownHosts), 'true'], { env: { HOME: home } });
    expect(first.code).toBe(0);
    const listed = await runHerd(['hosts', '-i', path.join(runDirOf(first), 'hosts.tsv')], { env: { HOME: home } });
    expect(listed.stdout.trim().split('\n')).toEqual(hosts);
  });
});

describe('host key checking', () => {
  it('refuses unknown keys under --strict-host-keys and runs nothing', async () => {
    const hosts = fleet.hosts(3, 400);
    const inv = path.join(home, 'inv-strict.txt');
    fs.writeFileSync(inv, hosts.join('\n') + '\n');
    const marker = path.join(home, 'strict-marker');
    const result = await runHerd(['run', '-i', inv, ...commonArgs(path.join(home, 'kh-empty')), '--strict-host-keys', `touch ${marker}`], {
      env: { HOME: home },
    });
    expect(result.code).toBe(1);
    const rows = readHostsTsv(runDirOf(result));
    for (const h of hosts) expect(rows.get(h)?.status).toBe('hostkey_unknown');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('accepts keys from hashed known_hosts entries', async () => {
    const [host] = fleet.hosts(1, 450);
    const knownHosts = path.join(home, 'kh-hashed');
    fs.writeFileSync(knownHosts, `[${host}]:${fleet.port} ${fleet.hostPublicKey}\n`);
    const { execFileSync } = await import('node:child_process');
    execFileSync('ssh-keygen', ['-H', '-f', knownHosts], { stdio: 'ignore' });
    expect(fs.readFileSync(knownHosts, 'utf8')).toMatch(/^\|1\|/);
    const inv = path.join(home, 'inv-hashed.txt');
    fs.writeFileSync(inv, `${host}\n`);
    const result = await runHerd(['run', '-i', inv, ...commonArgs(knownHosts), '--strict-host-keys', 'true'], { env: { HOME: home } });
    expect(result.stderr).toContain('1 host: 1 ok');
    expect(result.code).toBe(0);
  });
});
