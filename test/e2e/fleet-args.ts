// What most e2e tests hand herd about their loopback fleet: its connection flags and an inventory file.
import fs from 'node:fs';
import path from 'node:path';
import type { FleetScope } from './herd-cli.js';

/** The flags that connect herd to the scope's fleet: known hosts in `<home>/kh`, results under `<home>/<runs>`. */
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
    path.join(home, runs),
  ];
}

/** Writes `hosts` one a line to `<home>/<name>`; its path. */
export function writeInventory(scope: FleetScope, name: string, hosts: string[]): string {
  const file = path.join(scope.home, name);
  fs.writeFileSync(file, hosts.join('\n') + '\n');
  return file;
}
