// What most e2e tests hand herd about their loopback fleet: its connection flags and an inventory file.
import fs from 'node:fs';
import path from 'node:path';
import { scratchDir, type FleetScope } from './herd-cli.js';

/** The flags that connect herd to the scope's fleet: known hosts in `<home>/kh`, results in `<home>/<runs>`. */
export function fleetArgs(scope: FleetScope, runs: string): string[] {
  const { fleet, home } = scope;
  const known = path.join(home, 'kh');
  return [
    '-u',
    fleet.user,
    '-p',
    String(fleet.port),
    '-k',
    fleet.keyPath,
    '--known-hosts',
    known,
    '-o',
    path.resolve(home, runs),
  ];
}

/** Writes `hosts` one a line to `<home>/<name>`; its path. */
export function writeInventory(scope: FleetScope, name: string, hosts: string[]): string {
  const file = path.join(scope.home, name);
  fs.writeFileSync(file, hosts.join('\n') + '\n');
  return file;
}

/** Writes `text` to `<home>/<name>`; its path. */
export function writeFile(scope: FleetScope, name: string, text: string): string {
  const file = path.join(scope.home, name);
  fs.writeFileSync(file, text);
  return file;
}

/** A directory every fleet login may write into, standing in for each host's disk (the hosts are this machine). */
export function hostDisk(): string {
  const dir = scratchDir('herd-disk-');
  fs.chmodSync(dir, 0o777);
  return dir;
}
