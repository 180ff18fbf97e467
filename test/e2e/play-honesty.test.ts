// The playbook engine tells the truth about every host and step, on a real loopback fleet:
// a push that sent nothing, a crash of the engine, --check steps that could not verify,
// and hosts held back by a consensus gate that a rerun must judge again.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHostsTsv, runDirOf, runHerd, scratchDir, useLoopbackFleet } from './herd-cli.js';

const scope = useLoopbackFleet();

function conn(out: string): string[] {
  return ['-u', scope.fleet.user, '-p', String(scope.fleet.port), '-k', scope.fleet.keyPath, '--known-hosts', path.join(scope.home, 'kh'), '-o', out];
}

function writeFile(name: string, text: string): string {
  const file = path.join(scope.home, name);
  fs.writeFileSync(file, text);
  return file;
}

/** A directory the fleet user can write, standing in for each host's disk. */
function hostDisk(): string {
  const dir = scratchDir('herd-disk-');
  fs.chmodSync(dir, 0o777);
  return dir;
}

/** steps.tsv rows as `host step` -> every status recorded for it, in order. */
function stepRows(dir: string): Map<string, { status: string; reason: string }[]> {
  const rows = fs.readFileSync(path.join(dir, 'steps.tsv'), 'utf8').trim().split('\n').slice(1);
  const map = new Map<string, { status: string; reason: string }[]>();
  for (const row of rows) {
    const [host, step, , status, , , reason] = row.split('\t');
    const key = `${host} ${step}`;
    map.set(key, [...(map.get(key) ?? []), { status: status!, reason: reason! }]);
  }
  return map;
}

describe('a playbook push', () => {
  it('is changed when it sent files and ok when every file was already there', async () => {
    const disk = hostDisk();
    const src = scratchDir('herd-push-src-');
    fs.mkdirSync(path.join(src, 'app', 'etc'), { recursive: true });
    fs.writeFileSync(path.join(src, 'app', 'VERSION'), '2.0\n');
    fs.writeFileSync(path.join(src, 'app', 'etc', 'app.conf'), 'port=1\n');
    const hosts = scope.fleet.hosts(3, 7100);
    const book = path.join(src, 'push.yml');
    fs.writeFileSync(book, `steps:\n  - name: ship\n    push: { src: app/, dest: "${disk}/{{ host }}" }\n`);
    const inv = writeFile('push.txt', hosts.join('\n') + '\n');
    const out = path.join(scope.home, 'runs-push');
    const first = await runHerd(['play', '-i', inv, ...conn(out), book], { env: { HOME: scope.home } });
    expect(first.stderr).toContain('3 hosts: 3 ok');
    const firstSteps = stepRows(runDirOf(first));
    for (const h of hosts) expect(firstSteps.get(`${h} 1.1`)).toEqual([{ status: 'changed', reason: 'pushed 2 files, 11 bytes' }]);

    const second = await runHerd(['play', '-i', inv, ...conn(out), book], { env: { HOME: scope.home } });
    expect(second.stderr).toContain('3 hosts: 3 ok');
    const secondSteps = stepRows(runDirOf(second));
    for (const h of hosts) expect(secondSteps.get(`${h} 1.1`)).toEqual([{ status: 'ok', reason: 'pushed 0 files, 0 bytes (2 unchanged)' }]);
  });
});
